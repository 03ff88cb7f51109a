"""A socket's inbox: first in, first out, awaited by the socket's own reader.

Every open socket holds two of these (the frames waiting their turn in the consumer, and its channel
layer inbox, chat.layers.BoundedInbox), and a server holds thousands of idle sockets. ``asyncio.Queue``
keeps four deques and an ``Event`` whether or not anyone waits, about 3 KB a socket each: this keeps
one deque while something waits in it (an idle socket's two inboxes hold none: an empty deque is
760 bytes), and a waiter only while someone waits. It offers what its users ask of it (``put_nowait``,
``get``, ``get_nowait``, ``qsize``, ``empty``), with ``asyncio.Queue``'s behaviour for each; it is never
full (a bound is the owner's, as BoundedInbox's).
"""

from __future__ import annotations

import asyncio
from collections import deque


class Inbox:
    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: deque | None = None  # made when something arrives, let go when it is all taken
        self._waiters: list[asyncio.Future] | None = None  # made when someone first waits

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        self._wake_one()

    def get_nowait(self):
        if not self._items:
            raise asyncio.QueueEmpty
        return self._take()

    def _take(self):
        items = self._items
        item = items.popleft()
        if not items:
            self._items = None
        return item

    async def get(self):
        while not self._items:
            waiter = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                elif self._items:
                    self._wake_one()  # woken, then cancelled: what woke it goes to the next in line
                raise
        return self._take()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                return
