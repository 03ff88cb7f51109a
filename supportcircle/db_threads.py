"""The threads that carry the chat sockets' database work.

Channels' ``database_sync_to_async`` runs everything on one thread by default (thread sensitive), so
every socket's statements wait for every other socket's. On PostgreSQL each statement is a round trip
to another process (across a network in production), and that one thread mostly waits. The sockets'
work runs instead on a small pool of threads (``DATABASE_THREADS``), each with its own connection,
as ``sync_to_async`` with ``thread_sensitive=False`` and this executor. One socket's calls still run
one after another (its consumer handles one frame or event at a time); different sockets' run side by
side. With SQLite the pool defaults to one thread: the file takes one writer at a time anyway.

Each call tidies its thread's connection before and after, as Channels' ``database_sync_to_async`` does,
but through Django's ``close_old_connections`` itself rather than Channels' name for it: Channels' test
communicators swap that name for a no-op while they wait, and overlapping waits left the no-op in place
for the rest of the process, so these threads kept their connections for good, past any age and past
the error that killed them (a database restart: "the connection is closed" on every later call). And a
connection whose call raised an ``OperationalError`` or ``InterfaceError`` is closed at once: a dead one
fails the one call that found it, and the pool discards it (its next user gets a checked one). With Django's
pool a call takes its connection before it runs, and if the pool cannot give one that answers (a restart
left all its idle ones dead), the pool checks them all at once and is asked again: the call goes through.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

from asgiref.sync import SyncToAsync
from django import db as django_db
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

from supportcircle.http import close_this_threads_connections

THREAD_NAME_PREFIX = "chat-db"

_pool: ThreadPoolExecutor | None = None
_made = threading.Lock()


def pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _made:
            if _pool is None:
                _pool = ThreadPoolExecutor(settings.DATABASE_THREADS, thread_name_prefix=THREAD_NAME_PREFIX)
    return _pool


def on_a_database_thread() -> bool:
    """Whether the caller runs on one of the sockets' database threads (e.g. to tell their connections)."""
    return threading.current_thread().name.startswith(f"{THREAD_NAME_PREFIX}_")


def _take_a_connection_that_answers() -> None:
    """Take the call's connection from Django's pool before the call runs (its first statement would).

    After a database restart every connection idle in the pool is dead. psycopg's pool checks them one at a
    time when asked for one, waiting a second, then two, between failed checks, and gives up after its
    timeout: with four dead or more the call failed (try_again) although the database was back. So when
    taking one fails, the pool checks all its idle connections at once, drops the dead ones, and is asked
    again; if it had no dead one, the database itself is away and the failure stands.
    """
    connection = django_db.connections[DEFAULT_DB_ALIAS]
    pool = getattr(connection, "pool", None)  # PostgreSQL with Django's pool only
    if pool is None or connection.connection is not None:
        return
    try:
        connection.ensure_connection()
    except django_db.OperationalError:
        lost = pool.get_stats().get("connections_lost", 0)
        pool.check()
        if pool.get_stats().get("connections_lost", 0) == lost:
            raise
        connection.ensure_connection()


class _DatabaseThreadCall(SyncToAsync):
    def thread_handler(self, loop, *args, **kwargs):
        django_db.close_old_connections()  # looked up on each call: never a copy someone swapped
        try:
            _take_a_connection_that_answers()
            return super().thread_handler(loop, *args, **kwargs)
        except (django_db.OperationalError, django_db.InterfaceError):
            close_this_threads_connections()  # dead or unusable: never used again; the pool discards it
            raise
        finally:
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
