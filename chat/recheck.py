"""Re-checking open sockets' right to receive, for every socket that is due at once.

The one verdict on a socket's right to stay open: asked when a revocation is pushed to it
(``access.revoked``), for every socket of a process when the channel layer had a gap
(``layer.reconnected``), and as a backstop every 15-22 s before delivering (nothing is delivered on
an answer older than ``supportcircle.accounts.sessions.RECHECK_SECONDS``), for what is never pushed:
a session reaching its natural expiry. Done one socket at a time that is four queries per socket,
which in a busy group costs more than the messages themselves. Here the sockets that
are due within a few milliseconds of each other wait together (chat.batches), and one database call answers
all of them with one statement: sessions, people, memberships. The backstop's re-checks are asked
ahead of time (7.5 s or more before an answer is too old to deliver on), so they wait longer for each
other (``AHEAD_WINDOW_SECONDS``): a process's sockets come due one by one, about ten a second for 200
sockets, and waiting 5 ms each they went to the database one or two at a time. The answer for each socket is
the one ``session_user_id`` and ``chat.actions.refusal_for`` give for it alone: a session that
is no longer this person's, or a deactivated person, closes with NOT_LOGGED_IN; a membership
that ended closes with its own code, and none at all (deleted with its group) with NOT_A_MEMBER.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from groups.models import Membership
from supportcircle.accounts.sessions import session_belongs_to, session_owners, sessions_in_the_database
from supportcircle.plain_sql import ModelColumns, column, db_time, placeholders, table

from .actions import refusal_for
from .batches import Batches, of_this_loop
from .protocol import CloseCode

# How long the first socket that is due waits for others to join its batch.
BATCH_WINDOW_SECONDS = 0.005
# How long a re-check asked ahead of time (the backstop's, beside deliveries) waits for others: anyone who
# asks sooner (a revocation, a layer gap, an answer too old to deliver on) brings the whole batch forward.
AHEAD_WINDOW_SECONDS = 2.0
# At most this many sockets answered by one statement, each bringing up to three parameters: after a gap
# in the channel layer every socket of a process asks at once (10,000 in the crowd), and one statement for
# all would pass SQLite's limit on parameters (32,766) and, at 22,000, PostgreSQL's (65,535).
MOST_PER_STATEMENT = 2_000

Key = tuple[str | None, int, int]  # (session key, user id, group id)

log = logging.getLogger(__name__)


def verdicts(keys: list[Key]) -> dict[Key, CloseCode | None]:
    """For each socket, None if it may still receive, or the code to close it with. One statement for all
    of them (:func:`_read_together`): the sessions, their people and their memberships."""
    sessions, people, states = _read_together(keys)
    if sessions_in_the_database():
        # The seat's decision (session_belongs_to): the session as read, and the person the socket names.
        def belongs(session_key, user_id) -> bool:
            return session_belongs_to(sessions.get(session_key), people.get(user_id))
    else:  # a cache or signed-cookie store: read each as Django does
        owners = session_owners([key[0] for key in keys])

        def belongs(session_key, user_id) -> bool:
            return owners.get(session_key) == user_id

    answers: dict[Key, CloseCode | None] = {}
    for key in keys:
        session_key, user_id, group_id = key
        if not belongs(session_key, user_id):
            answers[key] = CloseCode.NOT_LOGGED_IN
        else:  # no membership at all (deleted, or its group deleted) is refused as at the handshake
            answers[key] = refusal_for(states.get((user_id, group_id)))
    return answers


@dataclass(frozen=True)
class _Arms:
    """The statement's three reads, each up to its list of values, written once per process and database:
    writing them (each empty column a CAST to its field's type) cost as much as the rest of a batch."""

    sessions: str
    people: str
    memberships: str
    person: ModelColumns


_ARMS: dict[str, _Arms] = {}


def _arms() -> _Arms:
    found = _ARMS.get(connection.vendor)
    if found is None:
        found = _ARMS.setdefault(connection.vendor, _written())
    return found


def _written() -> _Arms:
    User = get_user_model()
    person = ModelColumns.of(User, "u")
    # Each read fills its own columns and leaves the others' empty, as NULLs of their type (PostgreSQL
    # matches a UNION's column types arm by arm).
    sessions_part = [Session._meta.get_field(name) for name in ("session_key", "session_data")]
    memberships_part = [Membership._meta.get_field(name) for name in ("user", "group", "state")]

    def empty(fields) -> str:
        return ", ".join(f"CAST(NULL AS {field.cast_db_type(connection)})" for field in fields)

    user_id, group_id = column(Membership, "user", "m"), column(Membership, "group", "m")
    return _Arms(
        sessions=(
            f"SELECT 's', {column(Session, 'session_key', 's')}, {column(Session, 'session_data', 's')}, "  # noqa: S608  # nosec B608: names from meta
            f"{empty(person.fields)}, {empty(memberships_part)} FROM {table(Session)} s "
            f"WHERE {column(Session, 'expire_date', 's')} > %s AND {column(Session, 'session_key', 's')} IN "
        ),
        people=(
            f"SELECT 'u', {empty(sessions_part)}, {person.sql()}, {empty(memberships_part)} FROM {table(User)} u "  # noqa: S608  # nosec B608
            f"WHERE {column(User, 'is_active', 'u')} = %s AND {column(User, User._meta.pk.name, 'u')} IN "
        ),
        memberships=(
            f"SELECT 'm', {empty(sessions_part)}, {empty(person.fields)}, {user_id}, {group_id}, "  # noqa: S608  # nosec B608
            f"{column(Membership, 'state', 'm')} FROM {table(Membership)} m WHERE {user_id} IN "
        ),
        person=person,
    )


def _read_together(keys: list[Key]) -> tuple[dict, dict, dict]:
    """The live sessions' stored data by key, the active people these sockets name by id, and (user id,
    group id): state of their memberships among these sockets' groups, in one plain statement: three
    reads side by side (UNION ALL, each in its own columns), since with the database a network hop away
    each statement is a round trip that a delivery may wait for. Written from the models' meta and made
    into the instances the ORM would make (supportcircle.plain_sql)."""
    arms = _arms()
    person = arms.person
    session_keys = sorted({key[0] for key in keys if key[0]})
    user_ids, group_ids = sorted({key[1] for key in keys}), sorted({key[2] for key in keys})
    group_id = column(Membership, "group", "m")
    statement, params = [], []
    if session_keys:
        statement.append(f"{arms.sessions}({placeholders(session_keys)})")
        params += [db_time(timezone.now()), *session_keys]
    statement.append(f"{arms.people}({placeholders(user_ids)})")
    params += [True, *user_ids]
    statement.append(f"{arms.memberships}({placeholders(user_ids)}) AND {group_id} IN ({placeholders(group_ids)})")
    params += [*user_ids, *group_ids]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(statement), params)
        rows = cursor.fetchall()
    sessions, people, states = {}, {}, {}
    for kind, session_key, session_data, *rest in rows:
        if kind == "s":
            sessions[session_key] = session_data
        elif kind == "u":
            found = person.instance(rest[: len(person)])
            people[found.pk] = found
        else:
            member, group, state = rest[len(person) :]
            states[(member, group)] = state
    return sessions, people, states


