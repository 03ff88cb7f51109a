from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from safeguarding.report import figures


def _day(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except ValueError:
        raise CommandError(f"{value!r} isn't a date like 2026-12-01.") from None


class Command(BaseCommand):
    help = (
        "Crisis alerts in a period: how many, time to acknowledgement (median, p95, worst), "
        "how far they climbed, any still open."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=7, help="The last N days (default 7).")
        parser.add_argument("--since", help="From this date or time (UTC), instead of --days.")
        parser.add_argument("--until", help="Up to this date or time (UTC); default now.")

    def handle(self, *args, days: int = 7, since=None, until=None, **options) -> None:
        end = _day(until) if until else timezone.now()
        start = _day(since) if since else end - timedelta(days=days)
        if start >= end:
            raise CommandError("--since must come before --until.")
        for line in figures(start, end).lines():
            self.stdout.write(line)
