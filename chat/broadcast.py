"""Telling open sockets about committed changes, through the channel layer.

Everything here is scheduled with ``transaction.on_commit``: nothing reaches a
socket unless the change it describes is safely in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from .protocol import CloseCode, dumps

log = logging.getLogger(__name__)


def group_channel(group_id: int) -> str:
    return f"group.{group_id}"


def user_channel(user_id: int) -> str:
    return f"user.{user_id}"


# A broadcast never holds up the person whose change it announces: on a server it
# is handed to the event loop and given this long before it is dropped (and logged).
SEND_TIMEOUT_SECONDS = 2.0
_in_flight: set[asyncio.Future] = set()


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop that started this sync thread (database_sync_to_async, a view under daphne), if any."""
    threadlocal = SyncToAsync.threadlocal
    loop = getattr(threadlocal, "main_event_loop", None)
    if loop is None or getattr(threadlocal, "main_event_loop_pid", None) != os.getpid() or loop.is_closed():
        return None
    return loop


async def _send_with_timeout(layer, channel_group: str, event: dict[str, Any]) -> None:
    try:
        async with asyncio.timeout(SEND_TIMEOUT_SECONDS):  # (wait_for would start a task per broadcast)
            await layer.group_send(channel_group, event)
    except Exception as problem:
        # The change is committed; sockets that miss this event catch up by
        # sequence-number backfill (or their next frame's authorization check).
        # Never log the event: it may hold what a member wrote.
        log.warning("channel layer send to %s failed: %s", channel_group, type(problem).__name__)


def _send_now(channel_group: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _server_loop()
    if loop is not None:
        # Fire and forget: a stalled or dead Redis must not delay the sender's ack.
        future = asyncio.run_coroutine_threadsafe(_send_with_timeout(layer, channel_group, event), loop)
        _in_flight.add(future)
        future.add_done_callback(_in_flight.discard)
        return
    async_to_sync(_send_with_timeout)(layer, channel_group, event)


def on_commit_send(channel_group: str, event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: _send_now(channel_group, event))


def on_commit_message(
    group_id: int,
    *,
    seq: int,
    author_id: int | None,
    frame: str,
    content_warning: str = "",
    quoted: dict | None = None,
) -> None:
    """Fan a stored message out to everyone in the group: serialized once, here.

    ``author_id`` and ``content_warning`` ride beside the frame so each socket can apply
    its person's boundaries (hide, collapse) without parsing the frame; so does ``quoted``
    ({"author_id", "content_warning"} of the message a reply quotes), for the quote.
    """
    on_commit_send(
        group_channel(group_id),
        {
            "type": "chat.message",
            "seq": seq,
            "author_id": author_id,
            "frame": frame,
            "content_warning": content_warning,
            "quoted": quoted,
        },
    )


def on_commit_revoke(*, user_id: int, group_id: int | None, reason: str) -> None:
    """Close a person's open sockets for a group (or for every group when group_id is None)."""
    on_commit_revoke_channel(user_channel(user_id), group_id=group_id, reason=reason)


# Why sockets are closed, and the close code each reason gets.
_REVOKE_CODES = {
    "banned": CloseCode.BANNED,
    "logged_out": CloseCode.NOT_LOGGED_IN,
    "password_changed": CloseCode.NOT_LOGGED_IN,
    "deactivated": CloseCode.NOT_LOGGED_IN,
    "account_deleted": CloseCode.NOT_LOGGED_IN,
}


def on_commit_revoke_channel(channel_group: str, *, reason: str, group_id: int | None = None) -> None:
    """Close every socket in ``channel_group`` (a person's) for a group, or for all groups."""
    code = _REVOKE_CODES.get(reason, CloseCode.MEMBERSHIP_ENDED)
    on_commit_send(
        channel_group,
        {"type": "access.revoked", "group_id": group_id, "code": int(code), "reason": reason},
    )


def on_commit_revoke_session(*, user_id: int, session: str, reason: str) -> None:
    """Close the person's sockets opened with one session (``session``: its digest), in every group."""
    code = _REVOKE_CODES.get(reason, CloseCode.MEMBERSHIP_ENDED)
    on_commit_send(
        user_channel(user_id),
        {"type": "access.revoked", "group_id": None, "code": int(code), "reason": reason, "session": session},
    )


def on_commit_access_changed(*, user_id: int, group_id: int, notice: str) -> None:
    """A person's standing in a group changed (a break, accepted agreements): their sockets re-check and say so."""
    on_commit_send(user_channel(user_id), {"type": "access.changed", "group_id": group_id, "notice": notice})


def on_commit_group_access_changed(*, group_id: int, notice: str) -> None:
    """Something every member's standing depends on changed (the agreements): every socket re-checks."""
    on_commit_send(group_channel(group_id), {"type": "access.changed", "group_id": group_id, "notice": notice})


def on_commit_boundaries_changed(*user_ids: int) -> None:
    """Someone blocked, muted or changed what they collapse: each affected socket reloads its boundaries."""
    for user_id in dict.fromkeys(user_ids):
        on_commit_send(user_channel(user_id), {"type": "boundaries.changed"})


def facilitators_channel(group_id: int) -> str:
    return f"facilitators.{group_id}"


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
    event = {"type": "private.frame", "group_id": group_id, "frame": serialized}
    direct = _direct_delivery.get()
    if direct is not None and (direct.user_id, direct.group_id) == (user_id, group_id):
        event["skip_channel"] = direct.channel_name  # the person's other tabs still get it through the layer
        transaction.on_commit(lambda: direct.frames.append(serialized))
    on_commit_send(user_channel(user_id), event)


def on_commit_to_facilitators(group_id: int, frame: dict[str, Any]) -> None:
    """A frame for the facilitators' open sockets in this group (queue items, alerts)."""
    on_commit_send(
        facilitators_channel(group_id), {"type": "private.frame", "group_id": group_id, "frame": dumps(frame)}
    )


def frame_event(frame: dict[str, Any], *, about: tuple[int | None, ...] = (), echo: bool = True) -> dict[str, Any]:
    """A room-wide frame, serialized once. Sockets of anyone who hides a person in ``about`` skip it;
    with ``echo`` False the first person in ``about`` (its sender) does not get it back."""
    return {"type": "chat.frame", "frame": dumps(frame), "about": [i for i in about if i is not None], "echo": echo}


def on_commit_frame(group_id: int, frame: dict[str, Any], *, about: tuple[int | None, ...] = ()) -> None:
    """Reactions, round cards and room changes: to everyone in the group once committed."""
    on_commit_send(group_channel(group_id), frame_event(frame, about=about))


async def typing_now(group_id: int, user_id: int, pseudonym: str) -> None:
    """Typing is not stored, so there is nothing to wait for: tell the group at once (never the typist)."""
    layer = get_channel_layer()
    frame = {"type": "typing", "user": {"id": user_id, "pseudonym": pseudonym}}
    # Not awaited: a stalled Redis must not hold up the typist's next frame (their send).
    task = asyncio.ensure_future(
        _send_with_timeout(layer, group_channel(group_id), frame_event(frame, about=(user_id,), echo=False))
    )
    _in_flight.add(task)  # a strong reference until it is done, so it is not collected mid-send
    task.add_done_callback(_in_flight.discard)


def on_commit_room(group_id: int, room: dict[str, Any]) -> None:
    """The room's practices changed: each socket filters raised hands by its boundaries, then sends `room`."""
    on_commit_send(group_channel(group_id), {"type": "chat.room", "room": room})


def on_commit_presence(group_id: int, here: list[dict[str, Any]], *, at: float, skip_channel: str = "") -> None:
    """Who is here now changed: each socket leaves out people its member blocked (or who blocked them).

    ``at`` (when the list was read) lets a socket drop a list older than one it already has,
    since events from different processes may arrive out of order. The arriving socket
    (``skip_channel``) already has the list in its `ready` frame.
    """
    event = {
        "type": "chat.presence",
        "here": here,
        "at": at,
        "skip_channel": skip_channel,
        # For every socket whose member hides nobody on the list: serialized once, here.
        "frame": dumps({"type": "presence", "here": here}),
    }
    transaction.on_commit(lambda: _send_presence(group_channel(group_id), event))


# When many people arrive at once (a big room at the start of a session), each arrival would
# send the whole list to everyone: n arrivals cost n² deliveries. A few changes a second go out
# at once; past PRESENCE_BURST in a second, changes within PRESENCE_EVERY_SECONDS of the last
# list sent are folded into one, the newest list.
PRESENCE_BURST = 8
PRESENCE_EVERY_SECONDS = 0.25


@dataclass
class _PresenceSlot:
    sent_at: deque = field(default_factory=lambda: deque(maxlen=PRESENCE_BURST))
    pending: dict[str, Any] | None = None
    timer: asyncio.TimerHandle | None = None


_presence_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _PresenceSlot]] = (
    weakref.WeakKeyDictionary()
)


