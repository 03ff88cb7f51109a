"""Opening a chat socket in two trips to the database thread.

The consumer used to hop onto the database thread once for each thing a new socket needs: may this
person be here, how many sockets they have, their boundaries, the history, the room, "here now",
the facilitator's queue, the live session. Ten hops, each queued behind whatever the rooms were
posting at the time; in a storm of connects that queueing was most of the wait. Now there are two:

1. :func:`admit`: may this person open this group's chat, and is this socket one too many?
   The consumer then subscribes, before anything is read, so nothing posted in between is missed.
2. :func:`welcome`: everything the first frames carry, then the arrival in "here now".

Each step calls the same functions as before (chat.actions, chat.room, moderation, groups.live);
only the trips are fewer.
"""

from __future__ import annotations

from dataclasses import dataclass

from groups import console_frames
from groups.boundaries import BoundarySnapshot, load_boundaries
from moderation import frames as moderation_frames
from supportcircle.accounts.limits import too_many_sockets

from . import actions, room


@dataclass(frozen=True)
class Admission:
    access: actions.ChatAccess
    # This person already has as many sockets open as we allow (the socket closes with 4429).
    crowded: bool


def admit(user, slug: str) -> Admission:
    """Raises ChatAccessDenied for someone who may not open this chat."""
    access = actions.open_chat(user, slug)
    return Admission(access, crowded=too_many_sockets(access.user_id))


@dataclass(frozen=True)
class Welcome:
    boundaries: BoundarySnapshot
    history: dict
    # The room as the `ready` frame carries it, without "here" (the consumer adds it, as this person sees it).
    snapshot: dict
    here: list[dict]
    here_at: float
    # Already serialized: open alerts and the queue for a facilitator, a time-out notice, the live session.
    frames: list[str]


def welcome(access: actions.ChatAccess, channel_name: str, last_seq: int | None) -> Welcome:
    """What a new socket is sent first. Reads first; the writes (presence, attendance) come last."""
    boundaries = load_boundaries(access.user_id)
    if last_seq is None:
        history = actions.recent_history(access.user_id, access.group_id, boundaries=boundaries)
    else:
        history = actions.history_after(access.user_id, access.group_id, last_seq, boundaries=boundaries)
    snapshot = room.room_snapshot(access.user_id, access.group_id, boundaries)
    frames = moderation_frames.waiting_on_connect(access.user_id, access.group_id)
    here, here_at = room.arrive(access.user_id, access.group_id, channel_name)
    # Attendance for a live session, and its frames: after arriving, as before.
    frames += console_frames.on_connect(access.user_id, access.group_id, access.role)
    return Welcome(boundaries, history, snapshot, here, here_at, frames)
