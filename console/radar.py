"""The wellbeing radar: a short list of members a facilitator may want to check on, each with a plain reason.

Pure Python, no Django and no clock of its own: pass ``now`` in. ``console.radar_data`` loads the facts
from the database; the console shows the result, and each member can read what it would say about them
on their own boundaries page. Nothing here is hidden: every rule is written out in ``Reason``'s text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from chat.protocol import FEELINGS

# Check-in feelings a facilitator may want to follow up on gently.
DIFFICULT_FEELINGS = ("anxious", "sad", "lonely", "overwhelmed", "numb", "angry", "ashamed")
# A check-in need that says "let me be quiet today", the same as saying one is here to listen.
LISTENING_NEEDS = ("quiet",)


class Reason(StrEnum):
    """Why someone is on the radar, most urgent first."""

    CRISIS_TODAY = "crisis_today"
    SELF_CRITICISM_TODAY = "self_criticism_today"
    LEFT_ABRUPTLY = "left_abruptly"
    QUIET_AFTER_HARD_REPLY = "quiet_after_hard_reply"
    DIFFICULT_CHECKIN = "difficult_checkin"
    SILENT = "silent"


URGENCY = {reason: rank for rank, reason in enumerate(Reason)}


@dataclass(frozen=True)
class Thresholds:
    """Per group (Group.radar_*), with these defaults."""

    silence_minutes: int = 20
    quiet_after_reply_minutes: int = 10


@dataclass(frozen=True)
class MemberDay:
    """What the radar may know about one member today. Never message content."""

    user_id: int
    pseudonym: str
    here: bool = False
    arrived_at: datetime | None = None
    # Set when they left the live session and have not come back.
    left_at: datetime | None = None
    last_spoke_at: datetime | None = None
    # They said "I'm here to listen today".
    listening_today: bool = False
    # Their latest check-in answer today.
    checkin_feelings: tuple[str, ...] = ()
    checkin_need: str = ""
    # The latest reply to them today that touched one of the group's agreements (judgment, advice, ...).
    hard_reply_at: datetime | None = None
    # Categories their own messages matched today ("crisis", "self_criticism").
    flagged_today: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Concern:
    reason: Reason
    text: str

    def to_wire(self) -> dict:
        return {"reason": self.reason.value, "text": self.text}


@dataclass(frozen=True)
class RadarEntry:
    user_id: int
    pseudonym: str
    concerns: tuple[Concern, ...] = field(default=())

    def to_wire(self) -> dict:
        return {
            "member": {"id": self.user_id, "pseudonym": self.pseudonym},
            "concerns": [concern.to_wire() for concern in self.concerns],
        }


def _minutes(later: datetime, earlier: datetime) -> int:
    return int((later - earlier).total_seconds() // 60)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def is_listening(member: MemberDay) -> bool:
    """They told us they are here to listen today (a flag, or a check-in need for quiet)."""
    return member.listening_today or member.checkin_need in LISTENING_NEEDS


def concerns_for(
    member: MemberDay, *, now: datetime, session_started_at: datetime | None, thresholds: Thresholds
) -> tuple[Concern, ...]:
    """Every reason the radar has for this member, most urgent first (empty: nothing to mention)."""
    found: list[Concern] = []
    if "crisis" in member.flagged_today:
        found.append(
            Concern(
                Reason.CRISIS_TODAY,
                "Something they wrote today touched the crisis agreement; they were shown support lines.",
            )
        )
    if "self_criticism" in member.flagged_today:
        found.append(Concern(Reason.SELF_CRITICISM_TODAY, "Something they wrote today was hard on themselves."))
    live = session_started_at is not None
    if live and member.left_at is not None and not member.here and member.left_at >= session_started_at:
        found.append(
            Concern(Reason.LEFT_ABRUPTLY, f"Left the session at {member.left_at:%H:%M} UTC and hasn't come back.")
        )
    if member.hard_reply_at is not None and (
        member.last_spoke_at is None or member.last_spoke_at < member.hard_reply_at
    ):
        quiet_for = _minutes(now, member.hard_reply_at)
        if quiet_for >= thresholds.quiet_after_reply_minutes:
            found.append(
                Concern(
                    Reason.QUIET_AFTER_HARD_REPLY,
                    f"Went quiet after a hard reply to them {_plural(quiet_for, 'minute')} ago.",
                )
            )
    difficult = [feeling for feeling in member.checkin_feelings if feeling in DIFFICULT_FEELINGS]
    if difficult:
        named = " and ".join(FEELINGS[feeling].lower() for feeling in difficult)
        found.append(Concern(Reason.DIFFICULT_CHECKIN, f"Checked in today feeling {named}."))
    if live and member.here and not is_listening(member):
        since = max(session_started_at, member.arrived_at or session_started_at)
        if member.last_spoke_at is not None and member.last_spoke_at > since:
            since = member.last_spoke_at
        silent_for = _minutes(now, since)
        if silent_for >= thresholds.silence_minutes:
            found.append(
                Concern(Reason.SILENT, f"Hasn't said anything for {_plural(silent_for, 'minute')} of this session.")
            )
    return tuple(sorted(found, key=lambda concern: URGENCY[concern.reason]))


def radar(
    members: list[MemberDay], *, now: datetime, session_started_at: datetime | None, thresholds: Thresholds
) -> list[RadarEntry]:
    """The members worth a gentle check-in, most urgent first, then by name."""
    entries = []
    for member in members:
        found = concerns_for(member, now=now, session_started_at=session_started_at, thresholds=thresholds)
        if found:
            entries.append(RadarEntry(member.user_id, member.pseudonym, found))
    entries.sort(key=lambda entry: (URGENCY[entry.concerns[0].reason], entry.pseudonym.lower()))
    return entries
