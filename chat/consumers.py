"""The group chat socket. Thin: authenticate, validate, call an action, send.

Every rule lives in chat.actions; every frame is described in chat.protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.db import DatabaseError
from django.urls import reverse

from groups.boundaries import BoundarySnapshot, load_boundaries
from groups.models import Membership, Role
from supportcircle import metrics
from supportcircle.accounts.sessions import SessionGuard
from supportcircle.accounts.socket_auth import session_key_of
from supportcircle.db_threads import db
from supportcircle.realtime import RevokeReason, delivering_directly, facilitators_channel, group_channel, user_channel

from . import actions, layer_watch, opening, pongs, presence, recheck
from .errors import ChatAccessDenied, ChatRefused
from .extensions import FRAME_HANDLERS, handles, reviewer
from .failures import FailureLog
from .handlers import ConversationHandlers
from .inbox import Inbox
from .middleware import LayerStalled
from .protocol import (
    MAX_INT,
    MAX_WAITING_FRAMES,
    NOTICE_MESSAGES,
    BackfillFrame,
    CloseCode,
    ErrorCode,
    NoticeCode,
    PingFrame,
    ProtocolError,
    SendFrame,
    answering,
    dumps,
    error_frame,
    parse_client_frame,
)
from .seat import SeatRow

log = logging.getLogger(__name__)

# Why a person's sockets are closed (supportcircle.realtime), and the documented close code each gets when
# the database cannot say (access_revoked): otherwise the re-check's verdict gives the code.
CLOSE_CODES_FOR_REVOCATIONS = {
    RevokeReason.REMOVED: CloseCode.MEMBERSHIP_ENDED,
    RevokeReason.LEFT: CloseCode.MEMBERSHIP_ENDED,
    RevokeReason.BANNED: CloseCode.BANNED,
    RevokeReason.LOGGED_OUT: CloseCode.NOT_LOGGED_IN,
    RevokeReason.PASSWORD_CHANGED: CloseCode.NOT_LOGGED_IN,
    RevokeReason.DEACTIVATED: CloseCode.NOT_LOGGED_IN,
    RevokeReason.ACCOUNT_DELETED: CloseCode.NOT_LOGGED_IN,
    RevokeReason.NOT_A_MEMBER: CloseCode.NOT_A_MEMBER,
}
# How long joining or leaving the channel layer may take before we treat it as down.
LAYER_TIMEOUT_SECONDS = 2.0
# After Redis comes back with the database unavailable, the catch-up pong is tried again after these
# waits (seconds): within a second or two of the database's return, for about two minutes.
CATCH_UP_RETRY_SECONDS = (1, 1, 2, 2, 3, 5, 5, 10, 10, 10, 15, 15, 15, 30)


def _last_seq_from_query(scope) -> int | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin1")).get("last_seq")
    if not values:
        return None
    raw = values[0]
    if not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value <= MAX_INT else None


def _first_to_end(ended: asyncio.Future, reader: asyncio.Task) -> None:
    if not ended.done():
        ended.set_result(reader)


class GroupChatConsumer(ConversationHandlers, AsyncWebsocketConsumer):
    # Channels' groups to join at connect: none (the consumer subscribes itself). A tuple, so no socket
    # gets an empty list of its own (Channels makes one where this is None).
    groups = ()
    access: actions.ChatAccess | None = None
    guard: SessionGuard | None = None
    # This person's blocks, mutes and collapsed labels (groups.boundaries), loaded at connect and
    # reloaded on "boundaries.changed". Presence, typing and reactions ask ``self.boundaries.hides(id)``.
    boundaries: BoundarySnapshot = BoundarySnapshot(user_id=0)
    ended = False
    accepted = False
    # Set once the socket has counted as open (in "here now" and toward the per-person limit), and
    # cleared when that is undone: by the goodbye, or at the latest when the consumer stops.
    arrived = False
    # Retrying the catch-up pong after Redis came back while the database was unavailable.
    catching_up: asyncio.Task | None = None
    rechecking: asyncio.Task | None = None  # a re-check asked for ahead of time (recheck_when_due)
    # The author's seat as the last send left it (chat.actions.post_message's ``seat``): the next send is
    # decided on it and stored in one statement that checks it is still so. Read first with the greeting, and
    # kept as its row until the first send (chat.seat.SeatRow).
    seat: Membership | SeatRow | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.subscriptions: list[str] = []
        self.failures = FailureLog()

    async def __call__(self, scope, receive, send) -> None:
        """Channels' own ``AsyncConsumer.__call__``, except that joining a stalled channel layer (Redis)
        gives up after a while. Any failure here, before the socket is accepted, becomes a clean
        4503 in chat.middleware.CloseCleanlyOnFailure, never an HTTP 500."""
        self.scope = scope
        self.base_send = send
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        try:
            async with asyncio.timeout(LAYER_TIMEOUT_SECONDS):
                self.channel_name = await self.channel_layer.new_channel()
        except TimeoutError as stalled:
            raise LayerStalled("the channel layer did not answer in time") from stalled
        self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
        # Channels' await_many_dispatch waits on both sources afresh (asyncio.wait, a new task) for
        # every event; in a busy room that bookkeeping cost as much as delivering. Here each source
        # has one long-lived reader, and a lock keeps handlers one at a time, as Channels does.
        self.one_at_a_time = asyncio.Lock()
        self.waiting_frames = Inbox()  # lighter than an asyncio.Queue: every open socket holds one (chat.inbox)
        readers = [
            asyncio.ensure_future(self.read_frames(receive)),
            asyncio.ensure_future(self.dispatch_from(self.waiting_frames.get)),
            asyncio.ensure_future(self.dispatch_from(self.channel_receive)),
        ]
        # Whichever reader ends first ends the consumer. Each tells one future as it ends: asyncio.wait's
        # bookkeeping (a set, a closure, two coroutines) stayed with every open socket, about 1.2 KB each.
        ended = asyncio.get_running_loop().create_future()
        tell = functools.partial(_first_to_end, ended)
        for reader in readers:
            reader.add_done_callback(tell)
        try:
            await ended
            for reader in readers:
                if reader.done():
                    reader.result()  # StopConsumer when the socket closed; anything else is a real error
        except StopConsumer:
            pass
        finally:
            for reader in readers:
                if not reader.done():
                    reader.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await reader
            for task in (self.catching_up, self.rechecking):
                if task is not None:
                    task.cancel()
            # However the consumer stopped, the socket no longer counts against its owner's limit.
            await self.leave_quietly()

    async def read_frames(self, receive) -> None:
        """Frames are taken from the socket as they arrive and wait their turn here. Beyond
        MAX_WAITING_FRAMES (a client resending in a storm, a database that hangs) each further frame
        is answered at once, with no trip to the database, and not kept."""
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                # Nobody is there to hear the answers: what waits is dropped, but for what people wrote,
                # which is stored (a send that arrived is kept, whether or not its ack can be read).
                self.keep_only_sends()
            elif message["type"] == "websocket.receive" and self.waiting_frames.qsize() >= MAX_WAITING_FRAMES:
                await self.answer_at_once(message)
                continue
            self.waiting_frames.put_nowait(message)

    def keep_only_sends(self) -> None:
        waiting = []
        while not self.waiting_frames.empty():
            waiting.append(self.waiting_frames.get_nowait())
        for message in waiting:
            if '"send"' in (message.get("text") or ""):  # a cheap look; the frame is parsed when handled
                self.waiting_frames.put_nowait(message)

    async def answer_at_once(self, message: dict) -> None:
        if self.access is None or self.ended:
            return
        try:
            frame = parse_client_frame(message.get("text"), message.get("bytes"))
        except ProtocolError as problem:
            await self.send_frame(problem.to_frame())
            return
        self.failures.note("waiting frames over the bound", OverflowError(), expected=True)
        await self.send_frame(error_frame(ErrorCode.TRY_AGAIN, **answering(frame), retry_after=2))

    async def leave_quietly(self) -> None:
        """The goodbye, if it has not run: out of "here now" and the channel layer. Never raises."""
        try:
            if self.arrived:
                await self.disconnect(1006)
            elif self.subscriptions:
                await self.unsubscribe()
        except Exception as problem:
            self.failures.note("leaving", problem, expected=isinstance(problem, DatabaseError))
        self.failures.summarize()

    async def dispatch_from(self, source) -> None:
        while True:
            message = await source()
            async with self.one_at_a_time:
                await self.dispatch(message)

    async def connect(self) -> None:
        try:
            await self.open()
        except Exception as problem:
            # Authorization fails closed: without the database nobody is let in, and the client gets
            # a code it backs off from (never an HTTP 500 or a 1011). Anything else is a bug: logged.
            if isinstance(problem, DatabaseError):
                log.warning("chat socket refused: database unavailable (%s)", type(problem).__name__)
            else:
                log.error("chat socket could not open", exc_info=problem)
            await self.leave_quietly()
            if not self.accepted:
                await self.accept()
            await self.end(CloseCode.SERVER_RESTARTING)

    async def accept(self, subprotocol=None, headers=None) -> None:
        self.accepted = True
        await super().accept(subprotocol, headers)

    async def open(self) -> None:
        slug = self.scope["url_route"]["kwargs"]["slug"]
        try:
            # Two trips to the database in all (chat.opening): admit, then welcome. With PostgreSQL
            # they run on the opening threads (supportcircle/db_threads.py), not the sockets' one.
            admission = await db(opening.admit)(session_key_of(self.scope), slug)
        except ChatAccessDenied as denied:
            log.info("chat socket refused: %s for group %s", denied.code.name, slug)
            # Accept, then close with the documented code, so the client can tell
            # "you can't be here" from "the network dropped" and not retry.
            await self.accept()
            await self.close(code=int(denied.code))
            return
        # The person's id and pseudonym are in the access: the socket keeps no User (nor its password hash).
        self.access = admission.access
        self.failures.user_id = self.access.user_id
        self.guard = SessionGuard(self.scope, self.access.user_id)
        if admission.crowded:
            log.info("chat socket refused: TOO_MANY_SOCKETS (user %s)", self.access.user_id)
            await self.accept()
            await self.end(CloseCode.TOO_MANY_SOCKETS)
            return
        # Subscribe before reading history so nothing posted in between is missed;
        # anything in both arrives twice and the client keeps it once (by seq).
        # The process's group, too: told when Redis comes back (chat.layer_watch).
        channels = [group_channel(self.access.group_id), user_channel(self.access.user_id), layer_watch.PROCESS_GROUP]
        if self.access.role == Role.FACILITATOR:
            channels.append(facilitators_channel(self.access.group_id))  # the live moderation queue
        if not await self.subscribe(channels):
            # The channel layer (Redis) is down or stalled: a clean close the
            # client backs off from, never an HTTP 500 or a 1011.
            await self.accept()
            await self.close(code=int(CloseCode.SERVER_RESTARTING))
            return
        await self.accept()
        layer_watch.watch()
        reviewer().warm(self.access.rulesets)
        self.arrived = True  # from here on the goodbye runs however the consumer ends (it is idempotent)
        presence.keeper().arrived(self.channel_name)
        greeting = await db(opening.welcome)(
            self.access, self.channel_name, _last_seq_from_query(self.scope), self.guard.session_key
        )
        self.seat = greeting.seat
        if greeting.seat_unread is not None:
            self.failures.note("reading the seat", greeting.seat_unread, expected=True)
        self.boundaries = greeting.boundaries
        self.presence_at = greeting.here_at
        self.presence_seen = self.people_seen(greeting.here)
        await self.send_frame(
            {
                "type": "ready",
                "group": {"slug": self.access.group_slug, "name": self.access.group_name},
                "me": {"id": self.access.user_id, "pseudonym": self.access.pseudonym, "role": self.access.role},
                "can_post": self.access.can_post,
                "latest_seq": greeting.history["through_seq"],
                **greeting.snapshot,
                "here": self.presence_seen,
            }
        )
        await self.send_frame(greeting.history)
        # Crisis alerts and the open queue wait for a facilitator who was not here when they came in;
        # a member on a time-out is told again until when; the live session, a breathing pause, the radar.
        for waiting in greeting.frames:
            await self.send(text_data=waiting)

    async def subscribe(self, channels: list[str]) -> bool:
        # Noted before asking, so a failure part way leaves every one of them (leaving is idempotent).
        self.subscriptions.extend(channels)
        try:
            async with asyncio.timeout(LAYER_TIMEOUT_SECONDS):
                for channel in channels:
                    await self.channel_layer.group_add(channel, self.channel_name)
        except Exception as problem:
            log.warning("chat socket refused: channel layer unavailable (%s)", type(problem).__name__)
            await self.unsubscribe()
            return False
        return True

    async def follow_role(self) -> bool:
        """The person was made a facilitator here, or is no longer one: start or stop hearing the facilitators'
        queue and alerts. If the channel layer cannot be asked, the socket closes (the client reconnects and is
        subscribed afresh) rather than keep hearing what is no longer theirs."""
        channel = facilitators_channel(self.access.group_id)
        try:
            async with asyncio.timeout(LAYER_TIMEOUT_SECONDS):
                if self.access.role == Role.FACILITATOR:
                    self.subscriptions.append(channel)
                    await self.channel_layer.group_add(channel, self.channel_name)
                else:
                    if channel in self.subscriptions:
                        self.subscriptions.remove(channel)
                    await self.channel_layer.group_discard(channel, self.channel_name)
        except Exception as problem:
            log.warning("chat socket closed: channel layer unavailable for a role change (%s)", type(problem).__name__)
            await self.end(CloseCode.SERVER_RESTARTING)
            return False
        return True

    async def unsubscribe(self) -> None:
        subscriptions, self.subscriptions = self.subscriptions, []
        try:
            async with asyncio.timeout(LAYER_TIMEOUT_SECONDS):
                for channel in subscriptions:
                    await self.channel_layer.group_discard(channel, self.channel_name)
        except Exception as problem:
            # Redis forgets a dead subscriber by itself; nothing to do but note it.
            log.info("channel layer unavailable while closing a socket (%s)", type(problem).__name__)

    async def disconnect(self, code: int) -> None:
        if self.channel_name:
            presence.keeper().left(self.channel_name)
        try:
            if self.access is not None and self.accepted:
                arrived, self.arrived = self.arrived, False
                await db(opening.goodbye)(self.access, self.channel_name, arrived=arrived)
            else:
                await self.depart()
        except DatabaseError:
            pass  # the presence row expires by itself (chat.room.arrive)
        await self.unsubscribe()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.access is None or self.ended:
            return
        try:
            frame = parse_client_frame(text_data, bytes_data)
        except ProtocolError as problem:
            await self.send_frame(problem.to_frame())
            return
        try:
            # Channels read the session once, at the handshake: re-read it so a logout, password
            # change or deactivation holds on every frame. A send reads it with its seat (post_message), a
            # backfill before its page in the same trip (actions.backfill); a ping, which only asks for the
            # newest seq, every few seconds, with the deliveries.
            if isinstance(frame, PingFrame):
                await self.recheck_when_due()
            elif not isinstance(frame, SendFrame | BackfillFrame) and not await self.guard.still_valid():
                raise ChatAccessDenied(CloseCode.NOT_LOGGED_IN)
            await FRAME_HANDLERS[type(frame)](self, frame)  # one registry for every frame (chat.extensions)
        except ChatRefused as refused:
            await self.send_frame(error_frame(refused.code, **{**answering(frame), **refused.extra}))
        except ChatAccessDenied as denied:
            log.info(
                "chat frame refused: %s (user %s, group %s)",
                denied.code.name,
                self.access.user_id,
                self.access.group_id,
            )
            await self.end(denied.code)
        except DatabaseError as problem:
            self.failures.note(frame.type, problem, expected=True)
            await self.send_frame(error_frame(ErrorCode.TRY_AGAIN, **answering(frame), retry_after=2))
        except Exception as problem:
            # Whatever went wrong with this one frame is this member's alone: they hear so, and the
            # socket (and everyone else's) goes on. The traceback is logged once per kind and socket.
            self.failures.note(frame.type, problem, expected=False)
            await self.send_frame(error_frame(ErrorCode.SERVER_ERROR, **answering(frame)))

    @handles(SendFrame)
    async def on_send(self, frame: SendFrame) -> None:
        with delivering_directly(self.access.user_id, self.access.group_id, self.channel_name) as direct:
            posted = await db(actions.post_message)(
                self.access.user_id,
                self.access.group_id,
                session_key=self.guard.session_key,
                client_id=frame.client_id,
                body=frame.body,
                reply_to=frame.reply_to,
                content_warning=frame.content_warning,
                post_anyway=frame.post_anyway,
                seat=self.seat,
            )
        if isinstance(posted, actions.Withheld):
            await self.send_frame(posted.frame)  # a moderation nudge or block, for the author only
            return
        self.seat = posted.seat
        await self.send_frame(
            {"type": "ack", "client_id": frame.client_id, "duplicate": posted.duplicate, "message": posted.wire}
        )
        for private in direct.frames:  # crisis resources: never dependent on Redis
            await self.send(text_data=private)

    async def delegate(self, handle, frame) -> None:
        """A frame carried out by a plain function on a database thread (moderation's, the console's):
        send its reply, if any (a refusal becomes the documented error frame in ``receive``)."""
        reply = await db(handle)(self.access.user_id, self.access.group_id, frame)
        if reply is not None:
            await self.send_frame(reply)

    @handles(BackfillFrame)
    async def on_backfill(self, frame: BackfillFrame) -> None:
        history = await db(actions.backfill)(
            self.guard.session_key, self.access.user_id, self.access.group_id, frame.after_seq, self.boundaries
        )
        self.guard.checked_at = time.monotonic()  # as SessionGuard.still_valid notes its answer
        await self.send_frame(history)

    @handles(PingFrame)
    async def on_ping(self, frame: PingFrame | None = None) -> None:
        # One statement for every socket of the process that pings in the same moments (chat.pongs). The
        # socket stays counted as here now without writing anything (chat.presence).
        latest = await pongs.latest_seq(self.access.user_id, self.access.group_id)
        await self.send_frame({"type": "pong", "latest_seq": latest})

    # Channel layer events -------------------------------------------------

    async def chat_message(self, event: dict) -> None:
        author_id = event.get("author_id")
        if self.boundaries.hides(author_id):
            return
        metrics.MESSAGES_DELIVERED.inc()
        label = event.get("content_warning") or None
        reason = self.boundaries.collapse_reason(author_id, label)
        withheld_quote = actions.quote_is_withheld(event.get("quoted"), self.boundaries)
        if reason is None and not withheld_quote:
            # The common path: forward the frame serialized once for everyone.
            await self.send(text_data=event["frame"])
            return
        frame = json.loads(event["frame"])
        if reason is not None:
            frame["message"]["collapsed"] = {"reason": reason, "label": label or ""}
        if withheld_quote:
            frame["message"] = actions.quote_as_seen(frame["message"], self.boundaries)
        await self.send_frame(frame)

    async def boundaries_changed(self, event: dict) -> None:
        self.boundaries = await db(load_boundaries)(self.access.user_id)

    async def access_changed(self, event: dict) -> None:
        """The person's standing changed (agreements, a break): re-check it and tell them kindly."""
        if event.get("group_id") != self.access.group_id:
            return
        role_before = self.access.role
        try:
            self.access = await db(actions.open_chat_again)(self.access)
        except ChatAccessDenied as denied:
            await self.end(denied.code)
            return
        if self.access.role != role_before and not await self.follow_role():
            return
        notice = NoticeCode(event["notice"])
        if notice == NoticeCode.AGREEMENTS_CHANGED and self.access.can_post:
            return  # facilitators, who published them, need no notice
        frame = {"type": "notice", "code": notice.value, "message": NOTICE_MESSAGES[notice]}
        frame["can_post"] = self.access.can_post
        if notice == NoticeCode.AGREEMENTS_CHANGED:
            frame["link"] = reverse("groups:detail", args=[self.access.group_slug]) + "#agreements"
        await self.send_frame(frame)

    async def private_frame(self, event: dict) -> None:
        """A moderation frame for this person (or this group's facilitators) only: notices, nudges' follow-ups,
        crisis resources, queue items and alerts."""
        if event.get("skip_channel") == self.channel_name:
            return  # already delivered directly (supportcircle.realtime.delivering_directly)
        if event.get("group_id") == self.access.group_id and not self.ended:
            await self.send(text_data=event["frame"])

    async def access_revoked(self, event: dict) -> None:
        """Something this socket's right rests on changed (supportcircle.realtime.on_commit_revoke): re-check
        now, with every other socket told at the same moment (one statement), and close with the verdict's
        code, so a push and the periodic re-check never disagree. Asked after the change committed, the
        verdict is the change's own; one that no longer holds (the person is back in their seat) closes
        nothing. If the database cannot answer, the push alone closes, with its reason's code."""
        session = event.get("session")  # a logout: only the sockets of that session close
        if session is not None and not self.guard.opened_with(session):
            return
        if event.get("group_id") not in (None, self.access.group_id) or self.ended:
            return
        reason = event.get("reason", "")
        fallback = CLOSE_CODES_FOR_REVOCATIONS.get(reason, CloseCode.MEMBERSHIP_ENDED)
        if session is not None:
            # A logout's push leaves (user_logged_out) before Django deletes the session: a re-check could
            # still find it. It names this very session, which is ending: nothing to decide.
            refusal = fallback
        else:
            try:
                refusal = await recheck.still_allowed(self.guard, self.access.group_id)
            except Exception as problem:
                self.failures.note("revocation's re-check", problem, expected=isinstance(problem, DatabaseError))
                refusal = fallback
        if refusal is not None:
            log.info("chat socket closed: %s, %s (user %s)", reason or "revoked", refusal.name, self.access.user_id)
            await self.end(refusal)

    async def layer_reconnected(self, event: dict) -> None:
        """Redis came back: what was published while it was gone never arrived, revocations included.
        Re-check now (every socket of the process hears this at once: one statement for all), and deliver
        nothing more until an answer comes; then tell the client the latest seq at once (an unprompted
        ``pong``), so it backfills now rather than at its next ping. If the database cannot answer just
        now, try again shortly until it can (deliveries meanwhile wait for their own re-check)."""
        self.guard.forget()
        try:
            await self.recheck_now()
        except ChatAccessDenied as denied:
            log.info("chat socket closed after a layer gap: %s (user %s)", denied.code.name, self.access.user_id)
            await self.end(denied.code)
            return
        except DatabaseError as problem:
            self.failures.note("re-check after a layer gap", problem, expected=True)
            self.catch_up_soon()
            return
        try:
            await self.on_ping()
        except DatabaseError as problem:
            self.failures.note("catch-up pong", problem, expected=True)
            self.catch_up_soon()

    def catch_up_soon(self) -> None:
        """Tell the client the newest seq as soon as the database can say it (see catch_up_later)."""
        if self.catching_up is None or self.catching_up.done():
            self.catching_up = asyncio.ensure_future(self.catch_up_later())

    async def catch_up_later(self) -> None:
        for delay in CATCH_UP_RETRY_SECONDS:
            await asyncio.sleep(delay)
            if self.ended:
                return
            async with self.one_at_a_time:
                try:
                    await self.on_ping()
                except DatabaseError as problem:
                    self.failures.note("catch-up pong", problem, expected=True)
                    continue
            return

    async def layer_overflow(self, event: dict) -> None:
        """This socket's inbox overflowed (chat.layers): close it; the client reconnects and backfills."""
        if not self.ended:
            log.info("chat socket too slow: closing it (user %s)", self.access.user_id if self.access else None)
            await self.end(CloseCode.TOO_SLOW)

    async def dispatch(self, message: dict) -> None:
        # Every channel-layer event (messages, reactions, presence, private frames) passes the same
        # re-check before it reaches the person; revocations themselves always go through, and so do
        # the layer's own events (a catch-up pong is authorized as any ping is; an overflow closes).
        kind = message["type"]
        delivers = not kind.startswith(("websocket.", "access.", "layer."))
        if delivers and self.access is not None and not await self.may_deliver():
            return
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {kind}")
        # Channels' own dispatch first hops to the database thread to close stale connections, for
        # every frame and every delivery: in a room of 500 that was 500 hops per message, each
        # waiting behind the posts queued there. Every database call here goes through
        # database_sync_to_async, which closes stale connections itself, so the hop is skipped.
        if kind.startswith("websocket."):
            await handler(message)  # frames answer their own failures (receive); a close must go on
            return
        try:
            await handler(message)
        except Exception as problem:
            # A delivery that fails is skipped, never the socket: the member catches up by seq
            # (the next pong names the latest one, and the client backfills).
            self.failures.note(kind, problem, expected=isinstance(problem, DatabaseError))

    async def may_deliver(self) -> bool:
        """Before delivering, keep the session and membership re-checked: a backstop, since every ending
        is pushed (access_revoked) and a layer gap re-checks at once (layer_reconnected). What it alone
        catches is a session reaching its natural expiry, or a change written with no signal at all:
        nothing is delivered on an answer older than RECHECK_SECONDS."""
        if self.ended:
            return False
        try:
            await self.recheck_when_due()
        except ChatAccessDenied as denied:
            log.info("chat delivery refused: %s (user %s)", denied.code.name, self.access.user_id)
            await self.end(denied.code)
            return False
        except DatabaseError:
            # Fail closed: deliver nothing we cannot authorize. Once the database answers again the client
            # is told the newest seq (an unprompted pong), and backfills what was held back.
            self.catch_up_soon()
            return False
        return True

    async def recheck_when_due(self) -> None:
        """Keep the session and membership re-checked (batched with every other socket due now: one
        statement for all of them, chat/recheck.py) without making deliveries wait for the database: once
        the last answer is half to three quarters of RECHECK_SECONDS old a re-check starts beside them,
        and a refusal closes the socket when it comes. Only an answer older than RECHECK_SECONDS (the
        database slow or down, or a layer gap that forgot it) makes this wait for a fresh one. Raises
        ChatAccessDenied."""
        if self.guard.expired():
            await self.recheck_now()
        elif self.guard.due() and (self.rechecking is None or self.rechecking.done()):
            self.rechecking = asyncio.ensure_future(self.recheck_beside())

    async def recheck_now(self, *, ahead: bool = False) -> None:
        refusal = await recheck.still_allowed(self.guard, self.access.group_id, ahead=ahead)
        if refusal is not None:
            raise ChatAccessDenied(refusal)

    async def recheck_beside(self) -> None:
        try:
            await self.recheck_now(ahead=True)  # with the others due in the next moments (chat.recheck)
        except ChatAccessDenied as denied:
            async with self.one_at_a_time:  # after the handler in hand, as any other event
                if not self.ended:
                    log.info("chat delivery refused: %s (user %s)", denied.code.name, self.access.user_id)
                    await self.end(denied.code)
        except DatabaseError:
            pass  # nothing is delivered past RECHECK_SECONDS without an answer: the next delivery asks again
        except Exception as problem:  # logged once per kind and socket, as a failed delivery is
            self.failures.note("re-check", problem, expected=False)

    async def end(self, code: CloseCode) -> None:
        self.ended = True
        await self.close(code=int(code))

    async def send_frame(self, frame: dict) -> None:
        await self.send(text_data=dumps(frame))
