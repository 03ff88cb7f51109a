"""Labels for the chat page, from the protocol's fixed lists (chat.protocol)."""

from functools import cache

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from chat.protocol import FEELINGS, NEEDS, REACTIONS
from groups.models import ContentLabel

register = template.Library()


# The chat page's fixed choices (content warnings, and a check-in round's feelings and needs) are the
# same for every page a process serves: each list is made into HTML once. Rendered by the template
# engine they were most of what the page cost to draw in a room with nothing posted yet.
@register.simple_tag
def content_label_options() -> SafeString:
    """One ``<option>`` per content label (groups.models.ContentLabel)."""
    return _options(tuple(ContentLabel.choices))


@register.simple_tag
def need_options() -> SafeString:
    """One ``<option>`` per need a check-in answer may name (chat.protocol.NEEDS)."""
    return _options(tuple(NEEDS.items()))


@register.simple_tag
def feeling_checkboxes() -> SafeString:
    """One checkbox per feeling a check-in answer may name (chat.protocol.FEELINGS)."""
    return _feeling_checkboxes(tuple(FEELINGS.items()))


@cache
def _options(choices: tuple[tuple[str, str], ...]) -> SafeString:
    return format_html_join("", '<option value="{}">{}</option>', choices)


@cache
def _feeling_checkboxes(choices: tuple[tuple[str, str], ...]) -> SafeString:
    return format_html_join(
        "\n",
        '<label class="inline feeling"><input type="checkbox" name="feelings" value="{}"> {}</label>',
        choices,
    )


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
