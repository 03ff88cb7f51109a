"""An alert nobody takes climbs: all of the group's facilitators, then the rota, then the operators, each step
in the audit log with its time; a live session shortens the window; nobody is paged once someone has it."""

from datetime import timedelta

import pytest
from django.core import mail

from groups.actions import pause_membership
from groups.models import LiveSession
from moderation.actions import acknowledge_alert
from safeguarding.escalation import escalate_due
from safeguarding.models import CaseState, EscalationWindow, Page, Presence, Step
from tests.safeguarding.conftest import CRISIS, raise_crisis, steps

# Committed for real, so the emails (sent after commit) go out as on a server.
pytestmark = pytest.mark.django_db(transaction=True)


def test_an_alert_nobody_takes_climbs_each_window_until_it_reaches_the_operators(
    clock, group, member, with_email, rota_member, operator
):
    case = raise_crisis(member, group)
    assert case.step == Step.FACILITATORS_HERE
    assert case.next_step_at == clock.now + timedelta(minutes=10)  # no live session: the quiet window

    clock.advance(minutes=9, seconds=59)
    assert escalate_due() == 0
    clock.advance(seconds=1)
    assert escalate_due() == 1
    case.refresh_from_db()
    assert case.step == Step.GROUP_FACILITATORS
    assert [m.to for m in mail.outbox] == [["robin@example.org"]]

    clock.advance(minutes=10)
    escalate_due()
    case.refresh_from_db()
    assert case.step == Step.ROTA
    assert mail.outbox[-1].to == ["morgan@example.org"]

    clock.advance(minutes=10)
    escalate_due()
    case.refresh_from_db()
    assert (case.step, case.state) == (Step.OPERATORS, CaseState.OPEN)
    assert case.next_step_at == clock.now + timedelta(minutes=10)  # the operators are the last step: a reminder
    assert mail.outbox[-1].to == ["jordan@example.org"]
    raised = case.raised_at
    assert [(kind, at - raised) for kind, at, _ in steps(group)] == [
        ("safeguarding.alert.climbed", timedelta(minutes=10)),
        ("safeguarding.alert.climbed", timedelta(minutes=20)),
        ("safeguarding.alert.climbed", timedelta(minutes=30)),
    ]
    assert "paged the safeguarding rota (1 person, 1 by email)" in steps(group)[1][2]


def test_an_alert_still_waiting_with_the_operators_asks_everyone_again_each_window_until_someone_takes_it(
    clock, group, member, facilitator, with_email, rota_member, operator
):
    case = raise_crisis(member, group)
    for _ in range(3):
        clock.advance(minutes=10)
        escalate_due()
    case.refresh_from_db()
    assert case.step == Step.OPERATORS
    mail.outbox.clear()

    clock.advance(minutes=10)
    assert escalate_due() == 1

    still = [message for message in mail.outbox if "still waiting" in message.subject]
    everyone = ["jordan@example.org", "morgan@example.org", "robin@example.org"]
    assert sorted(message.to[0] for message in still) == everyone
    assert all(f"/safeguarding/alerts/{case.pk}/" in message.body for message in still)
    kind, at, note = steps(group)[-1]
    assert (kind, at - case.raised_at) == ("safeguarding.alert.reminded", timedelta(minutes=40))
    assert "Still not taken after 40 min: reminded 3 people" in note

    clock.advance(minutes=10)
    escalate_due()
    assert len([message for message in mail.outbox if "still waiting" in message.subject]) == 6

    acknowledge_alert(facilitator, group, alert_id=case.alert.pk)
    mail.outbox.clear()
    clock.advance(hours=2)
    assert escalate_due() == 0 and mail.outbox == []  # taken: nobody is asked again


def test_a_reminder_reaches_the_connected_on_their_banner_not_by_email(
    clock, group, member, with_email, rota_member, operator
):
    case = raise_crisis(member, group)
    for _ in range(3):
        clock.advance(minutes=10)
        escalate_due()
    mail.outbox.clear()
    clock.advance(minutes=10)
    Presence.objects.update_or_create(user=operator, defaults={"seen_at": clock.now})

    escalate_due()

    assert sorted(message.to[0] for message in mail.outbox) == ["morgan@example.org", "robin@example.org"]
    assert Page.objects.filter(case=case, user=operator).exists()  # Jordan's banner shows it


def test_the_email_carries_only_a_link_never_the_group_or_the_words(clock, group, member, with_email):
    case = raise_crisis(member, group)
    clock.advance(minutes=10)
    escalate_due()
    (email,) = mail.outbox
    assert f"https://circle.example/safeguarding/alerts/{case.pk}/" in email.body
    for private in (CRISIS, "kill", group.name, member.pseudonym):
        assert private not in email.body and private not in email.subject


