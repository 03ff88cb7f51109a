"""Delete check-in answers past their group's retention (the group's agreement). Safe to run as often as you like."""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from groups.retention import purge_checkins


class Command(BaseCommand):
    help = "Delete check-in answers older than each group's retention (30 days unless the group chose otherwise)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--now", help="Pretend it is this ISO time (for a dry look at a date, or tests).")

    def handle(self, *args, now: str | None = None, **options) -> None:
        when = timezone.now()
        if now:
            try:
                when = datetime.fromisoformat(now)
            except ValueError:
                raise CommandError(
                    f"--now must be an ISO date and time, like 2026-11-25T18:00:00+00:00 (got {now!r})."
                ) from None
            if timezone.is_naive(when):
                raise CommandError("--now needs a time zone, like 2026-11-25T18:00:00+00:00.")
        purged = purge_checkins(now=when)
        self.stdout.write(
            f"Deleted {purged.checkin_answers} check-in answer(s) past their group's retention "
            f"and {purged.listening_flags} earlier 'listening today' note(s)."
        )
