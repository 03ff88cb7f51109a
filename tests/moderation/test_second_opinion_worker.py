"""The second opinion's worker: bounded, never blocks the caller, sheds with one log line and a counter."""

import logging
import threading
import time

import pytest

from moderation.second_opinion import CONFIDENT, get_second_opinion
from moderation.second_opinion.worker import SecondOpinionWorker


def held_work(gate: threading.Event):
    def work(text, context):
        gate.wait(5)
        return f"read: {text}"

    return work


def test_under_overload_it_sheds_at_once_counts_and_logs_one_line(caplog):
    gate = threading.Event()
    worker = SecondOpinionWorker(held_work(gate), threads=1, max_queue=2, warm_up=None, quiet_seconds=0.3).start()
    try:
        first = worker.submit("first")
        assert worker.ready.wait(2)
        deadline = time.monotonic() + 2
        while worker.metrics()["queued"] and time.monotonic() < deadline:  # the thread takes the first job
            time.sleep(0.01)
        queued = [worker.submit("second"), worker.submit("third")]
        with caplog.at_level(logging.WARNING, logger="supportcircle.second_opinion"):
            started = time.perf_counter()
            shed = [worker.submit(f"extra {n}") for n in range(50)]
            elapsed = time.perf_counter() - started
        assert shed == [None] * 50
        assert elapsed < 0.1  # the caller never waits for the model
        assert worker.metrics()["shed"] == 50 and worker.metrics()["shedding"] is True
        (line,) = [record.message for record in caplog.records]  # one line for 50 shed jobs
        assert "queue full" in line and "shedding" in line

        gate.set()
        assert [future.result(2) for future in [first, *queued]] == ["read: first", "read: second", "read: third"]
        with caplog.at_level(logging.WARNING, logger="supportcircle.second_opinion"):
            assert worker.submit("soon after").result(2) == "read: soon after"
            assert len(caplog.records) == 1  # not yet quiet for long enough to call the episode over
            time.sleep(0.35)
            assert worker.submit("after").result(2) == "read: after"
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
        assert done.wait(2) and arrived == [("hello", {"seq": 7})]
        with pytest.raises(ValueError):
            worker.submit("boom").result(2)
        assert worker.metrics()["failed"] == 1
    finally:
        worker.close()


def test_the_real_model_answers_through_the_worker_within_two_seconds():
    get_second_opinion()  # loaded once per test session (shared with the model tests)
    worker = SecondOpinionWorker().start()
    try:
        assert worker.ready.wait(10)
        started = time.perf_counter()
        opinion = worker.submit(
            "my heart keeps skipping and i nearly fainted on the stairs, haven't eaten since monday"
        )
        assert opinion.result(2).crisis_tier == CONFIDENT
        assert time.perf_counter() - started < 2
    finally:
        worker.close()


def test_a_closed_worker_takes_no_more_jobs():
    worker = SecondOpinionWorker(lambda text, context: text, warm_up=None).start()
    worker.close()
    with pytest.raises(RuntimeError, match="closed"):
        worker.submit("late")
