# ruff: noqa: S608 (the SQL here is built from model table names and placeholders only; values are parameters)
"""Plain messages from many sockets stored together: one transaction, a fixed handful of queries.

Under load the single database thread was the limit: a message cost about ten queries on its own
(the session, the membership and room, the resend check, the pace, the time-out, the sequence
number, the insert, the savepoints). Here the sends that arrive while the previous batch is being
written wait together, and one call stores all of them:

1. sessions and people (the frame's session re-check, as ``SessionGuard`` does it),
2. memberships with group, room state and the author's boundaries,
3. client ids already used (a resend),
4. the authors' recent message times (rate limit and slow mode),
5. time-outs,
6. one ``UPDATE … RETURNING`` that takes every group's next sequence numbers,
7. one ``INSERT`` of every message.

Only the common case is stored here: a member who may post, in an open room, within their pace, not
on a time-out, whose message touches no agreement and answers nothing. Everything else (a resend,
a refusal, a nudge, a hold, crisis, a reply, a content warning) comes back as ``FULL_PATH`` and the
socket sends it through :func:`chat.actions.post_message` as before, so each of those keeps exactly
its own rules, wording and private frames. Batches never wait on purpose: at human pace a batch is
one message, stored as soon as it arrives; under load the batch grows with the queue.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from weakref import WeakKeyDictionary

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from groups.models import BoundarySettings, Group, Membership, MembershipState, Role
from moderation.actions import engine_for
from moderation.models import TimeOut
from supportcircle import metrics
from supportcircle.accounts.models import User

from . import broadcast
from .actions import Posted
from .limits import RateLimit, wait_before_posting
from .models import Message, RoomState
from .protocol import CloseCode, dumps
from .recheck import session_owners

# Take the ordinary one-message path for this send (see the module docstring).
FULL_PATH = "full_path"


@dataclass(frozen=True)
class PlainSend:
    session_key: str | None
    user_id: int
    group_id: int
    client_id: str
    body: str


Outcome = Posted | CloseCode | str  # stored; the socket must close with this code; FULL_PATH


def _among(column: str, values) -> tuple[str, list]:
    """``column IN (%s, …)`` and its parameters. Batches are matched by columns (each index can be
    used) and the exact pairs picked out in Python; SQLite scans the table for a row-value list."""
    values = sorted(set(values))
    return f"{column} IN ({', '.join(['%s'] * len(values))})", values


def _as_datetime(value) -> datetime:
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _as_list(value) -> list:
    return json.loads(value) if isinstance(value, str) else list(value or ())


@dataclass(frozen=True)
class Seat:
    """What a plain send needs to know about its author's place in the group, read in one query."""

    state: str
    role: str
    has_current_agreements: bool
    rulesets: tuple[str, ...]
    breathe_until: datetime | None
    paused: bool
    circle_on: bool
    slow_mode_seconds: int
    pseudonym: str
    heard_only: bool

    def may_post_plainly(self, now: datetime) -> bool:
        """An active member with the current agreements, in a room open to them right now."""
        if self.state != MembershipState.ACTIVE:
            return False
        if self.role == Role.FACILITATOR:
            return True
        breathing = self.breathe_until is not None and self.breathe_until > now
        return self.has_current_agreements and not (breathing or self.paused or self.circle_on)


