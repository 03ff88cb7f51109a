"""A socket never outlives the session or the standing that opened it.

Channels reads the session once, at the handshake. Logging out, changing a
password, being deactivated, banned or removed closes the person's sockets
at once (push), and every inbound frame and, as a backstop every 15-30 s, every
outbound delivery re-checks (pull), so a dropped signal leaves nothing open.

The sockets below are idle (no frame in, no delivery out), so nothing but the push can close them:
their closing at all shows it. How soon is the bench's to measure; a test's wait only gives up.
"""

import asyncio
import threading
import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from chat import recheck
from chat.actions import post_message
from chat.models import Message
from chat.protocol import CloseCode
from chat.recheck import verdicts
from groups.models import Membership, MembershipState
from supportcircle.accounts import sessions
from tests.conftest import PASSWORD, Socket, connected
from tests.support.waiting import PATIENCE

pytestmark = pytest.mark.django_db(transaction=True)


def logged_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def open_socket_for(client: Client, slug: str) -> Socket:
    """A socket opened by the browser whose session ``client`` holds."""
    from supportcircle.asgi import application

    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    communicator = WebsocketCommunicator(
        application,
        f"/ws/groups/{slug}/",
        headers=[(b"host", b"testserver"), (b"origin", b"http://testserver"), (b"cookie", cookie.encode())],
    )
    is_open, _ = await communicator.connect()
    assert is_open
    socket = Socket(communicator)
    assert (await socket.receive())["type"] == "ready"
    assert (await socket.receive())["type"] == "history"
    return socket


async def test_logging_out_closes_that_browsers_sockets(channel_layer, group, member):
    browser = await database_sync_to_async(logged_in_client)(member)
    socket = await open_socket_for(browser, group.slug)
    response = await database_sync_to_async(browser.post)("/accounts/logout/")
    assert response.status_code == 302
    assert await socket.closed_with() == CloseCode.NOT_LOGGED_IN


async def test_logging_out_on_one_device_leaves_the_other_device_connected(channel_layer, group, member):
    laptop = await database_sync_to_async(logged_in_client)(member)
    phone = await database_sync_to_async(logged_in_client)(member)
    laptop_socket = await open_socket_for(laptop, group.slug)
    phone_socket = await open_socket_for(phone, group.slug)
    await database_sync_to_async(laptop.post)("/accounts/logout/")
    assert await laptop_socket.closed_with() == CloseCode.NOT_LOGGED_IN
    await phone_socket.send({"type": "ping"})
    assert (await phone_socket.receive())["type"] == "pong"
    await phone_socket.communicator.disconnect()


async def test_changing_the_password_closes_every_socket(channel_layer, group, member):
    laptop = await database_sync_to_async(logged_in_client)(member)
    phone = await database_sync_to_async(logged_in_client)(member)
    laptop_socket = await open_socket_for(laptop, group.slug)
    phone_socket = await open_socket_for(phone, group.slug)
    response = await database_sync_to_async(laptop.post)(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-calm-password-77",
            "new_password2": "a-new-calm-password-77",
        },
    )
    assert response.status_code == 302
    assert await laptop_socket.closed_with() == CloseCode.NOT_LOGGED_IN
    assert await phone_socket.closed_with() == CloseCode.NOT_LOGGED_IN


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "send", "client_id": "after-logout", "body": "Is this still me?"},
        {"type": "backfill", "after_seq": 0},
        {"type": "read", "seq": 0},
    ],
    ids=lambda frame: frame["type"],
)
async def test_a_session_ended_without_any_signal_is_refused_on_the_next_frame(channel_layer, group, member, frame):
    async with connected(member, group.slug) as socket:
        # As if the logout's signal were lost: the session row just disappears.
        await database_sync_to_async(Session.objects.all().delete)()
        await socket.send(frame)
        assert await socket.closed_with() == CloseCode.NOT_LOGGED_IN
    assert not await database_sync_to_async(Message.objects.filter(client_id="after-logout").exists)()


async def test_a_ping_after_a_session_ended_without_any_signal_is_refused_at_its_next_recheck(
    channel_layer, group, member, monkeypatch
):
    """A ping only asks for the newest seq: it re-checks every few seconds, as deliveries do."""
    monkeypatch.setattr(sessions, "RECHECK_SECONDS", 0)
    async with connected(member, group.slug) as socket:
        await database_sync_to_async(Session.objects.all().delete)()
        await socket.send({"type": "ping"})
        assert await socket.closed_with() == CloseCode.NOT_LOGGED_IN


