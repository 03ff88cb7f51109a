"""The cast every test can call on, so each test reads like a scene.

- ``member`` (Sam) and ``second_member`` (Alex): seated members of ``group``.
- ``facilitator`` (Robin): facilitates ``group``.
- ``outsider`` (Casey): signed up, but not in ``group``; refused in every permission test.
- ``another_group`` (Gentle Mornings): Lee facilitates, Jo and Kai are seated; nobody above is in it.
"""

from __future__ import annotations

import asyncio
import gc
import os
import uuid
from contextlib import asynccontextmanager, contextmanager

import channels.db
import pytest
from asgiref.sync import SyncToAsync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.core.signals import request_started
from django.db import close_old_connections
from django.test import Client, override_settings

from groups.actions import create_group, join_group
from supportcircle import db_threads
from supportcircle.accounts.models import User
from supportcircle.http import close_this_threads_connections
from tests.support.waiting import FRAME_PATIENCE

PASSWORD = "a-calm-test-password-42"
# Every person a test makes would be hashed with Argon2 (about 0.1 s of CPU each): the suite hashes
# with MD5 (settings.py's FAST_PASSWORD_HASHER, refused in production), and the servers it starts do
# too. A test about hashing itself asks for Argon2 with ``settings.PASSWORD_HASHERS``.
os.environ["FAST_PASSWORD_HASHER"] = "true"
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", "supportcircle.accounts.hashers.Argon2PasswordHasher"]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI") == "true"


def _patient_communicators() -> None:
    """Channels' test communicators give up after 1 s unless told otherwise: on a loaded machine a
    handshake or a frame can take longer, and a test would fail for nothing. Their waits are failure
    timeouts, so they get the suite's patience (tests/support/waiting.py) wherever a test names none.
    ``receive_nothing`` keeps its short window: it watches for an absence."""
    from asgiref.testing import ApplicationCommunicator as AsgirefCommunicator
    from channels.testing import ApplicationCommunicator, HttpCommunicator

    for owner, name in (
        (AsgirefCommunicator, "wait"),
        (AsgirefCommunicator, "receive_output"),
        (ApplicationCommunicator, "receive_output"),
        (HttpCommunicator, "get_response"),
        (WebsocketCommunicator, "connect"),
        (WebsocketCommunicator, "receive_from"),
        (WebsocketCommunicator, "receive_json_from"),
        (WebsocketCommunicator, "disconnect"),
    ):
        function = owner.__dict__[name]
        defaults = function.__defaults__
        names = function.__code__.co_varnames[: function.__code__.co_argcount][-len(defaults) :]
        function.__defaults__ = tuple(
            FRAME_PATIENCE if arg == "timeout" else default for arg, default in zip(names, defaults, strict=True)
        )


_patient_communicators()


def redis_reachable() -> bool:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:
        return False
    return True


def require_redis() -> None:
    if not redis_reachable():
        if IN_CI:
            pytest.fail(f"Redis must be reachable at {REDIS_URL} under CI=true")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        yield


@pytest.fixture(scope="session", autouse=True)
def database_threads_let_go_of_the_test_database(django_db_setup):
    """Sockets' database work runs on threads of their own (supportcircle/db_threads.py), each with a
    connection: closed before the test database is dropped, which PostgreSQL refuses while in use."""
    yield
    db_threads.close_connections()
    # Channels' database_sync_to_async runs on asgiref's one thread, whose connection outlives each test.
    SyncToAsync.single_thread_executor.submit(close_this_threads_connections).result(10)


@pytest.fixture(autouse=True)
def channels_closes_stale_connections_again():
    """Channels' test communicators swap its ``close_old_connections`` for a no-op while they wait; two
    sockets waiting at once can leave the no-op in place for good (each swap restores what it found), and
    Channels' database thread then kept its connection across tests, dead ones too. Put back after each."""
    yield
    channels.db.close_old_connections = close_old_connections


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem) -> None:
    """The second opinion answers a moment after a message posts, and acting on an answer writes rows
    (alerts, audit): a test's database is emptied only once the answers its messages caused are done
    (before its fixtures end), so no answer writes into the next test's."""
    from moderation import follow_up

    if not follow_up.wait_until_answered(timeout=30.0):
        follow_up.use_worker(follow_up._worker)  # stop waiting for this test's answers in the next ones


async def on_every_database_thread(func) -> None:
    """Run ``func`` on asgiref's database thread and on each of the sockets' database threads, e.g. to
    watch or break the statements a socket runs (each thread has its own connection)."""
    await database_sync_to_async(func)()
    await asyncio.to_thread(db_threads.run_on_each_thread, func)


