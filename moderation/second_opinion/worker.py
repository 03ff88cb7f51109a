"""A bounded pool that runs the second opinion off the hot path.

    worker = SecondOpinionWorker()            # one per server process
    worker.start()                            # threads start; the model loads on the first thread
    future = worker.submit(text, context, callback=on_opinion)   # never blocks; None if shed

``submit`` only puts the job on a bounded queue and returns a ``concurrent.futures.Future``. When the
queue is full the job is shed: ``submit`` returns None at once, the ``shed`` counter goes up, and one
log line says shedding began; one more says it ended once nothing was shed for ``quiet_seconds``
(so a queue that hovers at full does not write a line per message). Delivery of the message itself
never waits for any of this.

The callback, if given, runs on the worker thread with the finished future; a caller on an event
loop hands the result back with ``loop.call_soon_threadsafe``. The work function defaults to the
second opinion's ``review``; tests and benchmarks may pass their own.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("supportcircle.second_opinion")

# Enough to absorb a burst (a busy room posting at once) and still answer within two seconds:
# 16 messages of typical length are about 0.3 s of one core.
DEFAULT_QUEUE = 16
DEFAULT_THREADS = 1
# An overload episode ends when nothing was shed for this long; until then it is one log line.
QUIET_SECONDS = 5.0
_LATENCY_SAMPLES = 1000


def _review_with_model(text: str, context: Any):
    from . import get_second_opinion

    return get_second_opinion().review(text)


def _load_model() -> None:
    from . import get_second_opinion

    get_second_opinion()


@dataclass
class _Job:
    text: str
    context: Any
    future: Future
    submitted: float


@dataclass
class WorkerMetrics:
    """Counters an operator can read (``SecondOpinionWorker.metrics``); all since start."""

    submitted: int = 0
    completed: int = 0
    failed: int = 0
    shed: int = 0
    queued: int = 0
    shedding: bool = False
    latency_ms: deque = field(default_factory=lambda: deque(maxlen=_LATENCY_SAMPLES))

    def as_dict(self) -> dict[str, Any]:
        samples = sorted(self.latency_ms)

        def percentile(share: float) -> float | None:
            return round(samples[min(len(samples) - 1, int(share * len(samples)))], 1) if samples else None

        return {
            "submitted": self.submitted,
            "completed": self.completed,
            "failed": self.failed,
            "shed": self.shed,
            "queued": self.queued,
            "shedding": self.shedding,
            "latency_ms_p50": percentile(0.50),
            "latency_ms_p99": percentile(0.99),
        }


# How much lower than the server's own threads the model runs (Linux nice, per thread): when both want
# the same core, deliveries and acknowledgements come first and the answer a moment later.
NICENESS = 10


def _give_way_to_the_server() -> None:
    """Lower this thread's scheduling priority (ONNX Runtime runs the model on the calling thread)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: the model runs at the server's priority
        log.info("second opinion: its thread keeps the server's priority on this system")


class SecondOpinionWorker:
    def __init__(
        self,
        work: Callable[[str, Any], Any] = _review_with_model,
        *,
        threads: int = DEFAULT_THREADS,
        max_queue: int = DEFAULT_QUEUE,
        warm_up: Callable[[], None] | None = _load_model,
        quiet_seconds: float = QUIET_SECONDS,
        name: str = "second-opinion",
    ) -> None:
        if threads < 1 or max_queue < 1:
            raise ValueError("A second-opinion worker needs at least one thread and room for one job.")
        self._work = work
        self._warm_up = warm_up
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=max_queue)
        self._threads = [threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True) for i in range(threads)]
        self._lock = threading.Lock()
        self._started = False
        self._closed = False
        self._metrics = WorkerMetrics()
        self._quiet_seconds = quiet_seconds
        self._last_shed = 0.0
        self._shed_at_start = 0  # the shed counter when this overload episode began
        self.ready = threading.Event()  # set once the model is loaded (or there is nothing to load)

    # The caller's side -------------------------------------------------------------------

    def start(self) -> SecondOpinionWorker:
        with self._lock:
            if not self._started:
                self._started = True
                for thread in self._threads:
                    thread.start()
        return self

    def submit(
        self, text: str, context: Any = None, *, callback: Callable[[Future], None] | None = None
    ) -> Future | None:
        """Queue one message for a second opinion. Never blocks: returns None when the job is shed."""
        if self._closed:
            raise RuntimeError("This second-opinion worker is closed.")
        if not self._started:
            self.start()
        future: Future = Future()
        if callback is not None:
            future.add_done_callback(callback)
        job = _Job(text=text, context=context, future=future, submitted=time.perf_counter())
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            self._shed()
            return None
        with self._lock:
            self._metrics.submitted += 1
            self._metrics.queued = self._queue.qsize()
            if self._metrics.shedding and time.monotonic() - self._last_shed >= self._quiet_seconds:
                self._metrics.shedding = False
                log.warning(
                    "second opinion: the queue has room again after %d shed jobs",
                    self._metrics.shed - self._shed_at_start,
                )
        return future

    def metrics(self) -> dict[str, Any]:
        with self._lock:
            self._metrics.queued = self._queue.qsize()
            return self._metrics.as_dict()

    def close(self, *, wait: bool = True, timeout: float = 5.0) -> None:
        """Stop taking jobs; the threads finish what is queued, then stop."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._started:
            for _ in self._threads:
                self._queue.put(None)
            if wait:
                for thread in self._threads:
                    thread.join(timeout)

    def _shed(self) -> None:
        with self._lock:
            self._last_shed = time.monotonic()
            self._metrics.shed += 1
            if not self._metrics.shedding:
                self._metrics.shedding = True
                self._shed_at_start = self._metrics.shed - 1
                log.warning(
                    "second opinion: queue full (%d waiting), shedding new messages until it drains; "
                    "they post as usual with the phrase engine's decision alone",
                    self._queue.maxsize,
                )

    # The worker's side -------------------------------------------------------------------

    def _run(self) -> None:
        _give_way_to_the_server()
        if self._warm_up is not None:
            try:
                self._warm_up()
            except Exception:
                log.exception("second opinion: the model could not be loaded; every job will fail")
        self.ready.set()
        while True:
            job = self._queue.get()
            if job is None:
                return
            if not job.future.set_running_or_notify_cancel():
                continue
            try:
                result = self._work(job.text, job.context)
            except Exception as error:
                with self._lock:
                    self._metrics.failed += 1
                log.exception("second opinion: a review failed")
                job.future.set_exception(error)
                continue
            elapsed_ms = (time.perf_counter() - job.submitted) * 1000
            with self._lock:
                self._metrics.completed += 1
                self._metrics.latency_ms.append(elapsed_ms)
            job.future.set_result(result)
