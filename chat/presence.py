"""Keeping this process's open sockets counted as "here now", a few statements a minute in all.

A socket's row in ``Presence`` expires once its ``last_seen`` is older than PRESENCE_TTL_SECONDS, so that
the sockets of a server process that died stop counting (as here now, and against their person's limit
of open sockets). Each socket once refreshed its own row on every ping: with 10,000 people connected
that was 500 writes a second. Here each process refreshes all of its open sockets' rows together every
``REFRESH_SECONDS``, well within the TTL; a socket that closes leaves at once (chat.opening.goodbye), and
one whose client vanished is closed by daphne's own WebSocket ping.
"""

from __future__ import annotations

import asyncio
import logging
from weakref import WeakKeyDictionary

from django.db import DatabaseError

from supportcircle.db_threads import db

from . import room
from .protocol import PRESENCE_TTL_SECONDS

log = logging.getLogger(__name__)

REFRESH_SECONDS = PRESENCE_TTL_SECONDS / 3

_keepers: WeakKeyDictionary = WeakKeyDictionary()


class PresenceKeeper:
    def __init__(self) -> None:
        self.open: set[str] = set()
        self.task: asyncio.Task | None = None

    def arrived(self, channel_name: str) -> None:
        self.open.add(channel_name)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self.refresh_while_open())

    def left(self, channel_name: str) -> None:
        self.open.discard(channel_name)

    async def refresh_while_open(self) -> None:
        while self.open:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await db(room.still_here)(set(self.open))
            except DatabaseError as problem:
                # The rows live another TTL: the next refresh (or the database's return) keeps them.
                log.warning("could not refresh who is here now (%s); trying again shortly", type(problem).__name__)


def keeper() -> PresenceKeeper:
    """This event loop's keeper."""
    loop = asyncio.get_running_loop()
    found = _keepers.get(loop)
    if found is None:
        found = _keepers[loop] = PresenceKeeper()
    return found
