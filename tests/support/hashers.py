"""Production's Argon2 hasher (supportcircle.accounts.hashers), noting on which thread each password is
hashed or checked, and that thread's database connection (its wrapper: ``.connection`` is None while
it holds none)."""

from __future__ import annotations

import threading

from django.db import connections

from supportcircle.accounts.hashers import Argon2PasswordHasher


class CountingArgon2PasswordHasher(Argon2PasswordHasher):
    threads: list[int] = []
    connections: list = []

    def encode(self, password, salt):
        self._note()
        return super().encode(password, salt)

    def verify(self, password, encoded):
        self._note()
        return super().verify(password, encoded)

    def _note(self) -> None:
        self.threads.append(threading.get_ident())
        self.connections.append(connections["default"])
