"""Re-checking open sockets' right to receive, for every socket that is due at once.

Each socket re-checks its session and membership at most every few seconds before it delivers
(``supportcircle.accounts.sessions.RECHECK_SECONDS``), so a dropped revocation signal cannot
leave it receiving. Done one socket at a time that is four queries per socket every few
seconds, which in a busy group costs more than the messages themselves. Here the sockets that
are due within a few milliseconds of each other wait together, and one database call answers
all of them with one statement: each socket's session, person and membership side by side. The
answer for each socket is the one ``session_belongs_to`` (the seat's decision, the same as
``session_owners``') and ``chat.actions.refusal_for`` give for it alone: a session that is no
longer this person's, or a deactivated person, closes with NOT_LOGGED_IN; a membership that
ended closes with its own code.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from weakref import WeakKeyDictionary

from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from groups.models import Membership
from supportcircle.accounts.sessions import session_belongs_to
from supportcircle.db_threads import db
from supportcircle.plain_sql import ModelColumns, column, db_time, table

from .actions import refusal_for
from .protocol import CloseCode

# How long the first socket that is due waits for others to join its batch.
BATCH_WINDOW_SECONDS = 0.005

Key = tuple[str | None, int, int]  # (session key, user id, group id)

log = logging.getLogger(__name__)


def verdicts(keys: list[Key]) -> dict[Key, CloseCode | None]:
    """For each socket, None if it may still receive, or the code to close it with."""
    answers: dict[Key, CloseCode | None] = {}
    for first in range(0, len(keys), KEYS_PER_STATEMENT):
        chunk = keys[first : first + KEYS_PER_STATEMENT]
        for key, (session_data, person, state) in zip(chunk, _sessions_people_memberships(chunk), strict=True):
            if state is None or not session_belongs_to(session_data, person):
                answers[key] = CloseCode.NOT_LOGGED_IN
            else:
                answers[key] = refusal_for(state)
    return answers


# Four parameters a socket: well within what SQLite allows in one statement.
KEYS_PER_STATEMENT = 500


def _sessions_people_memberships(keys: list[Key]) -> list[tuple]:
    """For each socket, in order: its session's data while the session lives, its person while active
    (the instance the ORM would make), and its membership's state (None for each that is not there).
    One plain statement from the models' meta, for every batch (supportcircle.plain_sql)."""
    people, head = _people_and_head()
    sockets = ", ".join(["(%s, CAST(%s AS TEXT), CAST(%s AS BIGINT), CAST(%s AS BIGINT))"] * len(keys))
    params = [value for n, key in enumerate(keys) for value in (n, key[0], key[1], key[2])]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH k (n, session_key, user_id, group_id) AS (VALUES {sockets}) {head}",
            [*params, db_time(timezone.now()), True],
        )
        rows = cursor.fetchall()
    found = {row[0]: row for row in rows}
    answers = []
    for n in range(len(keys)):
        row = found.get(n)
        if row is None:
            answers.append((None, None, None))
            continue
        person = people.instance(row[3:]) if row[3] is not None else None
        answers.append((row[1], person, row[2]))
    return answers


@functools.cache
def _people_and_head() -> tuple[ModelColumns, str]:
    """The people's columns and the statement after its list of sockets, written once per process."""
    User = get_user_model()
    people = ModelColumns.of(User, "u")
    session_key = column(Session, "session_key", "s")
    return people, (
        f"SELECT k.n, {column(Session, 'session_data', 's')}, {column(Membership, 'state', 'm')}, {people.sql()} "  # noqa: S608  # nosec B608: names from meta
        f"FROM k LEFT OUTER JOIN {table(Session)} s ON {session_key} = k.session_key "
        f"AND {column(Session, 'expire_date', 's')} > %s "
        f"LEFT OUTER JOIN {table(User)} u ON {column(User, User._meta.pk.name, 'u')} = k.user_id "
        f"AND {column(User, 'is_active', 'u')} = %s "
        f"LEFT OUTER JOIN {table(Membership)} m ON {column(Membership, 'user', 'm')} = k.user_id "
        f"AND {column(Membership, 'group', 'm')} = k.group_id"
    )


class Rechecker:
    """Collects the re-checks of one event loop's sockets and answers them in batches."""

    def __init__(self) -> None:
        self.pending: dict[Key, asyncio.Future] = {}
        self.flushing: asyncio.Task | None = None
        # While the database cannot answer: since when, and how many re-checks failed meanwhile.
        self.failing_since: float | None = None
        self.failed = 0

    async def verdict(self, key: Key) -> CloseCode | None:
        future = self.pending.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self.pending[key] = future
            if self.flushing is None or self.flushing.done():
                self.flushing = asyncio.ensure_future(self._flush())
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        # Until nobody is waiting: a socket that asks while a batch is being read goes in the next one.
        # (Answering only the batch in hand once left such a socket waiting until some other socket
        # asked, which at the end of a busy minute could be never: its deliveries and pongs stopped.)
        while self.pending:
            await asyncio.sleep(BATCH_WINDOW_SECONDS)
            batch, self.pending = self.pending, {}
            try:
                # Off the main database thread: live delivery must not wait behind page views and
                # posts queued there. A read on its own connection, in a worker thread.
                answers = await db(verdicts)(list(batch))
            except Exception as problem:  # the database is down: every waiting socket fails closed
                self._note_failure(problem, len(batch))
                for future in batch.values():
                    if not future.done():
                        future.set_exception(problem)
                continue
            self._note_success()
            for key, future in batch.items():
                if not future.done():
                    future.set_result(answers[key])

    def _note_failure(self, problem: Exception, sockets: int) -> None:
        # One line when an outage starts and one when it ends, however many sockets are waiting.
        # Never the event: it may hold what a member wrote.
        if self.failing_since is None:
            self.failing_since = time.monotonic()
            log.warning(
                "live delivery withheld: the database cannot re-check sockets (%s); "
                "their clients catch up by backfill once it answers again",
                type(problem).__name__,
            )
        self.failed += sockets

    def _note_success(self) -> None:
        if self.failing_since is not None:
            log.warning(
                "live delivery resumed: the database answers again after %.1f s (%d re-checks failed meanwhile)",
                time.monotonic() - self.failing_since,
                self.failed,
            )
            self.failing_since, self.failed = None, 0


_checkers: WeakKeyDictionary = WeakKeyDictionary()


async def still_allowed(guard, group_id: int) -> CloseCode | None:
    """Re-check a socket (its ``SessionGuard`` and group) with every other socket due now."""
    loop = asyncio.get_running_loop()
    checker = _checkers.get(loop)
    if checker is None:
        checker = _checkers[loop] = Rechecker()
    answer = await checker.verdict((guard.session_key, guard.user_id, group_id))
    guard.checked_at = time.monotonic()
    return answer
