"""Noticing that messages may have been lost in the channel layer, through its own API.

Pub/sub keeps nothing: what is published while this process's subscription to Redis is down (Redis
restarting, a failover, a dropped connection) never arrives. Every open socket then has to check what
it missed, and a quiet member should not wait for their client's next ping (20 s) to see it. So each
process sends itself a numbered heartbeat twice a second on a channel of its own. A gap in the numbers
it hears back (or a heartbeat it could not send) means the subscription was down for a moment; as soon
as one arrives again, every socket of this process hears ``layer.reconnected`` (one publish to the
process's group, which every socket joins) and answers with an unprompted ``pong`` naming the newest
seq, from which its client backfills. (channels-redis waits a second before it reconnects a dropped
subscription, so no outage falls between two heartbeats.)

Only a layer that can lose messages this way is watched (not the in-memory one).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
from weakref import WeakKeyDictionary

from channels.layers import InMemoryChannelLayer, get_channel_layer

from supportcircle.realtime import Event

log = logging.getLogger(__name__)

# The group every socket of this process joins (one Redis subscription for the whole process).
PROCESS_GROUP = f"process.{uuid.uuid4().hex}"
RECONNECTED_EVENT = {"type": Event.LAYER_RECONNECTED.value}
HEARTBEAT_SECONDS = 0.5

_watchers: WeakKeyDictionary = WeakKeyDictionary()


def watch() -> None:
    """Start this event loop's watcher, once (each consumer calls this as it opens)."""
    layer = get_channel_layer()
    loop = asyncio.get_running_loop()
    if isinstance(layer, InMemoryChannelLayer) or loop in _watchers:
        return
    _watchers[loop] = asyncio.ensure_future(Watcher(layer).run())


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
        listening = asyncio.ensure_future(self.listen(channel))
        try:
            for number in itertools.count(1):
                try:
                    async with asyncio.timeout(HEARTBEAT_SECONDS):
                        await self.layer.send(channel, {"type": "heartbeat", "n": number})
                except Exception:
                    self.note_lost()  # Redis refused or stalled: what is published now may never arrive
                await asyncio.sleep(HEARTBEAT_SECONDS)
        finally:
            listening.cancel()

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
                self.note_lost()  # heartbeats between were published while nobody here was listening
            self.heard = number
            if self.lost:
                self.lost = False
                log.warning("channel layer back: open sockets check what they may have missed")
                with contextlib.suppress(Exception):
                    await self.layer.group_send(PROCESS_GROUP, RECONNECTED_EVENT)

    def note_lost(self) -> None:
        if not self.lost:
            log.warning("channel layer interrupted: live delivery may miss messages until it answers again")
        self.lost = True
