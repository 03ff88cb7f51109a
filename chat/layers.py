"""Keeping one slow socket from costing everyone else: bounded inboxes and bounded send buffers.

A member on a weak connection, or a browser tab that stopped reading, must not make the
server hold an ever-growing pile of messages for them. Two bounds, and one answer:

1. Each socket's inbox in the channel layer holds at most ``capacity`` events
   (``CHAT_SOCKET_INBOX``). When it overflows, what is queued is dropped and a single
   ``layer.overflow`` event takes its place; the consumer closes with ``TOO_SLOW`` (4408).
   ``BoundedRedisPubSubChannelLayer`` (production, one PUBLISH per message) and
   ``BoundedInMemoryChannelLayer`` (development and tests) behave alike.
2. Each socket's outgoing buffer in daphne (bytes written but not yet taken by the client)
   is capped at ``CHAT_SEND_BUFFER_BYTES``. Past the cap nothing more is queued for that
   socket: a close frame with 4408 follows what it already has, and the connection is
   dropped if the client does not take even that within a minute.

Nothing is lost either way: the database is the record, and a client closed with 4408
reconnects with ``?last_seq=`` and backfills, as after any other drop.

The pub/sub layer here also publishes group messages from one ordered outbox per process, many
to a round trip (``group_send`` returns once the message is queued), so a busy server neither
makes every broadcast wait its turn for the Redis connection nor times them out.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import pprint
import time
from collections import OrderedDict
from concurrent.futures import CancelledError

from channels.layers import InMemoryChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection
from channels_redis.utils import _wrap_close, create_pool
from redis import asyncio as aioredis
from redis.asyncio.client import PubSub

from supportcircle import metrics

from .protocol import CloseCode

log = logging.getLogger(__name__)

DEFAULT_INBOX = 500
# Broadcasts waiting to be published by this process, and how many go in one round trip.
OUTBOX = 10_000
PUBLISH_BATCH = 500
DEFAULT_SEND_BUFFER_BYTES = 1_048_576
# Decoded group messages kept for the other sockets of this process that will read the same bytes.
DECODED_KEPT = 256
OVERFLOW_EVENT = {"type": "layer.overflow"}
# Put in every local socket's inbox when this process's subscription to Redis came back after a
# drop: anything published meanwhile was lost on the way, so each socket checks what it missed.
RECONNECTED_EVENT = {"type": "layer.reconnected"}
# How long a socket closed for being too slow may take to read its close frame.
CLOSE_GRACE_SECONDS = 60


def _overflow(queue: asyncio.Queue, marker) -> None:
    """Drop everything queued for this socket and leave one marker that tells its consumer to close."""
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait(marker)


class SocketQueue:
    """The part of ``asyncio.Queue`` a socket's queues use (``put_nowait``, ``get``, ``get_nowait``,
    ``empty``, ``qsize``), in a list and the futures of whoever waits.

    Every open socket has two: its inbox in the channel layer (``BoundedInbox``) and daphne's queue
    of frames from the client (``lighten_daphne_sockets``). An empty ``asyncio.Queue`` holds four
    deques of 760 bytes each; this costs about 200 bytes. Unbounded, as daphne's queue is.
    """

    __slots__ = ("_items", "_getters")

    def __init__(self) -> None:
        self._items: list = []
        self._getters: list[asyncio.Future] = []

    # No __len__: daphne tests ``if self.application_queue:``, true of any queue, as of asyncio's.

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item) -> None:
        self._items.append(item)
        self._wake_next()

    def get_nowait(self):
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    async def get(self):
        # As asyncio.Queue.get does it, down to handing a wake-up on when the woken reader was cancelled.
        while not self._items:
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                if getter in self._getters:
                    self._getters.remove(getter)
                if self._items and not getter.cancelled():
                    self._wake_next()
                raise
        return self._items.pop(0)

    def _wake_next(self) -> None:
        while self._getters:
            getter = self._getters.pop(0)
            if not getter.done():
                getter.set_result(None)
                return


class BoundedInbox(SocketQueue):
    """A socket's inbox in the pub/sub layer: at most ``capacity`` events, then one overflow marker."""

    __slots__ = ("capacity", "marker")

    def __init__(self, capacity: int, marker: bytes) -> None:
        super().__init__()
        self.capacity = capacity
        self.marker = marker

    def put_nowait(self, item) -> None:
        if len(self._items) >= self.capacity:
            self._items.clear()  # what is queued is dropped; the marker takes its place
            item = self.marker
        super().put_nowait(item)