def _seats(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], Seat]:
    users, user_params = _among("m.user_id", [user_id for user_id, _ in pairs])
    groups, group_params = _among("m.group_id", [group_id for _, group_id in pairs])
    sql = (
        "SELECT m.user_id, m.group_id, m.state, m.role, m.accepted_version, g.agreement_version, g.rulesets, "  # nosec B608
        "g.breathe_until, r.paused, r.circle_on, r.slow_mode_seconds, u.pseudonym, b.here_to_be_heard "
        f"FROM {_table(Membership)} m JOIN {_table(Group)} g ON g.id = m.group_id "
        f"JOIN {_table(User)} u ON u.id = m.user_id "
        f"LEFT JOIN {_table(RoomState)} r ON r.group_id = m.group_id "
        f"LEFT JOIN {_table(BoundarySettings)} b ON b.user_id = m.user_id "
        f"WHERE {users} AND {groups}"
    )
    seats = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*user_params, *group_params])
        for (
            user_id,
            group_id,
            state,
            role,
            accepted,
            current,
            rulesets,
            breathe,
            paused,
            circle,
            slow,
            name,
            heard,
        ) in cursor.fetchall():
            seats[(user_id, group_id)] = Seat(
                state=state,
                role=role,
                has_current_agreements=accepted >= current,
                rulesets=tuple(_as_list(rulesets)),
                breathe_until=_as_datetime(breathe) if breathe else None,
                paused=bool(paused),
                circle_on=bool(circle),
                slow_mode_seconds=slow or 0,
                pseudonym=name,
                heard_only=bool(heard),
            )
    return seats


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _used_client_ids(sends: list[PlainSend], candidates: list[int]) -> tuple[str, list]:
    groups, group_params = _among("group_id", [sends[i].group_id for i in candidates])
    authors, author_params = _among("author_id", [sends[i].user_id for i in candidates])
    ids, id_params = _among("client_id", [sends[i].client_id for i in candidates])
    sql = f"SELECT group_id, author_id, client_id FROM {_table(Message)} WHERE "  # nosec B608
    return sql + f"{groups} AND {authors} AND {ids}", [*group_params, *author_params, *id_params]


def _timed_out(pairs: list[tuple[int, int]], at_now) -> tuple[str, list]:
    users, user_params = _among("user_id", [user_id for user_id, _ in pairs])
    groups, group_params = _among("group_id", [group_id for _, group_id in pairs])
    sql = f"SELECT user_id, group_id FROM {_table(TimeOut)} WHERE until > %s AND "  # nosec B608
    return sql + f"{users} AND {groups}", [at_now, *user_params, *group_params]


def _recent_times(pairs: list[tuple[int, int]], since) -> tuple[str, list]:
    """The authors' message times in the rate limit's (or slow mode's) window."""
    groups, group_params = _among("group_id", [group_id for _, group_id in pairs])
    authors, author_params = _among("author_id", [user_id for user_id, _ in pairs])
    sql = f"SELECT group_id, author_id, created_at FROM {_table(Message)} WHERE "  # nosec B608
    return sql + f"{groups} AND {authors} AND created_at >= %s", [*group_params, *author_params, since]


def _take_seqs(counts: dict[int, int]) -> dict[int, int]:
    """Bump each group's counter by its number of new messages; returns each group's new last_seq.

    One statement for every group; the rows stay locked until commit, so numbers are gapless.
    """
    ids = sorted(counts)
    cases = " ".join("WHEN %s THEN %s" for _ in ids)
    placeholders = ", ".join("%s" for _ in ids)
    params: list[int] = [value for group_id in ids for value in (group_id, counts[group_id])] + ids
    sql = f"UPDATE {_table(Group)} SET last_seq = last_seq + CASE id {cases} END "  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql + f"WHERE id IN ({placeholders}) RETURNING id, last_seq", params)
        return dict(cursor.fetchall())


