"""People logging in never hold up the people already chatting.

Each login costs an Argon2 hash (a tenth of a second of CPU or more, and a wait for its turn when many
log in at once). The hashes run on threads of their own at a lower priority than the server's, and a
login waiting for its turn or its hash holds no database connection, so a member's messages keep being
acknowledged while a crowd logs in (the bench's login storm measures how promptly)."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest
from django.contrib.auth.hashers import make_password

from supportcircle.accounts import hashers
from supportcircle.accounts.models import User
from tests.conftest import PASSWORD, connected
from tests.support.hashers import CountingArgon2PasswordHasher
from tests.support.logins import log_in
from tests.support.waiting import PATIENCE, eventually_async

pytestmark = pytest.mark.django_db(transaction=True)

LOGINS = 6


@pytest.fixture
def argon2(settings):
    settings.PASSWORD_HASHERS = ["tests.support.hashers.CountingArgon2PasswordHasher"]
    CountingArgon2PasswordHasher.threads = []
    CountingArgon2PasswordHasher.connections = []
    return CountingArgon2PasswordHasher


@pytest.fixture
def newcomers(argon2) -> list[str]:
    """People about to log in, all with the same Argon2 password (hashed once, here)."""
    password = make_password(PASSWORD)
    people = [User.objects.create_user(f"Newcomer {n}") for n in range(LOGINS)]  # no password yet: no hashing
    User.objects.filter(pk__in=[p.pk for p in people]).update(password=password)
    argon2.threads.clear()
    return [p.pseudonym for p in people]


async def chat_while(socket, logins_running) -> int:
    """A message every 50 ms or so (a lively room), each after the last one's ack, until ``logins_running``
    is done; how many were sent (each one acknowledged, in order)."""
    sent = 0
    while not logins_running.done():
        await asyncio.sleep(0.05)
        sent += 1
        await socket.send({"type": "send", "client_id": f"storm-{sent}", "body": f"Still here ({sent})."})
        seen = []
        while not seen or seen[-1].get("type") != "ack":
            try:
                seen.append(await socket.receive())
            except TimeoutError:
                raise AssertionError(f"no acknowledgement for message {sent}; meanwhile: {seen}") from None
        assert seen[-1]["client_id"] == f"storm-{sent}"
    return sent


async def test_a_member_keeps_getting_acknowledgements_while_others_log_in(
    channel_layer, argon2, newcomers, group, member, settings
):
    """How promptly is the bench's (the login storm); here: nothing is lost or refused meanwhile."""
    settings.CHAT_RATE_LIMIT = (1_000, 10)  # one member stands in for a lively room
    async with connected(member, group.slug) as sam:
        argon2.threads.clear()  # from here on, only the newcomers'
        logins = asyncio.ensure_future(asyncio.gather(*(log_in(who, PASSWORD) for who in newcomers)))
        sent = await chat_while(sam, logins)  # each message acknowledged, in order
    assert await logins == [302] * LOGINS  # everyone got in
    assert len(argon2.threads) == LOGINS  # each password checked once
    assert sent >= 1


async def test_a_login_waiting_for_its_turn_holds_no_database_connection(argon2, newcomers, group, member):
    """With Django's connection pool, logins that held their connections while they waited to be hashed
    took every pooled connection, and the chat's database work waited behind them for seconds."""
    release = threading.Event()
    lanes = hashers.hashing_lanes()
    busy = [lanes.submit(release.wait, PATIENCE) for _ in range(hashers.hashing_at_once())]
    argon2.connections.clear()  # from here on, only the login's
    login = asyncio.ensure_future(log_in(newcomers[0], PASSWORD))
    try:
        await eventually_async(lambda: argon2.connections, what="the login never reached the password check")
        waiting = argon2.connections[0]  # the login request's own connection (looked the newcomer up)
        await eventually_async(
            lambda: waiting.connection is None, what="the login kept its database connection while it waited"
        )
        async with connected(member, group.slug) as sam:  # meanwhile the chat goes on
            await sam.send({"type": "send", "client_id": "meanwhile", "body": "Anyone around?"})
            assert (await sam.receive_until("ack"))["client_id"] == "meanwhile"
        assert not login.done()  # still waiting for its turn
    finally:
        release.set()
        for job in busy:
            job.result(PATIENCE)
    assert await login == 302


async def test_passwords_are_hashed_at_a_lower_priority_than_the_server():
    """When a hash and the server want the same core, deliveries and acknowledgements come first."""

    def priority() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    hashed_at = await asyncio.wrap_future(hashers.hashing_lanes().submit(priority))
    assert hashed_at == priority() + hashers.NICENESS
