"""Who is on the rota at a moment: pure rules on hours in each person's own time zone (no queries),
and the one query that applies them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def is_on_duty(hours: Iterable[tuple[int, time, time]], zone: ZoneInfo, now: datetime) -> bool:
    """Whether ``now`` falls in one of the stretches (weekday, starts, ends), read in ``zone``.

    A stretch that ends before it starts runs past midnight into the next day; one that ends when
    it starts is the whole day."""
    local = now.astimezone(zone)
    today, clock = local.weekday(), local.time()
    yesterday = (local - timedelta(days=1)).weekday()
    for weekday, starts, ends in hours:
        if starts == ends:
            if weekday == today:
                return True
        elif starts < ends:
            if weekday == today and starts <= clock < ends:
                return True
        elif (weekday == today and clock >= starts) or (weekday == yesterday and clock < ends):
            return True
    return False


def on_call(now: datetime) -> list:
    """The people to page from the rota at ``now``: each member on duty and available, or, when an
    on-duty member said they're unavailable, their deputy (unless the deputy said so too)."""
    from .models import RotaMember

    members = list(
        RotaMember.objects.filter(is_active=True, user__is_active=True)
        .select_related("user", "deputy")
        .prefetch_related("hours")
    )
    unavailable = {m.user_id for m in members if not m.is_available}
    people = {}
    for member in members:
        hours = [(h.weekday, h.starts, h.ends) for h in member.hours.all()]
        if not is_on_duty(hours, member.zone, now):
            continue
        if member.is_available:
            people[member.user_id] = member.user
        elif member.deputy is not None and member.deputy.is_active and member.deputy_id not in unavailable:
            people[member.deputy_id] = member.deputy
    return list(people.values())
