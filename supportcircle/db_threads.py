"""Which thread opening a chat socket reads the database on.

Channels runs a consumer's database work on one thread (``database_sync_to_async``, thread
sensitive): every socket's statements run one after another. On SQLite that is the right shape, as
the work is CPU in this process and the file takes one writer at a time anyway. On PostgreSQL each
statement is a round trip to another process, and the one thread mostly waits. In a crowd opening
sockets at once (5,000 logins and connects, 200 at a time), the handshakes queued behind each
other's round trips until daphne gave up on some of them (its 5 s handshake timeout): 19 to 46
people in a run got a dropped connection instead of their group.

So with PostgreSQL, the three trips that open a socket (whose session this is, may they be here, the
welcome: supportcircle.accounts.socket_auth and chat.opening) run on a few threads of their own,
``CHAT_OPENING_THREADS`` (0 keeps them on the sockets' database thread, the default with SQLite).
Each thread keeps its own connection. One socket's trips still run one after another, as before;
what differs is that one socket's round trip no longer waits for another's. Everything a socket does
once open (posting above all, whose order matters) stays on the one thread. Arrivals in "here now"
then happen at the same time, so they take turns in the database (chat.room).

A trip here (:func:`trip`) is Channels' ``database_sync_to_async`` without its bookkeeping: the
same thread (asgiref's choice, which it is left to whenever it would choose anything but its one
thread for the running loop), the same fresh-connection check before and after, the caller's
context and event loop known on the thread as asgiref makes them known. asgiref wraps each call in
a new object, a shielded future and a child context: 30 to 50 µs of the server's time a trip, and
a login with its socket makes four of them (the login, the session, admit, welcome).

On SQLite (``DATABASE_TRIPS_INLINE``, on by default without ``DATABASE_URL``) those four trips do
not leave the event loop's thread at all: :func:`trip` runs the function right there, between two
turns of the loop. The statements are CPU work in this process either way, and one core runs one
thread at a time, so a hop to another thread only added the hand-over: the queue, two wake-ups, the
GIL passed back and forth (50 to 90 µs a trip measured alone; in the connect storm, by turns, 12 to
20 per cent of the server's CPU). While it runs, nothing else on the loop does, as under the GIL
before. It runs as the database thread would run it: with its own connection (this thread's), a
stale one closed after each trip (on a thread no one else's statements run on, that is also before
the next), in a copy of the caller's context, and with chat.broadcast handing its sends to this
loop. Django refuses database calls where an event loop is running (its ``async_unsafe`` guard,
there to stop a coroutine blocking the loop on the network by mistake); this is the one place that
runs them there on purpose, so the loop is set aside for the call and put back after. A write waits
for SQLite's lock as it would on any thread, and the loop with it: other writers' transactions are
short (a post, an arrival), and readers never wait (WAL). Everything a socket does once open stays
on the sockets' database thread, as before.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from asgiref.sync import AsyncToSync, SyncToAsync
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import close_old_connections

from supportcircle.http import close_this_threads_connections

_lanes: list[ThreadPoolExecutor] = []
_next_lane = itertools.count()
_made = threading.Lock()


def opening_trip(func: Callable):
    """``func`` as an awaitable trip to the database for opening a socket (see the module)."""
    lanes = opening_threads()
    if not lanes:
        return trip(func)
    return trip(func, thread_sensitive=False, executor=lanes[next(_next_lane) % len(lanes)])


def trip(func: Callable, *, executor: Executor | None = None, thread_sensitive: bool = True):
    """``func`` as ``database_sync_to_async(func, thread_sensitive=..., executor=...)`` would run it,
    in fewer steps (see the module). Thread-sensitive, it runs on asgiref's one thread; without,
    on ``executor`` (the loop's default one if None)."""
    if thread_sensitive and executor is not None:
        raise TypeError("executor must not be set when thread_sensitive is True")  # as asgiref

    async def on_its_thread(*args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        if settings.DATABASE_TRIPS_INLINE and _on_a_server_loop(loop):
            return contextvars.copy_context().run(_inline, loop, func, args, kwargs)
        if not thread_sensitive:
            chosen = executor
        elif (chosen := _the_one_thread(loop)) is None:
            # A sync caller above, a per-request context, an executor of the loop's own: asgiref's to choose.
            return await database_sync_to_async(func)(*args, **kwargs)
        else:
            # As asgiref does: a call from that thread back to it would deadlock, and is refused.
            SyncToAsync.deadlock_context.set(True)
        context = contextvars.copy_context()
        try:
            return await loop.run_in_executor(chosen, context.run, _run, loop, func, args, kwargs)
        finally:
            if thread_sensitive:
                SyncToAsync.deadlock_context.set(False)

    return on_its_thread


def _the_one_thread(loop: asyncio.AbstractEventLoop) -> Executor | None:
    """asgiref's single thread, when that is where it would run thread-sensitive code now; else None."""
    if (
        getattr(AsyncToSync.executors, "current", None) is not None
        or SyncToAsync.thread_sensitive_context.get(None) is not None
        or loop in AsyncToSync.loop_thread_executors
    ):
        return None
    if SyncToAsync.deadlock_context.get(False):
        raise RuntimeError("Single thread executor already being used, would deadlock")
    return SyncToAsync.single_thread_executor


def _run(loop: asyncio.AbstractEventLoop, func: Callable, args: tuple, kwargs: dict) -> Any:
    """On the database thread, as asgiref and Channels run it: the loop known to the thread (for
    ``async_to_sync`` and chat.broadcast), stale connections closed before and after."""
    local = SyncToAsync.threadlocal
    local.main_event_loop, local.main_event_loop_pid, local.task_context = loop, os.getpid(), []
    close_old_connections()
    try:
        return func(*args, **kwargs)
    finally:
        close_old_connections()


def _on_a_server_loop(loop: asyncio.AbstractEventLoop) -> bool:
    """Not a loop ``async_to_sync`` made for a sync caller above (that caller's thread and its
    connection are asgiref's to choose, as before), nor within a request's own context."""
    return (
        getattr(AsyncToSync.executors, "current", None) is None
        and loop not in AsyncToSync.loop_thread_executors
        and SyncToAsync.thread_sensitive_context.get(None) is None
    )


_inline_here = threading.local()


def _inline(loop: asyncio.AbstractEventLoop, func: Callable, args: tuple, kwargs: dict) -> Any:
    """``func`` on the loop's own thread, as :func:`_run` runs it on the database thread (see the module)."""
    if getattr(_inline_here, "loop", None) is not None:
        raise RuntimeError("a trip inline cannot start another one")  # it has no await to start one from
    asyncio.events._set_running_loop(None)
    _inline_here.loop = loop
    try:
        # Only after, not also before: nothing but these trips uses this thread's connection while its
        # loop runs (Django refuses anything else there), so the check after one trip is the check
        # before the next (an idle connection past its age is closed by the next trip's check instead).
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()
    finally:
        _inline_here.loop = None
        asyncio.events._set_running_loop(loop)


def inline_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop whose thread is running a trip inline just now (chat.broadcast sends to it), or None."""
    return getattr(_inline_here, "loop", None)


def opening_threads() -> list[ThreadPoolExecutor]:
    """The opening threads, one executor each (made when first asked for), or none with SQLite."""
    if not settings.CHAT_OPENING_THREADS:
        return []
    if _lanes:
        return _lanes
    with _made:
        if not _lanes:
            count = settings.CHAT_OPENING_THREADS
            _lanes.extend(ThreadPoolExecutor(1, thread_name_prefix=f"chat-opening-{n}") for n in range(count))
    return _lanes


def run_on_each_thread(func: Callable[[], object], timeout: float = 10.0) -> int:
    """Run ``func`` once on each opening thread and wait for them all; how many there are."""
    futures = [lane.submit(func) for lane in opening_threads()]
    for future in futures:
        future.result(timeout)
    return len(futures)


def close_connections() -> int:
    """Close each opening thread's database connections (a thread opens a new one when next asked)."""
    return run_on_each_thread(close_this_threads_connections)
