"""Noticing that messages may have been lost in the channel layer, by what Redis itself says.

Pub/sub keeps nothing, and two things lose what is published:

- **The process's subscription drops** (Redis restarting, a failover, a dropped connection, Redis closing a
  subscriber that fell too far behind): what is published until it is back never arrives. So each process
  sends itself a numbered heartbeat twice a second on a channel of its own, the next only once Redis has
  taken the last. A number missing from what comes back was published by Redis while nobody here was
  listening; a heartbeat Redis refuses (the connection failed) says the same.
- **Redis stands still** (paused, swapping, a network holding packets): every process gives up the sends
  waiting on it after ``SEND_TIMEOUT_SECONDS`` (supportcircle.realtime). So before each heartbeat the
  watcher also asks Redis for its clock (``TIME``, on a connection of its own: :class:`RedisClock`): how much
  later than it was asked Redis ran it, by Redis's own clock, against the last answer. ``STALL_SECONDS`` or
  more later means Redis stood still for at least that long.

Neither is judged by how late this process reads an answer. An event loop running seconds behind (a crowd,
a long garbage collection) reads its heartbeats and Redis's answers late, but Redis took them in time and
nothing was lost: it tells no socket anything. (Judged by this process's clock, a loop seconds behind in the
crowd bench declared nine gaps in 80 s, each sending all 10,000 sockets a re-check and a catch-up.)

As soon as a heartbeat arrives after either, every socket of this process hears ``layer.reconnected`` (one
publish to the process's group, which every socket joins) and answers with an unprompted ``pong`` naming
the newest seq, from which its client backfills, so a quiet member does not wait for their client's next
ping (20 s). (channels-redis waits a second before it reconnects a dropped subscription, so no outage falls
between two heartbeats.)

Only a layer that can lose messages this way is watched (not the in-memory one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from weakref import WeakKeyDictionary

from channels.layers import InMemoryChannelLayer, get_channel_layer
from redis.exceptions import TimeoutError as RedisTimeoutError

from supportcircle.realtime import Event, keep_until_done

log = logging.getLogger(__name__)

# The group every socket of this process joins (one Redis subscription for the whole process).
PROCESS_GROUP = f"process.{uuid.uuid4().hex}"
RECONNECTED_EVENT = {"type": Event.LAYER_RECONNECTED.value}
HEARTBEAT_SECONDS = 0.5
# Redis answering this much later than the time before (by its own clock) stood still meanwhile. A send gives
# up after 2 s (SEND_TIMEOUT_SECONDS), and Redis's clock is read every HEARTBEAT_SECONDS or so, so every stall
# long enough to lose a send is seen.
STALL_SECONDS = 1.0

_watchers: WeakKeyDictionary = WeakKeyDictionary()


def watch() -> None:
    """Start this event loop's watcher, once (each consumer calls this as it opens)."""
    layer = get_channel_layer()
    loop = asyncio.get_running_loop()
    if isinstance(layer, InMemoryChannelLayer) or loop in _watchers:
        return
    _watchers[loop] = asyncio.ensure_future(Watcher(layer).run())


class RedisClock:
    """How much later than the time before one Redis ran a command, by Redis's own clock.

    The moment of asking is taken just before the command is written (a client holding a connection of its
    own writes at once), and ``TIME`` says when Redis ran it: the difference is the two clocks' distance plus
    the way there, and it grows only while Redis (or the way to it) stands still. However late this process
    reads the answer, that is not counted."""

    def __init__(self, client) -> None:
        self.client = client
        self.last: float | None = None  # Redis's clock less ours, at the last answer

    async def stood_still(self) -> float:
        """Seconds Redis took to run this command beyond what it took for the last one."""
        asked = time.time()
        seconds, microseconds = await self.client.time()
        apart = seconds + microseconds / 1_000_000 - asked
        before, self.last = self.last, apart
        return 0.0 if before is None else apart - before

    def forget(self) -> None:
        """The connection failed: the next answer comes over a new one, with no last one to compare."""
        self.last = None


class Watcher:
    def __init__(self, layer) -> None:
        self.layer = layer
        self.heard = 0  # the last heartbeat number heard back
        self.lost = False  # something may have been lost since the last heartbeat heard in order

    async def run(self) -> None:
        channel = None
        while channel is None:  # Redis may be down as the first socket opens
            try:
                channel = await self.layer.new_channel("heartbeat.")
            except Exception:
                await asyncio.sleep(HEARTBEAT_SECONDS)
        helpers = [asyncio.ensure_future(self.listen(channel))]
        if hasattr(self.layer, "own_clients"):  # chat.layers.BoundedRedisPubSubChannelLayer
            helpers += [asyncio.ensure_future(self.read_clock(client)) for client in self.layer.own_clients()]
        try:
            number = 1
            while True:
                try:
                    # No deadline of our own: a heartbeat slow to go out loses nothing (Redis standing still is
                    # for its clock to show).
                    await self.layer.send(channel, {"type": "heartbeat", "n": number})
                    number += 1  # the next number only once Redis took this one: a gap is then Redis's word
                except (TimeoutError, RedisTimeoutError):
                    pass  # redis-py's deadline, on this process's clock: whether Redis stood still is the clock's
                except Exception:
                    self.note_lost()  # Redis refused: what is published now may never arrive
                await asyncio.sleep(HEARTBEAT_SECONDS)
        finally:
            for helper in helpers:
                helper.cancel()

    async def listen(self, channel: str) -> None:
        while True:
            try:
                heartbeat = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(HEARTBEAT_SECONDS)
                continue
            number = heartbeat.get("n", 0)
            if self.heard and number > self.heard + 1:
                self.note_lost()  # Redis published heartbeats between while nobody here was listening
            self.heard = number
            if self.lost:
                self.lost = False
                log.warning("channel layer back: open sockets check what they may have missed")
                with contextlib.suppress(Exception):
                    await self.layer.group_send(PROCESS_GROUP, RECONNECTED_EVENT)

    async def read_clock(self, client) -> None:
        clock = RedisClock(client)
        try:
            while True:
                try:
                    if await clock.stood_still() >= STALL_SECONDS:
                        self.note_lost()  # sends waiting on Redis meanwhile may have been given up
                except asyncio.CancelledError:
                    raise
                except Exception:
                    clock.forget()
                    self.note_lost()  # Redis refused: what is published now may never arrive
                await asyncio.sleep(HEARTBEAT_SECONDS)
        finally:
            with contextlib.suppress(RuntimeError):  # no loop left to close it on: it goes with the process
                keep_until_done(asyncio.get_running_loop().create_task(client.aclose()))

    def note_lost(self) -> None:
        if not self.lost:
            log.warning("channel layer interrupted: live delivery may miss messages until it answers again")
        self.lost = True
