"""Django's Argon2 password hasher, shaped for a server that must keep answering while people log in.

Argon2 is deliberately costly: Django's settings take about 100 MiB and a tenth of a second of CPU per
hash, spread over 8 threads (parallelism 8). Hashing already runs off the event loop (in the login
request's thread), but 8 hashing threads per login, a few logins at once, on a machine with two cores,
left the event loop's own thread waiting for a core for a quarter of a second at a time (measured:
tests/accounts/test_login_off_the_event_loop.py), and every open socket of the process with it.

So here a hash uses one lane (parallelism 1: the same work and memory, on one core), and at most one
hash per spare core runs at a time in a process (``PASSWORD_HASHING_AT_ONCE``, default: cores - 1, at
least 1); further logins wait their turn in their own threads. Hashes made with Django's settings still
verify, and are rehashed with these the next time their person logs in (Django's ``must_update``).
"""

from __future__ import annotations

import os
import threading

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher as DjangoArgon2PasswordHasher

_turns: threading.BoundedSemaphore | None = None
_made = threading.Lock()


def _hashing_turn() -> threading.BoundedSemaphore:
    global _turns
    if _turns is None:
        with _made:
            if _turns is None:
                at_once = getattr(settings, "PASSWORD_HASHING_AT_ONCE", 0) or max(1, (os.cpu_count() or 2) - 1)
                _turns = threading.BoundedSemaphore(at_once)
    return _turns


class Argon2PasswordHasher(DjangoArgon2PasswordHasher):
    parallelism = 1

    def encode(self, password, salt):
        with _hashing_turn():
            return super().encode(password, salt)

    def verify(self, password, encoded):
        with _hashing_turn():
            return super().verify(password, encoded)
