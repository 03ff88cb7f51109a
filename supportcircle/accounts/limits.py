"""Rate limits on logging in and signing up, with a kind message and a retry time.

Counted in the database, so they hold across server processes and restarts.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import Attempt


@dataclass(frozen=True)
class Limit:
    attempts: int
    window: timedelta


def login_limit() -> Limit:
    attempts, seconds = getattr(settings, "LOGIN_LOCKOUT", (5, 15 * 60))
    return Limit(attempts, timedelta(seconds=seconds))


def signup_limit() -> Limit:
    attempts, seconds = getattr(settings, "SIGNUP_LIMIT", (5, 60 * 60))
    return Limit(attempts, timedelta(seconds=seconds))


def recovery_limit() -> Limit:
    """Recovery emails asked for, per address and per email typed: nobody's inbox can be flooded."""
    attempts, seconds = getattr(settings, "RECOVERY_LIMIT", (3, 60 * 60))
    return Limit(attempts, timedelta(seconds=seconds))


def seconds_to_wait(times: list[datetime], now: datetime, limit: Limit) -> int:
    """How long until one more attempt is allowed (0: now). ``times``: the attempts in the window, any order."""
    recent = sorted(moment for moment in times if moment > now - limit.window)
    if len(recent) < limit.attempts:
        return 0
    free_at = recent[-limit.attempts] + limit.window
    return max(1, math.ceil((free_at - now).total_seconds()))


def in_words(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    if minutes <= 1:
        return "a minute"
    return f"{minutes} minutes"


def digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def client_address(request) -> str:
    """The address the request came from, as login and sign-up limits count it.

    The peer's own address, unless the peer is one of ``settings.TRUSTED_PROXIES`` (nginx): then the
    nearest address in its X-Forwarded-For that is not a trusted proxy, read from the right, since
    whatever stands left of what the proxies added is whatever the client chose to send. Without
    this every person behind the proxy would share the proxy's one address (and one limit); with it
    for any peer, anyone could name a new address on each try and never be limited.
    """
    peer = request.META.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXIES
    if not trusted or not _is_among(peer, trusted):
        return peer
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_among(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _is_among(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def wait_for(kind: str, key: str, limit: Limit) -> int:
    return standing(kind, key, limit)[0]


def standing(kind: str, key: str, limit: Limit) -> tuple[int, bool]:
    """``wait_for``'s answer, and whether any attempt of this key is recorded at all (whether ``forget``
    has anything to do), in one plain query while nobody is near the limit."""
    now = timezone.now()
    since = now - limit.window
    table = connection.ops.quote_name(Attempt._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), SUM(CASE WHEN at > %s THEN 1 ELSE 0 END) FROM {table} WHERE kind = %s AND key = %s",  # noqa: S608  # nosec B608
            [connection.ops.adapt_datetimefield_value(since), kind, key],
        )
        recorded, recent = cursor.fetchone()
    if (recent or 0) < limit.attempts:
        return 0, recorded > 0
    times = list(Attempt.objects.filter(kind=kind, key=key, at__gt=since).values_list("at", flat=True))
    return seconds_to_wait(times, now, limit), True


def _any_attempts(kind: str, key: str) -> bool:
    table = connection.ops.quote_name(Attempt._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE kind = %s AND key = %s LIMIT 1", [kind, key])  # noqa: S608  # nosec B608
        return cursor.fetchone() is not None


def record(kind: str, key: str, limit: Limit) -> None:
    now = timezone.now()
    Attempt.objects.filter(kind=kind, at__lt=now - limit.window).delete()
    Attempt.objects.create(kind=kind, key=key, at=now)


def forget(kind: str, key: str) -> None:
    # Most logins have nothing to forget: look first, and take the write lock only when there is.
    if _any_attempts(kind, key):
        Attempt.objects.filter(kind=kind, key=key).delete()


def login_key(pseudonym: str, request) -> str:
    return digest("login", pseudonym.strip().lower(), client_address(request))


def signup_key(request) -> str:
    return digest("signup", client_address(request))


def recovery_keys(request, email: str) -> list[str]:
    return [digest("recovery", client_address(request)), digest("recovery-email", email.strip().lower())]
