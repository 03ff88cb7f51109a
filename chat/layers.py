"""Keeping one slow socket from costing everyone else: bounded inboxes and bounded send buffers.

A member on a weak connection, or a browser tab that stopped reading, must not make the server hold
an ever-growing pile of messages for them. Two bounds, and one answer:

1. Each socket's inbox in the channel layer holds at most ``capacity`` events (``CHAT_SOCKET_INBOX``).
   When it overflows, what is queued is dropped and a single ``layer.overflow`` event takes its
   place; the consumer closes with ``TOO_SLOW`` (4408). ``BoundedRedisPubSubChannelLayer``
   (production, one PUBLISH per message) and ``BoundedInMemoryChannelLayer`` (development and tests)
   behave alike.
2. Each socket's outgoing buffer in daphne (bytes written but not yet taken by the client) is capped at
   ``CHAT_SEND_BUFFER_BYTES``. Past the cap nothing more is queued for that socket: a close frame with
   4408 follows what it already has, and the connection is dropped if the client does not take even
   that within a minute.

Nothing is lost either way: the database is the record, and a client closed with 4408 reconnects with
``?last_seq=`` and backfills, as after any other drop.

Neither channels-redis, Channels nor daphne offers a public hook for either bound, so each is a small
override of their code: those dependencies are pinned exactly in requirements.txt, and
tests/chat/test_pinned_dependencies.py fails when the code overridden here changes, so that an upgrade
re-proves the bounds (tests/chat/test_slow_reader.py) before the pin moves. Nothing else of theirs is
changed.
"""

from __future__ import annotations

import asyncio
import logging
import time

from channels.layers import InMemoryChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer
from channels_redis.serializers import MsgPackSerializer, registry
from channels_redis.utils import _wrap_close, create_pool, decode_hosts
from redis import asyncio as aioredis

from supportcircle import metrics
from supportcircle.realtime import Event

from .inbox import Inbox
from .protocol import CloseCode

log = logging.getLogger(__name__)

DEFAULT_INBOX = 500
DEFAULT_SEND_BUFFER_BYTES = 1_048_576
OVERFLOW_EVENT = {"type": Event.LAYER_OVERFLOW.value}
# How long a socket closed for being too slow may take to read its close frame.
CLOSE_GRACE_SECONDS = 60


class BoundedInbox(Inbox):
    """A socket's inbox: at most ``capacity`` events, then what waits is dropped for one overflow marker.
    channels-redis asks an inbox for ``put_nowait`` and ``get`` only (chat.inbox has both, lighter than
    the ``asyncio.Queue`` it makes itself)."""

    __slots__ = ("capacity", "marker")

    def __init__(self, capacity: int, marker) -> None:
        super().__init__()
        self.capacity = capacity
        self.marker = marker

    def put_nowait(self, item) -> None:
        if self.qsize() >= self.capacity:
            while not self.empty():
                self.get_nowait()
            item = self.marker
        super().put_nowait(item)


class _BoundedPubSubLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args, capacity: int, marker: bytes, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.capacity = capacity
        self.marker = marker

    async def _subscribe_to_channel(self, channel):
        # channels-redis 4.3's own method, with the bounded inbox in place of its unbounded queue.
        self.channels[channel] = BoundedInbox(self.capacity, self.marker)
        await self._get_shard(channel).subscribe(channel)


class DecodedOnceSerializer(MsgPackSerializer):
    """channels-redis's msgpack serializer (with its encryption), decoding a group message once a process.

    A group message reaches a process once and is handed to each of its sockets in the group as the
    same bytes; each socket's ``receive`` then decodes it: with encryption, a Fernet check and decrypt
    per recipient, the largest per-delivery cost after the send itself. The last few decoded messages
    are kept by their bytes, and each recipient gets its own shallow copy of the event.
    Registered with channels-redis's public serializer registry as ``SERIALIZER_FORMAT``.
    """

    KEEP = 64

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.recent: dict[bytes, dict] = {}

    def deserialize(self, message: bytes) -> dict:
        decoded = self.recent.get(message)
        if decoded is None:
            decoded = super().deserialize(message)
            if len(self.recent) >= self.KEEP:
                del self.recent[next(iter(self.recent))]
            self.recent[message] = decoded
        return dict(decoded)


