"""Telling open sockets about committed changes, through the channel layer: the one way every app does it.

Any app may announce a change here (membership, boundaries, a moderation notice, a live session): each
event names its ``type`` from :class:`Event`, the documented list (docs/protocol.md, "Channel-layer
events"), and goes to a channel group named below. The chat consumer (chat/consumers.py) is the only
reader. Nothing reaches a socket unless the change it describes is committed: every send here is
scheduled with ``transaction.on_commit``.

This module imports no app, so every layer may use it (accounts and groups included); the channel
layer is how membership reaches sockets, never an import of chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import os
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)


class Event(StrEnum):
    """Every channel-layer event a chat socket handles (the consumer's method is the name with _ for .)."""

    CHAT_MESSAGE = "chat.message"  # a stored message, serialized once, for everyone in the group
    CHAT_FRAME = "chat.frame"  # a room-wide frame (reaction, round card, live session), serialized once
    CHAT_ROOM = "chat.room"  # the room's practices changed
    CHAT_PRESENCE = "chat.presence"  # who is here now changed
    CHAT_ROUND = "chat.round"  # a round opened or closed
    PRIVATE_FRAME = "private.frame"  # a frame for one person's (or the facilitators') sockets in one group
    ACCESS_REVOKED = "access.revoked"  # close a person's sockets (a group's, or all): removal, ban, logout
    ACCESS_CHANGED = "access.changed"  # a person's standing changed (a break, new agreements): re-check
    BOUNDARIES_CHANGED = "boundaries.changed"  # someone blocked, muted or changed what they collapse
    LAYER_OVERFLOW = "layer.overflow"  # this socket's inbox overflowed (chat.layers)
    LAYER_RECONNECTED = "layer.reconnected"  # messages may have been lost in the layer (chat.layer_watch)


class RevokeReason(StrEnum):
    """Why a person's sockets are closed; the chat maps each to its documented close code."""

    REMOVED = "removed"
    LEFT = "left"
    BANNED = "banned"
    LOGGED_OUT = "logged_out"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105  # nosec B105 (a reason, not a password)
    DEACTIVATED = "deactivated"
    ACCOUNT_DELETED = "account_deleted"
    NOT_A_MEMBER = "not_a_member"  # the membership was deleted (with its group), or is a request again


def group_channel(group_id: int) -> str:
    return f"group.{group_id}"


def user_channel(user_id: int) -> str:
    return f"user.{user_id}"


def facilitators_channel(group_id: int) -> str:
    return f"facilitators.{group_id}"


def dumps(frame: dict[str, Any]) -> str:
    """A frame as sent on the socket: JSON, compact, UTF-8 text."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


# A broadcast never holds up the person whose change it announces: on a server it
# is handed to the event loop and given this long before it is dropped (and logged).
SEND_TIMEOUT_SECONDS = 2.0
_in_flight: set[asyncio.Future] = set()


_lent_loop: contextvars.ContextVar[asyncio.AbstractEventLoop | None] = contextvars.ContextVar("lent_loop", default=None)


@contextlib.contextmanager
def sending_through(loop):
    """On a thread the server's loop did not start (a worker pool's), send through that loop as its
    own threads do; ``loop`` None sends as any plain thread does."""
    token = _lent_loop.set(loop)
    try:
        yield
    finally:
        _lent_loop.reset(token)


def server_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop that started this sync thread (database_sync_to_async, a view under daphne), if any."""
    lent = _lent_loop.get()
    if lent is not None and not lent.is_closed():
        return lent
    threadlocal = SyncToAsync.threadlocal
    loop = getattr(threadlocal, "main_event_loop", None)
    if loop is None or getattr(threadlocal, "main_event_loop_pid", None) != os.getpid() or loop.is_closed():
        return None
    return loop


async def send_with_timeout(layer, channel_group: str, event: dict[str, Any]) -> None:
    try:
        async with asyncio.timeout(SEND_TIMEOUT_SECONDS):  # (wait_for would start a task per broadcast)
            await layer.group_send(channel_group, event)
    except Exception as problem:
        # The change is committed; sockets that miss this event catch up by sequence-number backfill
        # (or their next frame's authorization check). Never log the event: it may hold what a member wrote.
        log.warning("channel layer send to %s failed: %s", channel_group, type(problem).__name__)


def keep_until_done(future: asyncio.Future) -> None:
    """A strong reference to a fire-and-forget send until it is done, so it is not collected mid-send."""
    _in_flight.add(future)
    future.add_done_callback(_in_flight.discard)


