"""The author's seat: everything posting needs to know, in one plain statement.

Every message reads it, so it is written once per process as SQL from the models' own tables and
columns (supportcircle.plain_sql), not rebuilt and compiled by the ORM for each message: that compiling
cost several times what the database took to answer. Its row becomes the model instances the ORM would
make, so the rules read the same objects as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connection

from groups.models import BoundarySettings, Group, Membership
from supportcircle.plain_sql import Converters, ModelColumns, column, table

from .extensions import reviewer
from .models import Message, RoomState


@dataclass(frozen=True)
class SeatColumn:
    """One more value read with the seat, in the same statement (an app above adds it: a time-out).

    ``sql`` is a scalar subquery that names the author's membership row's group and person as
    ``{group_id}`` and ``{user_id}``; ``params`` fill its ``%s``; ``field`` says what the value is,
    so it reaches Python as the ORM would hand it over (a datetime in the right zone, on any database).
    """

    sql: str
    params: tuple
    field: object


@dataclass(frozen=True)
class _Statement:
    """The seat's SQL and the parts of its row, made once per process and database."""

    sql: str
    parts: list
    created_at: Converters
    extra: tuple
    # PostgreSQL: the seat's SELECT list also ends with ``fingerprint`` (see :func:`_fingerprint`).
    fingerprinted: bool = False


_STATEMENTS: dict[tuple, _Statement] = {}


def _statement(extra: dict[str, SeatColumn]) -> _Statement:
    key = (connection.vendor, tuple((name, added.sql) for name, added in extra.items()))
    found = _STATEMENTS.get(key)
    if found is None:
        found = _STATEMENTS.setdefault(key, _written(extra))
    return found


def _written(extra: dict[str, SeatColumn]) -> _Statement:
    User = get_user_model()
    parts = [
        ModelColumns.of(Membership, "m"),
        ModelColumns.of(Group, "g"),
        ModelColumns.of(RoomState, "r"),
        ModelColumns.of(User, "u"),
        ModelColumns.of(BoundarySettings, "b"),
    ]

    def of(alias: str, model, name: str) -> str:
        return column(model, name, alias)

    group_id, user_id = of("m", Membership, "group"), of("m", Membership, "user")
    created_at = of("mm", Message, "created_at")
    mine = (
        f"FROM {table(Message)} mm WHERE {of('mm', Message, 'group')} = {group_id} "
        f"AND {of('mm', Message, 'author')} = {user_id}"
    )
    subqueries = [
        # A message already stored with this client id (a resend): one at most (unique per author and group).
        f"(SELECT {of('mm', Message, 'seq')} {mine} AND {of('mm', Message, 'client_id')} = %s)",
        # When the author last posted here, and how many of their messages are in the rate limit's window.
        f"(SELECT {created_at} {mine} ORDER BY {created_at} DESC LIMIT 1) AS seat_last_posted_at",
        f"(SELECT COUNT(*) {mine} AND {created_at} > %s)",
        # For a socket: its session's data while the session lives.
        f"(SELECT {of('s', Session, 'session_data')} FROM {table(Session)} s "  # noqa: S608  # nosec B608
        f"WHERE {of('s', Session, 'session_key')} = %s AND {of('s', Session, 'expire_date')} > %s)",
        *(f"({added.sql.format(group_id=group_id, user_id=user_id)})" for added in extra.values()),
    ]
    fingerprinted = connection.vendor == "postgresql"
    if fingerprinted:
        subqueries.append(_fingerprint(parts, subqueries))
    sql = (
        f"SELECT {', '.join(part.sql() for part in parts)}, {', '.join(subqueries)} "  # noqa: S608  # nosec B608: names from the models' meta
        f"FROM {table(Membership)} m "
        f"INNER JOIN {table(Group)} g ON {of('g', Group, 'id')} = {group_id} "
        f"INNER JOIN {table(User)} u ON {of('u', User, User._meta.pk.name)} = {user_id} "
        f"LEFT OUTER JOIN {table(RoomState)} r ON {of('r', RoomState, 'group')} = {of('g', Group, 'id')} "
        f"LEFT OUTER JOIN {table(BoundarySettings)} b ON {of('b', BoundarySettings, 'user')} = "
        f"{of('u', User, User._meta.pk.name)} "
        f"WHERE {user_id} = %s AND {group_id} = %s"
    )
    extra_converters = tuple((name, Converters.of(added.field)) for name, added in extra.items())
    return _Statement(sql, parts, Converters.of(Message._meta.get_field("created_at")), extra_converters, fingerprinted)