async def test_a_session_ended_without_any_signal_receives_nothing_more(
    channel_layer, group, member, second_member, monkeypatch
):
    monkeypatch.setattr(sessions, "RECHECK_SECONDS", 0)
    async with connected(member, group.slug) as socket:
        await database_sync_to_async(Session.objects.all().delete)()
        await database_sync_to_async(post_message)(second_member.pk, group.pk, client_id="a1", body="Are you there?")
        assert await socket.closed_with() == CloseCode.NOT_LOGGED_IN


async def test_a_ban_written_without_any_signal_stops_delivery(
    channel_layer, group, member, second_member, monkeypatch
):
    monkeypatch.setattr(sessions, "RECHECK_SECONDS", 0)
    async with connected(member, group.slug) as socket:
        await database_sync_to_async(Membership.objects.filter(user=member, group=group).update)(
            state=MembershipState.BANNED
        )
        await database_sync_to_async(post_message)(second_member.pk, group.pk, client_id="a1", body="Hello, all.")
        assert await socket.closed_with() == CloseCode.BANNED


async def test_a_removal_written_without_any_signal_is_refused_on_the_next_frame(channel_layer, group, member):
    async with connected(member, group.slug) as socket:
        await database_sync_to_async(Membership.objects.filter(user=member, group=group).update)(
            state=MembershipState.REMOVED
        )
        await socket.send({"type": "send", "client_id": "s1", "body": "Still here?"})
        assert await socket.closed_with() == CloseCode.MEMBERSHIP_ENDED


async def test_a_password_changed_elsewhere_without_a_signal_is_refused_on_the_next_frame(channel_layer, group, member):
    async with connected(member, group.slug) as socket:
        # A raw UPDATE sends no signal, but the session's auth hash no longer matches.
        await database_sync_to_async(type(member).objects.filter(pk=member.pk).update)(password="argon2$changed")
        await socket.send({"type": "backfill", "after_seq": 0})
        assert await socket.closed_with() == CloseCode.NOT_LOGGED_IN


async def test_a_ban_written_without_any_signal_stops_every_kind_of_delivery(
    channel_layer, group, member, second_member, monkeypatch
):
    monkeypatch.setattr(sessions, "RECHECK_SECONDS", 0)
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await database_sync_to_async(Membership.objects.filter(user=member, group=group).update)(
            state=MembershipState.BANNED
        )
        await alex.send({"type": "typing"})  # not a message: presence-like events are checked too
        assert await sam.closed_with() == CloseCode.BANNED


class SessionsClock:
    """The time as the socket's session guard sees it, moved on without waiting."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.ahead


class HeldRecheck:
    """The real re-check, held in its database thread until released."""

    def __init__(self) -> None:
        self.reading, self.release = threading.Event(), threading.Event()

    def __call__(self, keys):
        self.reading.set()
        self.release.wait(PATIENCE)
        return verdicts(keys)


async def test_a_delivery_due_for_a_recheck_does_not_wait_for_it_and_the_refusal_it_brings_closes_the_socket(
    channel_layer, group, member, second_member, monkeypatch
):
    """With the database a network hop away a re-check takes several round trips: a delivery whose last
    answer is a second or so old goes out on it (it is younger than RECHECK_SECONDS) while the next is
    asked for beside it, and what that one finds closes the socket when it comes."""
    clock, held = SessionsClock(), HeldRecheck()
    monkeypatch.setattr(sessions, "time", clock)
    monkeypatch.setattr(recheck, "verdicts", held)
    async with connected(member, group.slug) as sam:
        await database_sync_to_async(Membership.objects.filter(user=member, group=group).update)(
            state=MembershipState.BANNED
        )
        clock.ahead = sessions.RECHECK_SECONDS * 0.8  # due for a re-check, not yet too old to deliver on
        await database_sync_to_async(post_message)(second_member.pk, group.pk, client_id="a1", body="Evening, all.")
        assert (await sam.receive_until("message"))["message"]["body"] == "Evening, all."
        assert await asyncio.get_running_loop().run_in_executor(None, held.reading.wait, PATIENCE)
        held.release.set()
        assert await sam.closed_with() == CloseCode.BANNED
