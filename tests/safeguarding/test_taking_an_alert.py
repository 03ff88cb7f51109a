"""Someone says "I've got this": the alert is theirs, the climb stops, it leaves every facilitator's queue; then
a private follow-up note, closing, and a debrief only they read. The member never learns who has it."""

import pytest
from django.core import mail
from django.urls import reverse

from groups.actions import pause_membership
from moderation.models import Alert
from safeguarding.actions import SafeguardingRefused, take_alert
from safeguarding.escalation import escalate_due
from safeguarding.models import CaseState, Debrief, Step
from tests.safeguarding.conftest import raise_crisis, steps

pytestmark = pytest.mark.django_db(transaction=True)


def _paged_to_rota(clock, group, member, facilitator):
    pause_membership(facilitator, group)
    case = raise_crisis(member, group)
    assert case.step == Step.ROTA
    return case


def test_a_rota_member_takes_it_from_the_alert_page_and_the_climb_stops(
    clock, client, group, member, facilitator, rota_member, operator
):
    case = _paged_to_rota(clock, group, member, facilitator)
    client.force_login(rota_member)
    page = client.get(reverse("safeguarding:alert", args=[case.pk]))
    assert b"I've got this" in page.content
    clock.advance(minutes=4)
    response = client.post(reverse("safeguarding:take", args=[case.pk]), follow=True)
    assert b"it&#x27;s yours now" in response.content
    case.refresh_from_db()
    alert = Alert.objects.get(pk=case.alert_id)
    assert (case.state, case.acknowledged_by, case.seconds_to_acknowledge) == (CaseState.ACKNOWLEDGED, rota_member, 240)
    assert (alert.acknowledged_by, alert.acknowledged_at) == (rota_member, clock.now)  # out of the queue too

    outbox = len(mail.outbox)
    clock.advance(hours=1)
    assert escalate_due() == 0
    assert len(mail.outbox) == outbox  # the operators are never paged
    assert [kind for kind, _, _ in steps(group)][-1] == "safeguarding.alert.taken"


def test_taking_an_alert_someone_already_took_says_who_has_it(
    clock, client, group, member, facilitator, rota_member, operator
):
    case = _paged_to_rota(clock, group, member, facilitator)
    take_alert(operator, case.pk)
    client.force_login(rota_member)
    response = client.post(reverse("safeguarding:take", args=[case.pk]), follow=True)
    assert b"Jordan has this one already" in response.content
    case.refresh_from_db()
    assert case.acknowledged_by == operator


def test_the_member_and_an_outsider_can_neither_see_nor_take_it(
    clock, client, group, member, facilitator, outsider, rota_member
):
    case = _paged_to_rota(clock, group, member, facilitator)
    for person in (member, outsider):
        client.force_login(person)
        assert client.get(reverse("safeguarding:alert", args=[case.pk])).status_code == 404
        assert client.post(reverse("safeguarding:take", args=[case.pk])).status_code == 404
        assert client.get(reverse("safeguarding:banner")).json() == {"alerts": []}
        with pytest.raises(SafeguardingRefused):
            take_alert(person, case.pk)


def test_a_facilitator_removed_mid_alert_can_no_longer_take_it(clock, group, member, facilitator, second_member):
    from groups.models import Membership, MembershipState, Role

    co = second_member
    Membership.objects.filter(user=co, group=group).update(role=Role.FACILITATOR)
    case = raise_crisis(member, group)
    # An administrator removes the co-facilitator (facilitators can't remove each other).
    Membership.objects.filter(user=co, group=group).update(state=MembershipState.REMOVED)
    with pytest.raises(SafeguardingRefused):
        take_alert(co, case.pk)
    assert take_alert(facilitator, case.pk).acknowledged_by == facilitator


def test_after_taking_it_a_private_follow_up_note_closing_and_a_debrief_only_they_read(
    clock, client, group, member, facilitator, rota_member
):
    case = _paged_to_rota(clock, group, member, facilitator)
    client.force_login(rota_member)
    client.post(reverse("safeguarding:take", args=[case.pk]))
    page = client.get(reverse("safeguarding:alert", args=[case.pk]))
    assert b"A note for yourself" in page.content and b"Find a helpline near you" in page.content  # support for them

    client.post(reverse("safeguarding:followed_up", args=[case.pk]), {"note": "Wrote to Sam; they're with a friend."})
    client.post(reverse("safeguarding:debrief", args=[case.pk]), {"note": "That was heavy. Walk after."})
    client.post(reverse("safeguarding:close", args=[case.pk]))
    case.refresh_from_db()
    assert (case.state, case.follow_up_note) == (CaseState.CLOSED, "Wrote to Sam; they're with a friend.")
    assert Debrief.objects.get(case=case).author == rota_member
    assert [kind for kind, _, note in steps(group)][-2:] == [
        "safeguarding.alert.followed_up",
        "safeguarding.alert.closed",
    ]
    assert all("Sam" not in note and "heavy" not in note for _, _, note in steps(group))  # never the notes in the log

    client.force_login(facilitator)  # back from the break: reads the trail, never someone else's debrief
    from groups.actions import resume_membership

    resume_membership(facilitator, group)
    page = client.get(reverse("safeguarding:alert", args=[case.pk]))
    assert page.status_code == 200 and b"heavy" not in page.content


def test_the_console_shows_who_has_each_alert(clock, client, group, member, facilitator):
    case = raise_crisis(member, group)
    client.force_login(facilitator)
    take_alert(facilitator, case.pk)
    page = client.get(reverse("console:console", args=[group.slug]))
    assert b"Crisis alerts this week" in page.content
    assert b"Taken by Robin" in page.content
    assert b"A note for yourself, and support for you" in page.content  # the debrief, offered to whoever took it
