from django.core.management.base import BaseCommand

from safeguarding.escalation import escalate_due
from supportcircle.text import counted


class Command(BaseCommand):
    help = (
        "Climb every crisis alert nobody has taken within its window (group's facilitators, then the rota, "
        "then the operators). Run by run_scheduler every 15 seconds; safe to run on several machines at once."
    )

    def handle(self, *args, **options) -> None:
        climbed = escalate_due()
        if climbed:  # quiet otherwise: the scheduler runs this every 15 seconds
            self.stdout.write(f"{counted(climbed, 'alert')} climbed")
