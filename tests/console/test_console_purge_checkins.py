"""Retention follows the group's agreement: `purge_expired` deletes exactly the check-in answers past their time."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from chat.models import RoundAnswer, RoundKind
from chat.retention import purge_checkins
from chat.room import answer_round, close_round, open_round
from groups.models import Group, ListeningToday

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


def answered(group, facilitator, member, *, at: datetime, kind: str = "checkin") -> RoundAnswer:
    round_ = open_round(facilitator.pk, group.pk, kind=kind)
    if kind == "checkin":
        answer_round(member.pk, group.pk, round_id=round_["id"], feelings=("tired",))
    else:
        answer_round(member.pk, group.pk, round_id=round_["id"], gratitude="My cat")
    close_round(facilitator.pk, group.pk, round_id=round_["id"])
    answer = RoundAnswer.objects.get(round_id=round_["id"], user=member)
    RoundAnswer.objects.filter(pk=answer.pk).update(answered_at=at)  # a clock moved by hand
    return answer


def test_it_deletes_answers_past_thirty_days_and_keeps_younger_ones(group, facilitator, member):
    past = answered(group, facilitator, member, at=NOW - timedelta(days=30, seconds=1))
    exactly = answered(group, facilitator, member, at=NOW - timedelta(days=30))
    young = answered(group, facilitator, member, at=NOW - timedelta(days=29, hours=23, minutes=59))
    purged = purge_checkins(now=NOW)
    assert purged.checkin_answers == 2
    assert set(RoundAnswer.objects.values_list("pk", flat=True)) == {young.pk}
    assert not RoundAnswer.objects.filter(pk__in=[past.pk, exactly.pk]).exists()


def test_each_group_keeps_answers_as_long_as_its_agreement_says(group, facilitator, member):
    Group.objects.filter(pk=group.pk).update(checkin_retention_days=7)
    eight_days = answered(group, facilitator, member, at=NOW - timedelta(days=8))
    six_days = answered(group, facilitator, member, at=NOW - timedelta(days=6))
    purge_checkins(now=NOW)
    assert not RoundAnswer.objects.filter(pk=eight_days.pk).exists()
    assert RoundAnswer.objects.filter(pk=six_days.pk).exists()


def test_gratitude_answers_are_not_check_ins_and_stay(group, facilitator, member):
    gratitude = answered(group, facilitator, member, at=NOW - timedelta(days=90), kind="gratitude")
    purge_checkins(now=NOW)
    assert RoundAnswer.objects.filter(pk=gratitude.pk, round__kind=RoundKind.GRATITUDE).exists()


def test_the_scheduled_purge_expired_command_also_purges_check_ins(group, facilitator, member, capsys):
    now = timezone.now()
    answered(group, facilitator, member, at=now - timedelta(days=31))
    kept = answered(group, facilitator, member, at=now - timedelta(days=29))
    ListeningToday.objects.create(user=member, group=group, day=(now - timedelta(days=1)).date(), set_at=now)
    ListeningToday.objects.create(user=member, group=group, day=now.date(), set_at=now)
    call_command("purge_expired")
    out = capsys.readouterr().out
    assert "Deleted 1 check-in answer past" in out and "1 earlier note saying 'listening today'" in out
    assert list(RoundAnswer.objects.values_list("pk", flat=True)) == [kept.pk]
    assert list(ListeningToday.objects.values_list("day", flat=True)) == [now.date()]


def test_running_it_again_deletes_nothing_more(group, facilitator, member):
    answered(group, facilitator, member, at=NOW - timedelta(days=31))
    answered(group, facilitator, member, at=NOW - timedelta(days=1))
    assert purge_checkins(now=NOW).checkin_answers == 1
    assert purge_checkins(now=NOW).checkin_answers == 0
    assert RoundAnswer.objects.count() == 1
