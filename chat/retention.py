"""Retention that follows each group's agreement: chat messages past the group's transcript retention,
and check-in answers past its check-in retention (30 days by default), are deleted; so are "listening
today" notes from before today. Run by ``manage.py purge_expired`` from a scheduler (docs/operations.md)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from groups.models import Group, ListeningToday

from .models import Message, RoundAnswer, RoundKind

log = logging.getLogger(__name__)


def purge_expired_transcripts(now: datetime | None = None) -> dict[str, int]:
    """Delete chat messages older than their group's agreed retention; returns how many per group slug.

    Later messages keep their sequence numbers, so clients see no gap: history simply starts later.
    """
    now = now or timezone.now()
    purged = {}
    for group in Group.objects.filter(transcript_retention_days__isnull=False):
        cutoff = now - timedelta(days=group.transcript_retention_days)
        with transaction.atomic():
            count, _ = Message.objects.filter(group=group, created_at__lt=cutoff).delete()
        if count:
            purged[group.slug] = count
            log.info("purged %s expired messages from group %s", count, group.pk)
    return purged


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
