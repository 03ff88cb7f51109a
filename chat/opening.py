"""Opening a chat socket in two trips to the database thread.

The consumer used to hop onto the database thread once for each thing a new socket needs: may this
person be here, how many sockets they have, their boundaries, the history, the room, "here now",
the facilitator's queue, the live session. Ten hops, each queued behind whatever the rooms were
posting at the time; in a storm of connects that queueing was most of the wait. Now there are two:

1. :func:`admit`: may this person open this group's chat, and is this socket one too many?
   The consumer then subscribes, before anything is read, so nothing posted in between is missed.
2. :func:`welcome`: everything the first frames carry, then the arrival in "here now".

With PostgreSQL both trips go to the opening threads instead of the sockets' database thread
(supportcircle/db_threads.py), so one socket's round trips do not wait for another's.

Each step calls the same functions as before (chat.actions, chat.room, moderation, console.live);
only the trips are fewer. Within the second trip, one plain query (:func:`room_at_connect`) first
asks what is there at all: a room state row, an open round, pinned messages, a time-out, a live
session, a pause & breathe. What it finds absent is not read again, so a socket opening in a
quiet room reads seven statements instead of fourteen; whatever is there is read as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from console import frames as console_frames
from groups.boundaries import BoundarySnapshot, load_boundaries
from groups.models import Group, LiveSession, Role
from moderation import frames as moderation_frames
from moderation.models import TimeOut

from . import actions, room
from .actions import _db_time, _quoted
from .models import Message, MessageState, ReadMarker, RoomState, Round
from .protocol import PRESENCE_TTL_SECONDS

MAX_SOCKETS_PER_PERSON_DEFAULT = 10


def too_many_sockets(open_sockets: int) -> bool:
    """Whether a person with this many chat sockets open (across server processes: their rows in "here
    now" seen since :func:`sockets_seen_since`) already has the most we allow (``MAX_SOCKETS_PER_PERSON``).
    They are counted in the query that admits the socket."""
    return open_sockets >= getattr(settings, "MAX_SOCKETS_PER_PERSON", MAX_SOCKETS_PER_PERSON_DEFAULT)


def sockets_seen_since() -> datetime:
    """A socket whose "here now" row was last seen before this has gone (its process died)."""
    return timezone.now() - timedelta(seconds=PRESENCE_TTL_SECONDS)


@dataclass(frozen=True)
class Admission:
    access: actions.ChatAccess
    # This person already has as many sockets open as we allow (the socket closes with 4429).
    crowded: bool


def admit(user, slug: str) -> Admission:
    """Raises ChatAccessDenied for someone who may not open this chat."""
    access, open_sockets = actions.open_chat_counting_sockets(user, slug, sockets_seen_since())
    return Admission(access, crowded=too_many_sockets(open_sockets))


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


@dataclass(frozen=True)
class RoomAtConnect:
    """What there is to read for a socket opening in this group, from one plain query."""

    has_room_state: bool
    has_open_round: bool
    has_pinned: bool
    last_read_seq: int
    timed_out: bool
    live_session: bool
    joins_locked: bool
    breathing: bool

    @property
    def nothing_for_the_console(self) -> bool:
        """No live session, no lock on joins, no pause & breathe: console.frames has no frame."""
        return not (self.live_session or self.joins_locked or self.breathing)


def room_at_connect(user_id: int, group_id: int) -> RoomAtConnect:
    now = _db_time(timezone.now())
    sql = (
        "SELECT g.joins_locked, g.breathe_until IS NOT NULL AND g.breathe_until > %s, "  # noqa: S608  # nosec B608
        f"EXISTS (SELECT 1 FROM {_quoted(RoomState)} WHERE group_id = g.id), "
        f"EXISTS (SELECT 1 FROM {_quoted(Round)} WHERE group_id = g.id AND closed_at IS NULL), "
        f"EXISTS (SELECT 1 FROM {_quoted(Message)} WHERE group_id = g.id AND pinned_at IS NOT NULL AND state = %s), "
        f"(SELECT last_read_seq FROM {_quoted(ReadMarker)} WHERE group_id = g.id AND user_id = %s), "
        f"EXISTS (SELECT 1 FROM {_quoted(TimeOut)} WHERE group_id = g.id AND user_id = %s AND until > %s), "
        f"EXISTS (SELECT 1 FROM {_quoted(LiveSession)} WHERE group_id = g.id AND ended_at IS NULL) "
        f"FROM {_quoted(Group)} g WHERE g.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, MessageState.VISIBLE, user_id, user_id, now, group_id])
        joins_locked, breathing, has_room, has_round, has_pinned, read_seq, timed_out, live = cursor.fetchone()
    return RoomAtConnect(
        has_room_state=bool(has_room),
        has_open_round=bool(has_round),
        has_pinned=bool(has_pinned),
        last_read_seq=read_seq or 0,
        timed_out=bool(timed_out),
        live_session=bool(live),
        joins_locked=bool(joins_locked),
        breathing=bool(breathing),
    )


def welcome(access: actions.ChatAccess, channel_name: str, last_seq: int | None) -> Welcome:
    """What a new socket is sent first. Reads first; the writes (presence, attendance) come last."""
    boundaries = load_boundaries(access.user_id)
    if last_seq is None:
        history = actions.recent_history(access.user_id, access.group_id, boundaries=boundaries)
    else:
        history = actions.history_after(access.user_id, access.group_id, last_seq, boundaries=boundaries)
    known = room_at_connect(access.user_id, access.group_id)
    snapshot = room.room_snapshot(access.user_id, access.group_id, boundaries, known=known)
    # A member's only waiting frame is a time-out notice; a facilitator's is the queue.
    frames = []
    if access.role == Role.FACILITATOR or known.timed_out:
        frames = moderation_frames.waiting_on_connect(access.user_id, access.group_id)
    here, here_at = room.arrive(access.user_id, access.group_id, channel_name)
    # Attendance for a live session, and its frames: after arriving, as before.
    if not known.nothing_for_the_console:
        frames += console_frames.on_connect(access.user_id, access.group_id, access.role)
    return Welcome(boundaries, history, snapshot, here, here_at, frames)


def goodbye(access: actions.ChatAccess, channel_name: str, *, arrived: bool) -> None:
    """What a closing socket leaves behind, in one trip: out of "here now" (if it had arrived), and
    counted as having left a live session. A mass disconnect (a restart, a network blip) queues one
    of these per socket, so each is a few plain statements."""
    if arrived:
        room.depart(access.group_id, channel_name)
    console_frames.on_disconnect(access.user_id, access.group_id)
