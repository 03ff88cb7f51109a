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
from collections import defaultdict
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from groups.models import Group, Membership, MembershipState, Role
from moderation.actions import engine_for
from moderation.models import TimeOut

from . import broadcast
from .actions import Posted, _with_author_boundaries, quoted_for_fanout, room_of
from .limits import RateLimit, wait_before_posting
from .models import Message
from .protocol import CloseCode, dumps
from .recheck import _session_owners

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


def _recent_times(sends: list[PlainSend], now, lookback) -> dict[tuple[int, int], list]:
    """Each author's latest message times in each group of the batch, newest first."""
    times: dict[tuple[int, int], list] = defaultdict(list)
    rows = Message.objects.filter(
        author_id__in={s.user_id for s in sends},
        group_id__in={s.group_id for s in sends},
        created_at__gte=now - lookback,
    ).values_list("group_id", "author_id", "created_at")
    for group_id, author_id, created_at in rows:
        times[(group_id, author_id)].append(created_at)
    for moments in times.values():
        moments.sort(reverse=True)
    return times


def _take_seqs(counts: dict[int, int]) -> dict[int, int]:
    """Bump each group's counter by its number of new messages; returns each group's new last_seq.

    One statement for every group; the rows stay locked until commit, so numbers are gapless.
    """
    table = Group._meta.db_table
    ids = sorted(counts)
    cases = " ".join("WHEN %s THEN %s" for _ in ids)
    placeholders = ", ".join("%s" for _ in ids)
    params: list[int] = [value for group_id in ids for value in (group_id, counts[group_id])] + ids
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + CASE id {cases} END "  # noqa: S608  # nosec B608: table name from model meta, values are parameters
            f"WHERE id IN ({placeholders}) RETURNING id, last_seq",
            params,
        )
        return dict(cursor.fetchall())


def post_plain_messages(sends: list[PlainSend]) -> list[Outcome]:
    """Store every plain message of the batch in one transaction; say for each what became of it."""
    outcomes: list[Outcome] = [FULL_PATH] * len(sends)
    owners = _session_owners([(s.session_key, s.user_id, s.group_id) for s in sends])
    for index, send in enumerate(sends):
        if owners.get(send.session_key) != send.user_id:
            outcomes[index] = CloseCode.NOT_LOGGED_IN
    candidates = [i for i, s in enumerate(sends) if outcomes[i] == FULL_PATH]
    if not candidates:
        return outcomes
    users = {sends[i].user_id for i in candidates}
    groups = {sends[i].group_id for i in candidates}
    now = timezone.now()
    limit = RateLimit(*getattr(settings, "CHAT_RATE_LIMIT", ()))
    with transaction.atomic():
        memberships = {
            (m.user_id, m.group_id): m
            for m in Membership.objects.select_related("group__room_state", "user__boundary_settings").filter(
                user_id__in=users, group_id__in=groups
            )
        }
        used = set(
            Message.objects.filter(author_id__in=users, group_id__in=groups)
            .filter(client_id__in={sends[i].client_id for i in candidates})
            .values_list("group_id", "author_id", "client_id")
        )
        timed_out = set(
            TimeOut.objects.filter(user_id__in=users, group_id__in=groups, until__gt=now).values_list(
                "user_id", "group_id"
            )
        )
        rooms = {m.group_id: room_of(m.group) for m in memberships.values()}
        longest_slow_mode = max((room.slow_mode_seconds for room in rooms.values()), default=0)
        recent = _recent_times([sends[i] for i in candidates], now, limit.lookback(longest_slow_mode))
        accepted: list[tuple[int, Membership]] = []
        seen_ids: set[tuple[int, int, str]] = set()
        for index in candidates:
            send = sends[index]
            membership = memberships.get((send.user_id, send.group_id))
            key = (send.group_id, send.user_id, send.client_id)
            if (
                membership is None
                or key in used
                or key in seen_ids
                or (send.user_id, send.group_id) in timed_out
                or not _may_post_plainly(membership, rooms[send.group_id], now)
            ):
                continue
            slow = 0 if membership.role == Role.FACILITATOR else rooms[send.group_id].slow_mode_seconds
            moments = recent[(send.group_id, send.user_id)]
            if wait_before_posting(moments, now, slow_mode_seconds=slow, limit=limit) is not None:
                continue
            if not engine_for(membership.group.rulesets).check(send.body).is_clean:
                continue
            moments.insert(0, now)  # the next message of the same author in this batch counts this one
            seen_ids.add(key)
            accepted.append((index, membership))
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
                    group_id=send.group_id, seq=seq, author_id=send.user_id, client_id=send.client_id, body=send.body
                )
            )
        Message.objects.bulk_create(messages)
        for (index, membership), message in zip(accepted, messages, strict=True):
            wire = _with_author_boundaries(message.to_wire(membership.user.pseudonym), membership.user)
            broadcast.on_commit_message(
                message.group_id,
                seq=message.seq,
                author_id=message.author_id,
                frame=dumps({"type": "message", "message": wire}),
                content_warning="",
                quoted=quoted_for_fanout(wire),
            )
            outcomes[index] = Posted(message, wire, duplicate=False)
    return outcomes


def _may_post_plainly(membership: Membership, room, now) -> bool:
    """An active member with the current agreements, in a room that is open to them right now."""
    if membership.state != MembershipState.ACTIVE:
        return False
    if membership.role == Role.FACILITATOR:
        return True
    if not membership.has_current_agreements:
        return False
    return not (membership.group.breathing_seconds_left(now) or room.paused or room.circle_on)


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
