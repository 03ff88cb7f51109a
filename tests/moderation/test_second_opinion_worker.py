"""The second opinion's worker: bounded, never blocks the caller, sheds with one log line and a counter."""

import logging
import os
import threading
import time
from types import SimpleNamespace

import pytest

from moderation.second_opinion import CONFIDENT, get_second_opinion
from moderation.second_opinion import worker as worker_module
from moderation.second_opinion.worker import SecondOpinionWorker
from tests.support.waiting import PATIENCE, eventually


def held_work(gate: threading.Event):
    def work(text, context):
        gate.wait(PATIENCE)
        return f"read: {text}"

    return work


def test_under_overload_it_sheds_at_once_counts_and_logs_one_line(caplog, monkeypatch):
    # The episode ends after quiet_seconds without a shed job: the worker's clock is the test's to move.
    now = [1000.0]
    monkeypatch.setattr(
        worker_module, "time", SimpleNamespace(monotonic=lambda: now[0], perf_counter=time.perf_counter)
    )
    gate = threading.Event()
    worker = SecondOpinionWorker(held_work(gate), threads=1, max_queue=2, warm_up=None, quiet_seconds=30).start()
    try:
        first = worker.submit("first")
        assert worker.ready.wait(PATIENCE)
        eventually(lambda: not worker.metrics()["queued"], what="the thread taking the first job")
        queued = [worker.submit("second"), worker.submit("third")]
        with caplog.at_level(logging.WARNING, logger="supportcircle.second_opinion"):
            shed = [worker.submit(f"extra {n}") for n in range(50)]
        assert shed == [None] * 50
        assert not first.done()  # the caller never waits for the model: it is still held on the first job
        assert worker.metrics()["shed"] == 50 and worker.metrics()["shedding"] is True
        (line,) = [record.message for record in caplog.records]  # one line for 50 shed jobs
        assert "queue full" in line and "shedding" in line

        gate.set()
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
        gate.set()
        worker.close()


def test_the_callback_gets_the_finished_result_and_a_failure_is_counted():
    def work(text, context):
        if text == "boom":
            raise ValueError("no")
        return (text, context)

    worker = SecondOpinionWorker(work, warm_up=None)
    try:
        arrived = []
        done = threading.Event()
        worker.submit("hello", {"seq": 7}, callback=lambda future: (arrived.append(future.result()), done.set()))
        assert done.wait(PATIENCE) and arrived == [("hello", {"seq": 7})]
        with pytest.raises(ValueError):
            worker.submit("boom").result(PATIENCE)
        assert worker.metrics()["failed"] == 1
    finally:
        worker.close()


def test_the_real_model_answers_through_the_worker():
    # How fast it answers is the bench's to measure (bench/bench_second_opinion.py), not a test's.
    get_second_opinion()  # loaded once per test session (shared with the model tests)
    worker = SecondOpinionWorker().start()
    try:
        assert worker.ready.wait(PATIENCE)
        opinion = worker.submit(
            "my heart keeps skipping and i nearly fainted on the stairs, haven't eaten since monday"
        )
        assert opinion.result(PATIENCE).crisis_tier == CONFIDENT
    finally:
        worker.close()


def test_a_closed_worker_takes_no_more_jobs():
    worker = SecondOpinionWorker(lambda text, context: text, warm_up=None).start()
    worker.close()
    with pytest.raises(RuntimeError, match="closed"):
        worker.submit("late")


def test_the_model_gives_way_to_the_server_when_both_want_the_core():
    """The worker's thread runs at a lower priority (Linux nice, per thread) than the server's own threads, so
    a busy model never holds up deliveries and acknowledgements on a shared core."""
    priorities = []

    def work(text, context):
        priorities.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return text

    worker = SecondOpinionWorker(work, threads=1, warm_up=None).start()
    try:
        assert worker.submit("Hello").result(timeout=PATIENCE) == "Hello"
    finally:
        worker.close()
    server_priority = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert priorities == [server_priority + worker_module.NICENESS]
