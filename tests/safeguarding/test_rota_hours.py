"""Who is on the rota now: hours in each person's own time zone, past midnight, and the deputy."""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from safeguarding.models import RotaHours, RotaMember
from safeguarding.rota import is_on_duty, on_call
from tests.conftest import make_person

AUCKLAND = ZoneInfo("Pacific/Auckland")
# Monday 30 November 2026, 09:00 UTC is Monday 22:00 in Auckland (UTC+13 in summer).
MONDAY_9_UTC = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_hours_are_read_in_the_persons_own_time_zone():
    evenings = [(0, time(20, 0), time(23, 0))]  # Monday 20:00–23:00, Auckland
    assert is_on_duty(evenings, AUCKLAND, MONDAY_9_UTC)
    assert not is_on_duty(evenings, ZoneInfo("UTC"), MONDAY_9_UTC)


def test_a_stretch_that_ends_before_it_starts_runs_past_midnight():
    nights = [(6, time(22, 0), time(6, 0))]  # Sunday 22:00 to Monday 06:00
    assert is_on_duty(nights, ZoneInfo("UTC"), datetime(2026, 11, 30, 5, 59, tzinfo=UTC))  # Monday 05:59
    assert is_on_duty(nights, ZoneInfo("UTC"), datetime(2026, 11, 29, 23, 0, tzinfo=UTC))  # Sunday 23:00
    assert not is_on_duty(nights, ZoneInfo("UTC"), datetime(2026, 11, 30, 6, 0, tzinfo=UTC))


def test_the_same_start_and_end_is_the_whole_day():
    assert is_on_duty([(0, time(0), time(0))], ZoneInfo("UTC"), MONDAY_9_UTC)
    assert not is_on_duty([(1, time(0), time(0))], ZoneInfo("UTC"), MONDAY_9_UTC)


def test_an_unavailable_member_is_covered_by_their_deputy_unless_the_deputy_is_unavailable_too(db):
    morgan, quinn = make_person("Morgan"), make_person("Quinn")
    member = RotaMember.objects.create(user=morgan, time_zone="UTC", deputy=quinn)
    RotaHours.objects.create(member=member, weekday=0, starts=time(8), ends=time(12))
    assert on_call(MONDAY_9_UTC) == [morgan]

    member.is_available = False
    member.save()
    assert on_call(MONDAY_9_UTC) == [quinn]  # Quinn has no hours of their own: a deputy covers anyway

    RotaMember.objects.create(user=quinn, time_zone="UTC", is_available=False)
    assert on_call(MONDAY_9_UTC) == []


def test_someone_taken_off_the_rota_is_never_paged(db):
    member = RotaMember.objects.create(user=make_person("Morgan"), time_zone="UTC", is_active=False)
    RotaHours.objects.create(member=member, weekday=0, starts=time(0), ends=time(0))
    assert on_call(MONDAY_9_UTC) == []
