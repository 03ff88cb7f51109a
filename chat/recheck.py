"""Re-checking open sockets' right to receive, for every socket that is due at once.

Each socket re-checks its session and membership at most every few seconds before it delivers
(``supportcircle.accounts.sessions.RECHECK_SECONDS``), so a dropped revocation signal cannot
leave it receiving. Done one socket at a time that is four queries per socket every few
seconds, which in a busy group costs more than the messages themselves. Here the sockets that
are due within a few milliseconds of each other wait together, and one database call answers
all of them with three queries: sessions, people, memberships. The answer for each socket is
the one ``session_user_id`` and ``chat.actions.refusal_for`` give for it alone: a session that
is no longer this person's, or a deactivated person, closes with NOT_LOGGED_IN; a membership
that ended closes with its own code.
"""

from __future__ import annotations

import asyncio
import logging
import time
from weakref import WeakKeyDictionary

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.db import connection
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from groups.models import Membership

from .actions import refusal_for
from .protocol import CloseCode

# How long the first socket that is due waits for others to join its batch.
BATCH_WINDOW_SECONDS = 0.005
DB_SESSIONS = "django.contrib.sessions.backends.db"

Key = tuple[str | None, int, int]  # (session key, user id, group id)

log = logging.getLogger(__name__)


def session_owners(session_keys) -> dict[str | None, int | None]:
    """Whose session each key still is (None once logged out, expired or no longer valid), in two queries.

    The same answer as ``session_user_id`` (Django's ``get_user``) for each key: an unexpired
    session of an active person, logged in through one of our backends, whose password has not
    changed since (the session's auth hash, with the secret key fallbacks). Plain SQL: this runs
    for every batch of sends and every batch of delivery re-checks.
    """
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session

    from supportcircle.accounts.sessions import session_user_id

    wanted_keys = {key for key in session_keys if key}
    owners: dict[str | None, int | None] = dict.fromkeys(wanted_keys)
    if not wanted_keys:
        return owners
    if settings.SESSION_ENGINE != DB_SESSIONS:
        return {session_key: session_user_id(session_key) for session_key in wanted_keys}
    store = SessionStore()
    User = get_user_model()
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT session_key, session_data FROM {quote(Session._meta.db_table)} "  # noqa: S608  # nosec B608: names from model meta
            f"WHERE session_key IN ({', '.join(['%s'] * len(wanted_keys))}) AND expire_date > %s",
            [*wanted_keys, connection.ops.adapt_datetimefield_value(timezone.now())],
        )
        data = {session_key: store.decode(session_data) for session_key, session_data in cursor.fetchall()}
        people = {User._meta.pk.to_python(d[SESSION_KEY]) for d in data.values() if d.get(SESSION_KEY)}
        users = {}
        if people:
            cursor.execute(
                f"SELECT id, password FROM {quote(User._meta.db_table)} "  # noqa: S608  # nosec B608
                f"WHERE id IN ({', '.join(['%s'] * len(people))}) AND is_active = %s",
                [*people, True],
            )
            users = {pk: User(pk=pk, password=password) for pk, password in cursor.fetchall()}
    for session_key, values in data.items():
        user = users.get(User._meta.pk.to_python(values.get(SESSION_KEY))) if values.get(SESSION_KEY) else None
        if user is None or values.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS:
            continue
        stored = values.get(HASH_SESSION_KEY) or ""
        hashes = [user.get_session_auth_hash()]
        hashes += [user._get_session_auth_hash(secret=secret) for secret in settings.SECRET_KEY_FALLBACKS]
        if stored and any(constant_time_compare(stored, expected) for expected in hashes):
            owners[session_key] = user.pk
    return owners


def verdicts(keys: list[Key]) -> dict[Key, CloseCode | None]:
    """For each socket, None if it may still receive, or the code to close it with."""
    owners = session_owners([key[0] for key in keys])
    states = {
        (user_id, group_id): state
        for user_id, group_id, state in Membership.objects.filter(
            user_id__in={key[1] for key in keys}, group_id__in={key[2] for key in keys}, user__is_active=True
        ).values_list("user_id", "group_id", "state")
    }
    answers: dict[Key, CloseCode | None] = {}
    for key in keys:
        session_key, user_id, group_id = key
        if owners.get(session_key) != user_id or (user_id, group_id) not in states:
            answers[key] = CloseCode.NOT_LOGGED_IN
        else:
            answers[key] = refusal_for(states[(user_id, group_id)])
    return answers


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
                answers = await database_sync_to_async(verdicts, thread_sensitive=False)(list(batch))
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
