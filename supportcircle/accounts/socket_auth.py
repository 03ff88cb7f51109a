"""Who opened a WebSocket: Channels' own cookie, session and authentication middleware, deciding whose
session it is with ``session_owners``, the one answer every open socket re-checks against.

Channels 4.3's ``get_user`` differs from Django's in two ways that matter to a socket: it ignores
``SECRET_KEY_FALLBACKS`` (after a key rotation every socket would be refused, and the session
flushed, while pages still work), and Django's own would cycle the session key of such a session,
which a socket cannot hand back to the browser as a cookie. ``session_owners`` honours the fallbacks
and changes nothing.
"""

from __future__ import annotations

from channels.auth import AuthMiddleware
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.contrib.auth.models import AnonymousUser

from supportcircle.db_threads import db

from .sessions import session_people


def person_for(session_key: str | None):
    """The signed-in person whose live session this is, or AnonymousUser (two queries)."""
    return (session_people([session_key]).get(session_key) if session_key else None) or AnonymousUser()


class SessionOwnerAuthMiddleware(AuthMiddleware):
    async def resolve_scope(self, scope):
        # On the sockets' database threads: an arrival never waits behind another thread's work.
        scope["user"]._wrapped = await db(person_for)(scope["session"].session_key)


def SessionAuthStack(inner):  # noqa: N802 (named like Channels' AuthMiddlewareStack)
    return CookieMiddleware(SessionMiddleware(SessionOwnerAuthMiddleware(inner)))