def _send_presence(channel_group: str, event: dict[str, Any]) -> None:
    loop = _server_loop()
    if loop is None:
        _send_now(channel_group, event)
        return
    loop.call_soon_threadsafe(_offer_presence, loop, channel_group, event)


def _offer_presence(loop: asyncio.AbstractEventLoop, channel_group: str, event: dict[str, Any]) -> None:
    """On the event loop: send this list now, or fold it into the one due at the end of the window."""
    slot = _presence_slots.setdefault(loop, {}).setdefault(channel_group, _PresenceSlot())
    if slot.pending is None or event["at"] >= slot.pending["at"]:
        slot.pending = event
    if slot.timer is not None:
        return
    now = loop.time()
    if len(slot.sent_at) < PRESENCE_BURST or now - slot.sent_at[0] >= 1.0:
        _flush_presence(loop, channel_group, slot)
    else:
        slot.timer = loop.call_at(slot.sent_at[-1] + PRESENCE_EVERY_SECONDS, _flush_presence, loop, channel_group, slot)


def _flush_presence(loop: asyncio.AbstractEventLoop, channel_group: str, slot: _PresenceSlot) -> None:
    event, slot.pending, slot.timer = slot.pending, None, None
    slot.sent_at.append(loop.time())
    layer = get_channel_layer()
    if event is not None and layer is not None:
        task = loop.create_task(_send_with_timeout(layer, channel_group, event))
        _in_flight.add(task)
        task.add_done_callback(_in_flight.discard)


def on_commit_round(group_id: int, frame: dict[str, Any], facilitator_frame: dict[str, Any]) -> None:
    """A round opened or closed: facilitators' sockets get the summary, members' the plain state."""
    on_commit_send(
        group_channel(group_id),
        {"type": "chat.round", "frame": dumps(frame), "facilitator_frame": dumps(facilitator_frame)},
    )
