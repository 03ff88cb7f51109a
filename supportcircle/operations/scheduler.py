"""The jobs SupportCircle needs run on a schedule, and the claim that lets several schedulers run safely.

Each job starts at most once per its interval, whichever scheduler process gets to it first: the
claim is a row lock on the job's ``ScheduledJob`` row, taken in one short transaction, so it holds
through PgBouncer's transaction pooling and on SQLite alike. Running a job twice would change
nothing more anyway (``purge_expired`` and ``clearsessions`` only delete what is past its time).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import StringIO

from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from .models import ScheduledJob

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    command: str
    every: timedelta


JOBS = (
    # First, as the most urgent: crisis alerts nobody has taken within their window climb
    # (safeguarding.escalation); each alert is claimed with a row lock too, so even a hand-run
    # `manage.py safeguarding_escalate` never pages twice.
    Job("safeguarding_escalate", "safeguarding_escalate", timedelta(seconds=15)),
    # Chat transcripts and check-ins past each group's retention (docs/operations.md, Scheduled jobs).
    Job("purge_expired", "purge_expired", timedelta(hours=1)),
    # Django's sessions past their expiry.
    Job("clearsessions", "clearsessions", timedelta(days=1)),
)


def claim(job: Job, now: datetime) -> bool:
    """Mark ``job`` started now if it is due; False when it ran within its interval (here or elsewhere)."""
    with transaction.atomic():
        row, _ = ScheduledJob.objects.select_for_update().get_or_create(name=job.name)
        if row.last_started_at is not None and now - row.last_started_at < job.every:
            return False
        row.last_started_at = now
        row.save(update_fields=["last_started_at"])
    return True


def run_due(now: datetime | None = None) -> list[str]:
    """Run every job that is due; the names of those this process ran."""
    ran = []
    for job in JOBS:
        if not claim(job, now or timezone.now()):
            continue
        output = StringIO()
        try:
            call_command(job.command, stdout=output)
        except Exception as problem:
            outcome = type(problem).__name__
            log.exception("scheduled job %s failed", job.name)
        else:
            outcome = "ok"
            said = " ".join(output.getvalue().split())
            # A frequent job with nothing to say (safeguarding_escalate, every 15 s) stays out of the INFO log.
            log.log(
                logging.INFO if said else logging.DEBUG, "scheduled job %s done: %s", job.name, said or "nothing to do"
            )
        ScheduledJob.objects.filter(name=job.name).update(last_finished_at=timezone.now(), last_outcome=outcome)
        ran.append(job.name)
    return ran
