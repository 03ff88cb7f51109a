from django.db import models


class ScheduledJob(models.Model):
    """A job the scheduler runs (``manage.py run_scheduler``): when it last started, so that however
    many schedulers run, each job starts once per its interval (operations.scheduler.claim)."""

    name = models.CharField(max_length=64, primary_key=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    # "ok", or the class of the error it ended with (never its text: it may quote data).
    last_outcome = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return self.name
