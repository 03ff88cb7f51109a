"""The threads that carry the chat sockets' database work.

Channels' ``database_sync_to_async`` runs everything on one thread by default (thread sensitive), so
every socket's statements wait for every other socket's. On PostgreSQL each statement is a round trip
to another process (across a network in production), and that one thread mostly waits. The sockets'
work runs instead on a small pool of threads (``DATABASE_THREADS``), each with its own connection,
as ``sync_to_async`` with ``thread_sensitive=False`` and this executor. One socket's calls still run
one after another (its consumer handles one frame or event at a time); different sockets' run side by
side. With SQLite the pool defaults to one thread: the file takes one writer at a time anyway.

A thread keeps its connection from one call to the next while it is busy. With Django's psycopg pool a
connection is otherwise given back after every call and taken again before the next, and taking one
runs the pool's health check, an empty statement: with the database a network hop away that was a round
trip more for every frame (a send was three: the check, the seat and the store). A connection that sat
unused for ``KEEP_IDLE_SECONDS`` goes back to the pool before the next call (Django's tidying below), so
the one taken then is checked: one that died while idle (a database restart) is replaced before use.
A connection left dirty by a call (an error, autocommit not restored) is tidied by Django at once.

Tidying is Django's ``close_old_connections`` itself rather than Channels' name for it: Channels' test
communicators swap that name for a no-op while they wait, and overlapping waits left the no-op in place
for the rest of the process, so these threads kept their connections for good, past any age and past
the error that killed them (a database restart: "the connection is closed" on every later call). And a
connection whose call raised an ``OperationalError`` or ``InterfaceError`` is closed at once: a dead one
fails the one call that found it, and the pool discards it (its next user gets a checked one).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

from asgiref.sync import SyncToAsync
from django import db as django_db
from django.conf import settings

from supportcircle.http import close_this_threads_connections

_pool: ThreadPoolExecutor | None = None
_made = threading.Lock()
# A thread's connection unused for longer goes back to the pool (and is checked when taken again).
KEEP_IDLE_SECONDS = 5.0
_last_used = threading.local()


def pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _made:
            if _pool is None:
                _pool = ThreadPoolExecutor(settings.DATABASE_THREADS, thread_name_prefix="chat-db")
    return _pool


class _DatabaseThreadCall(SyncToAsync):
    def thread_handler(self, loop, *args, **kwargs):
        if time.monotonic() - getattr(_last_used, "at", 0.0) > KEEP_IDLE_SECONDS:
            django_db.close_old_connections()  # looked up on each call: never a copy someone swapped
        try:
            return super().thread_handler(loop, *args, **kwargs)
        except (django_db.OperationalError, django_db.InterfaceError):
            close_this_threads_connections()  # dead or unusable: never used again; the pool discards it
            raise
        finally:
            _keep_or_tidy()


def _keep_or_tidy() -> None:
    """Keep this thread's connection for its next call if the call left it clean; else let Django tidy it."""
    connection = django_db.connections[django_db.DEFAULT_DB_ALIAS]
    clean = (
        connection.connection is not None
        and not connection.errors_occurred
        and not connection.in_atomic_block
        and connection.get_autocommit() == connection.settings_dict["AUTOCOMMIT"]
    )
    if clean:
        _last_used.at = time.monotonic()
    else:
        _last_used.at = 0.0
        django_db.close_old_connections()


def db(func: Callable):
    """``func`` as an awaitable call on the sockets' database threads (see the module)."""
    return _DatabaseThreadCall(func, thread_sensitive=False, executor=pool())


def run_on_each_thread(func: Callable[[], object], timeout: float = 10.0) -> int:
    """Run ``func`` once on every thread of the pool (each is held until all have run it); how many."""
    count = settings.DATABASE_THREADS
    arrived = threading.Barrier(count, timeout=timeout)

    def on_one_thread() -> object:
        result = func()
        arrived.wait()  # no thread takes a second turn while another has not had its first
        return result

    futures = [pool().submit(on_one_thread) for _ in range(count)]
    done, pending = wait(futures, timeout)
    if pending:
        raise TimeoutError(f"{len(pending)} of the database threads did not answer in {timeout} s")
    for future in done:
        future.result()
    return count


def close_connections() -> int:
    """Close each database thread's connection (a thread opens a new one when next asked)."""
    return run_on_each_thread(close_this_threads_connections)
