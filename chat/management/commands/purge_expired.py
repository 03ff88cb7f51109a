from django.core.management.base import BaseCommand
from django.utils import timezone

from chat.retention import purge_checkins, purge_expired_transcripts
from supportcircle.text import counted


class Command(BaseCommand):
    help = (
        "Delete chat messages and check-in answers older than each group's agreed retention "
        "(check-ins: 30 days unless the group chose otherwise). Run on a schedule."
    )

    def handle(self, *args, **options) -> None:
        purged = purge_expired_transcripts()
        total = sum(purged.values())
        self.stdout.write(f"Purged {counted(total, 'expired message')} from {counted(len(purged), 'group')}.")
        checkins = purge_checkins(now=timezone.now())
        self.stdout.write(
            f"Deleted {counted(checkins.checkin_answers, 'check-in answer')} past their group's retention "
            f"and {counted(checkins.listening_flags, 'earlier note')} saying 'listening today'."
        )
