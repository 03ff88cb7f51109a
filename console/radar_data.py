"""Django glue for the wellbeing radar (console.radar): load today's facts about a group's members.

A fixed handful of queries for the whole group, whatever its size; never message content.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from chat.models import Message, Presence, RoundAnswer, RoundKind
from chat.protocol import PRESENCE_TTL_SECONDS
from groups.models import (
    Agreement,
    Group,
    ListeningToday,
    LiveSession,
    Membership,
    MembershipState,
    Role,
    SessionAttendance,
)
from moderation.models import Alert, AuditEntry

from .radar import MemberDay, RadarEntry, Thresholds, radar

# Categories of a reply that make it "hard" for the person it answers.
HARD_REPLY_CATEGORIES = ("judgment", "advice", "numbers", "diet", "body")


def start_of_day(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def thresholds_of(group: Group) -> Thresholds:
    return Thresholds(
        silence_minutes=group.radar_silence_minutes, quiet_after_reply_minutes=group.radar_quiet_after_reply_minutes
    )


def live_session(group_id: int) -> LiveSession | None:
    return LiveSession.objects.filter(group_id=group_id, ended_at__isnull=True).first()


def member_days(
    group: Group, *, now: datetime, session: LiveSession | None, only_user: int | None = None
) -> list[MemberDay]:
    """Today's facts for each seated member (facilitators hold the space and are not on the radar)."""
    day = start_of_day(now)
    memberships = Membership.objects.filter(
        group=group, role=Role.MEMBER, state__in=(MembershipState.ACTIVE, MembershipState.PAUSED)
    ).select_related("user")
    if only_user is not None:
        memberships = memberships.filter(user_id=only_user)
    people = {m.user_id: m.user.pseudonym for m in memberships}
    ids = list(people)
    fresh = now - timedelta(seconds=PRESENCE_TTL_SECONDS)
    here = set(
        Presence.objects.filter(group=group, user_id__in=ids, last_seen__gte=fresh).values_list("user_id", flat=True)
    )
    attendance = {}
    if session is not None:
        attendance = {a.user_id: a for a in SessionAttendance.objects.filter(session=session, user_id__in=ids)}
    spoke = dict(
        Message.objects.filter(group=group, author_id__in=ids, created_at__gte=day)
        .values("author_id")
        .annotate(last=Max("created_at"))
        .values_list("author_id", "last")
    )
    listening = set(
        ListeningToday.objects.filter(group=group, user_id__in=ids, day=now.date()).values_list("user_id", flat=True)
    )
    checkins = {}
    for answer in RoundAnswer.objects.filter(
        round__group=group, round__kind=RoundKind.CHECKIN, user_id__in=ids, answered_at__gte=day
    ).order_by("answered_at"):
        checkins[answer.user_id] = answer  # the latest wins
    hard_replies = {}
    for replied_to, at, categories in Message.objects.filter(
        group=group, reply_to__author_id__in=ids, created_at__gte=day
    ).values_list("reply_to__author_id", "created_at", "categories"):
        if set(categories or ()) & set(HARD_REPLY_CATEGORIES):
            hard_replies[replied_to] = max(at, hard_replies.get(replied_to, at))
    flagged: dict[int, set[str]] = {user_id: set() for user_id in ids}
    for author_id, categories in (
        Message.objects.filter(group=group, author_id__in=ids, created_at__gte=day)
        .exclude(categories=[])
        .values_list("author_id", "categories")
    ):
        flagged[author_id] |= {c for c in categories or () if c in ("crisis", "self_criticism")}
    for member_id in Alert.objects.filter(
        group=group, member_id__in=ids, category="crisis", created_at__gte=day
    ).values_list("member_id", flat=True):
        flagged[member_id].add("crisis")
    # A nudge about self-kindness stores no message, but the audit row names the agreement.
    kind_numbers = set(Agreement.objects.filter(group=group, rule_key="self_kindness").values_list("number", flat=True))
    if kind_numbers:
        for target_id in AuditEntry.objects.filter(
            group=group,
            target_id__in=ids,
            kind="moderation.message.nudged",
            agreement_number__in=kind_numbers,
            at__gte=day,
        ).values_list("target_id", flat=True):
            flagged[target_id].add("self_criticism")
    days = []
    for user_id, pseudonym in people.items():
        seat = attendance.get(user_id)
        answer = checkins.get(user_id)
        days.append(
            MemberDay(
                user_id=user_id,
                pseudonym=pseudonym,
                here=user_id in here,
                arrived_at=seat.arrived_at if seat else None,
                left_at=seat.left_at if seat else None,
                last_spoke_at=spoke.get(user_id),
                listening_today=user_id in listening,
                checkin_feelings=tuple(answer.feelings) if answer else (),
                checkin_need=answer.need if answer else "",
                hard_reply_at=hard_replies.get(user_id),
                flagged_today=frozenset(flagged[user_id]),
            )
        )
    return days


def group_radar(group: Group, *, now: datetime | None = None) -> list[RadarEntry]:
    """The radar for a group's facilitators right now."""
    now = now or timezone.now()
    session = live_session(group.pk)
    started = session.started_at if session else None
    return radar(
        member_days(group, now=now, session=session),
        now=now,
        session_started_at=started,
        thresholds=thresholds_of(group),
    )


def radar_about(group: Group, user_id: int, *, now: datetime | None = None) -> RadarEntry | None:
    """What the radar would show the facilitators about this one member right now (their settings page)."""
    now = now or timezone.now()
    session = live_session(group.pk)
    started = session.started_at if session else None
    days = member_days(group, now=now, session=session, only_user=user_id)
    entries = radar(days, now=now, session_started_at=started, thresholds=thresholds_of(group))
    return entries[0] if entries else None


def radar_for_member(user) -> list[tuple[Group, RadarEntry | None]]:
    """For a member's own settings page: in each of their groups, what the radar would show about them now."""
    groups = Group.objects.filter(
        memberships__user=user,
        memberships__role=Role.MEMBER,
        memberships__state__in=(MembershipState.ACTIVE, MembershipState.PAUSED),
    ).order_by("name")
    now = timezone.now()
    return [(group, radar_about(group, user.pk, now=now)) for group in groups]