class _AnnouncingPubSub(PubSub):
    """redis-py re-subscribes by itself after a reconnect (``on_connect``); this also says so."""

    announce = None  # set by _AnnouncingShard

    async def on_connect(self, connection) -> None:
        await super().on_connect(connection)
        if self.announce is not None:
            self.announce()


class _AnnouncingShard(RedisSingleShardConnection):
    """channels-redis's connection to one Redis, announcing a restored subscription, and sending the
    subscriptions asked for at about the same time together.

    channels-redis sends one SUBSCRIBE (or UNSUBSCRIBE) per channel, each waiting its turn for the
    connection's lock, also held by every publish for its whole round trip. A socket opening
    subscribes to four channels, so a crowd arriving at once queued thousands of single commands
    (and the sockets behind them, long enough for the layer's timeout to refuse some). Here each wish
    is noted (the last one for a channel wins, so a leave and a join that cross end as the join) and
    one task sends everything noted as one SUBSCRIBE and one UNSUBSCRIBE, then does the same for
    whatever was noted meanwhile, until nothing waits.
    Everyone whose wish went in a round hears that round's outcome: done, or Redis's error.
    """

    def __init__(self, host, channel_layer) -> None:
        super().__init__(host, channel_layer)
        self._wishes: dict[str, bool] = {}  # channel: subscribed, not sent yet
        self._sending: dict[str, bool] = {}  # the round being sent
        self._next_round: asyncio.Future | None = None
        self._sender: asyncio.Task | None = None

    def _ensure_redis(self):
        if self._redis is None:
            self._redis = aioredis.Redis(connection_pool=create_pool(self.host))
            self._pubsub = _AnnouncingPubSub(self._redis.connection_pool)
            self._pubsub.announce = self.channel_layer.resubscribed

    async def subscribe(self, channel):
        await self.wait_for(self.wish(channel, True))

    async def unsubscribe(self, channel):
        await self.wait_for(self.wish(channel, False))

    @staticmethod
    async def wait_for(round_: asyncio.Future | None) -> None:
        if round_ is not None:
            # Shielded: a waiter that gives up (its socket's timeout) must not call off everyone's round.
            await asyncio.shield(round_)

    def wish(self, channel: str, subscribed: bool) -> asyncio.Future | None:
        """Note that this process wants ``channel`` (un)subscribed; the round that sends it, or None
        when it already is so and nothing about it is on the way."""
        if channel not in self._wishes and channel not in self._sending:
            if (channel in self._subscribed_to) == subscribed:
                return None
        self._wishes.pop(channel, None)
        self._wishes[channel] = subscribed
        if self._next_round is None:
            self._next_round = asyncio.get_running_loop().create_future()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.ensure_future(self._send_wishes())
        return self._next_round

    async def _send_wishes(self) -> None:
        while self._wishes:
            self._sending, self._wishes = self._wishes, {}
            round_, self._next_round = self._next_round, None
            try:
                # Not behind the connection's lock: that is held by publishing, through a whole round
                # trip, which a stalled Redis makes endless. Subscribing is a write on the subscription's
                # own connection, and this task is the only one that writes there.
                self._ensure_redis()
                self._ensure_receiver()
                pubsub = self._pubsub
                on = [c for c, wanted in self._sending.items() if wanted and c not in self._subscribed_to]
                off = [c for c, wanted in self._sending.items() if not wanted and c in self._subscribed_to]
                if on:
                    await pubsub.subscribe(*on)
                    self._subscribed_to.update(on)
                if off:
                    await pubsub.unsubscribe(*off)
                    self._subscribed_to.difference_update(off)
            except asyncio.CancelledError:
                round_.cancel()
                raise
            except Exception as problem:  # Redis down or stalled: every waiter of this round hears it
                round_.set_exception(problem)
            else:
                round_.set_result(None)
            finally:
                self._sending = {}


