"""The crisis card: the right help for each kind of danger, in warm plain words.

One place for what a member in danger is shown (``crisis_resources_frame``), whichever stage found
it: the phrase engine at once, the second opinion a moment later, or a peer's worry. The kinds are
the second opinion's (``suicide``, ``self_harm``, ``medical``, ``danger_at_home``); the phrase
engine's crisis words do not say which, so they get the suicidal-thoughts card.
"""

from __future__ import annotations

from django.conf import settings

SUICIDE = "suicide"
SELF_HARM = "self_harm"
MEDICAL = "medical"
DANGER_AT_HOME = "danger_at_home"
KINDS = (SUICIDE, SELF_HARM, MEDICAL, DANGER_AT_HOME)

_EMERGENCY = {
    "name": "Emergency services",
    "detail": "If you are in danger right now, please call your local emergency number (112 or 911 in many places).",
    "url": "",
}
_URGENT_MEDICAL = {
    "name": "Urgent medical care, now",
    "detail": (
        "Fainting, chest pain, a racing or uneven heartbeat, confusion, or being unable to keep water down "
        "can be the body in danger. Please call your emergency number or go to an emergency department now."
    ),
    "url": "",
}
_DOMESTIC_ABUSE = {
    "name": "Domestic abuse support",
    "detail": (
        "Free, confidential services that believe you and can help you plan to be safe. "
        "Find A Helpline lists them by country; many can be reached by chat if a call isn't safe."
    ),
    "url": "https://findahelpline.com",
}

_CARDS = {
    SUICIDE: {
        "title": "You don't have to carry this alone",
        "message": (
            "Thank you for telling us. Your message is with the group, and a facilitator knows and will "
            "check in with you. If you might act on these thoughts, or you're not safe right now, please "
            "reach out to one of these now."
        ),
    },
    SELF_HARM: {
        "title": "You don't have to carry this alone",
        "message": (
            "Thank you for telling us. Your message is with the group, and a facilitator knows and will "
            "check in with you. If you've hurt yourself and the wound is deep or won't stop bleeding, or you've "
            "taken something, please get medical help now. These people can also talk with you, any time."
        ),
    },
    MEDICAL: {
        "title": "Your body may need help right now",
        "message": (
            "Thank you for telling us. What you describe can be a medical emergency. Please get urgent medical "
            "care now: call your emergency number or go to an emergency department. A facilitator knows and "
            "will check in with you."
        ),
    },
    DANGER_AT_HOME: {
        "title": "Your safety comes first",
        "message": (
            "Thank you for telling us. If someone is hurting you or you're in danger right now, please call "
            "your emergency number first. A facilitator knows and will check in with you. If someone may see "
            "your screen, the Quick exit button leaves this site at once."
        ),
    },
}


def resources_for(kind: str | None) -> list[dict]:
    """The support lines for this kind of danger, the most urgent first."""
    lines = [dict(line) for line in settings.CRISIS_RESOURCES]
    if kind == MEDICAL:
        return [_URGENT_MEDICAL, *lines]
    if kind == DANGER_AT_HOME:
        others = [line for line in lines if line.get("name") != _EMERGENCY["name"]]
        return [_EMERGENCY, _DOMESTIC_ABUSE, *others]
    return lines


def crisis_resources_frame(kind: str | None = None, resources: list[dict] | None = None) -> dict:
    """The card a member in danger gets (docs/protocol.md, ``crisis_resources``), for its kind."""
    kind = kind if kind in KINDS else SUICIDE
    card = _CARDS[kind]
    return {
        "type": "crisis_resources",
        "kind": kind,
        "title": card["title"],
        "message": card["message"],
        "resources": resources if resources is not None else resources_for(kind),
        # Someone in danger at home may be watched: the card offers to leave the site at once.
        "quick_exit": kind == DANGER_AT_HOME,
    }


# What a member who sees someone else's crisis message is gently told (``peer_hint``).
PEER_HINT = (
    "Someone here may be going through something very hard. A kind, simple reply helps: "
    "\u201cI'm glad you told us. I'm here.\u201d You don't need to fix it or give advice. "
    "The facilitators know. If you're worried, \u201cI'm worried about them\u201d reaches them privately."
)


def peer_hint_frame(seq: int) -> dict:
    return {"type": "peer_hint", "seq": seq, "message": PEER_HINT}
