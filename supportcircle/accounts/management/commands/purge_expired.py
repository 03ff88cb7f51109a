from django.core.management.base import BaseCommand

from supportcircle.accounts.actions import purge_expired_transcripts


class Command(BaseCommand):
    help = "Delete chat messages older than each group's agreed transcript retention. Run on a schedule."

    def handle(self, *args, **options) -> None:
        purged = purge_expired_transcripts()
        total = sum(purged.values())
        self.stdout.write(f"Purged {total} expired message(s) from {len(purged)} group(s).")
