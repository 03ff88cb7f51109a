"""The second opinion in a process of its own beside each server process, off the hot path.

    worker = SecondOpinionWorker()            # one per server process
    worker.start()                            # the child process starts; the model loads there
    future = worker.submit(text, callback=on_opinion)   # never blocks; None if shed

Why a process: the model's own arithmetic releases the GIL, but its Python around it (the
tokenizer's glue, numpy, the decision) does not, and on a thread it took turns with the server's
event loop. In a child process it has its own interpreter, in a session of its own at the lowest OS
priority (nice 19, for the process and its session's scheduling group), so the server's deliveries come
first, then logins' password hashes (supportcircle/background.py), and its CPU is counted apart (bench:
"model CPU per message").

The child is a fresh interpreter (``python -c``, this module's ``_child_main``) that imports only
the second opinion's own modules (the encoder, the classifiers, the decision and the phrase engine,
all without Django): not the server's main script, as multiprocessing's "spawn" would (daphne's
command line alone is about 45 MB), and without multiprocessing's resource tracker process. It loads
the model once, then answers one text at a time over a pair of pipes (pickles, as multiprocessing's
connections carry them). In the server process one courier thread hands it the jobs and waits for
the answers (that wait releases the GIL).

``submit`` only puts the job on a bounded queue and returns a ``concurrent.futures.Future``. When the
queue is full the job is shed: ``submit`` returns None at once, the ``shed`` counter goes up, and one
log line says shedding began; one more says it ended once nothing was shed for ``quiet_seconds``
(so a queue that hovers at full does not write a line per message). Delivery of the message itself
never waits for any of this.

The callback, if given, runs on the courier thread with the finished future; a caller on an event
loop hands the result back with ``loop.call_soon_threadsafe``. If the child dies (killed, out of
memory, a crash in a native library), the courier starts another and hands it the job it held once
more; a job that takes a second child down with it, or runs past ``job_seconds``, fails alone.

The work function runs in the child: it takes the text and returns something picklable. It defaults
to the second opinion's ``review``; tests and benchmarks may pass their own (a module-level function
or a ``functools.partial`` of one, which the child can import).
"""

from __future__ import annotations

import ctypes
import logging
import os
import queue
import signal
import subprocess  # nosec B404: starts only this interpreter with our own entry point
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for_any
from pathlib import Path
from typing import Any

from supportcircle.background import SECOND_OPINION_NICENESS, give_way

log = logging.getLogger("supportcircle.second_opinion")

# Enough to absorb a burst (a busy room posting at once) and still answer within two seconds:
# 16 messages of typical length are about 0.3 s of one core.
DEFAULT_QUEUE = 16
# An overload episode ends when nothing was shed for this long; until then it is one log line.
QUIET_SECONDS = 5.0
# A child that has not answered one message in this long is stuck: it is ended and another started.
JOB_SECONDS = 30.0
# How long a new child may take to load the model before it counts as failed.
START_SECONDS = 120.0
_LATENCY_SAMPLES = 1000
# After this long with nothing to read, the child gives its freed heap back to the system.
IDLE_SECONDS = 1.0
# How much lower than the server the model runs (Linux nice, the child and the session it leads): when
# both want the same core, deliveries and acknowledgements come first, then logins' password hashes,
# and the answer a moment later (supportcircle/background.py).
NICENESS = SECOND_OPINION_NICENESS


# In the child ------------------------------------------------------------------------------------


def review(text: str):
    """The default work: the model's opinion of one text (in the child)."""
    from . import get_second_opinion

    return get_second_opinion().review(text)


def load_model() -> None:
    """The default warm-up: load the model once, before the first text arrives (in the child)."""
    from . import get_second_opinion

    get_second_opinion()


def _give_back_freed_memory() -> None:
    """Loading leaves about 20 MB of freed heap that glibc keeps, and a burst of long messages some
    more: hand it back to the system (Linux; about 0.4 ms, so after loading and when idle only)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _child_main(incoming_fd: int, outgoing_fd: int) -> None:
    """The child's entry point (see ``_Child``): first the server's import path, then the work."""
    # In a session of its own the child no longer gets the terminal's Ctrl-C or supervisor's stop
    # (stopasgroup); a signal sent to it all the same is ignored: the server ends us once the messages it
    # holds are answered (or, if it is gone, our pipe closes and we end).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    incoming = Connection(incoming_fd, writable=False)
    outgoing = Connection(outgoing_fd, readable=False)
    sys.path[:] = [*incoming.recv(), *(entry for entry in sys.path if entry)]
    work, warm_up = incoming.recv()
    _serve(incoming, outgoing, work, warm_up)


def _serve(incoming, outgoing, work: Callable[[str], Any], warm_up: Callable[[], None] | None) -> None:
    """The child's whole life: give way, load, then answer each text until told to stop (None)."""
    give_way(NICENESS)
    loaded = None
    if warm_up is not None:
        try:
            warm_up()
        except Exception as error:  # the jobs will fail and say why; the server carries on without
            loaded = f"{type(error).__name__}: {error}"
        _give_back_freed_memory()
    outgoing.send(("ready", loaded))
    trimmed = True
    while True:
        if not trimmed and not incoming.poll(IDLE_SECONDS):
            _give_back_freed_memory()  # once per quiet spell: a busy minute's heap does not stay resident
            trimmed = True
        try:
            text = incoming.recv()
            trimmed = False
        except EOFError:  # the server process has gone
            return
        if text is None:
            return
        try:
            answer = ("done", work(text))
        except Exception as error:
            answer = ("failed", error)
        try:
            outgoing.send(answer)
        except BrokenPipeError:
            return
        except Exception:  # the answer or the exception would not pickle: say so plainly
            outgoing.send(("failed", RuntimeError(f"the second opinion's answer could not be sent: {answer!r:.200}")))


