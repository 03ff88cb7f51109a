"""Questions from one event loop's sockets, answered together: one call on a database thread for all
that ask within a short window.

With 10,000 sockets in a process, a question each socket asks every few seconds (its periodic
re-check, chat/recheck.py; the newest seq for a ping, chat/pongs.py) would be hundreds of statements a
second, each a hop to a database thread and a round trip to the database. Here the first socket that
asks waits a few milliseconds (its ``within``) for others, and one call answers the lot. A socket that
asks while a batch is being read goes into the next one: never into a statement that had already
started, so every answer was read after the socket asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

from supportcircle.db_threads import db

Key = TypeVar("Key", bound=Hashable)
Answer = TypeVar("Answer")


class Batches(Generic[Key, Answer]):
    """Collects one event loop's questions of one kind and answers them in batches. A kind says how a
    batch is read (:meth:`read`, on a database thread) and how many keys one call may take (:meth:`most`)."""

    def __init__(self) -> None:
        self.pending: dict[Key, asyncio.Future] = {}
        self.flushing: asyncio.TimerHandle | None = None  # when what is pending is read
        self.answering: set[asyncio.Task] = set()  # batches being read

    def read(self, keys: list[Key]) -> dict[Key, Answer]:
        """Each key's answer, read together (on a database thread)."""
        raise NotImplementedError

    def most(self) -> int:
        """At most this many keys in one call: a statement's parameters are bounded (SQLite's 32,766,
        PostgreSQL's 65,535), and every socket of a process may ask at once (after a layer gap)."""
        raise NotImplementedError

    async def answer(self, key: Key, *, within: float) -> Answer:
        """The key's answer, read with every other key asked in the meantime: at the latest ``within``
        seconds from now."""
        future = self.pending.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self.pending[key] = future
        self._flush_by(asyncio.get_running_loop().time() + within)
        return await asyncio.shield(future)

    def _flush_by(self, when: float) -> None:
        # A socket that asks while a batch is being read goes in the next one, which is read beside it, not
        # after it (with the database a round trip away a socket would otherwise wait for someone else's
        # batch before its own); each ask makes sure a read is due within its window, so nobody waits for
        # another socket to ask. (Answering only the batch in hand once left such a socket waiting until
        # some other socket asked, which at the end of a busy minute could be never.)
        if self.flushing is not None:
            if self.flushing.when() <= when:
                return
            self.flushing.cancel()
        self.flushing = asyncio.get_running_loop().call_at(when, self._flush)

    def _flush(self) -> None:
        self.flushing = None
        batch, self.pending = self.pending, {}
        keys, most = list(batch), self.most()
        for start in range(0, len(keys), most):
            part = {key: batch[key] for key in keys[start : start + most]}
            answering = asyncio.ensure_future(self._answer(part))
            self.answering.add(answering)
            answering.add_done_callback(self.answering.discard)

    async def _answer(self, batch: dict[Key, asyncio.Future]) -> None:
        try:
            # Off the event loop, on the sockets' database threads: a read on its own connection.
            answers = await db(self.read)(list(batch))
        except Exception as problem:  # the database is down: every waiting socket hears so
            self.failed(problem, len(batch))
            for future in batch.values():
                if not future.done():
                    future.set_exception(problem)
            return
        self.answered()
        for key, future in batch.items():
            if not future.done():
                future.set_result(answers[key])

    def failed(self, problem: Exception, sockets: int) -> None:
        """A batch could not be read (each of its sockets gets the exception)."""

    def answered(self) -> None:
        """A batch was read."""


_EACH_LOOP: WeakKeyDictionary = WeakKeyDictionary()

B = TypeVar("B", bound=Batches)


def of_this_loop(kind: type[B]) -> B:
    """The running event loop's collector of this kind (one per loop: a test's loop never answers another's)."""
    loop = asyncio.get_running_loop()
    kinds = _EACH_LOOP.get(loop)
    if kinds is None:
        kinds = _EACH_LOOP[loop] = {}
    found = kinds.get(kind)
    if found is None:
        found = kinds[kind] = kind()
    return found
