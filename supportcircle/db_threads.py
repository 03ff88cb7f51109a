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
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from channels.db import database_sync_to_async
from django.conf import settings

from supportcircle.http import close_this_threads_connections

_lanes: list[ThreadPoolExecutor] = []
_next_lane = itertools.count()
_made = threading.Lock()


def opening_trip(func: Callable):
    """``func`` as an awaitable trip to the database for opening a socket (see the module)."""
    lanes = opening_threads()
    if not lanes:
        return database_sync_to_async(func)
    lane = lanes[next(_next_lane) % len(lanes)]
    return database_sync_to_async(func, thread_sensitive=False, executor=lane)


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