# In the server process ---------------------------------------------------------------------------


class ChildGone(RuntimeError):
    """The second opinion's process ended (or got stuck) while it held a message."""


@dataclass
class _Job:
    text: str
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
    restarts: int = 0  # children started again after one ended or got stuck
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
            "restarts": self.restarts,
            "shedding": self.shedding,
            "latency_ms_p50": percentile(0.50),
            "latency_ms_p99": percentile(0.99),
        }


# glibc raises its mmap threshold as large blocks are freed, so a model's activations (hundreds of KB a
# layer) soon come from the heap, and a busy minute's heap stays resident: the child grew to 168 MB in a
# bench run (150 is its budget), 142 MB once quiet and trimmed. A fixed threshold keeps blocks of 256 KB and more in
# maps of their own, given back as each message's answer is made.
_FREED_MEMORY_GOES_BACK = {"MALLOC_MMAP_THRESHOLD_": "262144"}


class _Child:
    """One child process and the server's ends of its two pipes."""

    def __init__(self, work, warm_up) -> None:
        # The courier and a closing server may both end a child at once: its pipes are closed once, by one of
        # them (closed twice, the second close could hit a descriptor since given to a new child's pipe).
        self._ending = threading.Lock()
        self._ended = False
        to_child, from_server = os.pipe()
        from_child, to_server = os.pipe()
        entry = f"from moderation.second_opinion.worker import _child_main; _child_main({to_child}, {to_server})"
        try:
            self.process = subprocess.Popen(  # noqa: S603  # nosec B603: this interpreter, our own entry point
                [sys.executable, "-c", entry],
                pass_fds=(to_child, to_server),
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": _PROJECT, **_FREED_MEMORY_GOES_BACK},
                # A session of its own: on Linux a scheduling group (autogroup) that it lowers as a whole.
                # In the server's group it kept that group busy at its full weight, and a login's hash in
                # a group of its own had a tenth of the core left.
                start_new_session=True,
            )
        finally:
            os.close(to_child)  # the child's ends: closed here, so that its death reads as EOF
            os.close(to_server)
        self.outgoing = Connection(from_server, readable=False)
        self.incoming = Connection(from_child, writable=False)
        try:
            self.outgoing.send([entry for entry in sys.path if entry])
            self.outgoing.send((work, warm_up))
        except OSError as error:
            raise ChildGone(f"the model's process ended ({self._how()})") from error

    @property
    def pid(self) -> int:
        return self.process.pid

    def receive(self, timeout: float):
        """The child's next message; ChildGone if it ended, TimeoutError if it said nothing in time."""
        if not wait_for_any([self.incoming], timeout):
            raise TimeoutError
        try:
            return self.incoming.recv()
        except (EOFError, OSError) as error:
            raise ChildGone(f"the model's process ended ({self._how()})") from error

    def send(self, text: str | None) -> None:
        try:
            self.outgoing.send(text)
        except (OSError, ValueError) as error:
            raise ChildGone(f"the model's process ended ({self._how()})") from error

    def _how(self) -> str:
        try:
            code = self.process.wait(0.5)
        except subprocess.TimeoutExpired:
            return "still running"
        return f"signal {-code}" if code < 0 else f"exit code {code}"

    def end(self, *, politely: bool, timeout: float = 5.0) -> None:
        with self._ending:
            if not self._ended:
                self._ended = True
                self._end(politely=politely, timeout=timeout)

    def _end(self, *, politely: bool, timeout: float) -> None:
        if politely and self.process.poll() is None:
            try:
                self.outgoing.send(None)
                self.process.wait(timeout)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout)
        self.outgoing.close()
        self.incoming.close()


