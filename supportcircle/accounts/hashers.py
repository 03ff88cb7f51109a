"""Django's Argon2 password hasher, shaped for a server that must keep answering while people log in.

Argon2 is deliberately costly: Django's settings take about 100 MiB and a tenth of a second of CPU per
hash, spread over 8 threads (parallelism 8). Four things keep a crowd logging in from holding up
everyone already chatting, nor anyone logging in from waiting a minute (measured in the bench's login
storm; README, Performance):

- A hash uses one lane (parallelism 1: the same work and memory, on one core). Eight hashing threads
  per login, a few logins at once, left the event loop's thread waiting for a core.
- Hashes run in a few processes of their own (``PASSWORD_HASHING_AT_ONCE``, default: one per core this
  process may use beyond the first, at least 1), each started when a hash first needs it and ended when
  the server's end of its pipe closes (the server stopped or died). Further logins wait their turn,
  first come first served, for at most ``PASSWORD_HASHING_WAIT`` seconds: past it the request leaves
  the line (``HashingBusy``) and the login form asks the person to try again in a moment. Before, the
  line had no end: in the bench's full login storm every login waited past the load generator's minute,
  and each abandoned request was still hashed later, in front of those who were still waiting.
  A process, not a thread, because Linux weighs priorities only within a scheduling group: each
  session (autogroup) or cgroup shares a core as one. A hashing thread at nice 10 gave way to the
  server's own threads but not to PostgreSQL's backends, a group of their own: a statement the chat
  sent while a hash ran often waited for the next scheduler tick (4 ms on the bench machine), and a
  message takes about seven. A hashing process leads a session of its own and lowers it (nice 10
  for the autogroup, and for the process where a cgroup decides instead), so the server, the
  database and Redis come first and the hash takes what they leave, before the second opinion's
  model, whose child gives way to it in turn (supportcircle/background.py).
- While a login waits for its turn and its hash, its request holds no database connection. With
  Django's connection pool, thirty logins waiting for a hash held every pooled connection, and the
  chat's database threads waited behind them for seconds. The request gives its connection back
  (outside a transaction) and takes one again for what follows (the session).
- The hashing process runs Django's own ``encode`` and ``verify`` with this hasher's parameters, so
  ``make_password`` and ``check_password`` decide exactly as Django does, and a wrong password costs
  one hash. A hashing process that dies (the out-of-memory killer, say) is replaced, and the hash it
  held is done once more in the new one.

Hashes made with Django's settings still verify, and are rehashed with these the next time their
person logs in (Django's ``must_update``).
"""

from __future__ import annotations

import logging
import os
import subprocess  # nosec B404: starts only this interpreter with our own entry point
import sys
import threading
from collections import deque
from multiprocessing.connection import Connection
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher as DjangoArgon2PasswordHasher
from django.db import connections

from supportcircle.background import LOGINS_NICENESS, give_way

log = logging.getLogger(__name__)

# How much lower than the server a hash runs (Linux nice, for the hashing process and its session):
# below the chat, above the second opinion's model (supportcircle/background.py).
NICENESS = LOGINS_NICENESS
# What a login that waited too long for its turn asks the browser to wait before trying again (Retry-After).
RETRY_AFTER_SECONDS = 5
# The folder that holds the supportcircle package: a hashing process imports from there, as the server does.
_PROJECT = Path(__file__).resolve().parents[2]

_lanes: HashingLanes | None = None
_made = threading.Lock()


