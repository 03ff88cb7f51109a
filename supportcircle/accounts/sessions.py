"""Keeping open sockets honest about the session that opened them.

Channels reads the session once, at the handshake. Without this module a socket
would outlive a logout, a password change, a deactivation or an account
deletion. Two defences, so that one dropped signal never leaves a socket open:

1. Push: ``signals.py`` sends ``access.revoked`` to the person's sockets after
   commit (every socket joins ``user.<id>``; a logout's names the session's
   digest, and only that session's sockets close), and each socket re-checks
   at once and closes with the verdict's code.
2. Pull, the backstop: :class:`SessionGuard` re-reads the session on every inbound frame, and
   nothing is delivered to the socket on an answer older than ``RECHECK_SECONDS`` (the next is
   asked for ahead of that, so deliveries do not wait for it). Every ending is pushed, and a gap in
   the channel layer re-checks every socket at once (chat.layer_watch), so what only this catches
   is a session reaching its natural expiry, or a change written with no signal (a raw UPDATE).

It is also the session engine (``SESSION_ENGINE``): Django's database sessions, whose :class:`SessionStore`
reads a page's session with the same plain statement the sockets use.
"""

from __future__ import annotations

import hashlib
import random
import time
from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user, get_user_model
from django.contrib.sessions.backends import db as db_sessions
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from supportcircle.db_threads import db
from supportcircle.plain_sql import ModelColumns, column, placeholders, table

# How stale an outbound delivery's authorization may be, at most. Only what is never pushed waits this long:
# a session reaching its natural expiry (two weeks after login) or a change written with no signal.
# At 2 s every socket re-checked about every other delivery at human pace, and the re-checks were
# about 0.6 of P's CPU per delivery beyond bare Channels'; at 30 s a socket re-checks at most every
# 15-22 s, as a client pings every 20 s.
RECHECK_SECONDS = 30.0


class SessionStore(db_sessions.SessionStore):
    """Django's database session store, reading a session with one plain statement (:func:`_live_sessions`).

    Every signed-in page reads its session. Through the ORM that read was compiled afresh each time, and
    compiling cost about four times what the database took to answer (0.44 ms of CPU against 0.09 ms in
    plain, measured on PostgreSQL); in a storm of people opening the chat page it was the page's costliest
    statement. Django's own ``load`` does the same: a session that has expired or is not there reads as
    empty and forgets its key, so saving it makes a new one. Writing, cycling and clearing are Django's.
    """

    def load(self) -> dict:
        found = _live_sessions([self.session_key]) if self.session_key else []
        if not found:
            self._session_key = None
            return {}
        return self.decode(found[0][1])


def _stores_in_the_database(store) -> bool:
    return issubclass(store, db_sessions.SessionStore)


def sessions_in_the_database() -> bool:
    """Whether the session engine keeps sessions in the database table (ours, or Django's own), so that a
    session's data can be read beside other rows in one statement."""
    return _stores_in_the_database(import_module(settings.SESSION_ENGINE).SessionStore)


def session_digest(session_key: str) -> str:
    """What names a session in a revocation sent through Redis.

    A digest, not the key: what passes through Redis must never reveal a usable session.
    """
    return hashlib.sha256(session_key.encode()).hexdigest()[:40]


def session_owners(session_keys) -> dict[str, int | None]:
    """Whose session each key still is: the person's id, or None once it was logged out, expired, or its
    person can no longer log in. The one answer to this for sockets, at the handshake and after.

    Django's ``get_user`` decides the same for a page: a live session naming one of our authentication
    backends, an active person, and a session auth hash that matches their password (or a
    ``SECRET_KEY_FALLBACKS`` one). Here any number of sessions are answered in two queries, so many
    sockets due for their re-check at once cost no more than one, and nothing is changed (a socket
    cannot hand the browser a new session cookie).
    """
    return {key: person.pk if person else None for key, person in session_people(session_keys).items()}


def session_people(session_keys) -> dict:
    """:func:`session_owners`, with each owner as the User (None where there is none)."""
    wanted = {key for key in session_keys if key}
    people: dict = dict.fromkeys(wanted)
    if not wanted:
        return people
    store = import_module(settings.SESSION_ENGINE).SessionStore
    User = get_user_model()
    if not _stores_in_the_database(store):  # a cache or signed-cookie store: read each as Django does
        owners = {key: _owner_by_django(store(key)) for key in wanted}
        found = User.objects.in_bulk({owner for owner in owners.values() if owner})
        return {key: found.get(owner) for key, owner in owners.items()}
    data = live_session_data(sorted(wanted))
    ids = {person_named_in(values) for values in data.values()} - {None}
    found = {person.pk: person for person in _active_people(User, ids)}
    for key, values in data.items():
        person = found.get(person_named_in(values))
        if person is not None and signs_in(values, person):
            people[key] = person
    return people


