import signal
import threading
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connections

from supportcircle.operations.scheduler import JOBS, run_due


class Command(BaseCommand):
    help = (
        "Run the scheduled jobs (safeguarding_escalate every 15 seconds, purge_expired hourly, "
        "clearsessions daily) for as long as it runs, "
        "checking every --tick seconds. Safe to run on several machines at once: each job starts once "
        "per interval, wherever it is claimed first."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="Run whatever is due now, then stop (for cron).")
        parser.add_argument("--tick", type=float, default=15.0, help="Seconds between looks (default 15).")

    def handle(self, *args, once: bool = False, tick: float = 15.0, **options) -> None:
        stopping = threading.Event()
        if not once:
            # Stopped by supervisor or systemd (SIGTERM): finish the job in hand, then go.
            signal.signal(signal.SIGTERM, lambda *_: stopping.set())
            signal.signal(signal.SIGINT, lambda *_: stopping.set())
            self.stdout.write(
                "Scheduler running: " + ", ".join(f"{job.name} every {job.every}" for job in JOBS), ending="\n"
            )
            self.stdout.flush()
        # A job that runs every few seconds (the safeguarding climb) says so only with -v 2: it logs what it
        # does itself, and a line every 15 s would bury the rest.
        every = {job.name: job.every for job in JOBS}
        while True:
            close_old_connections()
            for name in run_due():
                if options.get("verbosity", 1) >= 2 or every[name] >= timedelta(minutes=1):
                    self.stdout.write(f"ran {name}")
                    self.stdout.flush()
            if once or stopping.wait(tick):
                break
        connections.close_all()