SERIALIZER_FORMAT = "msgpack-decoded-once"
registry.register_serializer(SERIALIZER_FORMAT, DecodedOnceSerializer)


class BoundedRedisPubSubChannelLayer(RedisPubSubChannelLayer):
    """channels-redis's pub/sub layer (one PUBLISH per group message) with a bounded inbox per socket,
    decoding each group message once per process (DecodedOnceSerializer)."""

    def __init__(self, *args, capacity: int = DEFAULT_INBOX, **kwargs) -> None:
        kwargs.setdefault("serializer_format", SERIALIZER_FORMAT)
        super().__init__(*args, **kwargs)
        self.capacity = capacity
        self.marker = self.serialize(OVERFLOW_EVENT)
        self.hosts = decode_hosts(kwargs.get("hosts", args[0] if args else None))

    def own_clients(self) -> list[aioredis.Redis]:
        """A client for each Redis this layer uses, each holding one connection of its own, made as the
        layer makes its pools (channels-redis's ``create_pool``: an address, or Sentinels): for asking Redis
        itself something without waiting behind the layer's publishes (chat.layer_watch reads its clock).
        No deadline of their own: redis-py's (5 s) is this process's clock, and writing under it takes an
        extra turn of the event loop first. The caller closes them."""
        return [
            aioredis.Redis(connection_pool=create_pool({**host, "socket_timeout": None}), single_connection_client=True)
            for host in self.hosts
        ]

    def _get_layer(self):
        # channels-redis 4.3's own method, making the bounded loop layer.
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = _BoundedPubSubLoopLayer(
                *self._args, capacity=self.capacity, marker=self.marker, **self._kwargs, channel_layer=self
            )
            self._layers[loop] = layer
            _wrap_close(self, loop)
            return layer


class BoundedInMemoryChannelLayer(InMemoryChannelLayer):
    """The in-memory layer, but a full inbox ends in one overflow event instead of silently refusing sends."""

    def __init__(self, *args, capacity: int = DEFAULT_INBOX, **kwargs) -> None:
        super().__init__(*args, capacity=capacity, **kwargs)

    async def send(self, channel, message):
        queue = self.channels.get(channel)
        if queue is not None and queue.qsize() >= self.get_capacity(channel):
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait((time.time() + self.expiry, dict(OVERFLOW_EVENT)))
        else:
            await super().send(channel, message)


# The send buffer in daphne ----------------------------------------------------------------


def _buffered_bytes(transport) -> int:
    """Bytes written to a Twisted TCP transport that the client has not taken yet."""
    data = getattr(transport, "dataBuffer", b"")
    return len(data) - getattr(transport, "offset", 0) + getattr(transport, "_tempDataLen", 0)


def bound_daphne_send_buffers(limit: int = DEFAULT_SEND_BUFFER_BYTES) -> bool:
    """Cap every WebSocket's outgoing buffer in this daphne process at ``limit`` bytes.

    Daphne writes each frame straight into Twisted's buffer, which grows without end for a
    client that stops reading. Past ``limit`` the socket gets no more frames, only a close
    frame with TOO_SLOW after what it already has. Returns False when daphne is not here.
    """
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:
        return False
    original = getattr(WebSocketProtocol, "_supportcircle_original_send", None) or WebSocketProtocol.serverSend

    def serverSend(self, content, binary=False):  # noqa: N802 (daphne names it)
        if getattr(self, "_too_slow", False):
            return  # already closing: the client reconnects and backfills what it missed
        if self.state == self.STATE_OPEN and _buffered_bytes(self.transport) > limit:
            self._too_slow = True
            log.info("chat socket too slow to read: closing it with %s", int(CloseCode.TOO_SLOW))
            metrics.socket_closed_with(int(CloseCode.TOO_SLOW))
            # Give the client time to read what it has, then the close frame; then let go.
            self.closeHandshakeTimeout = CLOSE_GRACE_SECONDS
            self.sendClose(code=int(CloseCode.TOO_SLOW))
            return
        return original(self, content, binary)

    WebSocketProtocol._supportcircle_original_send = original
    WebSocketProtocol.serverSend = serverSend
    return True
