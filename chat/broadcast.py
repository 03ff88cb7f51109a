"""The chat's own fan-out, on the channel layer through supportcircle.realtime: a stored message,
presence, the room, rounds and typing. Everything here is scheduled with ``transaction.on_commit``:
nothing reaches a socket unless the change it describes is safely in the database.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction

from supportcircle.realtime import (
    Event,
    dumps,
    frame_event,
    group_channel,
    keep_until_done,
    on_commit_send,
    send_now,
    send_with_timeout,
    server_loop,
)


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
            "type": Event.CHAT_MESSAGE,
            "seq": seq,
            "author_id": author_id,
            "frame": frame,
            "content_warning": content_warning,
            "quoted": quoted,
        },
    )


async def typing_now(group_id: int, user_id: int, pseudonym: str) -> None:
    """Typing is not stored, so there is nothing to wait for: tell the group at once (never the typist)."""
    layer = get_channel_layer()
    frame = {"type": "typing", "user": {"id": user_id, "pseudonym": pseudonym}}
    # Not awaited: a stalled Redis must not hold up the typist's next frame (their send).
    keep_until_done(
        asyncio.ensure_future(
            send_with_timeout(layer, group_channel(group_id), frame_event(frame, about=(user_id,), echo=False))
        )
    )


def on_commit_room(group_id: int, room: dict[str, Any]) -> None:
    """The room's practices changed: each socket filters raised hands by its boundaries, then sends `room`."""
    on_commit_send(group_channel(group_id), {"type": Event.CHAT_ROOM, "room": room})


def on_commit_presence(group_id: int, here: list[dict[str, Any]], *, at: float, skip_channel: str = "") -> None:
    """Who is here now changed: each socket leaves out people its member blocked (or who blocked them).

    ``at`` (when the list was read) lets a socket drop a list older than one it already has,
    since events from different processes may arrive out of order. The arriving socket
    (``skip_channel``) already has the list in its `ready` frame.
    """
    event = {
        "type": Event.CHAT_PRESENCE,
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
    loop = server_loop()
    if loop is None:
        send_now(channel_group, event)
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
        keep_until_done(loop.create_task(send_with_timeout(layer, channel_group, event)))


def on_commit_round(group_id: int, frame: dict[str, Any], facilitator_frame: dict[str, Any]) -> None:
    """A round opened or closed: facilitators' sockets get the summary, members' the plain state."""
    on_commit_send(
        group_channel(group_id),
        {"type": Event.CHAT_ROUND, "frame": dumps(frame), "facilitator_frame": dumps(facilitator_frame)},
    )
