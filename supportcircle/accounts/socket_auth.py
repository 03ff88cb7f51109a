"""Who opened a WebSocket: Channels' own cookie and session middleware find the session; whose it is is
decided with ``session_owners``' rule (supportcircle.accounts.sessions: ``signs_in``), the one answer every
open socket re-checks against, in the socket's first trip to the database (chat.opening.admit), where the
person is read beside the group and membership. (Channels' AuthMiddleware took a trip of its own for the
person first: a thread hop and a pooled connection taken and given back more for every socket.)

Channels 4.3's ``get_user`` differs from Django's in two ways that matter to a socket: it ignores
``SECRET_KEY_FALLBACKS`` (after a key rotation every socket would be refused, and the session
flushed, while pages still work), and Django's own would cycle the session key of such a session,
which a socket cannot hand back to the browser as a cookie. ``session_owners`` honours the fallbacks
and changes nothing.
"""

from __future__ import annotations

from channels.sessions import CookieMiddleware, SessionMiddleware


def session_key_of(scope) -> str | None:
    """The session key the socket's cookie names (Channels' SessionMiddleware), or None."""
    session = scope.get("session")
    return getattr(session, "session_key", None)


def SocketSessionStack(inner):  # noqa: N802 (named like Channels' SessionMiddlewareStack)
    return CookieMiddleware(SessionMiddleware(inner))
