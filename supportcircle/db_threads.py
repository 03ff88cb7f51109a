"""The threads that carry the chat sockets' database work.

Channels' ``database_sync_to_async`` runs everything on one thread by default (thread sensitive), so
every socket's statements wait for every other socket's. On PostgreSQL each statement is a round trip
to another process (across a network in production), and that one thread mostly waits. The sockets'
work runs instead on a small pool of threads (``DATABASE_THREADS``), each with its own connection,
as ``sync_to_async`` with ``thread_sensitive=False`` and this executor. One socket's calls still run
one after another (its consumer handles one frame or event at a time); different sockets' run side by
side. With SQLite the pool defaults to one thread: the file takes one writer at a time anyway.

With Django's psycopg pool (PostgreSQL in production) a thread keeps its connection from one call to the
next while it is busy: a connection is otherwise given back after every call and taken again, and taking one
runs the pool's health check, an empty statement: with the database a network hop away that was a round
trip more for every frame (a send was three: the check, the seat and the store). A connection that sat
unused for ``KEEP_IDLE_SECONDS`` goes back to the pool before the next call (Django's tidying below), so
the one taken then is checked: one that died while idle (a database restart) is replaced before use.
A connection left dirty by a call (an error, autocommit not restored) is tidied by Django at once, and
one the database ended while it was kept has said so on its socket: it is dropped before the call.
Without the pool (SQLite, PgBouncer) `DATABASE_CONN_MAX_AGE` decides, as it does for pages.

Tidying is Django's ``close_old_connections`` itself rather than Channels' name for it: Channels' test
communicators swap that name for a no-op while they wait, and overlapping waits left the no-op in place
for the rest of the process, so these threads kept their connections for good, past any age and past
the error that killed them (a database restart: "the connection is closed" on every later call). And a
connection whose call raised an ``OperationalError`` or ``InterfaceError`` is closed at once: a dead one
fails the one call that found it, and the pool discards it (its next user gets a checked one). With Django's
pool a call takes its connection before it runs, and if the pool cannot give one that answers (a restart
left all its idle ones dead), the pool checks them all at once and is asked again: the call goes through.
"""

from __future__ import annotations

import select
import threading
import time
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
# A thread's connection unused for longer goes back to the pool (and is checked when taken again).
KEEP_IDLE_SECONDS = 5.0
_last_used = threading.local()


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


def _drop_a_kept_connection_the_database_ended() -> None:
    """A connection kept between calls has nothing to read while it waits; when the database ends it (a
    restart, ``pg_terminate_backend``, an idle timeout) its farewell and the end of the stream arrive on its
    socket. Seen by a poll of the socket (no round trip), it is closed, so psycopg's pool discards it, and
    the call takes another instead of failing on it; the pool's idle connections are checked at once."""
    connection = django_db.connections[DEFAULT_DB_ALIAS]
    kept = connection.connection
    if kept is None or connection.vendor != "postgresql":
        return
    try:
        readable = bool(select.select([kept.fileno()], [], [], 0)[0])
    except (OSError, ValueError):  # closed under us: unusable either way
        readable = True
    if readable:
        kept.close()
        close_this_threads_connections()
        pool = getattr(connection, "pool", None)
        if pool is not None:
            # The database likely restarted: the pool's idle connections are dead too. Checked all at once
            # now, the next page or call anywhere in the process takes a live one (one by one, psycopg's
            # pool waits longer between each and gives up at its timeout).
            pool.check()


class _DatabaseThreadCall(SyncToAsync):
    def thread_handler(self, loop, *args, **kwargs):
        if time.monotonic() - getattr(_last_used, "at", 0.0) > KEEP_IDLE_SECONDS:
            django_db.close_old_connections()  # looked up on each call: never a copy someone swapped
        try:
            _drop_a_kept_connection_the_database_ended()
            _take_a_connection_that_answers()
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
        getattr(connection, "pool", None) is not None  # else DATABASE_CONN_MAX_AGE decides, as for pages
        and connection.connection is not None
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
