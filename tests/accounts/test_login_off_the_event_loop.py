"""Logging in hashes the password with Argon2 (about a tenth of a second of CPU) once per attempt, and
never on the event loop: everyone else's sockets keep being served while someone logs in.

The login goes through the real ASGI application on this test's event loop, as under daphne, while a
1 ms ticker runs on the same loop; the same ticker runs alone first, so the figure is what the logins
add on this machine at this moment."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from channels.db import database_sync_to_async

from tests.conftest import PASSWORD
from tests.support.hashers import CountingArgon2PasswordHasher
from tests.support.logins import log_in

pytestmark = pytest.mark.django_db(transaction=True)

LOGINS = 4
ATTEMPTS = 5  # tries until one is clean; a passing run stops at the first
# What the logins may add to the longest wait of a 1 ms ticker (docs/security.md).
STALL_MS = 20


@pytest.fixture
def argon2(settings):
    settings.PASSWORD_HASHERS = ["tests.support.hashers.CountingArgon2PasswordHasher"]
    CountingArgon2PasswordHasher.threads = []
    return CountingArgon2PasswordHasher.threads


async def longest_tick_gap_ms(while_running) -> float:
    """The longest wait, beyond 1 ms, between ticks of a 1 ms ticker on this loop while ``while_running`` runs."""
    longest, running = 0.0, True

    async def tick() -> None:
        nonlocal longest
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest = max(longest, (now - last) * 1000 - 1)
            last = now

    ticker = asyncio.ensure_future(tick())
    try:
        await while_running()
    finally:
        running = False
        await ticker
    return longest


async def test_a_login_never_hashes_on_the_event_loop_nor_stalls_it(argon2, member, settings):
    await database_sync_to_async(member.set_password)(PASSWORD)
    await database_sync_to_async(member.save)()
    assert await log_in("Sam", PASSWORD) == 302  # the first request of a process loads what every page needs
    argon2.clear()
    loop_thread = threading.get_ident()

    async def logins() -> None:
        for _ in range(LOGINS):  # one after another: what one login costs everyone else
            assert await log_in("Sam", PASSWORD) == 302

    # A loaded machine stalls any thread now and then; a login that hashed on the loop (or starved it)
    # would stall it every time. So the figure is the best of a few tries, each against its own control.
    tries = []
    for _ in range(ATTEMPTS):
        argon2.clear()
        started = time.perf_counter()
        with_logins = await longest_tick_gap_ms(logins)
        elapsed = time.perf_counter() - started
        alone = await longest_tick_gap_ms(lambda seconds=elapsed: asyncio.sleep(seconds))
        assert len(argon2) == LOGINS and loop_thread not in argon2
        tries.append((with_logins - alone, with_logins, alone))
        if with_logins <= alone + STALL_MS:
            return
    pytest.fail(
        "logins stalled the loop in every try: " + "; ".join(f"{w:.1f} ms (alone {a:.1f} ms)" for _, w, a in tries)
    )


@pytest.mark.parametrize("who", ["Sam", "Nobody"])
async def test_a_wrong_password_is_hashed_once(argon2, member, who):
    await database_sync_to_async(member.set_password)(PASSWORD)
    await database_sync_to_async(member.save)()
    argon2.clear()
    assert await log_in(who, "not-the-password-at-all") == 200  # the form again, with its error
    assert len(argon2) == 1  # a pseudonym nobody has costs the same one hash (Django's own timing guard)
