"""When a group's live sessions happen, in the viewer's own time zone. Pure: pass ``now`` in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Schedule(Protocol):
    weekday: int  # Monday is 0
    start_time: time
    duration_minutes: int
    timezone: str


@dataclass(frozen=True)
class Occurrence:
    start: datetime  # in the viewer's time zone
    end: datetime
    live: bool  # happening right now


def zone(name: str) -> ZoneInfo:
    """The named time zone, or UTC if the name is unknown (a profile typo must not break a page)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _starts(schedule: Schedule, first_day: date, weeks: int):
    home = zone(schedule.timezone)
    offset = (schedule.weekday - first_day.weekday()) % 7
    for week in range(weeks):
        day = first_day + timedelta(days=offset + 7 * week)
        # Wall-clock time in the schedule's own zone, so sessions keep their local hour across DST.
        yield datetime.combine(day, schedule.start_time, tzinfo=home)


def next_sessions(
    schedules: list[Schedule], *, now: datetime, viewer_timezone: str, count: int = 3
) -> list[Occurrence]:
    """The next ``count`` sessions (including one in progress), soonest first, shown in the viewer's zone."""
    viewer = zone(viewer_timezone)
    found: list[Occurrence] = []
    for schedule in schedules:
        length = timedelta(minutes=schedule.duration_minutes)
        # Start a week back in the schedule's zone so a session already under way is included.
        first_day = now.astimezone(zone(schedule.timezone)).date() - timedelta(days=7)
        for start in _starts(schedule, first_day, weeks=count + 2):
            end = start + length
            if end <= now:
                continue
            found.append(Occurrence(start.astimezone(viewer), end.astimezone(viewer), live=start <= now < end))
    found.sort(key=lambda occurrence: occurrence.start)
    return found[:count]


def live_now(schedules: list[Schedule], *, now: datetime) -> bool:
    sessions = next_sessions(schedules, now=now, viewer_timezone="UTC", count=1)
    return bool(sessions) and sessions[0].live
