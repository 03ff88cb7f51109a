"""Production's Argon2 hasher (supportcircle.accounts.hashers), noting on which thread each password is
hashed or checked."""

from __future__ import annotations

import threading

from supportcircle.accounts.hashers import Argon2PasswordHasher


class CountingArgon2PasswordHasher(Argon2PasswordHasher):
    threads: list[int] = []

    def encode(self, password, salt):
        self.threads.append(threading.get_ident())
        return super().encode(password, salt)

    def verify(self, password, encoded):
        self.threads.append(threading.get_ident())
        return super().verify(password, encoded)