class _BoundedPubSubLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args, capacity: int, marker: bytes, reconnected: bytes, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shards = [_AnnouncingShard(shard.host, self) for shard in self._shards]
        self.capacity = capacity
        self.marker = marker
        self.reconnected = reconnected
        # Group messages wait here, in order, for the one task that publishes them.
        self.outbox: asyncio.Queue = asyncio.Queue(maxsize=OUTBOX)
        self.publisher: asyncio.Task | None = None
        self.publishing = False

    async def _subscribe_to_channel(self, channel):
        self.channels[channel] = BoundedInbox(self.capacity, self.marker)
        await self._get_shard(channel).subscribe(channel)

    async def group_add_many(self, groups: list[str], channel: str) -> None:
        """``group_add`` for each group, their subscriptions sent together (see ``_AnnouncingShard``)."""
        if channel not in self.channels:
            raise RuntimeError("You can only call group_add_many() on channels that exist in-process.")
        rounds = set()
        for group in groups:
            group_channel = self._get_group_channel_name(group)
            self.groups.setdefault(group_channel, set()).add(channel)
            rounds.add(self._get_shard(group_channel).wish(group_channel, True))
        for round_ in rounds:
            await _AnnouncingShard.wait_for(round_)

    async def group_discard_many(self, groups: list[str], channel: str) -> None:
        """``group_discard`` for each group, the unsubscriptions sent together."""
        rounds = set()
        for group in groups:
            group_channel = self._get_group_channel_name(group)
            members = self.groups.get(group_channel)
            if not members or channel not in members:
                continue
            members.discard(channel)
            if not members:
                del self.groups[group_channel]
                rounds.add(self._get_shard(group_channel).wish(group_channel, False))
        for round_ in rounds:
            await _AnnouncingShard.wait_for(round_)

    def resubscribed(self) -> None:
        """The subscription came back after a drop (a Redis restart): tell every local socket."""
        log.warning("channel layer subscription restored: open sockets will check for missed messages")
        for inbox in list(self.channels.values()):
            inbox.put_nowait(self.reconnected)

    async def group_send(self, group, message):
        """Publish now when nothing else is being published; otherwise queue it for the publisher.

        Under load one task publishes everything queued, in order, as one pipelined round trip
        per batch, instead of every broadcast waiting its turn for the connection (and timing out
        there, which sends every live delivery to the backfill path). A full outbox (Redis gone
        for a long while) drops the message with a warning: the database has it; clients backfill.
        """
        item = (self._get_group_channel_name(group), self.channel_layer.serialize(message))
        if self.outbox.empty() and not self.publishing:
            self.publishing = True
            try:
                await self._publish([item])
            finally:
                self.publishing = False
            return
        try:
            self.outbox.put_nowait(item)
        except asyncio.QueueFull:
            log.warning("channel layer outbox full: a broadcast was dropped (clients will backfill)")
            return
        if self.publisher is None or self.publisher.done():
            self.publisher = asyncio.ensure_future(self._publish_queued())

    async def _publish_queued(self) -> None:
        while True:
            batch = [await self.outbox.get()]
            while not self.outbox.empty() and len(batch) < PUBLISH_BATCH:
                batch.append(self.outbox.get_nowait())
            self.publishing = True
            try:
                await self._publish(batch)
            finally:
                self.publishing = False

    async def _publish(self, batch: list[tuple[str, bytes]]) -> None:
        by_shard: dict[int, list] = {}
        for channel, data in batch:
            by_shard.setdefault(id(self._get_shard(channel)), []).append((channel, data))
        for items in by_shard.values():
            shard = self._get_shard(items[0][0])
            try:
                async with shard._lock:
                    shard._ensure_redis()
                    pipe = shard._redis.pipeline(transaction=False)
                    for channel, data in items:
                        pipe.publish(channel, data)
                    await pipe.execute()
            except Exception as problem:  # Redis down: these are in the database; clients backfill
                log.warning("channel layer publish failed for %s messages: %s", len(items), type(problem).__name__)

    async def flush(self):
        if self.publisher is not None:
            self.publisher.cancel()
            self.publisher = None
        self.outbox = asyncio.Queue(maxsize=OUTBOX)
        await super().flush()


