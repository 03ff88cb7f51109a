"""The second opinion's worker: a child process beside the server's, bounded, never blocks the caller,
sheds with one log line and a counter, gives way to the server, and comes back when its child dies."""

import logging
import os
import signal
import time
from functools import partial
from types import SimpleNamespace

import pytest

from moderation.second_opinion import CONFIDENT
from moderation.second_opinion import worker as worker_module
from moderation.second_opinion.worker import ChildGone, SecondOpinionWorker
from tests.support import second_opinion_work as work
from tests.support.waiting import PATIENCE, eventually


def ended(pid: int) -> bool:
    """The process has ended (a zombie its parent has not reaped yet counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


@pytest.fixture
def gate(tmp_path):
    """A file the child waits for: ``gate.open()`` lets its work go on."""
    path = tmp_path / "gate"
    return SimpleNamespace(path=str(path), open=path.touch)


def test_under_overload_it_sheds_at_once_counts_and_logs_one_line(caplog, monkeypatch, gate):
    # The episode ends after quiet_seconds without a shed job: the worker's clock is the test's to move.
    now = [1000.0]
    monkeypatch.setattr(
        worker_module, "time", SimpleNamespace(monotonic=lambda: now[0], perf_counter=time.perf_counter)
    )
    worker = SecondOpinionWorker(partial(work.held, gate.path), max_queue=2, warm_up=None, quiet_seconds=30).start()
    try:
        first = worker.submit("first")
        assert worker.ready.wait(PATIENCE)
        eventually(lambda: not worker.metrics()["queued"], what="the courier taking the first job")
        queued = [worker.submit("second"), worker.submit("third")]
        with caplog.at_level(logging.WARNING, logger="supportcircle.second_opinion"):
            shed = [worker.submit(f"extra {n}") for n in range(50)]
        assert shed == [None] * 50
        assert not first.done()  # the caller never waits for the model: it is still held on the first job
        assert worker.metrics()["shed"] == 50 and worker.metrics()["shedding"] is True
        (line,) = [record.message for record in caplog.records]  # one line for 50 shed jobs
        assert "queue full" in line and "shedding" in line

        gate.open()
        assert [future.result(PATIENCE) for future in [first, *queued]] == [
            "read: first",
            "read: second",
            "read: third",
        ]
        with caplog.at_level(logging.WARNING, logger="supportcircle.second_opinion"):
            now[0] += 29
            assert worker.submit("soon after").result(PATIENCE) == "read: soon after"
            assert len(caplog.records) == 1  # not yet quiet for long enough to call the episode over
            now[0] += 2
            assert worker.submit("after").result(PATIENCE) == "read: after"
        assert "room again after 50 shed" in caplog.records[-1].message
        metrics = worker.metrics()
        assert metrics["completed"] == 5 and metrics["shed"] == 50 and metrics["shedding"] is False
        assert metrics["latency_ms_p99"] is not None
    finally:
        gate.open()
        worker.close()


def test_the_callback_gets_the_finished_result_and_a_failure_is_counted():
    worker = SecondOpinionWorker(work.failing_on_boom, warm_up=None)
    try:
        arrived = []
        worker.submit("hello", callback=lambda future: arrived.append(future.result()))
        with pytest.raises(ValueError, match="no"):
            worker.submit("boom").result(PATIENCE)
        assert arrived == ["hello"]  # the callback ran before the next job was answered
        assert worker.metrics()["failed"] == 1 and worker.metrics()["completed"] == 1
    finally:
        worker.close()


def test_the_real_model_answers_through_the_worker():
    # How fast it answers is the bench's to measure (bench/bench_second_opinion.py), not a test's.
    worker = SecondOpinionWorker().start()
    try:
        assert worker.ready.wait(PATIENCE)
        opinion = worker.submit(
            "my heart keeps skipping and i nearly fainted on the stairs, haven't eaten since monday"
        )
        assert opinion.result(PATIENCE).crisis_tier == CONFIDENT
        assert worker.child_pid != os.getpid()
    finally:
        worker.close()


def test_the_child_loads_the_model_without_django():
    worker = SecondOpinionWorker(work.django_modules).start()  # the default warm-up: the real model
    try:
        assert worker.submit("hello").result(PATIENCE) == []
    finally:
        worker.close()


def test_a_closed_worker_takes_no_more_jobs_and_its_child_ends():
    worker = SecondOpinionWorker(work.process_id, warm_up=None).start()
    child = worker.submit("hello").result(PATIENCE)
    worker.close()
    with pytest.raises(RuntimeError, match="closed"):
        worker.submit("late")
    eventually(lambda: ended(child), what="the child ending")


def test_a_killed_child_is_started_again_and_the_next_message_is_answered():
    worker = SecondOpinionWorker(work.process_id, warm_up=None).start()
    try:
        first_child = worker.submit("hello").result(PATIENCE)
        os.kill(first_child, signal.SIGKILL)
        eventually(lambda: ended(first_child), what="the child ending")
        second_child = worker.submit("are you there?").result(PATIENCE)
        assert second_child not in (first_child, os.getpid())
        assert worker.metrics()["restarts"] == 1 and worker.metrics()["failed"] == 0
    finally:
        worker.close()


def test_a_message_that_takes_its_child_down_fails_alone_and_the_next_is_answered(caplog):
    worker = SecondOpinionWorker(work.crashing_on_crash, warm_up=None).start()
    try:
        with caplog.at_level(logging.WARNING, logger="supportcircle.second_opinion"):
            with pytest.raises(ChildGone, match="exit code 3"):
                worker.submit("crash").result(PATIENCE)  # tried once more on a second child, then failed
            assert isinstance(worker.submit("after the crash").result(PATIENCE), int)
        metrics = worker.metrics()
        assert (metrics["failed"], metrics["completed"], metrics["restarts"]) == (1, 1, 2)
        assert any("starting another" in record.message for record in caplog.records)
    finally:
        worker.close()


def test_the_model_gives_way_to_the_server_when_both_want_the_core():
    """The child runs at a lower priority (Linux nice) than the server's process, so a busy model never
    holds up deliveries and acknowledgements on a shared core."""
    worker = SecondOpinionWorker(work.priority, warm_up=None).start()
    try:
        child_priority = worker.submit("Hello").result(timeout=PATIENCE)
    finally:
        worker.close()
    assert child_priority == min(os.getpriority(os.PRIO_PROCESS, 0) + worker_module.NICENESS, 19)


@pytest.mark.skipif(not os.path.exists("/proc/self/autogroup"), reason="Linux's autogroups")
def test_the_model_gives_way_to_logins_too():
    """Linux weighs priorities within a scheduling group: a child in the server's session kept that group
    busy at its full weight, and a login's password hash (in a group of its own at nice 10) had a tenth of
    the core left; in the bench's full login storm not one of 300 logins was checked within a minute. So
    the child leads a session of its own, lowered below the hashes' (supportcircle/background.py)."""
    from supportcircle.accounts import hashers

    worker = SecondOpinionWorker(work.priority, warm_up=None).start()
    try:
        worker.submit("Hello").result(timeout=PATIENCE)
        pid = worker.child_pid
        assert os.getsid(pid) == pid != os.getsid(0)  # it leads a session of its own
        with open(f"/proc/{pid}/autogroup") as autogroup:
            assert autogroup.read().strip().endswith(f" nice {worker_module.NICENESS}")
    finally:
        worker.close()
    assert hashers.NICENESS < worker_module.NICENESS  # logins come first


