"""Safeguarding state changes, one function each: open a case with its alert, take it, follow it up,
close it, write a debrief, say whether you're available. Each is one transaction and writes its
audit row (never the member's words, never the private note); facilitators' sockets hear after commit."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from groups.models import Membership, MembershipState, Role
from moderation.models import Alert
from moderation.queue import alert_item, queue_frame
from moderation.records import audit
from supportcircle import realtime
from supportcircle.accounts.models import User
from supportcircle.text import storable_text

from .escalation import climb, window_for
from .models import AlertCase, CaseState, Debrief, Page, Presence, RotaMember, Step

TAKEN = "safeguarding.alert.taken"
FOLLOWED_UP = "safeguarding.alert.followed_up"
CLOSED = "safeguarding.alert.closed"
OPENED = "safeguarding.alert.opened"


# The alerts that get a case and climb: crisis, and a member's "I'm worried about" flag once moderation raises
# it as an alert of that category (it only has to send moderation.signals.alert_raised, as for crisis).
SAFEGUARDED_CATEGORIES = frozenset({"crisis", "worried"})


class SafeguardingRefused(Exception):
    """Something a person can't do here; ``str()`` is safe to show them."""


# --- Who may do what ------------------------------------------------------------------------------


def _facilitates(user_id: int) -> Exists:
    return Exists(
        Membership.objects.filter(
            group_id=OuterRef("group_id"), user_id=user_id, role=Role.FACILITATOR, state=MembershipState.ACTIVE
        )
    )


def takeable_by(user: User):
    """Open cases this person may take: their group's (as an active facilitator), any they were paged for,
    and, for an operator, any that reached the operators."""
    if not user.is_authenticated or not user.is_active:
        return AlertCase.objects.none()
    may = _facilitates(user.pk) | Exists(Page.objects.filter(case=OuterRef("pk"), user_id=user.pk))
    if user.is_staff:
        may = may | Q(step=Step.OPERATORS)
    return AlertCase.objects.filter(may, state=CaseState.OPEN)


def may_take(user: User, case: AlertCase) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff:
        return True
    return (
        Page.objects.filter(case=case, user=user).exists()
        or Membership.objects.filter(
            group_id=case.group_id, user=user, role=Role.FACILITATOR, state=MembershipState.ACTIVE
        ).exists()
    )


def may_see(user: User, case: AlertCase) -> bool:
    """The people who could take it, and whoever did. Never the member it is about, unless they are one of those."""
    return may_take(user, case) or (user.is_authenticated and case.acknowledged_by_id == user.pk)


def _handles(user: User, case: AlertCase) -> bool:
    return case.acknowledged_by_id == user.pk or user.is_staff


# --- State changes -------------------------------------------------------------------------------


def open_case(alert: Alert, *, has_active_facilitator: bool) -> AlertCase | None:
    """A crisis alert was stored: its case opens in the same transaction. The group's facilitators who are
    here see it now; a group with no active facilitator goes straight to the rota."""
    if alert.category not in SAFEGUARDED_CATEGORIES:
        return None
    now = timezone.now()
    case = AlertCase.objects.create(
        alert=alert,
        group_id=alert.group_id,
        raised_at=alert.created_at or now,
        next_step_at=now + window_for(alert.group_id),
    )
    if not has_active_facilitator:
        climb(case, now, why="No active facilitator in the group")
    return case


def take_alert(actor: User, case_id: int) -> AlertCase:
    """Someone says "I've got this": the alert is theirs, the climb stops, nobody else is paged, and it
    leaves every facilitator's queue. Taking one already taken changes nothing and says who has it."""
    with transaction.atomic():
        case = AlertCase.objects.select_for_update().filter(pk=case_id).first()
        if case is None or not may_take(actor, case):
            raise SafeguardingRefused(
                "This alert isn't one you can take. If that seems wrong, please tell an operator."
            )
        if case.state != CaseState.OPEN:
            return case
        now = timezone.now()
        # Only the alert's own row is locked (PostgreSQL refuses to lock the outer join to its message).
        alert = Alert.objects.select_for_update(of=("self",)).select_related("member", "message").get(pk=case.alert_id)
        if alert.acknowledged_at is None:
            alert.acknowledged_by, alert.acknowledged_at = actor, now
            alert.save(update_fields=["acknowledged_by", "acknowledged_at"])
        _mark_taken(case, alert.acknowledged_by, alert.acknowledged_at)
        audit(
            case.group_id,
            TAKEN,
            actor=alert.acknowledged_by,
            message=alert.message,
            note=f"Taken at the step of {Step(case.step).label}.",
        )
        realtime.on_commit_to_facilitators(case.group_id, queue_frame({**alert_item(alert), "state": "resolved"}))
    return case