def post_plain_messages(sends: list[PlainSend]) -> list[Outcome]:
    """Store every plain message of the batch in one transaction; say for each what became of it.

    The reads are plain SQL: at one message a batch (human pace) the ORM's query building was most
    of the cost of a post.
    """
    outcomes: list[Outcome] = [FULL_PATH] * len(sends)
    owners = session_owners([s.session_key for s in sends])
    for index, send in enumerate(sends):
        if owners.get(send.session_key) != send.user_id:
            outcomes[index] = CloseCode.NOT_LOGGED_IN
    candidates = [i for i, s in enumerate(sends) if outcomes[i] == FULL_PATH]
    if not candidates:
        return outcomes
    pairs = sorted({(sends[i].user_id, sends[i].group_id) for i in candidates})
    now = timezone.now()
    at_now = connection.ops.adapt_datetimefield_value(now)
    limit = RateLimit(*getattr(settings, "CHAT_RATE_LIMIT", ()))
    with transaction.atomic():
        seats = _seats(pairs)
        used = set(_rows(*_used_client_ids(sends, candidates)))
        timed_out = set(_rows(*_timed_out(pairs, at_now)))
        longest_slow_mode = max((seat.slow_mode_seconds for seat in seats.values()), default=0)
        since = connection.ops.adapt_datetimefield_value(now - limit.lookback(longest_slow_mode))
        recent: dict[tuple[int, int], list] = defaultdict(list)
        for group_id, author_id, created_at in _rows(*_recent_times(pairs, since)):
            recent[(group_id, author_id)].append(_as_datetime(created_at))
        for moments in recent.values():
            moments.sort(reverse=True)
        accepted: list[tuple[int, Seat]] = []
        seen_ids: set[tuple[int, int, str]] = set()
        for index in candidates:
            send = sends[index]
            seat = seats.get((send.user_id, send.group_id))
            key = (send.group_id, send.user_id, send.client_id)
            if (
                seat is None
                or key in used
                or key in seen_ids
                or (send.user_id, send.group_id) in timed_out
                or not seat.may_post_plainly(now)
            ):
                continue
            slow = 0 if seat.role == Role.FACILITATOR else seat.slow_mode_seconds
            moments = recent[(send.group_id, send.user_id)]
            if wait_before_posting(moments, now, slow_mode_seconds=slow, limit=limit) is not None:
                continue
            if not engine_for(seat.rulesets).check(send.body).is_clean:
                continue
            moments.insert(0, now)  # the next message of the same author in this batch counts this one
            seen_ids.add(key)
            accepted.append((index, seat))
        if not accepted:
            return outcomes
        counts: dict[int, int] = defaultdict(int)
        for index, _ in accepted:
            counts[sends[index].group_id] += 1
        last = _take_seqs(counts)
        next_seq = {group_id: last[group_id] - counts[group_id] + 1 for group_id in counts}
        messages = []
        for index, _ in accepted:
            send = sends[index]
            seq, next_seq[send.group_id] = next_seq[send.group_id], next_seq[send.group_id] + 1
            messages.append(
                Message(
                    group_id=send.group_id,
                    seq=seq,
                    author_id=send.user_id,
                    client_id=send.client_id,
                    body=send.body,
                    created_at=now,
                )
            )
        Message.objects.bulk_create(messages)
        transaction.on_commit(functools.partial(metrics.MESSAGES_STORED.inc, len(messages)))
        for (index, seat), message in zip(accepted, messages, strict=True):
            wire = message.to_wire(seat.pseudonym)
            if seat.heard_only:
                wire["author"]["heard_only"] = True  # "here to be heard, not advised", beside their name
            broadcast.on_commit_message(
                message.group_id,
                seq=message.seq,
                author_id=message.author_id,
                frame=dumps({"type": "message", "message": wire}),
                content_warning="",
                quoted=None,
            )
            outcomes[index] = Posted(message, wire, duplicate=False)
    return outcomes


def store_batch(sends: list[PlainSend]) -> list[Outcome]:
    """The batch in one transaction; if it loses a race on a unique key (the same client id from
    another process at the same instant), nothing of it is kept and every send takes the full path."""
    try:
        return post_plain_messages(sends)
    except IntegrityError:
        return [FULL_PATH] * len(sends)


class Batcher:
    """Collects one event loop's plain sends and stores them a batch at a time."""

    def __init__(self) -> None:
        self.pending: list[tuple[PlainSend, asyncio.Future]] = []
        self.writing: asyncio.Task | None = None

    async def post(self, send: PlainSend) -> Outcome:
        future = asyncio.get_running_loop().create_future()
        self.pending.append((send, future))
        if self.writing is None or self.writing.done():
            self.writing = asyncio.ensure_future(self._write())
        return await asyncio.shield(future)

    async def _write(self) -> None:
        while self.pending:
            batch, self.pending = self.pending, []
            try:
                outcomes = await database_sync_to_async(store_batch)([send for send, _ in batch])
            except Exception as problem:  # the database is down: each sender gets its retryable error
                for _, future in batch:
                    if not future.done():
                        future.set_exception(problem)
                continue
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)


_batchers: WeakKeyDictionary = WeakKeyDictionary()


async def post_plain(send: PlainSend) -> Outcome:
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        batcher = _batchers[loop] = Batcher()
    return await batcher.post(send)
