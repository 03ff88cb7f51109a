"""Labels for the chat page, from the protocol's fixed lists (chat.protocol)."""

from django import template

from chat.protocol import FEELINGS, NEEDS, REACTIONS

register = template.Library()


@register.filter
def feeling(key: str) -> str:
    return FEELINGS.get(key, key)


@register.filter
def need(key: str) -> str:
    return NEEDS.get(key, key)


@register.filter
def reaction_lines(reactions: list[dict]) -> list[str]:
    """Who reacted how, by name and never as a count: ["I hear you: Alex, Jo", ...]."""
    names: dict[str, list[str]] = {}
    for reaction in reactions:
        names.setdefault(reaction["kind"], []).append(reaction["user"]["pseudonym"])
    return [f"{label}: {', '.join(names[kind])}" for kind, label in REACTIONS.items() if kind in names]
