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
    # Three days from today, so the session is never live while the test runs (then "Live now" stands
    # in for "Next session": CI once ran it on a Monday at 19:00 UTC).
    weekday = Weekday((datetime.now(UTC).weekday() + 3) % 7)
    SessionSchedule.objects.create(
        group=group, weekday=weekday, start_time=time(19, 0), duration_minutes=60, timezone="UTC"
    )
    member.timezone = "Asia/Tokyo"
    member.save()
    client.force_login(member)
    page = client.get(f"/groups/{group.slug}/").content.decode()
    assert "04:00" in page  # 19:00 UTC is 04:00 the next day in Tokyo (which has no clock changes)
    assert "Asia/Tokyo" in page
    mine = client.get("/groups/mine/").content.decode()
    assert "Quiet Harbour" in mine and "Next session" in mine and "04:00" in mine


def test_a_facilitator_adds_and_removes_a_weekly_session_and_it_is_recorded(client, group, facilitator):
    from groups.models import MembershipEvent

    client.force_login(facilitator)
    response = client.post(
        f"/groups/{group.slug}/schedule/",
        {"weekday": "2", "start_time": "18:30", "duration_minutes": "60", "timezone": "Europe/London"},
        follow=True,
    )
    assert "The session is on the schedule." in response.content.decode()
    schedule = SessionSchedule.objects.get(group=group)
    assert (schedule.weekday, schedule.start_time, schedule.timezone) == (2, time(18, 30), "Europe/London")
    assert "Wednesdays at 18:30 for 60 minutes (Europe/London)" in response.content.decode()

    client.post(f"/groups/{group.slug}/schedule/{schedule.pk}/remove/")
    assert not SessionSchedule.objects.exists()
    kinds = list(MembershipEvent.objects.filter(actor=facilitator).values_list("kind", flat=True))
    assert "groups.schedule.added" in kinds and "groups.schedule.removed" in kinds


def test_a_bad_schedule_is_explained_and_nothing_is_saved(client, group, facilitator):
    client.force_login(facilitator)
    response = client.post(
        f"/groups/{group.slug}/schedule/",
        {"weekday": "9", "start_time": "half six", "duration_minutes": "5", "timezone": "Mars/Olympus"},
        follow=True,
    )
    page = response.content.decode()
    assert "Please give a time like 18:30." in page
    assert "A session needs at least 15 minutes." in page
    assert not SessionSchedule.objects.exists()


def test_only_this_groups_facilitators_change_the_schedule(client, group, member):
    client.force_login(member)
    response = client.post(
        f"/groups/{group.slug}/schedule/",
        {"weekday": "2", "start_time": "18:30", "duration_minutes": "60", "timezone": "UTC"},
    )
    assert response.status_code == 403
    assert not SessionSchedule.objects.exists()


def test_the_directory_marks_a_group_whose_session_is_on_now(client, group):
    from django.utils import timezone

    now = timezone.now().astimezone(UTC)
    started = (now.replace(second=0, microsecond=0)).time().replace(minute=0)
    SessionSchedule.objects.create(
        group=group, weekday=now.weekday(), start_time=started, duration_minutes=120, timezone="UTC"
    )
    assert "Live now" in client.get("/").content.decode()
    SessionSchedule.objects.all().delete()
    assert "Live now" not in client.get("/").content.decode()