def test_a_short_command_ends_cleanly_after_the_child_has_answered_what_it_was_given(tmp_path):
    """A command that posts a few messages and ends at once (seed_demo) gets every answer, exits 0, and
    leaves no child behind: the worker's exit hook (moderation.follow_up) lets the child finish first."""
    import subprocess
    import sys

    script = (
        "import django, os, sys\n"
        "django.setup()\n"
        "from moderation import follow_up\n"
        "worker = follow_up.worker()\n"
        "for n in range(3):\n"
        "    worker.submit(f'message {n}', callback=lambda done: print('answered', done.result().crisis_tier))\n"
        "print('child', worker.child_pid if worker.ready.wait(60) else None, flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "supportcircle.settings"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "terminate called" not in done.stderr
    assert done.stdout.count("answered") == 3
    (child,) = [int(line.split()[1]) for line in done.stdout.splitlines() if line.startswith("child")]
    assert ended(child)


def test_a_stop_sent_to_the_whole_process_group_leaves_the_child_to_the_server():
    """supervisor's stopasgroup sends TERM to the server and its child alike: the child stays, so the
    server's exit can let it answer what is queued, then ends it (no new child is started meanwhile)."""
    worker = SecondOpinionWorker(work.process_id, warm_up=None).start()
    try:
        child = worker.submit("hello").result(PATIENCE)
        os.kill(child, signal.SIGTERM)
        assert worker.submit("still there?").result(PATIENCE) == child
        assert worker.metrics()["restarts"] == 0
    finally:
        worker.close()
    eventually(lambda: ended(child), what="the child ending")
