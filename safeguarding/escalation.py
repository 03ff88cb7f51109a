"""The climb: an alert nobody has taken within its group's window goes to the group's facilitators, then
to whoever is on the rota, then to the operators, each step in the group's audit log with its time.
Once it waits with the operators, every further window reminds everyone who may take it (the group's
facilitators, whoever is on the rota now, the operators) until someone does: nobody is left waiting
because the last step was paged once and missed.

Run by the scheduler (``manage.py safeguarding_escalate``, a job of ``run_scheduler``). Everything it
needs is in the database (each case's step and when it climbs next), so a restarted scheduler picks
up where the last one stopped; each case is claimed with ``select_for_update(skip_locked=True)``, so
several schedulers never page the same step twice, and a case someone is taking is left alone.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from groups.models import LiveSession, Membership, MembershipState, Role
from moderation.records import audit
from supportcircle.accounts.models import User
from supportcircle.text import counted

from .models import AlertCase, CaseState, EscalationWindow, Page, Presence, Step
from .rota import on_call

log = logging.getLogger(__name__)

CLIMBED = "safeguarding.alert.climbed"
SKIPPED = "safeguarding.alert.step_skipped"
REMINDED = "safeguarding.alert.reminded"
# At most this many cases are climbed in one run; the rest wait for the next tick (seconds later).
BATCH = 200


def window_for(group_id: int) -> timedelta:
    """How long an alert in this group waits before it climbs: shorter while a live session is open."""
    live = LiveSession.objects.filter(group_id=group_id, ended_at__isnull=True).exists()
    custom = EscalationWindow.objects.filter(group_id=group_id).first()
    if live:
        minutes = custom.live_minutes if custom else settings.SAFEGUARDING_WINDOW_LIVE_MINUTES
    else:
        minutes = custom.quiet_minutes if custom else settings.SAFEGUARDING_WINDOW_QUIET_MINUTES
    return timedelta(minutes=minutes)


def active_facilitators(group_id: int):
    return User.objects.filter(
        is_active=True,
        memberships__group_id=group_id,
        memberships__role=Role.FACILITATOR,
        memberships__state=MembershipState.ACTIVE,
    )


def has_active_facilitator(group_id: int) -> bool:
    return Membership.objects.filter(group_id=group_id, role=Role.FACILITATOR, state=MembershipState.ACTIVE).exists()


def people_at(step: Step, case: AlertCase, now: datetime) -> list[User]:
    if step == Step.GROUP_FACILITATORS:
        return list(active_facilitators(case.group_id))
    if step == Step.ROTA:
        return on_call(now)
    if step == Step.OPERATORS:
        return list(User.objects.filter(is_staff=True, is_active=True))
    return []


def climb(case: AlertCase, now: datetime, *, why: str, since: datetime | None = None) -> None:
    """Page the next step that has anyone in it (call with the case locked, inside a transaction).

    A step with nobody in it (a group with no active facilitator, nobody on the rota now) is recorded
    as skipped and the alert goes on at once; the operators are the last step, paged even if empty. The next
    step is due a window after ``since`` (when this one was due), so a late scheduler doesn't push it back."""
    step = Step(case.step)
    while step < Step.OPERATORS:
        step = Step(step + 1)
        people = people_at(step, case, now)
        if people or step == Step.OPERATORS:
            break
        audit(
            case.group_id,
            SKIPPED,
            message=case.alert.message,
            note=f"Nobody to page among {step.label}: on to the next step.",
            at=now,
        )
    case.step = step
    case.next_step_at = (since or now) + window_for(case.group_id)  # at the operators' step: the reminder
    case.save(update_fields=["step", "next_step_at"])
    emailed = page(case, people, step, now)
    audit(
        case.group_id,
        CLIMBED,
        message=case.alert.message,
        note=f"{why}: paged {step.label} ({_people(len(people))}, {len(emailed)} by email).",
        at=now,
    )
    if step == Step.OPERATORS and not people:
        log.error("crisis alert %s reached the operators' step but there is no active staff account", case.alert_id)


def remind(case: AlertCase, now: datetime) -> None:
    """Still not taken at the operators' step: page again everyone who may take it (call with the case locked).
    Anyone new at a step (a rota shift that began since) is paged for the first time; everyone already paged
    who isn't connected is emailed again (the connected see it on their banner). Due again a window later."""
    people: dict[int, User] = {}
    emailed: list[int] = []
    for step in (Step.GROUP_FACILITATORS, Step.ROTA, Step.OPERATORS):
        at_step = [person for person in people_at(step, case, now) if person.pk not in people]
        emailed += page(case, at_step, step, now)  # only those never paged for it before
        people.update((person.pk, person) for person in at_step)
    here = connected(list(people.values()), now)
    again = [pk for pk, person in people.items() if pk not in here and person.email and pk not in emailed]
    if again:
        transaction.on_commit(functools.partial(send_page_emails, case.pk, again, still_waiting=True))
    case.next_step_at = now + window_for(case.group_id)
    case.save(update_fields=["next_step_at"])
    minutes = round((now - case.raised_at).total_seconds() / 60)
    audit(
        case.group_id,
        REMINDED,
        message=case.alert.message,
        note=(
            f"Still not taken after {minutes} min: reminded {_people(len(people))} "
            f"({len(again)} again by email, {len(emailed)} for the first time)."
        ),
        at=now,
    )
    if not people:
        log.error("crisis alert %s is still waiting and nobody can be paged for it", case.alert_id)


