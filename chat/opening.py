"""Opening a chat socket in two trips to the database thread.

The consumer used to hop onto the database thread once for each thing a new socket needs: may this
person be here, how many sockets they have, their boundaries, the history, the room, "here now",
the facilitator's queue, the live session. Ten hops, each queued behind whatever the rooms were
posting at the time; in a storm of connects that queueing was most of the wait. Now there are two:

1. :func:`admit`: whose session is this, may they open this group's chat, and is this socket one too many?
   The consumer then subscribes, before anything is read, so nothing posted in between is missed.
2. :func:`welcome`: everything the first frames carry, then the arrival in "here now", and last the seat a
   first send is decided on (PostgreSQL), in the same trip: as a third trip of its own, beside the
   greeting, it cost each socket about as much CPU as two statements (a thread's hand-over each way).

With PostgreSQL both trips go to the opening threads instead of the sockets' database thread
(supportcircle/db_threads.py), so one socket's round trips do not wait for another's.

Each step calls the same functions as before (chat.actions, chat.room, moderation, console.live);
only the trips are fewer. Within the second trip, one plain query (:func:`room_at_connect`, which the
chat page asks too) first asks what is there at all: a room state row, an open round, pinned
messages, a time-out, a live session, a pause & breathe. What it finds absent is not read again, so
a socket opening in a quiet room reads seven statements instead of fourteen; whatever is there is
read as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from groups.boundaries import BoundarySnapshot, load_boundaries
from groups.models import Group
from supportcircle.accounts.sessions import (
    live_session_data,
    person_named_in,
    session_owners,
    sessions_in_the_database,
    signs_in,
)
from supportcircle.plain_sql import db_time, table

from . import actions, room
from .errors import ChatAccessDenied
from .extensions import CONNECT_FACTS, CONNECT_PROVIDERS, DISCONNECT_HOOKS
from .models import Message, MessageState, ReadMarker, RoomState, Round
from .protocol import PRESENCE_TTL_SECONDS, CloseCode
from .seat import SeatRow

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
    access: actions.ChatAccess  # the person (their id and pseudonym) and their standing in the group
    # This person already has as many sockets open as we allow (the socket closes with 4429).
    crowded: bool


def admit(session_key: str | None, slug: str) -> Admission:
    """Whose session opened the socket, and may they open this chat: two statements in one trip. The session
    (supportcircle.accounts.sessions.live_session_data), then the person it names with the group, their
    membership and their open sockets (chat.actions.open_chat_for_person), the person decided as
    ``session_owners`` decides (sessions.signs_in). Raises ChatAccessDenied for someone who may not
    (NOT_LOGGED_IN without a live session that signs them in)."""
    if not session_key:
        raise ChatAccessDenied(CloseCode.NOT_LOGGED_IN)
    if sessions_in_the_database():
        values = live_session_data([session_key]).get(session_key, {})
        person_id = person_named_in(values)

        def signed_in(person) -> bool:
            return signs_in(values, person)
    else:  # a cache or signed-cookie store: whose session it is, as session_owners decides for any store
        person_id = session_owners([session_key]).get(session_key)

        def signed_in(person) -> bool:
            return person.is_active

    if person_id is None:
        raise ChatAccessDenied(CloseCode.NOT_LOGGED_IN)
    access, open_sockets = actions.open_chat_for_person(person_id, slug, sockets_seen_since(), signed_in=signed_in)
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
    # The author's seat for their first send (chat.actions.seat_to_post_from), as its row: None where none is
    # kept (SQLite, someone who may not post) or where reading it failed (``seat_unread``): the first send then
    # reads its own.
    seat: SeatRow | None = None
    seat_unread: Exception | None = None


@dataclass(frozen=True)
class RoomAtConnect:
    """What there is to read for a socket opening in this group, from one query."""

    has_room_state: bool
    has_open_round: bool
    has_pinned: bool
    last_read_seq: int
    joins_locked: bool
    breathing: bool
    # What the apps above asked to know (chat.extensions.CONNECT_FACTS), by name: e.g. moderation's
    # "timed_out", the console's "live_session".
    extra: dict = field(default_factory=dict)


def room_at_connect(user_id: int, group_id: int) -> RoomAtConnect:
    """One plain query: what the room has at all (its practices, an open round, pins), this person's read
    marker, and whatever the apps above contribute (chat.extensions.exists_in); what is absent is not read
    again. Built with the ORM's annotations it was the costliest thing a socket did (compiling the query
    took some 20 times as long as running it), so it is written out here, as chat.actions writes the
    socket's other hot queries."""
    now = timezone.now()
    facts = {}
    for contributor in CONNECT_FACTS:
        facts.update(contributor(user_id, now))
    extra_sql = "".join(f", {sql}" for sql, _ in facts.values())
    extra_params = [value for _, params in facts.values() for value in params]
    sql = (
        "SELECT g.joins_locked, g.breathe_until > %s, "  # noqa: S608  # nosec B608
        f"EXISTS (SELECT 1 FROM {table(RoomState)} WHERE group_id = g.id), "
        f"EXISTS (SELECT 1 FROM {table(Round)} WHERE group_id = g.id AND closed_at IS NULL), "
        f"EXISTS (SELECT 1 FROM {table(Message)} WHERE group_id = g.id AND pinned_at IS NOT NULL AND state = %s), "
        f"(SELECT last_read_seq FROM {table(ReadMarker)} WHERE group_id = g.id AND user_id = %s LIMIT 1)"
        f"{extra_sql} FROM {table(Group)} g WHERE g.id = %s"
    )
    params = [db_time(now), MessageState.VISIBLE.value, user_id, *extra_params, group_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        raise Group.DoesNotExist(f"no group {group_id}")
    joins_locked, breathing, has_room_state, has_open_round, has_pinned, read_seq, *extra = row
    return RoomAtConnect(
        has_room_state=bool(has_room_state),
        has_open_round=bool(has_open_round),
        has_pinned=bool(has_pinned),
        last_read_seq=read_seq or 0,
        joins_locked=bool(joins_locked),
        breathing=bool(breathing),
        extra={name: bool(value) for name, value in zip(facts, extra, strict=True)},
    )


def welcome(
    access: actions.ChatAccess, channel_name: str, last_seq: int | None, session_key: str | None = None
) -> Welcome:
    """What a new socket is sent first. Reads first; the writes (presence, then what the apps above do on
    connect, e.g. attendance for a live session) come last, and after them the author's seat."""
    boundaries = load_boundaries(access.user_id)
    if last_seq is None:
        history = actions.recent_history(access.user_id, access.group_id, boundaries=boundaries)
    else:
        history = actions.history_after(access.user_id, access.group_id, last_seq, boundaries=boundaries)
    known = room_at_connect(access.user_id, access.group_id)
    snapshot = room.room_snapshot(access.user_id, access.group_id, boundaries, known=known)
    here, here_at = room.arrive(access.user_id, access.group_id, channel_name)
    frames = [frame for provider in CONNECT_PROVIDERS for frame in provider(access, known)]
    seat, seat_unread = None, None
    if access.can_post and actions.seats_are_kept():
        try:
            seat = actions.seat_to_post_from(access.user_id, access.group_id, session_key)
        except DatabaseError as problem:  # the greeting stands; the first send reads its own seat
            seat_unread = problem
    return Welcome(boundaries, history, snapshot, here, here_at, frames, seat, seat_unread)


def goodbye(access: actions.ChatAccess, channel_name: str, *, arrived: bool) -> None:
    """What a closing socket leaves behind, in one trip: out of "here now" (if it had arrived), and
    counted as having left a live session. A mass disconnect (a restart, a network blip) queues one
    of these per socket, so each is a few plain statements."""
    if arrived:
        room.depart(access.group_id, channel_name)
    for hook in DISCONNECT_HOOKS:
        hook(access.user_id, access.group_id)
