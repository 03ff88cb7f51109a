"""Weekly live sessions, shown in the member's own time zone, with a clear "live now"."""

from datetime import UTC, datetime, time

import pytest

from groups.models import SessionSchedule, Weekday
from groups.sessions import live_now, next_sessions

pytestmark = pytest.mark.django_db

# Wednesday 25 November 2026, 17:30 UTC (London is on GMT then, New York on EST).
WEDNESDAY_EVENING = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)


def london_wednesdays_at_six(**extra):
    return SessionSchedule(
        weekday=Weekday.WEDNESDAY, start_time=time(18, 0), duration_minutes=60, timezone="Europe/London", **extra
    )


def test_the_next_sessions_are_shown_in_the_viewers_time_zone():
    sessions = next_sessions([london_wednesdays_at_six()], now=WEDNESDAY_EVENING, viewer_timezone="America/New_York")
    assert [(s.start.isoformat(), s.live) for s in sessions] == [
        ("2026-11-25T13:00:00-05:00", False),
        ("2026-12-02T13:00:00-05:00", False),
        ("2026-12-09T13:00:00-05:00", False),
    ]


def test_a_session_under_way_is_live_now_until_it_ends():
    during = datetime(2026, 11, 25, 18, 59, tzinfo=UTC)
    after = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
    assert live_now([london_wednesdays_at_six()], now=during)
    first = next_sessions([london_wednesdays_at_six()], now=during, viewer_timezone="Europe/London")[0]
    assert first.live and first.start.hour == 18
    assert not live_now([london_wednesdays_at_six()], now=after)


def test_a_session_keeps_its_local_hour_across_a_clock_change():
    # London moves to summer time on 28 March 2027: the session stays at 18:00 London time.
    before_the_change = datetime(2027, 3, 20, 12, 0, tzinfo=UTC)
    sessions = next_sessions(
        [london_wednesdays_at_six()], now=before_the_change, viewer_timezone="Europe/London", count=2
    )
    assert [(s.start.date().isoformat(), s.start.hour, s.start.utcoffset().seconds) for s in sessions] == [
        ("2027-03-24", 18, 0),
        ("2027-03-31", 18, 3600),
    ]


def test_several_schedules_are_merged_soonest_first():
    friday_morning = SessionSchedule(
        weekday=Weekday.FRIDAY, start_time=time(9, 0), duration_minutes=45, timezone="Europe/London"
    )
    sessions = next_sessions(
        [friday_morning, london_wednesdays_at_six()], now=WEDNESDAY_EVENING, viewer_timezone="UTC", count=3
    )
    assert [s.start.strftime("%a %H:%M") for s in sessions] == ["Wed 18:00", "Fri 09:00", "Wed 18:00"]


def test_an_unknown_time_zone_falls_back_to_utc_rather_than_breaking_the_page():
    sessions = next_sessions([london_wednesdays_at_six()], now=WEDNESDAY_EVENING, viewer_timezone="Mars/Olympus")
    assert sessions[0].start.utcoffset().total_seconds() == 0


def test_the_group_page_and_my_groups_show_times_in_my_zone(client, group, member):
    SessionSchedule.objects.create(
        group=group, weekday=Weekday.MONDAY, start_time=time(19, 0), duration_minutes=60, timezone="UTC"
    )
    member.timezone = "Asia/Tokyo"
    member.save()
    client.force_login(member)
    page = client.get(f"/groups/{group.slug}/").content.decode()
    assert "04:00" in page  # Monday 19:00 UTC is Tuesday 04:00 in Tokyo (which has no clock changes)
    assert "Asia/Tokyo" in page
    mine = client.get("/groups/mine/").content.decode()
    assert "Quiet Harbour" in mine and "Next session" in mine and "04:00" in mine
