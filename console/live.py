"""The facilitator console's state changes: open and close a live session, lock joins, pause & breathe,
a private check-in from a facilitator, "I'm here to listen today", and who came when.

One function per change; each is atomic, writes an audit row (chat.models.ChatEvent, the room's audit
log), and tells open sockets only after commit. Called by the socket (console.frames) and views.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from chat.actions import facilitator_or_refuse, membership_or_deny, record_event
from chat.errors import ChatRefused
from chat.models import Presence
from chat.protocol import DEFAULT_BREATHE_PROMPT, NOTICE_MESSAGES, PRESENCE_TTL_SECONDS, ErrorCode, NoticeCode
from groups.models import (
    CareMessage,
    Group,
    ListeningToday,
    LiveSession,
    Membership,
    MembershipState,
    SessionAttendance,
)
from supportcircle import realtime

KIND_CHECK_IN = (
    "Hi {name}, I noticed you've been quiet and wanted to check in. No need to reply; I'm here if you'd like to talk."
)

# The words a private check-in starts with, by why the facilitator is checking in: the radar's reasons
# (console.radar.Reason) and the queue's (a crisis alert, a flagged or held message). The facilitator
# can change them before sending; a reason not named here starts with KIND_CHECK_IN.
CHECK_IN_WORDS: dict[str, str] = {
    "crisis_alert": (
        "Hi {name}, I saw what you shared and I'm really glad you told us. I'm here with you now. "
        "How are you doing at this moment? If you might not be safe, the support lines you were shown "
        "can help right away, and I'm still here."
    ),
    "crisis_today": (
        "Hi {name}, I'm thinking of you after what you shared earlier today. How are you doing right now? "
        "I'm here if you'd like to talk, and the support lines are there any time."
    ),
    "self_criticism_today": (
        "Hi {name}, I noticed you've been hard on yourself today. You deserve the kindness you give others here. "
        "I'm here if you'd like to talk."
    ),
    "left_abruptly": (
        "Hi {name}, I noticed you left the session suddenly and wanted to see that you're okay. "
        "No need to explain; you're welcome back whenever you like."
    ),
    "quiet_after_hard_reply": (
        "Hi {name}, a reply to you earlier may have been hard to read. How did it land for you? "
        "I'm here if you'd like to talk about it."
    ),
    "difficult_checkin": (
        "Hi {name}, thank you for sharing how you're feeling in the check-in. That sounds like a lot to carry. "
        "Would it help to talk for a moment? No pressure at all."
    ),
    "silent": KIND_CHECK_IN,
    "flagged_message": (
        "Hi {name}, I wanted to check in about your message earlier. You're not in trouble; "
        "I just wanted to see how you're doing. I'm here if you'd like to talk."
    ),
    "held_message": (
        "Hi {name}, I'm reading your message that's waiting for a facilitator. Thank you for your patience. "
        "You can also take it back or change it yourself. How are you doing?"
    ),
}


def session_to_wire(session: LiveSession | None, group: Group) -> dict:
    """The `session` frame's body: what everyone may know about the live session."""
    wire = {"live": False, "id": None, "started_at": None, "ended_at": None, "joins_locked": group.joins_locked}
    if session is not None:
        wire.update(
            live=session.is_live,
            id=session.pk,
            started_at=session.started_at.isoformat(),
            ended_at=session.ended_at.isoformat() if session.ended_at else None,
            summary_url=reverse("console:session_summary", args=[group.slug, session.pk]),
        )
    return wire


def _tell_session(session: LiveSession | None, group: Group) -> dict:
    wire = session_to_wire(session, group)
    realtime.on_commit_frame(group.pk, {"type": "session", "session": wire})
    return wire


def _locked_group(group_id: int) -> Group:
    return Group.objects.select_for_update().get(pk=group_id)


def _here_now_ids(group_id: int, now: datetime) -> set[int]:
    fresh = now - timedelta(seconds=PRESENCE_TTL_SECONDS)
    return set(Presence.objects.filter(group_id=group_id, last_seen__gte=fresh).values_list("user_id", flat=True))