def send_now(channel_group: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    loop = server_loop()
    if loop is not None:
        # Fire and forget: a stalled or dead Redis must not delay the sender's ack.
        keep_until_done(asyncio.run_coroutine_threadsafe(send_with_timeout(layer, channel_group, event), loop))
        return
    async_to_sync(send_with_timeout)(layer, channel_group, event)


def on_commit_send(channel_group: str, event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: send_now(channel_group, event))


# What other apps announce ---------------------------------------------------------------


def on_commit_revoke(*, user_id: int, group_id: int | None, reason: RevokeReason) -> None:
    """Close a person's open sockets for a group (or for every group when group_id is None): each re-checks at
    once and closes with the verdict's code (the reason's own when the database cannot answer)."""
    on_commit_send(user_channel(user_id), {"type": Event.ACCESS_REVOKED, "group_id": group_id, "reason": reason})


def on_commit_revoke_session(*, user_id: int, session: str, reason: RevokeReason) -> None:
    """Close the person's sockets opened with one session (``session``: its digest), in every group."""
    on_commit_send(
        user_channel(user_id),
        {"type": Event.ACCESS_REVOKED, "group_id": None, "reason": reason, "session": session},
    )


def on_commit_access_changed(*, user_id: int, group_id: int, notice: str) -> None:
    """A person's standing in a group changed (a break, accepted agreements): their sockets re-check and say so."""
    on_commit_send(user_channel(user_id), {"type": Event.ACCESS_CHANGED, "group_id": group_id, "notice": notice})


def on_commit_group_access_changed(*, group_id: int, notice: str) -> None:
    """Something every member's standing depends on changed (the agreements): every socket re-checks."""
    on_commit_send(group_channel(group_id), {"type": Event.ACCESS_CHANGED, "group_id": group_id, "notice": notice})


def on_commit_boundaries_changed(*user_ids: int) -> None:
    """Someone blocked, muted or changed what they collapse: each affected socket reloads its boundaries."""
    for user_id in dict.fromkeys(user_ids):
        on_commit_send(user_channel(user_id), {"type": Event.BOUNDARIES_CHANGED})


@dataclass
class DirectDelivery:
    """The socket whose frame is being handled: private frames for its own person reach it directly."""

    user_id: int
    group_id: int
    channel_name: str
    frames: list[str] = field(default_factory=list)


_direct_delivery: contextvars.ContextVar[DirectDelivery | None] = contextvars.ContextVar(
    "direct_delivery", default=None
)


@contextlib.contextmanager
def delivering_directly(user_id: int, group_id: int, channel_name: str):
    """Around an action called by a socket: what on_commit_private addresses to this very socket is
    collected in ``.frames`` (for the consumer to send after its reply) instead of crossing Redis, so a
    member in crisis sees resources at once even while Redis is down."""
    delivery = DirectDelivery(user_id, group_id, channel_name)
    token = _direct_delivery.set(delivery)
    try:
        yield delivery
    finally:
        _direct_delivery.reset(token)


def on_commit_private(user_id: int, group_id: int, frame: dict[str, Any]) -> None:
    """A frame for one person's sockets in one group only (a nudge's follow-up, a notice, resources)."""
    serialized = dumps(frame)
    event = {"type": Event.PRIVATE_FRAME, "group_id": group_id, "frame": serialized}
    direct = _direct_delivery.get()
    if direct is not None and (direct.user_id, direct.group_id) == (user_id, group_id):
        event["skip_channel"] = direct.channel_name  # the person's other tabs still get it through the layer
        transaction.on_commit(lambda: direct.frames.append(serialized))
    on_commit_send(user_channel(user_id), event)


def on_commit_to_facilitators(group_id: int, frame: dict[str, Any]) -> None:
    """A frame for the facilitators' open sockets in this group (queue items, alerts)."""
    on_commit_send(
        facilitators_channel(group_id),
        {"type": Event.PRIVATE_FRAME, "group_id": group_id, "frame": dumps(frame)},
    )


def frame_event(frame: dict[str, Any], *, about: tuple[int | None, ...] = (), echo: bool = True) -> dict[str, Any]:
    """A room-wide frame, serialized once. Sockets of anyone who hides a person in ``about`` skip it;
    with ``echo`` False the first person in ``about`` (its sender) does not get it back."""
    return {"type": Event.CHAT_FRAME, "frame": dumps(frame), "about": [i for i in about if i is not None], "echo": echo}


def on_commit_frame(group_id: int, frame: dict[str, Any], *, about: tuple[int | None, ...] = ()) -> None:
    """Reactions, round cards and room changes: to everyone in the group once committed."""
    on_commit_send(group_channel(group_id), frame_event(frame, about=about))
