"""Random strings for session keys and CSRF secrets, drawn from the operating system in one read.

Django's ``get_random_string`` draws each character with ``secrets.choice``: one ``os.urandom``
call, and a system call, per character. A login draws two strings of 32 (the new session's key and
the new CSRF secret), about 75 µs each here: 3% of the server's time for a login and its socket in
a crowd arriving at once. :func:`random_string` reads the bytes it needs in one call and keeps
those below the largest multiple of the alphabet's size (rejection sampling), so each character is
as uniform and as unpredictable as Django's. tests/security/test_random_strings.py holds it to that.

:func:`use_for_django` points Django's CSRF middleware and session stores at it (the accounts
app does, at start-up); anything else that calls Django's own is unchanged.
"""

from __future__ import annotations

import os

from django.utils.crypto import RANDOM_STRING_CHARS
from django.utils.crypto import get_random_string as djangos_random_string


def random_string(length: int, allowed_chars: str = RANDOM_STRING_CHARS) -> str:
    """``length`` characters, each drawn uniformly from ``allowed_chars`` (as Django's)."""
    size = len(allowed_chars)
    if not 0 < size <= 256:
        return djangos_random_string(length, allowed_chars)
    # Bytes at or above ``keep_below`` would favour the first characters: they are drawn again.
    keep_below = 256 - 256 % size
    chars: list[str] = []
    while len(chars) < length:
        wanted = length - len(chars)
        # A little more than needed, so one read almost always does (at worst 1 byte in 2 is redrawn).
        for byte in os.urandom(wanted + wanted // 4 + 4):
            if byte < keep_below:
                chars.append(allowed_chars[byte % size])
                if len(chars) == length:
                    break
    return "".join(chars)


def use_for_django() -> None:
    """Django's CSRF secrets and masks, and its session keys, drawn with :func:`random_string`."""
    from django.contrib.sessions.backends import base as session_base
    from django.middleware import csrf

    csrf.get_random_string = random_string
    session_base.get_random_string = random_string