class Rechecker(Batches[Key, "CloseCode | None"]):
    """Collects the re-checks of one event loop's sockets and answers them in batches (chat.batches)."""

    def __init__(self) -> None:
        super().__init__()
        # While the database cannot answer: since when, and how many re-checks failed meanwhile.
        self.failing_since: float | None = None
        self.failed_meanwhile = 0

    def read(self, keys: list[Key]) -> dict[Key, CloseCode | None]:
        return verdicts(keys)

    def most(self) -> int:
        return MOST_PER_STATEMENT

    async def verdict(self, key: Key, *, within: float = BATCH_WINDOW_SECONDS) -> CloseCode | None:
        """The socket's verdict, read with every other socket's that asks in the meantime: at the latest
        ``within`` seconds from now. If the database cannot answer, every waiting socket fails closed."""
        return await self.answer(key, within=within)

    def failed(self, problem: Exception, sockets: int) -> None:
        # One line when an outage starts and one when it ends, however many sockets are waiting.
        # Never the event: it may hold what a member wrote.
        if self.failing_since is None:
            self.failing_since = time.monotonic()
            log.warning(
                "live delivery withheld: the database cannot re-check sockets (%s); "
                "their clients catch up by backfill once it answers again",
                type(problem).__name__,
            )
        self.failed_meanwhile += sockets

    def answered(self) -> None:
        if self.failing_since is not None:
            log.warning(
                "live delivery resumed: the database answers again after %.1f s (%d re-checks failed meanwhile)",
                time.monotonic() - self.failing_since,
                self.failed_meanwhile,
            )
            self.failing_since, self.failed_meanwhile = None, 0


async def still_allowed(guard, group_id: int, *, ahead: bool = False) -> CloseCode | None:
    """Re-check a socket (its ``SessionGuard`` and group) with every other socket due now; ``ahead``: asked
    before the last answer is too old, so it may wait a little longer for others (AHEAD_WINDOW_SECONDS)."""
    checker = of_this_loop(Rechecker)
    asked = time.monotonic()
    within = AHEAD_WINDOW_SECONDS if ahead else BATCH_WINDOW_SECONDS
    answer = await checker.verdict((guard.session_key, guard.user_id, group_id), within=within)
    guard.checked_at = asked  # the answer holds from when it was asked: its age is counted from then
    return answer