def open_session(user_id: int, group_id: int, *, now: datetime | None = None) -> LiveSession:
    """A facilitator opens the live session: everyone sees it start; whoever is here now is counted as arrived."""
    now = now or timezone.now()
    with transaction.atomic():
        facilitator_or_refuse(user_id, group_id)
        group = _locked_group(group_id)
        if LiveSession.objects.filter(group=group, ended_at__isnull=True).exists():
            raise ChatRefused(ErrorCode.NOT_ALLOWED, detail="session")
        try:
            with transaction.atomic():
                session = LiveSession.objects.create(group=group, opened_by_id=user_id, started_at=now)
        except IntegrityError:
            raise ChatRefused(ErrorCode.NOT_ALLOWED, detail="session") from None
        SessionAttendance.objects.bulk_create(
            [SessionAttendance(session=session, user_id=here, arrived_at=now) for here in _here_now_ids(group_id, now)]
        )
        record_event(group_id, user_id, "groups.session.opened", session_id=session.pk)
        _tell_session(session, group)
        return session


def close_session(user_id: int, group_id: int, *, now: datetime | None = None) -> LiveSession:
    """A facilitator closes the session: leave times are written, joins open again, any breathing ends."""
    now = now or timezone.now()
    with transaction.atomic():
        facilitator_or_refuse(user_id, group_id)
        group = _locked_group(group_id)
        session = LiveSession.objects.select_for_update().filter(group=group, ended_at__isnull=True).first()
        if session is None:
            raise ChatRefused(ErrorCode.NOT_ALLOWED, detail="session")
        session.ended_at = now
        session.save(update_fields=["ended_at"])
        SessionAttendance.objects.filter(session=session, left_at__isnull=True).update(left_at=now)
        breathing = group.breathe_until is not None and group.breathe_until > now
        group.joins_locked = False
        group.breathe_until = None
        group.save(update_fields=["joins_locked", "breathe_until"])
        record_event(group_id, user_id, "groups.session.closed", session_id=session.pk)
        _tell_session(session, group)
        if breathing:
            _tell_breathe(group, now)
        return session


def set_joins_locked(user_id: int, group_id: int, *, locked: bool) -> dict:
    """A facilitator locks (or unlocks) joining, so nobody new arrives mid-session; joining is refused kindly."""
    with transaction.atomic():
        facilitator_or_refuse(user_id, group_id)
        group = _locked_group(group_id)
        group.joins_locked = locked
        group.save(update_fields=["joins_locked"])
        record_event(group_id, user_id, "groups.joins.locked" if locked else "groups.joins.unlocked")
        return _tell_session(LiveSession.objects.filter(group=group).first(), group)


def breathe_to_wire(group: Group, now: datetime) -> dict:
    on = group.breathe_until is not None and group.breathe_until > now
    return {
        "on": on,
        "until": group.breathe_until.isoformat() if on else None,
        "seconds": group.breathing_seconds_left(now),
        "prompt": group.breathe_prompt if on else "",
    }


def _tell_breathe(group: Group, now: datetime) -> dict:
    wire = breathe_to_wire(group, now)
    realtime.on_commit_frame(group.pk, {"type": "breathe", "breathe": wire})
    return wire


def start_breathing(
    user_id: int, group_id: int, *, seconds: int, prompt: str = "", now: datetime | None = None
) -> dict:
    """Pause & breathe: everyone sees a grounding prompt and a slow breathing guide; members' posting rests
    for ``seconds`` and opens again by itself (the server compares the time). ``seconds=0`` ends it early."""
    now = now or timezone.now()
    with transaction.atomic():
        facilitator_or_refuse(user_id, group_id)
        group = _locked_group(group_id)
        if seconds:
            group.breathe_until = now + timedelta(seconds=seconds)
            group.breathe_prompt = prompt or DEFAULT_BREATHE_PROMPT
        else:
            group.breathe_until = None
        group.save(update_fields=["breathe_until", "breathe_prompt"])
        record_event(
            group_id, user_id, "groups.breathe.started" if seconds else "groups.breathe.ended", seconds=seconds
        )
        return _tell_breathe(group, now)


