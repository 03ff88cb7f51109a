"""The scheduler runs safeguarding_escalate, purge_expired and clearsessions on time, once per interval however
many run."""

import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from chat.actions import post_message
from chat.models import Message
from supportcircle.operations.models import ScheduledJob
from supportcircle.operations.scheduler import JOBS, claim, run_due

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def test_the_first_run_purges_expired_messages_and_sessions_and_records_it(group, member):
    post_message(member.pk, group.pk, client_id="old", body="From long ago")
    Message.objects.update(created_at=timezone.now() - timedelta(days=400))
    group.transcript_retention_days = 30
    group.save()
    Session.objects.create(session_key="x" * 40, session_data="", expire_date=timezone.now() - timedelta(days=1))

    assert run_due() == ["safeguarding_escalate", "purge_expired", "clearsessions"]

    assert not Message.objects.exists()
    assert not Session.objects.filter(session_key="x" * 40).exists()
    for row in ScheduledJob.objects.all():
        assert row.last_outcome == "ok" and row.last_finished_at >= row.last_started_at


def test_nothing_runs_again_before_its_interval_and_each_runs_when_due(db):
    start = timezone.now()
    assert run_due(start) == ["safeguarding_escalate", "purge_expired", "clearsessions"]
    assert run_due(start + timedelta(seconds=10)) == []
    assert run_due(start + timedelta(minutes=30)) == ["safeguarding_escalate"]
    assert run_due(start + timedelta(hours=1)) == ["safeguarding_escalate", "purge_expired"]
    assert run_due(start + timedelta(days=1)) == ["safeguarding_escalate", "purge_expired", "clearsessions"]


def test_schedulers_claiming_at_the_same_moment_start_each_job_once(db):
    now = timezone.now()
    claimed: list[str] = []

    def scheduler() -> None:
        try:
            for job in JOBS:
                if claim(job, now):
                    claimed.append(job.name)
        finally:
            connection.close()

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(claimed) == sorted(job.name for job in JOBS)


def test_a_failed_job_is_recorded_by_the_kind_of_failure_and_the_others_still_run(db, monkeypatch):
    from supportcircle.operations import scheduler

    def broken(name, **kwargs):
        if name == "purge_expired":
            raise ConnectionError("the database went away: host db.internal")
        return call_command(name, **kwargs)

    monkeypatch.setattr(scheduler, "call_command", broken)
    assert run_due() == ["safeguarding_escalate", "purge_expired", "clearsessions"]
    assert ScheduledJob.objects.get(name="purge_expired").last_outcome == "ConnectionError"
    assert ScheduledJob.objects.get(name="clearsessions").last_outcome == "ok"


def test_the_command_stops_cleanly_when_asked_to(db):
    from tests.support.servers import test_database_env

    env = {**os.environ, **test_database_env()}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_scheduler", "--tick", "0.2", "-v", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().startswith("Scheduler running: safeguarding_escalate every 0:00:15")
        assert process.stdout.readline().strip() == "ran safeguarding_escalate"
        assert process.stdout.readline().strip() == "ran purge_expired"
        assert process.stdout.readline().strip() == "ran clearsessions"
        process.terminate()
        assert process.wait(15) == 0
    finally:
        process.kill()
