"""Keeping open sockets honest about the session that opened them.

Channels reads the session once, at the handshake. Without this module a socket
would outlive a logout, a password change, a deactivation or an account
deletion. Two defences, so that one dropped signal never leaves a socket open:

1. Push: ``signals.py`` sends ``access.revoked`` to the person's sockets after
   commit (every socket joins ``user.<id>``; a logout's names the session's
   digest, and only that session's sockets close).
2. Pull: :class:`SessionGuard` re-reads the session on every inbound frame and,
   at most every ``RECHECK_SECONDS``, before delivering to the socket.
"""

from __future__ import annotations

import hashlib
import random
import time
from importlib import import_module
from types import SimpleNamespace

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user

# How stale an outbound delivery's authorization may be, at most.
RECHECK_SECONDS = 2.0


def session_digest(session_key: str) -> str:
    """What names a session in a revocation sent through Redis.

    A digest, not the key: what passes through Redis must never reveal a usable session.
    """
    return hashlib.sha256(session_key.encode()).hexdigest()[:40]


def session_user_id(session_key: str | None) -> int | None:
    """Whose session this still is: None once it was logged out, expired, or its person can no longer log in.

    Django's own ``get_user`` does the checking, so a password change (which
    changes the session auth hash) or a deactivation counts exactly as it does
    for pages.
    """
    if not session_key:
        return None
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(SimpleNamespace(session=store))
    return user.pk if user.is_authenticated else None


class SessionGuard:
    """What a socket checks before it reads, writes or delivers on a person's behalf."""

    def __init__(self, scope: dict, user_id: int) -> None:
        session = scope.get("session")
        self.session_key = getattr(session, "session_key", None)
        self.user_id = user_id
        self.checked_at = time.monotonic()

    def opened_with(self, digest: str) -> bool:
        """Whether this socket was opened with the session of this digest (:func:`session_digest`)."""
        return bool(self.session_key) and session_digest(self.session_key) == digest

    async def still_valid(self) -> bool:
        valid = await database_sync_to_async(session_user_id)(self.session_key) == self.user_id
        self.checked_at = time.monotonic()
        return valid

    def due(self) -> bool:
        # Each socket waits between half and all of RECHECK_SECONDS, drawn afresh after every check,
        # so a room's sockets drift apart instead of all coming due on the same message (in a room of
        # 500 that made one delivery in every few wait for 500 re-checks at once).
        return time.monotonic() - self.checked_at >= RECHECK_SECONDS * self.spread

    @property
    def checked_at(self) -> float:
        return self._checked_at

    @checked_at.setter
    def checked_at(self, moment: float) -> None:
        self._checked_at = moment
        # Spreading load, not a secret: the random module is the right tool here.
        self.spread = random.uniform(0.5, 1.0)  # noqa: S311  # nosec B311