def test_a_live_session_shortens_the_window_to_two_minutes(clock, group, member, facilitator):
    LiveSession.objects.create(group=group, opened_by=facilitator, started_at=clock.now)
    case = raise_crisis(member, group)
    assert case.next_step_at == clock.now + timedelta(minutes=2)


def test_a_group_can_set_its_own_window(clock, group, member):
    EscalationWindow.objects.create(group=group, live_minutes=1, quiet_minutes=5)
    assert raise_crisis(member, group).next_step_at == clock.now + timedelta(minutes=5)


def test_a_group_with_no_active_facilitator_goes_straight_to_the_rota(clock, group, member, facilitator, rota_member):
    pause_membership(facilitator, group)  # on a break: away
    case = raise_crisis(member, group)
    assert case.step == Step.ROTA
    assert list(Page.objects.filter(case=case).values_list("user__pseudonym", flat=True)) == ["Morgan"]
    assert [m.to for m in mail.outbox] == [["morgan@example.org"]]
    kinds = [(kind, at) for kind, at, _ in steps(group)]
    assert kinds == [("safeguarding.alert.step_skipped", clock.now), ("safeguarding.alert.climbed", clock.now)]


def test_nobody_on_the_rota_now_takes_it_on_to_the_operators(clock, group, member, facilitator, operator):
    pause_membership(facilitator, group)
    case = raise_crisis(member, group)
    assert case.step == Step.OPERATORS
    assert [kind for kind, _, _ in steps(group)] == [
        "safeguarding.alert.step_skipped",
        "safeguarding.alert.step_skipped",
        "safeguarding.alert.climbed",
    ]


def test_nobody_is_paged_for_an_alert_a_facilitator_already_took(
    clock, group, member, facilitator, with_email, rota_member, operator
):
    case = raise_crisis(member, group)
    clock.advance(minutes=3)
    acknowledge_alert(facilitator, group, alert_id=case.alert_id)
    case.refresh_from_db()
    assert (case.state, case.acknowledged_by, case.next_step_at) == (CaseState.ACKNOWLEDGED, facilitator, None)
    clock.advance(hours=2)
    assert escalate_due() == 0
    assert mail.outbox == [] and not Page.objects.exists()


def test_someone_connected_sees_the_banner_instead_of_an_email(clock, group, member, with_email):
    case = raise_crisis(member, group)
    clock.advance(minutes=10)
    Presence.objects.create(user=with_email, seen_at=clock.now - timedelta(seconds=20))  # their page asked lately
    escalate_due()
    page = Page.objects.get(case=case)
    assert (page.user, page.emailed_at) == (with_email, None)
    assert mail.outbox == []


def test_a_second_scheduler_run_at_the_same_moment_pages_nobody_twice(clock, group, member, with_email):
    raise_crisis(member, group)
    clock.advance(minutes=10)
    assert escalate_due() == 1
    assert escalate_due() == 0
    assert len(mail.outbox) == 1 and Page.objects.count() == 1


def test_the_scheduler_runs_the_climb_as_one_of_its_jobs(clock, group, member, with_email):
    from supportcircle.operations.scheduler import run_due

    case = raise_crisis(member, group)
    assert "safeguarding_escalate" in run_due()
    clock.advance(minutes=10)
    assert "safeguarding_escalate" in run_due()
    case.refresh_from_db()
    assert case.step == Step.GROUP_FACILITATORS
    assert "safeguarding_escalate" not in run_due()  # claimed within its 15 seconds already


def test_a_scheduler_back_from_a_restart_pages_every_step_already_due(
    clock, group, member, with_email, rota_member, operator
):
    case = raise_crisis(member, group)
    clock.advance(minutes=25)  # the scheduler was down: two windows passed
    escalate_due()
    case.refresh_from_db()
    assert case.step == Step.ROTA
    assert case.next_step_at == case.raised_at + timedelta(minutes=30)  # on the schedule it would have kept
    assert sorted(m.to[0] for m in mail.outbox) == ["morgan@example.org", "robin@example.org"]


def test_an_alert_a_group_chose_for_another_kind_of_message_gets_no_case(clock, group, member):
    from moderation.models import Alert
    from moderation.signals import alert_raised
    from safeguarding.models import AlertCase

    alert = Alert.objects.create(group=group, member=member, category="contact")
    alert_raised.send(sender=Alert, alert=alert, has_active_facilitator=True)
    assert not AlertCase.objects.filter(alert=alert).exists()
    worried = Alert.objects.create(group=group, member=member, category="worried")
    alert_raised.send(sender=Alert, alert=worried, has_active_facilitator=True)
    assert AlertCase.objects.get(alert=worried).step == Step.FACILITATORS_HERE