def send_check_in(user_id: int, group_id: int, *, member_id: int, body: str, reason: str = "") -> dict:
    """One tap from the console: a private, kind message from the facilitator reaches only that member."""
    now = timezone.now()
    with transaction.atomic():
        facilitator = facilitator_or_refuse(user_id, group_id)
        member = (
            Membership.objects.select_related("user")
            .filter(group_id=group_id, user_id=member_id, state__in=(MembershipState.ACTIVE, MembershipState.PAUSED))
            .first()
        )
        if member is None:
            raise ChatRefused(ErrorCode.NOT_FOUND, detail="member")
        care = CareMessage.objects.create(
            group_id=group_id, facilitator_id=user_id, member_id=member_id, reason=reason, body=body, sent_at=now
        )
        record_event(group_id, user_id, "groups.care.sent", to=member_id, reason=reason)
        frame = {
            "type": "care",
            "id": care.pk,
            "from": {"id": user_id, "pseudonym": facilitator.user.pseudonym},
            "message": body,
            "sent_at": now.isoformat(),
        }
        realtime.on_commit_private(member_id, group_id, frame)
        return {"type": "notice", "code": NoticeCode.CARE_SENT.value, "message": NOTICE_MESSAGES[NoticeCode.CARE_SENT]}


def set_listening_today(user_id: int, group_id: int, *, on: bool, now: datetime | None = None) -> dict:
    """A member says "I'm here to listen today" (or takes it back): the radar won't flag their quiet."""
    now = now or timezone.now()
    with transaction.atomic():
        membership = membership_or_deny(user_id, group_id)
        if membership.state != MembershipState.ACTIVE:
            raise ChatRefused(ErrorCode.NOT_ALLOWED)
        if on:
            ListeningToday.objects.get_or_create(
                user_id=user_id, group_id=group_id, day=now.date(), defaults={"set_at": now}
            )
        else:
            ListeningToday.objects.filter(user_id=user_id, group_id=group_id, day=now.date()).delete()
        record_event(group_id, user_id, "groups.listening.on" if on else "groups.listening.off")
        return {
            "type": "notice",
            "code": NoticeCode.LISTENING_NOTED.value,
            "message": NOTICE_MESSAGES[NoticeCode.LISTENING_NOTED] if on else "Thank you. Share whenever you'd like.",
            "listening": on,
        }


# Attendance, from the socket's arrival and departure ------------------------------------------------


def note_arrival(user_id: int, session: LiveSession | None, *, now: datetime | None = None) -> None:
    """A socket opened during a live session: first arrival is kept; a return clears the leave time."""
    now = now or timezone.now()
    if session is None:
        return
    seat, created = SessionAttendance.objects.get_or_create(
        session=session, user_id=user_id, defaults={"arrived_at": now}
    )
    if not created and seat.left_at is not None:
        seat.left_at = None
        seat.save(update_fields=["left_at"])


def note_departure(user_id: int, group_id: int, *, now: datetime | None = None) -> None:
    """A socket closed during a live session: if it was their last one here, they left now."""
    now = now or timezone.now()
    # Every closing socket asks; most groups have no live session, so a plain look first.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {connection.ops.quote_name(LiveSession._meta.db_table)} "  # noqa: S608  # nosec B608
            "WHERE group_id = %s AND ended_at IS NULL LIMIT 1",
            [group_id],
        )
        row = cursor.fetchone()
    if row is None:
        return
    fresh = now - timedelta(seconds=PRESENCE_TTL_SECONDS)
    if Presence.objects.filter(group_id=group_id, user_id=user_id, last_seen__gte=fresh).exists():
        return
    SessionAttendance.objects.filter(session_id=row[0], user_id=user_id, left_at__isnull=True).update(left_at=now)


def kind_check_in_text(pseudonym: str, reason: str = "") -> str:
    return CHECK_IN_WORDS.get(reason, KIND_CHECK_IN).format(name=pseudonym)