def cores_for_hashing() -> int:
    """One per core this process may run on, beyond the one the event loop needs; at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 2
    return max(1, cores - 1)


def hashing_at_once() -> int:
    """How many hashes run at once for this process (``PASSWORD_HASHING_AT_ONCE``, else ``cores_for_hashing``)."""
    return settings.PASSWORD_HASHING_AT_ONCE or cores_for_hashing()


# In a hashing process ------------------------------------------------------------------------


def serve_hashes() -> None:
    """A hashing process's whole life: give way, then answer each job until the server's end closes."""
    give_way(NICENESS)
    jobs, answers = Connection(0, writable=False), Connection(1, readable=False)
    while True:
        try:
            hasher, method, args = jobs.recv()
        except EOFError:  # the server process has gone
            return
        try:
            answer = (True, getattr(DjangoArgon2PasswordHasher, method)(hasher, *args))
        except Exception as error:  # Django's own error for this password, raised again in the server
            answer = (False, error)
        try:
            answers.send(answer)
        except BrokenPipeError:  # the server process went while this hash ran
            return


# In the server process ------------------------------------------------------------------------


class HashingProcessGone(RuntimeError):
    """A hashing process ended while it held a hash."""


class HashingLane:
    """One hashing process, one hash at a time, started when a hash first needs it."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self._jobs: Connection | None = None
        self._answers: Connection | None = None

    def hash(self, hasher: DjangoArgon2PasswordHasher, method: str, args: tuple):
        try:
            ok, answer = self._ask(hasher, method, args)
        except HashingProcessGone:
            # It died under this hash, not because of it: once more, in a new one.
            log.warning("password hashing: a hashing process ended unexpectedly; starting another")
            ok, answer = self._ask(hasher, method, args)
        if not ok:
            raise answer
        return answer

    def _ask(self, hasher, method, args):
        if self.process is None or self.process.poll() is not None:
            self._start()
        try:
            self._jobs.send((hasher, method, args))
            return self._answers.recv()
        except (EOFError, OSError):
            self._end()
            raise HashingProcessGone from None

    def _start(self) -> None:
        self._end()
        jobs_out, jobs_in = os.pipe()
        answers_out, answers_in = os.pipe()
        try:
            self.process = subprocess.Popen(  # nosec B603: this interpreter and our own entry point, no shell
                [sys.executable, "-c", "from supportcircle.accounts.hashers import serve_hashes; serve_hashes()"],
                stdin=jobs_out,
                stdout=answers_in,
                cwd=_PROJECT,
                # A session of its own: on Linux a scheduling group (autogroup) that it lowers as a whole.
                start_new_session=True,
            )
        finally:
            os.close(jobs_out)
            os.close(answers_in)
        # Only this process holds the other ends: when it ends, the hashing process reads EOF and ends too.
        self._jobs = Connection(jobs_in, readable=False)
        self._answers = Connection(answers_out, writable=False)

    def _end(self) -> None:
        if self.process is not None:
            self._jobs.close()
            self._answers.close()
            self.process.kill()
            self.process.wait()
            self.process = None


class HashingBusy(Exception):
    """No hashing process came free within ``PASSWORD_HASHING_WAIT`` seconds: many people are logging in at
    once. Nothing about the password was decided; the person is asked to try again in a moment."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"no hashing process came free; try again in {retry_after} s")
        self.retry_after = retry_after


class _Turn:
    """One request waiting for a lane: woken with the lane it is handed."""

    def __init__(self) -> None:
        self.handed = threading.Event()
        self.lane: HashingLane | None = None


class HashingLanes:
    """The hashing processes (``hashing_at_once`` of them), lent one hash at a time in the order they were
    asked for. A request waits for its turn at most a bounded time: one that has waited that long leaves
    the line (its person is told to try again), so the line never holds anyone for a minute, nor hashes
    for someone whose page has long since given up."""

    def __init__(self, count: int) -> None:
        self._lock = threading.Lock()
        self._free = [HashingLane() for _ in range(count)]
        self._line: deque[_Turn] = deque()

    def take(self, wait: float) -> HashingLane:
        """A free lane, after those who asked first; HashingBusy if none came free within ``wait`` seconds."""
        with self._lock:
            if self._free:  # nobody waits while a lane is free
                return self._free.pop()
            turn = _Turn()
            self._line.append(turn)
        turn.handed.wait(wait)
        with self._lock:
            if turn.lane is None:  # the wait ran out before a lane was handed over
                self._line.remove(turn)
                raise HashingBusy(retry_after=RETRY_AFTER_SECONDS)
            return turn.lane

    def give_back(self, lane: HashingLane) -> None:
        with self._lock:
            if self._line:
                turn = self._line.popleft()
                turn.lane = lane
                turn.handed.set()
            else:
                self._free.append(lane)

    @property
    def waiting(self) -> int:
        return len(self._line)


def hashing_lanes() -> HashingLanes:
    """This process's hashing lanes, made at the first hash."""
    global _lanes
    with _made:
        if _lanes is None:
            _lanes = HashingLanes(hashing_at_once())
        return _lanes


def _give_back_database_connections() -> None:
    """Return this thread's idle database connections (to the pool, if there is one) before a long wait."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


def _in_turn(hasher: DjangoArgon2PasswordHasher, method: str, *args):
    _give_back_database_connections()
    lanes = hashing_lanes()
    lane = lanes.take(settings.PASSWORD_HASHING_WAIT)
    try:
        return lane.hash(hasher, method, args)
    finally:
        lanes.give_back(lane)


class Argon2PasswordHasher(DjangoArgon2PasswordHasher):
    parallelism = 1

    def encode(self, password, salt):
        return _in_turn(self, "encode", password, salt)

    def verify(self, password, encoded):
        return _in_turn(self, "verify", password, encoded)
