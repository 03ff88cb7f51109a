"""Retention that follows each group's agreement: check-in answers are kept ``Group.checkin_retention_days``
days (30 by default), then deleted. Run by ``manage.py purge_expired`` from a scheduler (docs/operations.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from chat.models import RoundAnswer, RoundKind

from .models import Group, ListeningToday


@dataclass(frozen=True)
class Purged:
    checkin_answers: int
    listening_flags: int


def purge_checkins(*, now: datetime) -> Purged:
    """Delete every check-in answer older than its group's retention (answered at or before ``now - days``),
    and "listening today" flags from before today. Nothing younger is touched."""
    answers = flags = 0
    with transaction.atomic():
        for group_id, days in Group.objects.values_list("pk", "checkin_retention_days"):
            cutoff = now - timedelta(days=days)
            answers += RoundAnswer.objects.filter(
                round__group_id=group_id, round__kind=RoundKind.CHECKIN, answered_at__lte=cutoff
            ).delete()[0]
        flags = ListeningToday.objects.filter(day__lt=now.date()).delete()[0]
    return Purged(answers, flags)