def _people(count: int) -> str:
    return counted(count, "person", "people")


def connected(people: list[User], now: datetime) -> set[int]:
    """Who among ``people`` has a page open now (their banner shows an alert at once)."""
    seen_since = now - timedelta(seconds=settings.SAFEGUARDING_CONNECTED_SECONDS)
    return set(Presence.objects.filter(user__in=people, seen_at__gte=seen_since).values_list("user_id", flat=True))


def page(case: AlertCase, people: list[User], step: Step, now: datetime) -> list[int]:
    """Ask each person to take the alert: their banner shows it at once; those not connected get an email.
    Someone already paged for this alert is not paged again. Who was emailed."""
    here = connected(people, now)
    emailed = []
    for person in people:
        to_email = person.pk not in here and bool(person.email)
        _, created = Page.objects.get_or_create(
            case=case,
            user=person,
            defaults={"step": step, "paged_at": now, "emailed_at": now if to_email else None},
        )
        if created and to_email:
            emailed.append(person.pk)
    if emailed:
        transaction.on_commit(functools.partial(send_page_emails, case.pk, emailed))
    return emailed


def alert_url(case_id: int) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("safeguarding:alert", args=[case_id])


def send_page_emails(case_id: int, user_ids: list[int], *, still_waiting: bool = False) -> None:
    """The email says nothing about the group, the member or their words: only that someone is waiting, and a link."""
    link = alert_url(case_id)
    if still_waiting:
        subject = "SupportCircle: an alert is still waiting for someone"
        waiting = "Someone in a SupportCircle group may need support, and their alert is still waiting for a person"
        after = "If you can't take it, that's all right: everyone who can is being asked again.\n\n"
    else:
        subject = "SupportCircle: an alert is waiting for someone"
        waiting = "Someone in a SupportCircle group may need support right now, and their alert is waiting for a person"
        after = "If you can't take it, that's all right: it moves on to the next person in a few minutes.\n\n"
    for person in User.objects.filter(pk__in=user_ids):
        body = (
            f"Hello {person.pseudonym},\n\n"
            f'{waiting} to take it. If you can, please open this link and choose "I\'ve got this":\n\n'
            f"{link}\n\n"
            f"{after}"
            "Thank you for being there.\n"
        )
        try:
            send_mail(
                subject,
                body,
                settings.DEFAULT_FROM_EMAIL,
                [person.email],
            )
        except Exception as problem:  # the page and the banner stand; the next step still comes
            log.warning("safeguarding email for case %s failed: %s", case_id, type(problem).__name__)


def escalate_due(now: datetime | None = None) -> int:
    """Climb every open case whose window has passed; how many climbed here (0 when another scheduler has them)."""
    now = now or timezone.now()
    due = list(
        AlertCase.objects.filter(state=CaseState.OPEN, next_step_at__lte=now)
        .order_by("next_step_at")
        .values_list("pk", flat=True)[:BATCH]
    )
    climbed = 0
    for case_id in due:
        with transaction.atomic():
            case = (
                AlertCase.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=case_id, state=CaseState.OPEN, next_step_at__lte=now)
                .select_related("alert")
                .first()
            )
            if case is None:  # taken meanwhile, or another scheduler holds it
                continue
            if case.alert.acknowledged_at is not None:  # taken through moderation: never page for it
                case.state, case.next_step_at = CaseState.ACKNOWLEDGED, None
                case.acknowledged_by_id, case.acknowledged_at = (
                    case.alert.acknowledged_by_id,
                    case.alert.acknowledged_at,
                )
                case.save(update_fields=["state", "next_step_at", "acknowledged_by", "acknowledged_at"])
                continue
            # A scheduler that was down (a restart) catches up: every step already due is paged now,
            # and one reminder stands for every one it missed.
            while case.next_step_at is not None and case.next_step_at <= now:
                if case.step == Step.OPERATORS:
                    remind(case, now)
                    break
                minutes = round((now - case.raised_at).total_seconds() / 60)
                climb(case, now, why=f"Not taken after {minutes} min", since=case.next_step_at)
            climbed += 1
    return climbed
