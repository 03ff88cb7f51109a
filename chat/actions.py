"""Chat state changes and reads, one function each. Called by the consumer and views alike."""

from __future__ import annotations

import copy
import functools
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import Prefetch
from django.utils import timezone

from groups.boundaries import BoundarySnapshot
from groups.models import ContentLabel, Group, Membership, MembershipState, Role, wants_to_be_heard
from supportcircle import metrics, realtime
from supportcircle.accounts.sessions import session_belongs_to, session_user_id
from supportcircle.plain_sql import ModelColumns, column, db_time, placeholders, table

from . import broadcast, pages
from .errors import ChatAccessDenied, ChatRefused
from .extensions import POSTED_HOOKS, reviewer
from .limits import RateLimit, wait_before_posting
from .models import ChatEvent, Message, MessageState, Presence, Reaction, ReadMarker, RoomState
from .protocol import BACKFILL_PAGE, HISTORY_ON_CONNECT, CloseCode, ErrorCode, dumps
from .seat import SeatRow, posted_in_window_of, read_seat, read_seat_row, seat_query, seated


@dataclass(frozen=True, slots=True)
class ChatAccess:
    """What a socket learns about its person and group once, at connect."""

    user_id: int
    pseudonym: str
    group_id: int
    group_slug: str
    group_name: str
    role: str
    can_post: bool
    # The group's moderation rule sets, so the socket can warm the engine before the first message.
    rulesets: tuple[str, ...] = ()
    # Taking a break from the group: they read but do not post (the chat page says so).
    paused: bool = False


def membership_or_deny(user_id: int, group_id: int, *, with_room: bool = False) -> Membership:
    # user__boundary_settings: "here to be heard" beside the author's name, in the same query.
    related = ("group", "user__boundary_settings", *(("group__room_state",) if with_room else ()))
    membership = Membership.objects.select_related(*related).filter(user_id=user_id, group_id=group_id).first()
    refusal = refusal_for(membership.state if membership else None)
    if refusal is not None:
        raise ChatAccessDenied(refusal)
    return membership


def refusal_for(state: str | None) -> CloseCode | None:
    """The close code for a membership in this state (None: no membership), or None if it may read."""
    if state is None or state in (MembershipState.REQUESTED, MembershipState.DECLINED):
        return CloseCode.NOT_A_MEMBER
    if state == MembershipState.BANNED:
        return CloseCode.BANNED
    if state in (MembershipState.LEFT, MembershipState.REMOVED):
        return CloseCode.MEMBERSHIP_ENDED
    return None


def open_chat(user, slug: str) -> ChatAccess:
    """Check that this person may open this group's chat, and describe the socket.

    Read on every chat page and HTTP history page, so the group and this person's membership come in one
    plain query; a socket's admission reads the same with the person (:func:`open_chat_for_person`).
    """
    if not user.is_authenticated or not user.is_active:
        raise ChatAccessDenied(CloseCode.NOT_LOGGED_IN)
    return _standing(user.pk, user.pseudonym, slug)


def open_chat_again(access: ChatAccess) -> ChatAccess:
    """An open socket's access read afresh when its person's standing changed (``access.changed``), as
    :func:`open_chat` reads it, for the person the socket admitted (it keeps their id, not the person: whether
    their session still signs them in is the re-check's, ``chat.recheck``)."""
    return _standing(access.user_id, access.pseudonym, access.group_slug)


