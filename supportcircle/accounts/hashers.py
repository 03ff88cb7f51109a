"""Django's Argon2 password hasher, shaped for a server that must keep answering while people log in.

Argon2 is deliberately costly: Django's settings take about 100 MiB and a tenth of a second of CPU per
hash, spread over 8 threads (parallelism 8). Three things keep a crowd logging in from holding up
everyone already chatting (measured in the bench's login storm; README, Performance):

- A hash uses one lane (parallelism 1: the same work and memory, on one core). Eight hashing threads
  per login, a few logins at once, left the event loop's thread waiting for a core.
- Hashes run on a few threads of their own (``PASSWORD_HASHING_AT_ONCE``, default: one per core this
  process may use beyond the first, at least 1), which give way to the server's other threads (Linux
  nice 10, per thread, as the second opinion's model does): when both want the core, deliveries and
  acknowledgements come first and the login a moment later. Further logins wait their turn.
- While a login waits for its turn and its hash, its request holds no database connection. With
  Django's connection pool, thirty logins waiting for a hash held every pooled connection, and the
  chat's database threads waited behind them for seconds. The request gives its connection back
  (outside a transaction) and takes one again for what follows (the session).

Hashes made with Django's settings still verify, and are rehashed with these the next time their
person logs in (Django's ``must_update``).
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher as DjangoArgon2PasswordHasher
from django.db import connections

log = logging.getLogger(__name__)

# How much lower than the server's own threads a hash runs (Linux nice, per thread).
NICENESS = 10

_lanes: ThreadPoolExecutor | None = None
_made = threading.Lock()


def cores_for_hashing() -> int:
    """One per core this process may run on, beyond the one the event loop needs; at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 2
    return max(1, cores - 1)


def hashing_at_once() -> int:
    """How many hashes run at once in this process (``PASSWORD_HASHING_AT_ONCE``, else ``cores_for_hashing``)."""
    return settings.PASSWORD_HASHING_AT_ONCE or cores_for_hashing()


def _give_way_to_the_server() -> None:
    """Lower this hashing thread's priority below the thread that started it (a request's, the server's)."""
    try:
        this_thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, this_thread, os.getpriority(os.PRIO_PROCESS, this_thread) + NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: hashes run at the server's priority
        log.info("password hashing: its threads keep the server's priority on this system")


def hashing_lanes() -> ThreadPoolExecutor:
    """The threads that hash passwords (made on first use)."""
    global _lanes
    if _lanes is None:
        with _made:
            if _lanes is None:
                _lanes = ThreadPoolExecutor(
                    hashing_at_once(),
                    thread_name_prefix="password-hashing",
                    initializer=_give_way_to_the_server,
                )
    return _lanes


def _give_back_database_connections() -> None:
    """Return this thread's idle database connections (to the pool, if there is one) before a long wait."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


def _in_turn(work, *args):
    _give_back_database_connections()
    return hashing_lanes().submit(work, *args).result()


class Argon2PasswordHasher(DjangoArgon2PasswordHasher):
    parallelism = 1

    def encode(self, password, salt):
        return _in_turn(super().encode, password, salt)

    def verify(self, password, encoded):
        return _in_turn(super().verify, password, encoded)
