"""People logging in never hold up the people already chatting.

Each login costs an Argon2 hash (a tenth of a second of CPU or more, and a wait for its turn when many
log in at once). The hashes run in processes of their own at a lower priority than the server's, and a
login waiting for its turn or its hash holds no database connection, so a member's messages keep being
acknowledged while a crowd logs in (the bench's login storm measures how promptly)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password

from supportcircle.accounts import hashers
from supportcircle.accounts.models import Attempt, User
from tests.conftest import PASSWORD, connected
from tests.support.hashers import CountingArgon2PasswordHasher
from tests.support.logins import log_in, submit_login
from tests.support.waiting import eventually_async

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
    lanes = hashers.hashing_lanes()
    taken = [lanes.take(wait=1) for _ in range(hashers.hashing_at_once())]  # every hashing process busy
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
        for lane in taken:
            lanes.give_back(lane)
    assert await login == 302


async def test_a_login_that_waits_too_long_for_its_turn_is_asked_kindly_to_try_again(argon2, newcomers, settings):
    """In the bench's full login storm, logins waited in an endless line and the page hung until the load
    generator gave up after a minute (nginx answers a 504 then). Now the wait is bounded, and the person
    sees the login form again with a kind word, their pseudonym kept; it is not counted as a failed try."""
    settings.PASSWORD_HASHING_WAIT = 1
    lanes = hashers.hashing_lanes()
    taken = [lanes.take(wait=1) for _ in range(hashers.hashing_at_once())]  # everyone else's hashes running
    try:
        started = time.monotonic()
        response = await submit_login(newcomers[0], PASSWORD)
        waited = time.monotonic() - started
    finally:
        for lane in taken:
            lanes.give_back(lane)
    assert response["status"] == 503
    assert (b"Retry-After", str(hashers.RETRY_AFTER_SECONDS).encode()) in response["headers"]
    page = response["body"].decode()
    assert "Lots of people are signing in right now" in page
    assert "Please try again in a moment." in page
    assert f'value="{newcomers[0]}"' in page
    assert waited < 10  # told within the bound, not left hanging
    assert not await Attempt.objects.filter(kind=Attempt.Kind.FAILED_LOGIN).aexists()  # not counted as a wrong try
    assert await log_in(newcomers[0], PASSWORD) == 302  # and trying again a moment later works


def test_a_sign_up_that_waits_too_long_for_its_turn_is_asked_to_send_it_again(argon2, client, settings):
    """Any other form that hashes a password gets a kind page too, never a server error, and nothing is saved."""
    settings.PASSWORD_HASHING_WAIT = 1
    lanes = hashers.hashing_lanes()
    taken = [lanes.take(wait=1) for _ in range(hashers.hashing_at_once())]
    try:
        response = client.post(
            "/accounts/signup/",
            {"pseudonym": "River", "password1": "soft-light-harbour-7", "password2": "soft-light-harbour-7"},
        )
    finally:
        for lane in taken:
            lanes.give_back(lane)
    assert response.status_code == 503
    assert response["Retry-After"] == str(hashers.RETRY_AFTER_SECONDS)
    assert "Lots of people are signing in right now" in response.content.decode()
    assert not User.objects.filter(pseudonym="River").exists()


def waiting_in_line(lanes, name: str, order: list, gave_up: list) -> threading.Thread:
    """A request that waits for a lane (up to 5 s), notes its name when it gets one, and hands it back."""

    def wait_for_a_lane() -> None:
        try:
            lane = lanes.take(wait=5)
        except hashers.HashingBusy:
            gave_up.append(name)
            return
        order.append(name)
        lanes.give_back(lane)

    thread = threading.Thread(target=wait_for_a_lane)
    thread.start()
    return thread


def wait_until(condition) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "the line never got there"
        time.sleep(0.005)


def test_logins_take_their_turns_in_the_order_they_came():
    """First come, first checked: with a bounded wait, a line that let late-comers barge in would turn
    away whoever happened to lose each race, however long they had waited."""
    lanes = hashers.HashingLanes(1)
    busy = lanes.take(wait=1)
    order, gave_up, threads = [], [], []
    for n, name in enumerate(["Ada", "Ben", "Cai", "Dee"], start=1):
        threads.append(waiting_in_line(lanes, name, order, gave_up))
        wait_until(lambda n=n: lanes.waiting == n)
    lanes.give_back(busy)
    for thread in threads:
        thread.join(5)
    assert order == ["Ada", "Ben", "Cai", "Dee"]
    assert not gave_up


def test_a_request_that_stopped_waiting_leaves_the_line():
    """Its person has been told to try again: the lane goes to the next in line, or back to the free ones,
    never to a request that has already answered (before, a request whose page had given up was still
    hashed later, in front of people still waiting)."""
    lanes = hashers.HashingLanes(1)
    busy = lanes.take(wait=1)
    with pytest.raises(hashers.HashingBusy) as busy_error:
        lanes.take(wait=0.05)
    assert busy_error.value.retry_after == hashers.RETRY_AFTER_SECONDS
    assert lanes.waiting == 0
    lanes.give_back(busy)
    started = time.monotonic()
    lanes.give_back(lanes.take(wait=1))  # free at once
    assert time.monotonic() - started < 0.5


def hashing_process() -> int:
    """This process's one hashing process (a lane keeps its process between hashes), found in /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:  # not a process, or gone meanwhile
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and b"serve_hashes" in command:
            found.append(int(entry.name))
    [pid] = found
    return pid


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the hashing process in Linux's /proc")
async def test_passwords_are_hashed_in_a_session_of_their_own_below_the_server(argon2, newcomers):
    """When a hash and the chat want the same core, the chat comes first, and so do PostgreSQL and Redis:
    Linux weighs priorities within a scheduling group (a session's autogroup, or a cgroup), so the hash
    runs in a process that leads a session of its own, and both run at a lower priority than the server."""
    assert await log_in(newcomers[0], PASSWORD) == 302
    pid = hashing_process()
    assert pid != os.getpid()
    assert os.getsid(pid) == pid != os.getsid(0)  # it leads a session of its own
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(os.getpriority(os.PRIO_PROCESS, 0) + hashers.NICENESS, 19)
    autogroup = Path(f"/proc/{pid}/autogroup")
    if autogroup.exists():  # Linux with autogroups: the session's group as a whole gives way
        assert autogroup.read_text().strip().endswith(f" nice {hashers.NICENESS}")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the hashing process in Linux's /proc")
async def test_logins_go_on_when_a_hashing_process_dies(argon2, newcomers):
    """A hashing process killed (by the out-of-memory killer, say) takes no login down with it: the next
    login's hash starts a new process."""
    assert await log_in(newcomers[0], PASSWORD) == 302
    gone = hashing_process()
    os.kill(gone, signal.SIGKILL)
    assert await log_in(newcomers[1], PASSWORD) == 302
    assert hashing_process() != gone
