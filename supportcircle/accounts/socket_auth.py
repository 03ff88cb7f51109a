"""Who opened a WebSocket: the session cookie, the session and the person, read once at the handshake.

Channels' ``AuthMiddlewareStack`` does this in three layers (cookies, session, user), each with its
own copy of the scope, its own waiting coroutine and its own objects, all held for as long as the
socket stays open. With thousands of idle sockets that was several kilobytes each. Here it is one
step, and a socket keeps only what it uses afterwards:

- ``scope["session"]``: the session by its key, not yet read (``SessionGuard`` re-reads it by key
  on every frame and every few seconds before delivering; a logout closes the socket by push).
- ``scope["user"]``: ``AnonymousUser``, or a :class:`SignedInPerson` with what the chat needs to
  admit the person (``chat.actions.open_chat``), taken from the User that Channels' own ``get_user``
  loaded and checked against the session, as for every page.

The person is looked up exactly as before (``channels.auth.get_user``: the session's backend, the
session auth hash, a session that no longer matches flushed). A failure here (the session store or
the database down) propagates, so ``supportcircle.security.CloseCleanlyOnFailure`` around this
closes the socket with 4503.

Every socket opens through here, so the plain case is read in two plain queries (:func:`plainly`,
on an opening thread with PostgreSQL: supportcircle/db_threads.py):
a live session row in the database store naming the model backend, whose person is active and whose
session auth hash matches. Anything else (no such row, another backend or session engine, an
inactive person, a hash that does not match and must be flushed) goes through ``get_user`` as
above, which answers and flushes as it always did. tests/security/test_socket_session.py holds both
to the same answers.
"""

from __future__ import annotations

from importlib import import_module

from channels.auth import get_user
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import parse_cookie
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from supportcircle.db_threads import opening_trip

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
DB_SESSIONS = "django.contrib.sessions.backends.db"
# As django.contrib.auth.base_user.AbstractBaseUser._get_session_auth_hash makes it.
HASH_SALT = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"


class SignedInPerson:
    """The signed-in person a socket belongs to, as the handshake found them: the chat reads ``pk``,
    ``pseudonym``, ``is_active`` and ``is_authenticated`` (``chat.actions.open_chat``). Not a model:
    a socket that needs more of the person loads it by ``pk``, fresh."""

    __slots__ = ("pk", "pseudonym", "is_active")

    is_authenticated = True
    is_anonymous = False

    def __init__(self, user=None, *, pk: int = 0, pseudonym: str = "", is_active: bool = True) -> None:
        if user is not None:
            pk, pseudonym, is_active = user.pk, user.pseudonym, user.is_active
        self.pk, self.pseudonym, self.is_active = pk, pseudonym, is_active

    @property
    def id(self) -> int:
        return self.pk

    def __str__(self) -> str:
        return self.pseudonym

    def __repr__(self) -> str:
        return f"<SignedInPerson {self.pk}>"


def session_key_from(scope) -> str | None:
    """The session cookie's value, read from the first Cookie header as Channels' CookieMiddleware does."""
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            return parse_cookie(value.decode("latin1")).get(settings.SESSION_COOKIE_NAME)
    return None


class SessionAuthMiddleware:
    """ASGI middleware for WebSockets: adds ``session`` and ``user`` to the scope (see the module)."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        # One copy of the scope, and nothing else of this step stays referenced while the socket is open.
        return await self.inner(await self.authenticated(scope), receive, send)

    async def authenticated(self, scope) -> dict:
        if "headers" not in scope:
            raise ValueError("SessionAuthMiddleware needs a scope with headers (HTTP or WebSocket)")
        session_store = import_module(settings.SESSION_ENGINE).SessionStore
        key = session_key_from(scope)
        person = await opening_trip(plainly)(key) if key else None
        if person is None:
            session = session_store(key)
            user = await get_user({"session": session})
            key, person = session.session_key, SignedInPerson(user) if user.is_authenticated else user
        # The session as read above is let go: only its key is kept (None once it was logged out, expired
        # or flushed for not matching the person any more), and it is read again from there when asked.
        return dict(scope, session=session_store(key), user=person)


def plainly(session_key: str) -> SignedInPerson | None:
    """The signed-in person for a live session in the plain case, or None for ``get_user`` to decide."""
    if settings.SESSION_ENGINE != DB_SESSIONS or list(settings.AUTHENTICATION_BACKENDS) != [MODEL_BACKEND]:
        return None
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT session_data FROM {quote(Session._meta.db_table)} "  # noqa: S608  # nosec B608
            "WHERE session_key = %s AND expire_date > %s",
            [session_key, connection.ops.adapt_datetimefield_value(timezone.now())],
        )
        row = cursor.fetchone()
        if row is None:
            return None
        data = import_module(DB_SESSIONS).SessionStore(session_key).decode(row[0])
        if data.get(BACKEND_SESSION_KEY) != MODEL_BACKEND or not data.get(HASH_SESSION_KEY):
            return None
        User = get_user_model()
        try:
            user_id = User._meta.pk.to_python(data[SESSION_KEY])
        except (KeyError, ValueError, TypeError, ValidationError):
            return None
        cursor.execute(
            f"SELECT password, is_active, pseudonym FROM {quote(User._meta.db_table)} WHERE id = %s",  # noqa: S608  # nosec B608
            [user_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    password, is_active, pseudonym = row
    expected = salted_hmac(HASH_SALT, password, algorithm="sha256").hexdigest()
    if not is_active or not constant_time_compare(data[HASH_SESSION_KEY], expected):
        return None
    return SignedInPerson(pk=user_id, pseudonym=pseudonym, is_active=True)