def _standing(user_id: int, pseudonym: str, slug: str) -> ChatAccess:
    sql = (
        "SELECT g.id, g.slug, g.name, g.rulesets, g.agreement_version, m.role, m.state, m.accepted_version "  # noqa: S608  # nosec B608
        f"FROM {table(Group)} g LEFT JOIN {table(Membership)} m ON m.group_id = g.id AND m.user_id = %s "
        "WHERE g.slug = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, slug])
        row = cursor.fetchone()
    return _access(user_id, pseudonym, row)


def open_chat_for_person(person_id, slug: str, fresh_since, *, signed_in) -> tuple[ChatAccess, int]:
    """``open_chat`` for a socket, which knows its person only by the id its session names: the person, the
    group with their membership, and how many chat sockets they have open (their rows in "here now" seen
    since ``fresh_since``), in one query. ``signed_in(person)`` says whether the session still signs in the
    person read (supportcircle.accounts.sessions.signs_in); NOT_LOGGED_IN if not. Returns the access and
    their open sockets."""
    people = ModelColumns.of(get_user_model(), "u")
    sql = (
        f"SELECT {people.sql()}, g.id, g.slug, g.name, g.rulesets, g.agreement_version, m.role, m.state, "  # noqa: S608  # nosec B608
        f"m.accepted_version, (SELECT COUNT(*) FROM {table(Presence)} WHERE user_id = u.id AND last_seen >= %s) "
        f"FROM {table(get_user_model())} u LEFT JOIN {table(Group)} g ON g.slug = %s "
        f"LEFT JOIN {table(Membership)} m ON m.group_id = g.id AND m.user_id = u.id WHERE u.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [db_time(fresh_since), slug, person_id])
        row = cursor.fetchone()
    person = people.instance(row[: len(people)]) if row is not None else None
    if person is None or not signed_in(person):
        raise ChatAccessDenied(CloseCode.NOT_LOGGED_IN)
    group_and_membership = row[len(people) : len(people) + 8]
    return _access(person.pk, person.pseudonym, group_and_membership), row[-1]


def _access(user_id: int, pseudonym: str, row) -> ChatAccess:
    """The access a row of the group and this person's membership gives (ChatAccessDenied if none)."""
    if row is None or row[0] is None:
        raise ChatAccessDenied(CloseCode.GROUP_NOT_FOUND)
    group_id, group_slug, group_name, rulesets, agreement_version, role, state, accepted_version = row
    refusal = refusal_for(state)
    if refusal is not None:
        raise ChatAccessDenied(refusal)
    rulesets = Group._meta.get_field("rulesets").from_db_value(rulesets, None, connection)
    return ChatAccess(
        user_id=user_id,
        pseudonym=pseudonym,
        group_id=group_id,
        group_slug=group_slug,
        group_name=group_name,
        role=role,
        can_post=state == MembershipState.ACTIVE and accepted_version >= agreement_version,
        rulesets=tuple(rulesets or ()),
        paused=state == MembershipState.PAUSED,
    )


# A socket's reader: (user id, group id).
Reader = tuple[int, int]


def latest_seqs(readers: list[Reader]) -> dict[Reader, int | ChatAccessDenied]:
    """What each ping is answered with: for each (person, group), the group's newest sequence number, so an
    idle client can notice a gap, or why they may no longer read it (a ChatAccessDenied to raise). One plain
    query for all of them: chat/pongs.py asks it for every socket of a process that pings in the same
    moments. A history read decides the same with its page (:func:`_read_page`)."""
    users, groups = sorted({user for user, _ in readers}), sorted({group for _, group in readers})
    sql = (
        f"SELECT g.id, g.last_seq, m.user_id, m.state FROM {table(Group)} g "  # noqa: S608  # nosec B608
        f"LEFT JOIN {table(Membership)} m ON m.group_id = g.id AND m.user_id IN ({placeholders(users)}) "
        f"WHERE g.id IN ({placeholders(groups)})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*users, *groups])
        rows = cursor.fetchall()
    latest, states = {}, {}
    for group_id, last_seq, user_id, state in rows:
        latest[group_id] = last_seq
        if user_id is not None:
            states[(user_id, group_id)] = state
    answers: dict[Reader, int | ChatAccessDenied] = {}
    for reader in readers:
        try:
            answers[reader] = _readable_through(latest.get(reader[1]), states.get(reader))
        except ChatAccessDenied as refused:
            answers[reader] = refused
    return answers


def _readable_through(latest: int | None, state: str | None) -> int:
    """The group's latest seq if a member in ``state`` may read it (None: no such group), else ChatAccessDenied."""
    if latest is None:
        raise ChatAccessDenied(CloseCode.GROUP_NOT_FOUND)
    refusal = refusal_for(state)
    if refusal is not None:
        raise ChatAccessDenied(refusal)
    return latest


def _next_seq(group_id: int) -> int:
    # One statement that both bumps and returns the counter: the row stays
    # locked until commit, so sequence numbers are gapless and never repeat.
    group_table = table(Group)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {group_table} SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq",  # noqa: S608  # nosec B608: table name from model meta
            [group_id],
        )
        return cursor.fetchone()[0]


@dataclass(frozen=True)
class Posted:
    message: Message
    wire: dict
    duplicate: bool
    # The author's seat as it stands after this message, for the socket to decide its next send on
    # (post_message's ``seat``); None when there is none to keep.
    seat: Membership | None = None


def room_of(group: Group) -> RoomState:
    """The group's room state (loaded with select_related), or the defaults if nobody changed it yet."""
    try:
        return group.room_state
    except RoomState.DoesNotExist:
        return RoomState(group=group)


def _check_room_rules(membership: Membership, room: RoomState) -> None:
    """Pause and the listening circle: facilitators, who hold the space, may always post."""
    if membership.role == Role.FACILITATOR:
        return
    # Pause & breathe (console.live) ends by itself: compared with the clock, no job needed.
    breathing = membership.group.breathing_seconds_left(timezone.now())
    if breathing:
        raise ChatRefused(ErrorCode.BREATHING, retry_after=breathing)
    if room.paused:
        raise ChatRefused(ErrorCode.ROOM_PAUSED)
    if room.circle_on and room.floor_holder_id != membership.user_id:
        raise ChatRefused(ErrorCode.NOT_YOUR_TURN)


def _rate_limit() -> RateLimit:
    # settings.CHAT_RATE_LIMIT = (messages, seconds) overrides the protocol's default, e.g. for bulk tests.
    return RateLimit(*getattr(settings, "CHAT_RATE_LIMIT", ()))


def _check_pace(seat: Membership, room: RoomState, now) -> None:
    """Slow mode (members only) and the rate limit (everyone), from stored message times.

    The seat (:func:`_seat`) says when the author last posted and how many of their messages are in the
    rate limit's window: below the limit only the newest matters (slow mode), so their times are read
    one by one only when the author is at the limit."""
    slow = 0 if seat.role == Role.FACILITATOR else room.slow_mode_seconds
    limit = _rate_limit()
    recent = [seat.last_posted_at] if seat.last_posted_at else []
    if seat.posted_in_window >= limit.messages:
        recent = list(
            Message.objects.filter(
                group_id=seat.group_id, author_id=seat.user_id, created_at__gte=now - limit.lookback(slow)
            )
            .order_by("-created_at")
            .values_list("created_at", flat=True)[: limit.messages]
        )
    wait = wait_before_posting(recent, now, slow_mode_seconds=slow, limit=limit)
    if wait is not None:
        raise ChatRefused(wait.code, retry_after=wait.retry_after)


def _replied_message(group_id: int, reply_to: int | None) -> Message | None:
    if reply_to is None:
        return None
    original = Message.objects.select_related("author").filter(group_id=group_id, seq=reply_to).first()
    if original is None:
        raise ChatRefused(ErrorCode.NOT_FOUND, detail="reply_to")
    return original


@dataclass(frozen=True)
class Withheld:
    """Moderation kept a message back (a nudge, or a block): this private frame goes to its author instead."""

    frame: dict


def _seat(user_id: int, group_id: int, *, client_id: str, session_key: str | None, now) -> Membership | None:
    """Everything posting needs to know about the author's place in the group, in one query: the
    membership with the group, its room and the author's boundaries; a message already stored with this
    client id (a resend); when they last posted and how many times in the rate limit's window; for a
    socket, its session's data; and what the reviewer reads (moderation: a time-out). Plain SQL written
    once per process (chat.seat): compiling it with the ORM for every message cost more than the rest."""
    return read_seat(
        user_id,
        group_id,
        client_id=client_id,
        session_key=session_key,
        now=now,
        window_seconds=_rate_limit().window_seconds,
    )


def _store(message: Message) -> Message:
    """Number and store a new message. With PostgreSQL in one statement, whatever else the transaction
    holds: the database may be a network hop away, and every statement is a round trip."""
    if connection.vendor != "postgresql":
        with transaction.atomic():
            message.seq = _next_seq(message.group_id)
            message.save(force_insert=True)
        return message
    # Raw SQL: the ORM cannot take the counter (UPDATE ... RETURNING) and insert the row in one
    # statement. Each column and value is the model's own (its fields, their defaults, their adapters).
    sql, fields = _store_statement()
    database = connections[DEFAULT_DB_ALIAS]  # the connection itself: each read through the proxy costs a lookup
    params = [message.group_id]
    params += [field.get_db_prep_save(field.pre_save(message, add=True), database) for field in fields]
    with database.cursor() as cursor:
        cursor.execute(sql, params)
        message.pk, message.seq = cursor.fetchone()
    message._state.adding, message._state.db = False, DEFAULT_DB_ALIAS
    return message


@functools.cache
def _store_statement() -> tuple[str, list]:
    """The store's statement, written once per process, and the fields whose values follow the group's id."""
    fields = [field for field in Message._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(column(Message, field.name) for field in fields)
    picks = ", ".join("taken.last_seq" if field.name == "seq" else "%s" for field in fields)
    sql = (
        f"WITH taken AS (UPDATE {table(Group)} SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq) "  # noqa: S608  # nosec B608
        f"INSERT INTO {table(Message)} ({columns}) SELECT {picks} FROM taken RETURNING id, seq"
    )
    return sql, [field for field in fields if field.name != "seq"]


def seats_are_kept() -> bool:
    """Whether a socket keeps its author's seat between sends: where the database can check it in the store's
    own statement (PostgreSQL)."""
    return connection.vendor == "postgresql"


def seat_to_post_from(user_id: int, group_id: int, session_key: str | None) -> SeatRow | None:
    """The author's seat for a socket to keep and decide its first send on (``post_message``'s ``seat``), as
    its row (chat.seat.SeatRow: most sockets never post); None where there is no digest to check it by
    (SQLite) or no membership."""
    kept = read_seat_row(
        user_id,
        group_id,
        client_id="",
        session_key=session_key,
        now=timezone.now(),
        window_seconds=_rate_limit().window_seconds,
    )
    return kept if kept is not None and kept.fingerprinted else None


def _store_if_seat_unchanged(message: Message, known: Membership, *, session_key: str | None, now):
    """One statement: read the author's seat afresh and, if its digest and the author's latest post are
    what ``known`` holds (what the rules just decided on), number and store the message. Returns the seat as
    read (None: no membership) and whether the message was stored. Stored, the seat read is ``known`` (the
    caller's own copy) as the digest says it is, with the count in the rate limit's window that the digest
    leaves out taken from the row: not the whole seat made afresh, five model instances per message."""
    statement, params = seat_query(
        known.user_id,
        known.group_id,
        client_id=message.client_id,
        session_key=session_key,
        now=now,
        window_seconds=_rate_limit().window_seconds,
    )
    sql, fields = _guarded_store_statement(statement.sql)
    database = connections[DEFAULT_DB_ALIAS]
    params += [message.group_id, known.fingerprint, db_time(known.last_posted_at)]
    params += [field.get_db_prep_save(field.pre_save(message, add=True), database) for field in fields]
    with database.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None, False
    if row[-1] is None:
        return seated(statement, row[:-2]), False
    message.pk, message.seq = row[-2:]
    message._state.adding, message._state.db = False, DEFAULT_DB_ALIAS
    known.posted_in_window = posted_in_window_of(statement, row)
    return known, True


@functools.cache
def _guarded_store_statement(seat_sql: str) -> tuple[str, list]:
    """The seat's statement as a part, with the store (:func:`_store_statement`) made to wait on its digest."""
    fields = [field for field in Message._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(column(Message, field.name) for field in fields)
    picks = ", ".join("taken.last_seq" if field.name == "seq" else "%s" for field in fields)
    sql = (
        f"WITH seat AS ({seat_sql}), "  # noqa: S608  # nosec B608: names from the models' meta
        f"taken AS (UPDATE {table(Group)} SET last_seq = last_seq + 1 WHERE id = %s AND EXISTS "
        "(SELECT 1 FROM seat WHERE seat_fingerprint = %s AND seat_last_posted_at IS NOT DISTINCT FROM %s) "
        "RETURNING last_seq), "
        f"stored AS (INSERT INTO {table(Message)} ({columns}) SELECT {picks} FROM taken RETURNING id, seq) "
        "SELECT seat.*, stored.id, stored.seq FROM seat LEFT JOIN stored ON TRUE"
    )
    return sql, [field for field in fields if field.name != "seq"]


def _already_posted(seat: Membership, client_id: str) -> Posted:
    existing = (
        Message.objects.select_related("reply_to__author")
        .filter(group_id=seat.group_id, author_id=seat.user_id, client_id=client_id)
        .first()
    )
    if existing is None:  # removed since (an account deletion): nothing to acknowledge as stored
        raise ChatRefused(ErrorCode.TRY_AGAIN)
    wire = _with_author_boundaries(existing.to_wire(seat.user.pseudonym), seat.user)
    return Posted(existing, wire, duplicate=True)


@dataclass(frozen=True)
class _ToStore:
    """What the rules decided to store (see :func:`_decide`)."""

    message: Message
    decision: object

    @property
    def plainly(self) -> bool:
        """Stored and told with nothing written beside it (no audit row, no alert)."""
        return not self.decision.has_consequences


def post_message(
    user_id: int,
    group_id: int,
    *,
    client_id: str,
    body: str,
    reply_to: int | None = None,
    content_warning: str | None = None,
    post_anyway: bool = False,
    session_key: str | None = None,
    seat: Membership | SeatRow | None = None,
) -> Posted | Withheld:
    """Store a member's message with the group's next sequence number, then broadcast it.

    A resend with the same client id returns the stored message and stores nothing
    new, so a member whose connection dropped mid-send never posts twice. The
    room's pause, listening circle, slow mode and the rate limit are enforced here,
    and the refusal says when the member can post again. A socket's send names its
    session (``session_key``): one that no longer signs this person in closes the socket.

    A plain message costs two statements: the seat (:func:`_seat`) and the store (:func:`_store`). A socket
    passes the ``seat`` its last send returned (``Posted.seat``; before its first, the row its greeting read,
    chat.seat.SeatRow): the rules decide on it, and on PostgreSQL
    the store reads the seat afresh in the same statement and stores only if nothing the rules read has
    changed (:func:`_store_if_seat_unchanged`): one statement. If something has, the rules decide again on
    what that statement read, and the store follows (two, as without a seat). Refusals, replies and
    messages with consequences are always decided on a fresh read.
    """
    if content_warning and content_warning not in ContentLabel.values:
        raise ChatRefused(ErrorCode.INVALID_FIELD, detail="content_warning")
    now = timezone.now()
    fresh = None
    if isinstance(seat, SeatRow):
        seat = seat.seated()
    if seat is not None and seat.fingerprint is not None and reply_to is None:
        known = copy.copy(seat)
        known.resent_seq = None  # read for another client id; a resend meets the unique constraint instead
        try:
            planned = _decide(
                known,
                body,
                client_id,
                None,
                content_warning,
                post_anyway,
                session_key=session_key,
                now=now,
                tentative=True,
            )
        except (ChatRefused, ChatAccessDenied):
            planned = None  # a refusal is only ever given on a fresh read
        if isinstance(planned, _ToStore) and planned.plainly:
            try:
                fresh, stored = _store_if_seat_unchanged(planned.message, known, session_key=session_key, now=now)
            except IntegrityError:
                return _already_posted(known, client_id)  # a resend, or another tab's same client id
            if stored:
                return _told(planned, fresh)  # the same seat, as read this instant
            if fresh is None:
                raise ChatAccessDenied(CloseCode.NOT_A_MEMBER)  # the membership is gone
    if fresh is None:
        seat = _seat(user_id, group_id, client_id=client_id, session_key=session_key, now=now)
    else:
        seat = fresh  # read by the store that did not store: decided again on it, with no other read
    outcome = _decide(seat, body, client_id, reply_to, content_warning, post_anyway, session_key=session_key, now=now)
    if not isinstance(outcome, _ToStore):
        return outcome
    try:
        with transaction.atomic(durable=False) if outcome.decision.has_consequences else nullcontext():
            _store(outcome.message)
            posted = _told(outcome, seat)
    except IntegrityError:
        # Another tab sent the same client id at the same instant and won.
        return _already_posted(seat, client_id)
    return posted


def _decide(
    seat: Membership | None,
    body: str,
    client_id: str,
    reply_to: int | None,
    content_warning: str | None,
    post_anyway: bool,
    *,
    session_key: str | None,
    now,
    tentative: bool = False,
) -> _ToStore | Posted | Withheld:
    """The rules, on the author's seat: refusals raise; a resend is the stored message (Posted), a nudge or
    a block is Withheld; anything else is the message to store and how (_ToStore). ``tentative``: on a
    kept seat, where a Withheld is decided again on a fresh read: the reviewer records nothing for it."""
    if session_key is not None and not session_belongs_to(seat and seat.session_data, seat and seat.user):
        raise ChatAccessDenied(CloseCode.NOT_LOGGED_IN)
    refusal = refusal_for(seat.state if seat else None)
    if refusal is not None:
        raise ChatAccessDenied(refusal)
    if seat.state == MembershipState.PAUSED:
        raise ChatRefused(ErrorCode.TAKING_A_BREAK)
    if seat.state != MembershipState.ACTIVE:
        raise ChatRefused(ErrorCode.NOT_ALLOWED)
    if not seat.has_current_agreements and seat.role != Role.FACILITATOR:
        raise ChatRefused(ErrorCode.AGREEMENTS_CHANGED)
    if seat.resent_seq is not None:
        return _already_posted(seat, client_id)
    room = room_of(seat.group)
    try:
        _check_room_rules(seat, room)
        _check_pace(seat, room, now)
    except ChatRefused:
        # Someone writing crisis language is never told to wait: a pause, a listening circle,
        # slow mode or the rate limit give way, and moderation answers with resources at once.
        if not reviewer().is_crisis(seat.group, body):
            raise
    original = _replied_message(seat.group_id, reply_to)
    decision = reviewer().review(
        seat,
        body,
        client_id=client_id,
        reply_to=original,
        post_anyway=post_anyway,
        content_warning=content_warning,
        tentative=tentative,
    )
    if decision.withheld is not None:
        return Withheld(decision.withheld)  # a nudge or a block: nothing stored; the author sees why
    message = Message(
        group_id=seat.group_id,
        author_id=seat.user_id,
        client_id=client_id,
        body=body,
        reply_to=original,
        content_warning=content_warning or decision.content_warning,
        state=decision.state,
        categories=list(decision.categories),
    )
    return _ToStore(message, decision)


def _told(stored: _ToStore, seat: Membership) -> Posted:
    """Once the message is stored (in the transaction, if one is open): what follows it, after commit."""
    message, decision = stored.message, stored.decision
    wire = _with_author_boundaries(message.to_wire(seat.user.pseudonym), seat.user)
    transaction.on_commit(metrics.MESSAGES_STORED.inc)
    for hook in POSTED_HOOKS:  # the second opinion: handed the message once it is committed
        transaction.on_commit(functools.partial(hook, message, seat, decision))
    # The author's socket acks once this thread returns, and its own copy of the broadcast waits for the ack:
    # what the thread had left to do once the broadcast was on its way (the hooks, which only hand the
    # message on, and the next seat) is done before it, so the thread returns as the broadcast leaves.
    posted = Posted(message, wire, duplicate=False, seat=_after(seat, message))
    if decision.broadcasts:  # a message held for review reaches only its author until approved
        broadcast.on_commit_message(
            message.group_id,
            seq=message.seq,
            author_id=message.author_id,
            frame=dumps({"type": "message", "message": wire}),
            content_warning=message.content_warning,
            quoted=quoted_for_fanout(wire),
        )
    reviewer().record(decision, message, seat)
    return posted


def _after(seat: Membership, message: Message) -> Membership | None:
    """The seat as the author's next send would read it: this message is their latest, and one more is in
    the rate limit's window. None where the database gives no digest to check it by (SQLite)."""
    if seat.fingerprint is None:
        return None
    after = copy.copy(seat)
    after.last_posted_at = message.created_at
    after.posted_in_window = seat.posted_in_window + 1
    after.resent_seq = None
    return after


def quoted_for_fanout(wire: dict) -> dict | None:
    """What each socket needs to shape a reply's quote without parsing the frame."""
    quote = wire.get("reply_to")
    return {"author_id": quote["author"]["id"], "content_warning": quote["content_warning"]} if quote else None


def quote_is_withheld(quoted: dict | None, boundaries: BoundarySnapshot) -> bool:
    """A quote must not show words the reader chose not to see (blocked, muted or collapsed by label)."""
    if not quoted:
        return False
    author_id, label = quoted["author_id"], quoted["content_warning"] or None
    return boundaries.hides(author_id) or boundaries.collapse_reason(author_id, label) is not None


def quote_as_seen(wire: dict, boundaries: BoundarySnapshot) -> dict:
    """The message with its quote emptied (``withheld``) when the quoted words are hidden for this reader."""
    if not quote_is_withheld(quoted_for_fanout(wire), boundaries):
        return wire
    quote = wire["reply_to"]
    hidden_author = boundaries.hides(quote["author"]["id"])
    author = {"id": None, "pseudonym": ""} if hidden_author else quote["author"]
    return {**wire, "reply_to": {**quote, "author": author, "excerpt": "", "withheld": True}}


def _for_wire(messages):
    # Everything Message.to_wire reads, in two queries for the whole page. The reactions land
    # in a plain list (to_attr), which spares Django building a queryset for every message.
    return messages.select_related("author__boundary_settings", "reply_to__author").prefetch_related(
        Prefetch("reactions", queryset=Reaction.objects.select_related("user"), to_attr="loaded_reactions")
    )


def _with_author_boundaries(wire: dict, author) -> dict:
    """Show "here to be heard, not advised" beside the author's name when they asked for it."""
    if author is not None and wants_to_be_heard(author):
        wire["author"]["heard_only"] = True
    return wire


def _shaped(wires: list[dict], boundaries: BoundarySnapshot) -> list[dict]:
    """Each message as this reader receives it: collapsed if they muted its author or its content warning."""
    shaped = []
    for wire in wires:
        wire = boundaries.present(wire, wire["author"]["id"], wire["content_warning"])
        if wire is not None:
            # Reactions from someone the reader blocked (or who blocked them) never show either.
            wire["reactions"] = [r for r in wire["reactions"] if not boundaries.hides(r["user"]["id"])]
            wire = quote_as_seen(wire, boundaries)
            shaped.append(wire)
    return shaped


def _read_page(user_id: int, group: int | str, boundaries: BoundarySnapshot | None, **where) -> tuple[int, list[dict]]:
    """Check that this person may read this group (its id, or its slug) at the moment the page is read, in
    the same statement (ChatAccessDenied if not), and the page as they receive it; with the group's latest seq.
    Without ``boundaries`` (a socket brings its own snapshot), the reader's are read in that statement too."""
    page = pages.read_page(user_id, group, boundaries, **where)
    return _readable_through(page.latest_seq, page.state), _shaped(page.messages, page.boundaries)


def read_history(user, slug: str, after_seq: int | None = None) -> dict:
    """The HTTP history: the latest page (``after_seq`` None, as on opening the chat) or the page after
    ``after_seq``, for a signed-in member who may read the group (ChatAccessDenied if not).

    The group, the reader's standing, their boundaries and the page come in one statement: whether they
    may read is decided on what that statement read, by the same rule a socket's reads use (``refusal_for``)."""
    if not user.is_authenticated or not user.is_active:
        raise ChatAccessDenied(CloseCode.NOT_LOGGED_IN)
    if after_seq is None:
        return recent_history(user.pk, slug)
    return history_after(user.pk, slug, after_seq)


def history_after(user_id: int, group: int | str, after_seq: int, boundaries: BoundarySnapshot | None = None) -> dict:
    """The messages after ``after_seq``, one page at a time, for a member who may read (``group``: its id or slug;
    without ``boundaries``, the reader's are read with the page).

    Messages hidden by a block are left out; ``through_seq`` still covers them. ``through_seq`` is the
    server's own number, never the client's: a client that asks after a seq the group has not reached
    hears the newest there is.
    """
    latest, messages = _read_page(user_id, group, boundaries, after_seq=after_seq, limit=BACKFILL_PAGE)
    through = messages[-1]["seq"] if messages and len(messages) == BACKFILL_PAGE else latest
    return {
        "type": "history",
        "after_seq": after_seq,
        "through_seq": through,
        "more": through < latest,
        "messages": messages,
    }


def backfill(
    session_key: str | None, user_id: int, group_id: int, after_seq: int, boundaries: BoundarySnapshot
) -> dict:
    """A socket's ``backfill`` frame: :func:`history_after`, with the socket's session re-checked first in the
    same call on its database thread (ChatAccessDenied NOT_LOGGED_IN once it no longer signs this person in,
    as ``SessionGuard.still_valid`` decides for other frames on a trip of its own). A backlog's catch-up is a
    backfill frame after a pong, one per socket: one hand-over to a database thread and back instead of two."""
    if session_user_id(session_key) != user_id:
        raise ChatAccessDenied(CloseCode.NOT_LOGGED_IN)
    return history_after(user_id, group_id, after_seq, boundaries=boundaries)


def recent_history(
    user_id: int, group: int | str, limit: int = HISTORY_ON_CONNECT, boundaries: BoundarySnapshot | None = None
) -> dict:
    """The last ``limit`` messages, oldest first: what a member sees on opening the chat (boundaries applied;
    ``group``: its id or slug; without ``boundaries``, the reader's are read with the page)."""
    latest, messages = _read_page(user_id, group, boundaries, newest=True, limit=limit)
    after = messages[0]["seq"] - 1 if messages else latest
    return {"type": "history", "after_seq": after, "through_seq": latest, "more": False, "messages": messages}


# Changes to messages already posted -------------------------------------------


def record_event(group_id: int, actor_id: int | None, kind: str, message: Message | None = None, **detail) -> None:
    ChatEvent.objects.create(group_id=group_id, actor_id=actor_id, kind=kind, message=message, detail=detail)


def _message_to_change(group_id: int, seq: int) -> Message:
    message = Message.objects.select_for_update().filter(group_id=group_id, seq=seq).first()
    if message is None:
        raise ChatRefused(ErrorCode.NOT_FOUND, detail="seq")
    return message


def broadcast_updated(message: Message) -> dict:
    """Tell everyone the message's current state: edits, tombstones, pins and reactions alike."""
    message = _for_wire(Message.objects.filter(pk=message.pk)).get()
    wire = _with_author_boundaries(message.to_wire(), message.author)
    broadcast.on_commit_message(
        message.group_id,
        seq=message.seq,
        author_id=message.author_id,
        frame=dumps({"type": "message_updated", "message": wire}),
        content_warning=message.content_warning,
        quoted=quoted_for_fanout(wire),
    )
    return wire


def _own_visible_message(user_id: int, group_id: int, seq: int) -> Message:
    membership = membership_or_deny(user_id, group_id)
    if membership.state != MembershipState.ACTIVE:
        raise ChatRefused(ErrorCode.NOT_ALLOWED)
    message = _message_to_change(group_id, seq)
    if message.author_id != user_id:
        raise ChatRefused(ErrorCode.NOT_YOUR_MESSAGE)
    if message.state != MessageState.VISIBLE:
        raise ChatRefused(ErrorCode.NOT_FOUND, detail="seq")
    return message


def edit_message(user_id: int, group_id: int, *, seq: int, body: str) -> dict:
    """The author rewords their own message; everyone sees the new words with an "edited" mark."""
    with transaction.atomic():
        message = _own_visible_message(user_id, group_id, seq)
        membership = membership_or_deny(user_id, group_id)
        decision = reviewer().review_edit(membership, message, body)  # checked like a new message
        message.body = body
        message.edited_at = timezone.now()
        message.save(update_fields=["body", "edited_at", "content_warning"])
        record_event(group_id, user_id, "chat.message.edited", message)
        reviewer().record(decision, message, membership)
        for hook in POSTED_HOOKS:  # the new words are read again, as a new message's are
            transaction.on_commit(functools.partial(hook, message, membership, decision))
        return broadcast_updated(message)


def delete_message(user_id: int, group_id: int, *, seq: int) -> dict:
    """The author removes their own message: its words are erased and everyone sees
    "Message removed by its author." in its place (its seq stays, so nothing looks lost)."""
    with transaction.atomic():
        message = _own_visible_message(user_id, group_id, seq)
        message.state = MessageState.REMOVED_BY_AUTHOR
        message.body = ""
        message.pinned_at = None
        message.save(update_fields=["state", "body", "pinned_at"])
        Reaction.objects.filter(message=message).delete()
        record_event(group_id, user_id, "chat.message.removed_by_author", message)
        return broadcast_updated(message)


def facilitator_or_refuse(user_id: int, group_id: int) -> Membership:
    membership = membership_or_deny(user_id, group_id)
    if membership.role != Role.FACILITATOR or membership.state != MembershipState.ACTIVE:
        raise ChatRefused(ErrorCode.FACILITATORS_ONLY)
    return membership


def pin_message(user_id: int, group_id: int, *, seq: int, pinned: bool) -> dict:
    """A facilitator pins a message (a grounding exercise, a resource) to the top of the room, or unpins it."""
    with transaction.atomic():
        facilitator_or_refuse(user_id, group_id)
        message = _message_to_change(group_id, seq)
        if pinned and message.state != MessageState.VISIBLE:
            raise ChatRefused(ErrorCode.NOT_FOUND, detail="seq")
        message.pinned_at = timezone.now() if pinned else None
        message.save(update_fields=["pinned_at"])
        record_event(group_id, user_id, "chat.message.pinned" if pinned else "chat.message.unpinned", message)
        return broadcast_updated(message)


def pinned_messages(group_id: int) -> list[dict]:
    pinned = _for_wire(Message.objects.filter(group_id=group_id, pinned_at__isnull=False, state=MessageState.VISIBLE))
    return [message.to_wire() for message in pinned.order_by("pinned_at")]


def react_to_message(user_id: int, group_id: int, *, seq: int, kind: str, on: bool) -> None:
    """A member adds (or takes back) a compassionate reaction; others see their name beside it, never a count."""
    with transaction.atomic():
        membership = membership_or_deny(user_id, group_id)
        if membership.state != MembershipState.ACTIVE:
            raise ChatRefused(ErrorCode.NOT_ALLOWED)
        message = Message.objects.filter(group_id=group_id, seq=seq, state=MessageState.VISIBLE).first()
        if message is None:
            raise ChatRefused(ErrorCode.NOT_FOUND, detail="seq")
        if on:
            _, changed = Reaction.objects.get_or_create(message=message, user_id=user_id, kind=kind)
        else:
            changed = Reaction.objects.filter(message=message, user_id=user_id, kind=kind).delete()[0] > 0
        if not changed:
            return
        frame = {
            "type": "reaction",
            "seq": seq,
            "kind": kind,
            "on": on,
            "user": {"id": user_id, "pseudonym": membership.user.pseudonym},
        }
        realtime.on_commit_frame(group_id, frame, about=(user_id, message.author_id))


def mark_read(user_id: int, group_id: int, *, seq: int) -> int:
    """Remember how far this member has read (only ever forward), for the "new since you were last here" divider."""
    with transaction.atomic():
        membership = membership_or_deny(user_id, group_id)
        seq = min(seq, membership.group.last_seq)
        marker, _ = ReadMarker.objects.select_for_update().get_or_create(user_id=user_id, group_id=group_id)
        if seq > marker.last_read_seq:
            marker.last_read_seq = seq
            marker.save(update_fields=["last_read_seq", "updated_at"])
        return marker.last_read_seq


def last_read_seq(user_id: int, group_id: int) -> int:
    marker = ReadMarker.objects.filter(user_id=user_id, group_id=group_id)
    return marker.values_list("last_read_seq", flat=True).first() or 0


def may_type(user_id: int, group_id: int) -> str:
    """Authorize a typing notice (not stored): only someone who may post is shown typing. Returns their pseudonym."""
    membership = membership_or_deny(user_id, group_id)
    if membership.state != MembershipState.ACTIVE:
        raise ChatRefused(ErrorCode.NOT_ALLOWED)
    return membership.user.pseudonym
