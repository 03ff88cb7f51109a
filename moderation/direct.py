"""The group's checks on private messages (groups.extensions): what matters between two people.

- **Contact details** (a phone number, an address, "add me on…"): the sender is asked first, kindly,
  and sends anyway if they choose; nothing is held, since only the two of them read it.
- **Crisis**: the message is sent, and the sender gets the card for its kind at once: from the phrase
  engine's crisis words, or from the second opinion, asked with a bounded wait after the message is
  stored (so the recipient never waits; shed under load, the engine's answer stands). Private
  messages stay private: no facilitator is alerted, and the card says where help is.
"""

from __future__ import annotations

import concurrent.futures
import logging

from groups.extensions import DirectMessageReviewer, DirectReview

from . import crisis
from .review import engine_for
from .second_opinion import CONFIDENT

log = logging.getLogger(__name__)

# How long the sender's page waits, at most, for the second opinion (the message is already sent).
CARE_WAIT_SECONDS = 1.5
ASK_ABOUT_CONTACT = (
    "Before this goes: it looks like it shares contact details. Talking somewhere else takes the "
    "conversation where SupportCircle can't help keep either of you safe, and details can't be taken "
    "back once shared. If you're sure, you can send it anyway; your words are still in the box."
)
_CHECKS = ("crisis", "off_platform")


class ModerationDirectMessageReviewer(DirectMessageReviewer):
    def review(self, author, body: str) -> DirectReview:
        verdict = engine_for(_CHECKS).check(body)
        if "contact" in verdict.categories and "crisis" not in verdict.categories:
            return DirectReview(ask_first=ASK_ABOUT_CONTACT)
        return DirectReview()

    def care_card(self, message) -> dict | None:
        if "crisis" in engine_for(_CHECKS).check(message.body).categories:
            return crisis.crisis_resources_frame(crisis.SUICIDE)
        from .follow_up import worker

        future = worker().submit(message.body)
        if future is None:
            return None  # shed under load
        try:
            opinion = future.result(timeout=CARE_WAIT_SECONDS)
        except concurrent.futures.TimeoutError:
            log.warning("second opinion: private message %s not answered in time", message.pk)
            return None
        except Exception:
            return None
        if opinion.crisis_tier == CONFIDENT:
            return crisis.crisis_resources_frame(opinion.crisis_kind)
        return None