def make_person(pseudonym: str, **extra) -> User:
    return User.objects.create_user(pseudonym, PASSWORD, **extra)


@pytest.fixture
def facilitator(db) -> User:
    return make_person("Robin")


@pytest.fixture
def member(db) -> User:
    return make_person("Sam")


@pytest.fixture
def second_member(db) -> User:
    return make_person("Alex")


@pytest.fixture
def outsider(db) -> User:
    return make_person("Casey")


@pytest.fixture
def group(db, facilitator, member, second_member):
    group = create_group(
        name="Quiet Harbour",
        facilitators=[facilitator],
        agreements=["What is shared here stays here.", "We listen with curiosity, not judgment."],
        description="A small group for everyday stress.",
        capacity=8,
    )
    join_group(member, group, accepted_version=1)
    join_group(second_member, group, accepted_version=1)
    group.refresh_from_db()
    return group


@pytest.fixture
def another_group(db):
    """ "Gentle Mornings": Lee facilitates; Jo and Kai are seated. Nobody from ``group`` is in it."""
    other = create_group(
        name="Gentle Mornings",
        facilitators=[make_person("Lee")],
        agreements=["What is shared here stays here."],
        description="Starting the day softly.",
        capacity=8,
    )
    other.jo, other.kai = make_person("Jo"), make_person("Kai")
    join_group(other.jo, other, accepted_version=1)
    join_group(other.kai, other, accepted_version=1)
    return other


@pytest.fixture(params=["memory", "redis"])
async def channel_layer(request, settings):
    """Run a socket test on the in-memory layer and on the real Redis pub/sub layer (as settings.py bounds them)."""
    if request.param == "redis":
        require_redis()
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "chat.layers.BoundedRedisPubSubChannelLayer",
                "CONFIG": {"hosts": [{"address": REDIS_URL}], "prefix": f"test-{uuid.uuid4().hex[:8]}"},
            }
        }
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "chat.layers.BoundedInMemoryChannelLayer"}}
    yield request.param
    layer = get_channel_layer()
    if request.param == "redis":
        # Close this test's Redis connections on the loop that opened them.
        await layer.flush()


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def socket_for(
    user: User | None, slug: str, *, origin: bytes | None = b"http://testserver", query: str = ""
) -> WebsocketCommunicator:
    from supportcircle.asgi import application

    headers = [(b"host", b"testserver")]
    if origin is not None:
        headers.append((b"origin", origin))
    if user is not None:
        headers.append((b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={session_cookie(user)}".encode()))
    path = f"/ws/groups/{slug}/" + (f"?{query}" if query else "")
    return WebsocketCommunicator(application, path, headers=headers)


class Socket:
    """A connected member's socket with small helpers for reading frames."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator

    async def send(self, frame: dict) -> None:
        await self.communicator.send_json_to(frame)

    async def send_text(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def receive(self, timeout: float = FRAME_PATIENCE) -> dict:
        return await self.communicator.receive_json_from(timeout=timeout)

    async def receive_until(self, frame_type: str, timeout: float = FRAME_PATIENCE) -> dict:
        while True:
            frame = await self.receive(timeout)
            if frame["type"] == frame_type:
                return frame

    async def nothing_more(self, timeout: float = 0.3) -> bool:
        return await self.communicator.receive_nothing(timeout=timeout)

    async def closed_with(self, timeout: float = FRAME_PATIENCE) -> int:
        while True:
            output = await self.communicator.receive_output(timeout)
            if output["type"] == "websocket.close":
                return output.get("code")


@asynccontextmanager
async def connected(user: User, slug: str, *, query: str = ""):
    """Open a socket as ``user``, read its ``ready`` and first ``history`` frames, and close it afterwards."""
    communicator = await database_sync_to_async(socket_for)(user, slug, query=query)
    is_open, _ = await communicator.connect()
    assert is_open
    socket = Socket(communicator)
    socket.ready = await socket.receive()
    assert socket.ready["type"] == "ready", socket.ready
    socket.history = await socket.receive()
    assert socket.history["type"] == "history"
    try:
        yield socket
    finally:
        # Closing runs the consumer's goodbye (presence, unsubscribing); give it time on a busy machine.
        await communicator.disconnect(timeout=5)


@contextmanager
def cycles_kept():
    """Everything the cyclic garbage collector finds while this runs, kept in ``gc.garbage`` to be looked
    at instead of freed; meanwhile the collector runs only when asked (``gc.collect()``)."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


@contextmanager
def counting_django_requests():
    """How many requests reached Django's own handler (its ``request_started`` signal) meanwhile."""
    started = []

    def count(**kwargs):
        started.append(1)

    request_started.connect(count)
    try:
        yield started
    finally:
        request_started.disconnect(count)
