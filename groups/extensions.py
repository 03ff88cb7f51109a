"""How apps above groups check private messages, without groups importing them.

Moderation registers its :class:`DirectMessageReviewer` in ModerationConfig.ready
(``set_direct_message_reviewer``): the same checks as in a group, for what matters between two
people (contact details: asked first; crisis: the sender gets the support lines). Without one,
every private message is sent as written.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DirectReview:
    # A kind sentence when the sender is asked first (say, before sharing contact details): nothing is
    # sent until they choose to send anyway.
    ask_first: str = ""


class DirectMessageReviewer:
    def review(self, author, body: str) -> DirectReview:
        """Before a private message is stored."""
        return DirectReview()

    def care_card(self, message) -> dict | None:
        """After it is stored: the crisis card the sender should see, if any (a ``crisis_resources``
        frame as docs/protocol.md describes), else None."""
        return None


_reviewer = DirectMessageReviewer()


def direct_message_reviewer() -> DirectMessageReviewer:
    return _reviewer


def set_direct_message_reviewer(chosen: DirectMessageReviewer) -> None:
    global _reviewer
    _reviewer = chosen