def note_acknowledged(alert: Alert, actor: User) -> None:
    """A facilitator took the alert from moderation's queue (moderation.signals.alert_acknowledged)."""
    case = AlertCase.objects.select_for_update().filter(alert=alert, state=CaseState.OPEN).first()
    if case is not None:
        _mark_taken(case, actor, alert.acknowledged_at or timezone.now())


def _mark_taken(case: AlertCase, by: User, at: datetime) -> None:
    case.state, case.next_step_at = CaseState.ACKNOWLEDGED, None
    case.acknowledged_by, case.acknowledged_at = by, at
    case.save(update_fields=["state", "next_step_at", "acknowledged_by", "acknowledged_at"])


def follow_up(actor: User, case_id: int, note: str) -> AlertCase:
    """The person who took it writes a short private note on how they followed up (only people who may take
    alerts in this group read it; never the member)."""
    note = _keepable(note)
    if not note:
        raise SafeguardingRefused("Please write a line about how you followed up; only the team will read it.")
    with transaction.atomic():
        case = _own_case(actor, case_id)
        if case.state == CaseState.CLOSED:
            raise SafeguardingRefused("This alert is closed already. Thank you.")
        case.state, case.follow_up_note, case.followed_up_at = CaseState.FOLLOWED_UP, note[:500], timezone.now()
        case.save(update_fields=["state", "follow_up_note", "followed_up_at"])
        audit(
            case.group_id,
            FOLLOWED_UP,
            actor=actor,
            message=case.alert.message,
            note="Followed up, with a private note.",
        )
    return case


def close_case(actor: User, case_id: int) -> AlertCase:
    with transaction.atomic():
        case = _own_case(actor, case_id)
        if case.state != CaseState.CLOSED:
            case.state, case.closed_at = CaseState.CLOSED, timezone.now()
            case.save(update_fields=["state", "closed_at"])
            audit(case.group_id, CLOSED, actor=actor, message=case.alert.message)
    return case


def write_debrief(actor: User, case_id: int, note: str) -> Debrief:
    """A note for themselves after an alert they handled: only they ever read it."""
    note = _keepable(note)
    if not note:
        raise SafeguardingRefused("The note is empty. You're welcome to leave it, too.")
    case = AlertCase.objects.filter(pk=case_id, acknowledged_by=actor).first()
    if case is None:
        raise SafeguardingRefused("A debrief is for an alert you took.")
    return Debrief.objects.create(case=case, author=actor, note=note[:1000])


def _keepable(note: str) -> str:
    if not storable_text(note):
        raise SafeguardingRefused("A character in that note can't be kept. Please write it again.")
    return note.strip()


def _own_case(actor: User, case_id: int) -> AlertCase:
    case = AlertCase.objects.select_for_update().filter(pk=case_id).first()
    if case is None or case.state == CaseState.OPEN or not _handles(actor, case):
        raise SafeguardingRefused("Only the person who took this alert (or an operator) can do that.")
    return case


def set_available(user: User, available: bool) -> RotaMember:
    """A rota member says whether they can be paged; while unavailable their deputy is paged instead."""
    with transaction.atomic():
        member = RotaMember.objects.select_for_update().filter(user=user, is_active=True).first()
        if member is None:
            raise SafeguardingRefused("You're not on the safeguarding rota.")
        member.is_available = available
        member.unavailable_since = None if available else timezone.now()
        member.save(update_fields=["is_available", "unavailable_since"])
    return member


def note_seen(user: User, now: datetime | None = None) -> None:
    """Their page asked for the banner: they're connected, so a page reaches them there, not by email."""
    now = now or timezone.now()
    updated = Presence.objects.filter(user=user).update(seen_at=now)
    if not updated:
        Presence.objects.get_or_create(user=user, defaults={"seen_at": now})