class BoundedRedisPubSubChannelLayer(RedisPubSubChannelLayer):
    """channels-redis's pub/sub layer (one PUBLISH per group message) with a bounded inbox per socket.

    A group message arrives once per process and the same bytes go into every local socket's inbox;
    it is decoded (and, in production, decrypted) once, not once per socket: the last decoded
    messages are kept by identity. Consumers only read events, so sharing the decoded dict is safe.
    """

    def __init__(self, *args, capacity: int = DEFAULT_INBOX, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.capacity = capacity
        self.marker = self.serialize(OVERFLOW_EVENT)
        self.reconnected = self.serialize(RECONNECTED_EVENT)
        self._decoded: OrderedDict[int, tuple[bytes, dict]] = OrderedDict()

    def deserialize(self, message: bytes) -> dict:
        known = self._decoded.get(id(message))
        if known is not None and known[0] is message:
            return known[1]
        decoded = super().deserialize(message)
        self._decoded[id(message)] = (message, decoded)  # holding the bytes keeps their id unique
        if len(self._decoded) > DECODED_KEPT:
            self._decoded.popitem(last=False)
        return decoded

    def receive(self, channel: str):
        """The loop layer's own ``receive``, awaited by the caller directly: channels-redis wraps it in a
        proxy coroutine, and every open socket has one waiting at all times."""
        return self._get_layer().receive(channel)

    def _get_layer(self):
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = _BoundedPubSubLoopLayer(
                *self._args,
                capacity=self.capacity,
                marker=self.marker,
                reconnected=self.reconnected,
                **self._kwargs,
                channel_layer=self,
            )
            self._layers[loop] = layer
            _wrap_close(self, loop)
            return layer


class BoundedInMemoryChannelLayer(InMemoryChannelLayer):
    """The in-memory layer, but a full inbox ends in one overflow event instead of silently refusing sends."""

    def __init__(self, *args, capacity: int = DEFAULT_INBOX, **kwargs) -> None:
        super().__init__(*args, capacity=capacity, **kwargs)

    async def group_add_many(self, groups: list[str], channel: str) -> None:
        for group in groups:
            await self.group_add(group, channel)

    async def group_discard_many(self, groups: list[str], channel: str) -> None:
        for group in groups:
            await self.group_discard(group, channel)

    async def send(self, channel, message):
        queue = self.channels.get(channel)
        if queue is not None and queue.qsize() >= self.get_capacity(channel):
            _overflow(queue, (time.time() + self.expiry, dict(OVERFLOW_EVENT)))
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


# What daphne keeps for each open socket ---------------------------------------------------


class FormattedWhenLogged:
    """``pprint.pformat(value)``, written out only when a log line asks for the text."""

    __slots__ = ("value",)

    def __init__(self, value) -> None:
        self.value = value

    def __str__(self) -> str:
        return pprint.pformat(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    __repr__ = __str__


def lighten_daphne_sockets() -> bool:
    """Keep less for each open WebSocket in this daphne process, changing nothing it does.

    1. The queue of frames from the client to the application is a ``SocketQueue``, not an
       ``asyncio.Queue`` (3 KB less a socket). Daphne makes it in ``Server.create_application``:
       this is that method with that one line changed, for daphne 4 only.
    2. Once the socket is open, the HTTP request it was upgraded from is let go (2.5 KB a socket):
       Twisted's HTTP channel stays the connection's producer, as it pauses reading for a socket
       whose send buffer is full, but nothing reads its request after the upgrade.

    3. Autobahn writes every socket's forty settings out with ``pprint.pformat`` for a debug log line,
       whether or not debug is logged (2% of the server's time when a crowd connects): here the
       text is written only if that line is logged.
    4. Once a second ``Server.application_checker`` walks every connection, open sockets included,
       to reap applications that ended and connections that closed (2% of the server's time when a
       crowd connects, and about 10 ms a second with 10,000 idle sockets). It only acts on a
       connection whose application has ended or which has disconnected, so here daphne's own
       method walks just those: each is noted when its application ends (a done callback) or when
       daphne hears it disconnect, and stays noted while a disconnected one's application still runs
       (to be cancelled after daphne's close timeout, as before).

    Returns False, changing nothing, when daphne is not here or is not version 4.
    """
    try:
        import autobahn.websocket.protocol as autobahn_protocol
        import daphne
        from daphne.server import Server
        from daphne.ws_protocol import WebSocketProtocol
        from twisted.web.http import HTTPChannel
    except ImportError:
        return False
    if not daphne.__version__.startswith("4."):
        return False
    autobahn_protocol.pformat = FormattedWhenLogged

    def create_application(self, protocol, scope):
        # daphne 4.2's Server.create_application, but for the queue.
        assert "application_instance" not in self.connections[protocol]  # as daphne does
        input_queue = SocketQueue()
        scope.setdefault("asgi", {"version": "3.0"})
        application_instance = self.application(
            scope=scope, receive=input_queue.get, send=functools.partial(self.handle_reply, protocol)
        )
        if protocol not in self.connections:
            return None
        future = asyncio.ensure_future(application_instance, loop=asyncio.get_event_loop())
        self.connections[protocol]["application_instance"] = future
        future.add_done_callback(functools.partial(_note, self, protocol))
        return input_queue

    original_open = getattr(WebSocketProtocol, "_supportcircle_original_open", None) or WebSocketProtocol.onOpen

    def onOpen(self):  # noqa: N802 (daphne names it)
        channel = getattr(self.transport, "producer", None)
        if isinstance(channel, HTTPChannel):
            channel.requests.clear()
        return original_open(self)

    original_disconnected = (
        getattr(Server, "_supportcircle_original_disconnected", None) or Server.protocol_disconnected
    )

    def protocol_disconnected(self, protocol):
        original_disconnected(self, protocol)
        _note(self, protocol)

    Server.create_application = create_application
    Server._supportcircle_original_disconnected = original_disconnected
    Server.protocol_disconnected = protocol_disconnected
    Server.application_checker = _application_checker
    WebSocketProtocol._supportcircle_original_open = original_open
    WebSocketProtocol.onOpen = onOpen
    return True


def _to_check(server) -> set:
    """The connections whose application ended or which disconnected since the checker last looked."""
    try:
        return server._supportcircle_to_check
    except AttributeError:
        server._supportcircle_to_check = noted = set()
        return noted


def _note(server, protocol, _ended=None) -> None:
    _to_check(server).add(protocol)


def _application_checker(self) -> None:
    """daphne 4.2's ``Server.application_checker``, for the connections noted in ``_to_check``."""
    from daphne.server import logger, reactor

    noted = _to_check(self)
    for protocol in list(noted):
        noted.discard(protocol)
        details = self.connections.get(protocol)
        if details is None:
            continue
        disconnected = details.get("disconnected", None)
        application_instance = details.get("application_instance", None)
        # First, see if the protocol disconnected and the app has taken too long to close up
        if disconnected and time.time() - disconnected > self.application_close_timeout:
            if application_instance and not application_instance.done():
                logger.warning(
                    "Application instance %r for connection %s took too long to shut down and was killed.",
                    application_instance,
                    repr(protocol),
                )
                application_instance.cancel()
        # Then see if the app is done and we should reap it
        if application_instance and application_instance.done():
            try:
                exception = application_instance.exception()
            except (CancelledError, asyncio.CancelledError):
                pass  # Future cancellation. We can ignore this.
            else:
                if exception:
                    if isinstance(exception, KeyboardInterrupt):
                        self.stop()  # Protocol is asking the server to exit (likely during test)
                    else:
                        logger.error("Exception inside application: %s", exception, exc_info=exception)
                        if not disconnected:
                            protocol.handle_exception(exception)
            del self.connections[protocol]["application_instance"]
            application_instance = None
        # Check to see if protocol is closed and app is closed so we can remove it
        if not application_instance and disconnected:
            del self.connections[protocol]
        elif application_instance and disconnected:
            noted.add(protocol)  # still closing: looked at again until it ends or is cancelled
    reactor.callLater(1, self.application_checker)