def live_session_data(keys: list[str]) -> dict[str, dict]:
    """The stored data, decoded, of each of these sessions that has not expired (one statement). Sessions kept
    in the database only (:func:`sessions_in_the_database`)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    return {key: store().decode(encoded) for key, encoded in _live_sessions(keys)} if keys else {}


def signs_in(values: dict, person) -> bool:
    """Whether a live session's decoded data signs in this person, read with it: the person it names, active,
    through one of our backends, with the session auth hash of their password. :func:`session_people`'s
    decision for one person, for a statement that reads the person beside other rows (chat.opening.admit)."""
    return (
        person is not None
        and person.is_active
        and person_named_in(values) == person.pk
        and _signed_in_as(values, person)
    )


def _live_sessions(keys: list[str]) -> list[tuple[str, str]]:
    """(key, stored data) of each of these sessions that has not expired: one plain statement, since every
    socket's handshake and every batch of re-checks asks (the ORM took three times as long to build it)."""
    table = connection.ops.quote_name(Session._meta.db_table)
    placeholders = ", ".join(["%s"] * len(keys))
    sql = f"SELECT session_key, session_data FROM {table} WHERE session_key IN ({placeholders}) AND expire_date > %s"  # noqa: S608  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*keys, connection.ops.adapt_datetimefield_value(timezone.now())])
        return cursor.fetchall()


def _active_people(User, ids: set) -> list:
    """The active people among these ids: one plain statement from the model's meta, made into the instances
    the ORM would make (supportcircle.plain_sql), for the same reason."""
    if not ids:
        return []
    ids = sorted(ids)
    people = ModelColumns.of(User, "u")
    sql = (
        f"SELECT {people.sql()} FROM {table(User)} u "  # noqa: S608  # nosec B608: names from meta
        f"WHERE {column(User, User._meta.pk.name, 'u')} IN ({placeholders(ids)}) "
        f"AND {column(User, 'is_active', 'u')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ids, True])
        return [people.instance(row) for row in cursor.fetchall()]


def session_belongs_to(session_data: str | None, person) -> bool:
    """Whether a live session's stored data (as read with the person, in the same query as other things)
    still signs in this active person: the same decision as :func:`session_owners`.

    Every send and every socket's re-check asks, and the answer for the same stored data, person and
    password never changes while the settings stay: it is kept (a few thousand answers), so a socket's
    question after the first costs a lookup instead of checking the data's signature and hashing the
    password again. A logout deletes the session (no data), a password change or a deactivation changes
    the person: each asks afresh."""
    if session_data is None or person is None or not person.is_active:
        return False
    key = (session_data, person.pk, person.password)
    answer = _BELONGS.get(key)
    if answer is None:
        values = SessionStore().decode(session_data)
        answer = signs_in(values, person)
        if len(_BELONGS) >= BELONGS_KEPT:
            _BELONGS.clear()
        _BELONGS[key] = answer
    return answer


# The answers kept (each a session's stored data, a person's id and password hash: about half a KB).
BELONGS_KEPT = 16_384
_BELONGS: dict[tuple, bool] = {}


@receiver(setting_changed)
def _forget_answers(**kwargs) -> None:
    """The answers stand on the secret keys, the backends and the session serializer (tests change them)."""
    _BELONGS.clear()


def person_named_in(values: dict):
    """The id of the person a session's decoded data names (None: nobody, or not an id)."""
    try:
        return get_user_model()._meta.pk.to_python(values[SESSION_KEY])
    except (KeyError, ValueError, TypeError, ValidationError):
        return None


def _signed_in_as(values: dict, person) -> bool:
    """As Django's ``get_user``: one of our backends, and the session auth hash of the person's password
    (or of a ``SECRET_KEY_FALLBACKS`` key)."""
    if values.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS:
        return False
    stored = values.get(HASH_SESSION_KEY) or ""
    expected = [person.get_session_auth_hash(), *person.get_session_auth_fallback_hash()]
    return bool(stored) and any(constant_time_compare(stored, hashed) for hashed in expected)


def _owner_by_django(session) -> int | None:
    user = get_user(SimpleNamespace(session=session))
    return user.pk if user.is_authenticated else None


def session_user_id(session_key: str | None) -> int | None:
    """Whose session this still is (see :func:`session_owners`)."""
    return session_owners([session_key]).get(session_key) if session_key else None


class SessionGuard:
    """What a socket checks before it reads, writes or delivers on a person's behalf."""

    __slots__ = ("session_key", "user_id", "_checked_at", "spread")  # one for every open socket

    def __init__(self, scope: dict, user_id: int) -> None:
        session = scope.get("session")
        self.session_key = getattr(session, "session_key", None)
        self.user_id = user_id
        self.checked_at = time.monotonic()

    def opened_with(self, digest: str) -> bool:
        """Whether this socket was opened with the session of this digest (:func:`session_digest`)."""
        return bool(self.session_key) and session_digest(self.session_key) == digest

    async def still_valid(self) -> bool:
        valid = await db(session_user_id)(self.session_key) == self.user_id
        self.checked_at = time.monotonic()
        return valid

    def due(self) -> bool:
        """Time to start the next re-check, without waiting for it: between half and three quarters of
        RECHECK_SECONDS after the last one was asked (drawn afresh after every check, so a room's sockets
        drift apart instead of all coming due on the same message)."""
        return time.monotonic() - self.checked_at >= RECHECK_SECONDS * self.spread

    def forget(self) -> None:
        """The last answer may be wrong (pushes were lost in the channel layer): deliver nothing before a fresh one."""
        self.checked_at = float("-inf")

    def expired(self) -> bool:
        """The last answer is too old to deliver on: nothing more goes out before a fresh one."""
        return time.monotonic() - self.checked_at >= RECHECK_SECONDS

    @property
    def checked_at(self) -> float:
        return self._checked_at

    @checked_at.setter
    def checked_at(self, moment: float) -> None:
        self._checked_at = moment
        # Spreading load, not a secret: the random module is the right tool here.
        self.spread = random.uniform(0.5, 0.75)  # noqa: S311  # nosec B311