_PROJECT = os.pathsep.join(
    [str(Path(__file__).resolve().parents[2]), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
)


class SecondOpinionWorker:
    def __init__(
        self,
        work: Callable[[str], Any] = review,
        *,
        max_queue: int = DEFAULT_QUEUE,
        warm_up: Callable[[], None] | None = load_model,
        quiet_seconds: float = QUIET_SECONDS,
        job_seconds: float = JOB_SECONDS,
        name: str = "second-opinion",
    ) -> None:
        if max_queue < 1:
            raise ValueError("A second-opinion worker needs room for at least one job.")
        self._work = work
        self._warm_up = warm_up
        self._name = name
        self._job_seconds = job_seconds
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=max_queue)
        self._courier = threading.Thread(target=self._run, name=f"{name}-courier", daemon=True)
        self._child: _Child | None = None
        self._lock = threading.Lock()
        self._started = False
        self._closed = False
        self._ending_now = False  # close() is ending the child: no other is started
        self._metrics = WorkerMetrics()
        self._quiet_seconds = quiet_seconds
        self._last_shed = 0.0
        self._shed_at_start = 0  # the shed counter when this overload episode began
        self.ready = threading.Event()  # set once the first child has loaded the model (or failed to)

    # The caller's side -------------------------------------------------------------------

    def start(self) -> SecondOpinionWorker:
        with self._lock:
            if not self._started:
                self._started = True
                self._courier.start()
        return self

    @property
    def child_pid(self) -> int | None:
        """The process id of the child answering now (None before it started): for tests and the bench."""
        child = self._child
        return child.pid if child is not None else None

    def submit(self, text: str, *, callback: Callable[[Future], None] | None = None) -> Future | None:
        """Queue one message for a second opinion. Never blocks: returns None when the job is shed."""
        if self._closed:
            raise RuntimeError("This second-opinion worker is closed.")
        if not self._started:
            self.start()
        future: Future = Future()
        if callback is not None:
            future.add_done_callback(callback)
        job = _Job(text=text, future=future, submitted=time.perf_counter())
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
        """Stop taking jobs. With ``wait``, the child answers what is queued (for up to ``timeout``
        seconds), then stops; without, the child is ended now and queued jobs are cancelled."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if not self._started:
            return
        if not wait:
            self._cancel_queued()
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            pass
        if wait:
            self._courier.join(timeout)
        if not wait or self._courier.is_alive():
            self._ending_now = True
            child = self._child
            if child is not None:
                child.end(politely=False)

    def _cancel_queued(self) -> None:
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                job.future.cancel()

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

    # The courier's side (one thread in the server process) -------------------------------

    def _run(self) -> None:
        self._try_to_start_child()
        self.ready.set()
        while True:
            job = self._queue.get()
            if job is None:
                break
            if job.future.set_running_or_notify_cancel():
                self._answer(job)
        if self._child is not None:
            self._child.end(politely=True)

    def _try_to_start_child(self, why: str | None = None) -> None:
        """A child for the next job: the first, or another after one ended (``why``). On failure there is
        none, and the next job tries again."""
        if self._closed and (why is not None or self._ending_now):
            return  # closing: no new child (what is queued fails, and the engine's decision stands)
        if why is not None:
            with self._lock:
                self._metrics.restarts += 1
            log.warning("second opinion: %s; starting another", why)
        try:
            self._child = _Child(self._work, self._warm_up)
            _, not_loaded = self._child.receive(START_SECONDS)
        except (TimeoutError, ChildGone, OSError) as error:
            self._discard_child()
            log.error("second opinion: its process could not start (%s); the next message tries again", error)
            return
        if not_loaded is not None:
            log.error("second opinion: the model could not be loaded (%s); every job will fail", not_loaded)

    def _answer(self, job: _Job) -> None:
        for attempt in (1, 2):  # a child that died holding the job gets one successor to try it
            if self._child is None:
                self._try_to_start_child("none was running")
            child = self._child
            if child is None:
                self._fail(job, ChildGone("the second opinion's process could not start"))
                return
            try:
                child.send(job.text)
                outcome, value = child.receive(self._job_seconds)
                break
            except TimeoutError:
                self._discard_child()
                self._try_to_start_child(f"it was stuck on one message for more than {self._job_seconds:.0f} s")
                self._fail(job, ChildGone("the second opinion took too long on this message"))
                return
            except ChildGone as gone:
                self._discard_child()
                if attempt == 2:
                    self._fail(job, gone)  # it took two processes down with it: it fails alone
                    self._try_to_start_child(str(gone))
                    return
                self._try_to_start_child(str(gone))
        if outcome == "failed":
            self._fail(job, value)
            return
        elapsed_ms = (time.perf_counter() - job.submitted) * 1000
        with self._lock:
            self._metrics.completed += 1
            self._metrics.latency_ms.append(elapsed_ms)
        job.future.set_result(value)

    def _discard_child(self) -> None:
        if self._child is not None:
            self._child.end(politely=False)
            self._child = None

    def _fail(self, job: _Job, error: BaseException) -> None:
        with self._lock:
            self._metrics.failed += 1
        log.error("second opinion: a review failed: %s: %s", type(error).__name__, error)
        job.future.set_exception(error)
