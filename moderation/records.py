"""What every part of moderation writes and cites: the group's own agreements as cited, the audit log,
the notice frames, and the refusal a member or facilitator reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from chat.errors import ChatRefused
from chat.models import Message
from chat.protocol import ErrorCode, NoticeCode
from groups.models import (
    Agreement,
    Group,
)
from supportcircle.accounts.models import User

from .engine import DEFAULT_AGREEMENTS
from .models import (
    AuditEntry,
    TimeOut,
)

DEFAULTS_BY_KEY = {agreement.key: agreement for agreement in DEFAULT_AGREEMENTS}


class ModerationRefused(ChatRefused):
    """A moderation request that cannot be carried out; ``str()`` is safe to show the person.

    ``reason`` is a short code when it is refused for who is asking, logged by the view
    (``supportcircle.security.log_refusal``); never part of the error frame.
    """

    def __init__(self, text: str, code: ErrorCode = ErrorCode.NOT_ALLOWED, *, reason: str = "") -> None:
        super().__init__(code, message=text)
        self.text = text
        self.reason = reason

    def __str__(self) -> str:
        return self.text


# --- Citing agreements ----------------------------------------------------------------------


@dataclass(frozen=True)
class Cited:
    """The group's own agreement that a check is about, as the group numbered it."""

    number: int | None
    text: str
    reason: str = ""
    content_warning: str = ""

    def to_wire(self) -> dict:
        return {"number": self.number, "text": self.text}

    @property
    def label(self) -> str:
        # Without its full stop, so "… because of {label}." reads as one sentence.
        text = self.text.rstrip(".")
        return f"Agreement {self.number}: {text}" if self.number else f"Our agreement: {text}"


def cite(group: Group, rule_key: str) -> Cited:
    default = DEFAULTS_BY_KEY.get(rule_key)
    agreement = (
        Agreement.objects.filter(group=group, version=group.agreement_version, rule_key=rule_key)
        .only("number", "text")
        .first()
    )
    reason = default.reason if default else ""
    warning = (default.content_warning or "") if default else ""
    if agreement is not None:
        return Cited(agreement.number, agreement.text, reason, warning)
    # The group runs the rule set but renumbered its agreements without this one: cite the default words.
    return Cited(None, default.text if default else "", reason, warning)


def cite_number(group: Group, number: int | None) -> Cited | None:
    """The group's current agreement with this number (a facilitator's choice), or None."""
    if number is None:
        return None
    agreement = group.agreements.filter(version=group.agreement_version, number=number).first()
    if agreement is None:
        raise ModerationRefused(
            f"The group's agreements don't have a number {number}. Please choose one from the list.",
            ErrorCode.INVALID_FIELD,
        )
    default = DEFAULTS_BY_KEY.get(agreement.rule_key)
    return Cited(agreement.number, agreement.text, default.reason if default else "")


def audit(
    group_id: int,
    kind: str,
    *,
    actor: User | None = None,
    target_id: int | None = None,
    message: Message | None = None,
    cited: Cited | None = None,
    note: str = "",
    at: datetime | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        group_id=group_id,
        actor=actor,
        kind=kind,
        target_id=target_id,
        message=message,
        agreement_number=cited.number if cited else None,
        agreement_text=cited.text if cited else "",
        note=note[:500],
        at=at or timezone.now(),
    )


def notice(code: NoticeCode, message: str, **extra) -> dict:
    return {"type": "notice", "code": code.value, "message": message, **extra}


def person(user: User | None) -> dict:
    return {"id": user.pk if user else None, "pseudonym": user.pseudonym if user else "A former member"}


def active_time_out(user_id: int, group_id: int) -> TimeOut | None:
    return TimeOut.objects.filter(group_id=group_id, user_id=user_id, until__gt=timezone.now()).first()
