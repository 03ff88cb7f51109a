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
"""

from __future__ import annotations

from importlib import import_module

from channels.auth import get_user
from django.conf import settings
from django.http import parse_cookie


class SignedInPerson:
    """The signed-in person a socket belongs to, as the handshake found them: the chat reads ``pk``,
    ``pseudonym``, ``is_active`` and ``is_authenticated`` (``chat.actions.open_chat``). Not a model:
    a socket that needs more of the person loads it by ``pk``, fresh."""

    __slots__ = ("pk", "pseudonym", "is_active")

    is_authenticated = True
    is_anonymous = False

    def __init__(self, user) -> None:
        self.pk = user.pk
        self.pseudonym = user.pseudonym
        self.is_active = user.is_active

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
        session = session_store(session_key_from(scope))
        user = await get_user({"session": session})
        # The session as read above is let go: only its key is kept (None once it was logged out, expired
        # or flushed for not matching the person any more), and it is read again from there when asked.
        return dict(
            scope,
            session=session_store(session.session_key),
            user=SignedInPerson(user) if user.is_authenticated else user,
        )
