"""A socket opens only on a live session, and keeps only what it uses while it stays open.

The handshake reads the session cookie, the session and the person in one step
(supportcircle.accounts.socket_auth); these scenes hold it to what Channels' own stack did.
"""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.protocol import CloseCode
from supportcircle.accounts.socket_auth import SessionAuthMiddleware, SignedInPerson, plainly
from tests.conftest import connected, on_every_database_thread

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def socket_with_cookie(session_key: str, slug: str) -> WebsocketCommunicator:
    from supportcircle.asgi import application

    cookie = f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()
    headers = [(b"host", b"testserver"), (b"origin", b"http://testserver"), (b"cookie", cookie)]
    return WebsocketCommunicator(application, f"/ws/groups/{slug}/", headers=headers)


async def closed_with(communicator: WebsocketCommunicator) -> int:
    is_open, _ = await communicator.connect()
    assert is_open  # accepted only to be closed with a code the client understands
    output = await communicator.receive_output(timeout=3)
    assert output["type"] == "websocket.close"
    await communicator.wait()
    return output["code"]


async def test_a_socket_on_an_expired_session_is_refused(channel_layer, group, member):
    session_key = await database_sync_to_async(signed_in_cookie)(member)
    await database_sync_to_async(Session.objects.filter(session_key=session_key).update)(
        expire_date=timezone.now() - timedelta(minutes=1)
    )
    assert await closed_with(socket_with_cookie(session_key, group.slug)) == CloseCode.NOT_LOGGED_IN


async def test_a_socket_on_a_logged_out_session_is_refused(channel_layer, group, member):
    browser = Client()
    await database_sync_to_async(browser.force_login)(member)
    session_key = browser.cookies[settings.SESSION_COOKIE_NAME].value
    await database_sync_to_async(browser.post)("/accounts/logout/")
    assert await closed_with(socket_with_cookie(session_key, group.slug)) == CloseCode.NOT_LOGGED_IN


async def test_a_socket_on_a_session_from_before_a_password_change_is_refused_and_that_session_ended(
    channel_layer, group, member
):
    session_key = await database_sync_to_async(signed_in_cookie)(member)
    member.set_password("a-new-calm-password-77")
    await database_sync_to_async(member.save)()
    assert await closed_with(socket_with_cookie(session_key, group.slug)) == CloseCode.NOT_LOGGED_IN
    # As Channels did: a session whose person no longer matches it is flushed, not left for next time.
    assert not await database_sync_to_async(Session.objects.filter(session_key=session_key).exists)()


async def test_a_socket_for_a_deactivated_person_is_refused(channel_layer, group, member):
    session_key = await database_sync_to_async(signed_in_cookie)(member)
    member.is_active = False
    await database_sync_to_async(member.save)()
    assert await closed_with(socket_with_cookie(session_key, group.slug)) == CloseCode.NOT_LOGGED_IN


async def test_a_socket_is_closed_with_4503_when_the_session_store_fails(channel_layer, group, member):
    session_key = await database_sync_to_async(signed_in_cookie)(member)

    def store_down(execute, sql, params, many, context):
        if "django_session" in sql:
            raise OperationalError("the session store is unavailable")
        return execute(sql, params, many, context)

    await on_every_database_thread(lambda: connection.execute_wrappers.append(store_down))
    try:
        assert await closed_with(socket_with_cookie(session_key, group.slug)) == CloseCode.SERVER_RESTARTING
    finally:
        await on_every_database_thread(lambda: connection.execute_wrappers.remove(store_down))


async def test_a_socket_opened_on_a_live_session_is_greeted(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        assert sam.ready["me"]["pseudonym"] == "Sam"


async def scope_seen_by_the_socket(cookie: str | None) -> dict:
    seen = {}

    async def socket(scope, receive, send):
        seen.update(scope)
        await receive()
        await send({"type": "websocket.close"})

    headers = [(b"host", b"testserver")] + ([(b"cookie", cookie.encode())] if cookie else [])
    communicator = WebsocketCommunicator(SessionAuthMiddleware(socket), "/ws/", headers=headers)
    await communicator.connect()
    await communicator.wait()
    return seen


async def test_an_open_socket_keeps_its_session_by_key_and_the_person_in_brief(member):
    session_key = await database_sync_to_async(signed_in_cookie)(member)
    scope = await scope_seen_by_the_socket(f"csrftoken=abc; {settings.SESSION_COOKIE_NAME}={session_key}")
    person = scope["user"]
    assert isinstance(person, SignedInPerson)
    assert (person.pk, person.pseudonym, person.is_active, person.is_authenticated) == (member.pk, "Sam", True, True)
    assert scope["session"].session_key == session_key
    # Neither the session's contents nor the User row stay in memory for as long as the socket is open.
    assert not hasattr(scope["session"], "_session_cache")
    assert not hasattr(person, "__dict__")


async def test_a_socket_without_a_session_cookie_is_anonymous(db):
    scope = await scope_seen_by_the_socket("csrftoken=abc")
    assert isinstance(scope["user"], AnonymousUser)
    assert scope["session"].session_key is None


def person_by_channels(session_key: str):
    from channels.auth import get_user

    return async_to_sync(get_user)({"session": SessionStore(session_key)})


def test_the_plain_read_finds_the_person_channels_finds(member):
    session_key = signed_in_cookie(member)
    by_channels = person_by_channels(session_key)
    with CaptureQueriesContext(connection) as queries:
        person = plainly(session_key)
    assert (person.pk, person.pseudonym, person.is_active) == (by_channels.pk, by_channels.pseudonym, True)
    assert len(queries.captured_queries) == 2  # the session row, the person


def test_the_plain_read_leaves_every_other_session_to_channels(member, second_member):
    # Each of these gets Channels' own answer (anonymous, and a flushed session where it flushes).
    expired = signed_in_cookie(member)
    Session.objects.filter(session_key=expired).update(expire_date=timezone.now() - timedelta(minutes=1))
    before_password_change = signed_in_cookie(member)
    member.set_password("a-brand-new-passphrase")
    member.save()
    deactivated = signed_in_cookie(second_member)
    second_member.is_active = False
    second_member.save(update_fields=["is_active"])
    tampered = signed_in_cookie(member)
    Session.objects.filter(session_key=tampered).update(session_data="not-a-signed-session")
    other_backend = SessionStore()
    other_backend.update(
        {SESSION_KEY: str(member.pk), BACKEND_SESSION_KEY: "some.other.Backend", HASH_SESSION_KEY: "x"}
    )
    other_backend.create()
    for key in (expired, before_password_change, deactivated, tampered, other_backend.session_key, "no-such-key"):
        assert plainly(key) is None, key
        assert not person_by_channels(key).is_authenticated, key


def test_with_another_authentication_backend_every_session_goes_to_channels(member, settings):
    session_key = signed_in_cookie(member)
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend", "some.other.Backend"]
    assert plainly(session_key) is None