def _fingerprint(parts: list, subqueries: list) -> str:
    """A digest of everything the seat read that posting's rules decide on, but for the group's counter (it
    moves with every message) and what depends on the statement's own parameters (the resend, the count in
    the rate window: the rules re-read those, chat.actions). A socket keeps the seat its last send read and
    decides its next send on it; the store then checks, in the same statement, that the digest is unchanged
    (chat.actions._store_if_seat_unchanged): the rules stay in Python, the database only says "the same"."""
    subqueries = [subqueries[0], subqueries[1].removesuffix(" AS seat_last_posted_at"), *subqueries[2:]]
    columns = [
        column(part.model, field.name, part.alias)
        for part in parts
        for field in part.fields
        if not (part.model is Group and field.name == "last_seq")
    ]
    # Their session's data and what the reviewer added (a time-out). When the author last posted is
    # checked beside it (``seat_last_posted_at``): a socket knows that moment after its own send.
    columns += [subqueries[3], *subqueries[4:]]
    return f"md5(ROW({', '.join(columns)})::text) AS seat_fingerprint"


def read_seat(
    user_id: int, group_id: int, *, client_id: str, session_key: str | None, now, window_seconds: int
) -> Membership | None:
    """The author's membership (None: not a member) with its group, the group's room, the person and their
    boundary settings loaded; a room or boundary settings nobody changed yet come as their unsaved defaults,
    as ``chat.actions.room_of`` gives them. Annotated with ``resent_seq`` (the seq of a message already
    stored with this client id), ``last_posted_at``, ``posted_in_window`` (messages after ``now`` less the
    rate limit's window), ``session_data`` (the socket's session while it lives) and what the reviewer adds
    (moderation: ``time_out_until``)."""
    kept = read_seat_row(
        user_id, group_id, client_id=client_id, session_key=session_key, now=now, window_seconds=window_seconds
    )
    return None if kept is None else kept.seated()


@dataclass(frozen=True, slots=True)
class SeatRow:
    """The seat as its statement read it: the row, made into the membership and the four instances beside it
    (:func:`seated`) only when a send is decided on it. A socket keeps its seat so from its greeting until its
    first send: the five instances cost about four times the row's memory, and most open sockets never post."""

    statement: _Statement
    row: tuple

    @property
    def fingerprinted(self) -> bool:
        return self.statement.fingerprinted

    def seated(self) -> Membership:
        return seated(self.statement, self.row)


def read_seat_row(
    user_id: int, group_id: int, *, client_id: str, session_key: str | None, now, window_seconds: int
) -> SeatRow | None:
    """:func:`read_seat`'s statement, its row kept as it came (None: not a member)."""
    statement, params = seat_query(
        user_id, group_id, client_id=client_id, session_key=session_key, now=now, window_seconds=window_seconds
    )
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        row = cursor.fetchone()
    return None if row is None else SeatRow(statement, tuple(row))


def seat_query(
    user_id: int, group_id: int, *, client_id: str, session_key: str | None, now, window_seconds: int
) -> tuple[_Statement, list]:
    """The seat's statement and its parameters, for a statement that reads the seat as one of its parts."""
    extra = reviewer().seat_columns(now)
    statement = _statement(extra)
    at = connection.ops.adapt_datetimefield_value
    read_beside = [session_key or "", at(now)]  # the session's and the reviewer's subqueries
    for added in extra.values():
        read_beside.extend(added.params)
    params = [client_id, at(now - timedelta(seconds=window_seconds)), *read_beside]
    if statement.fingerprinted:
        params += read_beside  # the digest reads them again (_fingerprint)
    params += [user_id, group_id]
    return statement, params


def posted_in_window_of(statement: _Statement, row) -> int:
    """How many of the author's messages the seat's row counts in the rate limit's window, read without
    making the row into the membership (:func:`seated`)."""
    return row[sum(len(part) for part in statement.parts) + 2]


def seated(statement: _Statement, row) -> Membership:
    """The seat's row (its first columns, as :func:`seat_query` wrote them) made into the membership."""
    start = 0
    instances = []
    for part in statement.parts:
        values = row[start : start + len(part)]
        start += len(part)
        # A LEFT JOIN that found nothing: the defaults, unsaved (the room's and the person's own settings).
        instances.append(None if values[0] is None else part.instance(values))
    membership, group, room, user, settings = instances
    membership.group = group
    membership.user = user
    group.room_state = room if room is not None else RoomState(group=group)
    user.boundary_settings = settings if settings is not None else BoundarySettings(user=user)
    end = start + 4 + len(statement.extra) + statement.fingerprinted  # a statement reading it may add more
    resent_seq, last_posted_at, posted_in_window, session_data, *extra = row[start:end]
    if statement.fingerprinted:
        *extra, membership.fingerprint = extra
    else:
        membership.fingerprint = None
    membership.resent_seq = resent_seq
    membership.last_posted_at = statement.created_at(last_posted_at)
    membership.posted_in_window = posted_in_window
    membership.session_data = session_data
    for (name, converters), value in zip(statement.extra, extra, strict=True):
        setattr(membership, name, converters(value))
    return membership
