"""A socket opens only on a live session (Channels' own session and authentication middleware), and
open sockets re-check whose session they hold with ``session_owners``, the one function that answers
it for them: these scenes hold it to the answer Django and Channels give."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.protocol import CloseCode
from supportcircle.accounts.sessions import session_belongs_to, session_owners
from tests.conftest import connected, on_every_database_thread
from tests.support.waiting import FRAME_PATIENCE

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
    output = await communicator.receive_output(timeout=FRAME_PATIENCE)
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


async def test_a_socket_on_a_session_from_before_a_password_change_is_refused(channel_layer, group, member):
    session_key = await database_sync_to_async(signed_in_cookie)(member)
    member.set_password("a-new-calm-password-77")
    await database_sync_to_async(member.save)()
    assert await closed_with(socket_with_cookie(session_key, group.slug)) == CloseCode.NOT_LOGGED_IN


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


def person_by_channels(session_key: str):
    from channels.auth import get_user

    return async_to_sync(get_user)({"session": SessionStore(session_key)})


def test_the_owner_of_a_live_session_is_the_person_channels_finds(member):
    session_key = signed_in_cookie(member)
    with CaptureQueriesContext(connection) as queries:
        owners = session_owners([session_key])
    assert owners == {session_key: person_by_channels(session_key).pk == member.pk and member.pk}
    assert len(queries.captured_queries) == 2  # the session rows, the people


def test_sessions_channels_refuses_have_no_owner(member, second_member):
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
    keys = [expired, before_password_change, deactivated, tampered, other_backend.session_key, "no-such-key"]
    owners = session_owners(keys)
    for key in keys:
        assert owners[key] is None, key
        assert not person_by_channels(key).is_authenticated, key


def test_many_sessions_are_answered_in_two_queries(member, second_member, facilitator):
    keys = [signed_in_cookie(person) for person in (member, second_member, facilitator, member)]
    with CaptureQueriesContext(connection) as queries:
        owners = session_owners(keys)
    assert [owners[key] for key in keys] == [member.pk, second_member.pk, facilitator.pk, member.pk]
    assert len(queries.captured_queries) == 2


def test_a_session_signed_with_a_retired_secret_key_still_has_its_owner(member, settings):
    session_key = signed_in_cookie(member)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-this-test-0123456789-abcdefghijklmnopqrstuvwxyz"
    assert session_owners([session_key]) == {session_key: member.pk}


async def test_a_socket_opens_on_a_session_signed_with_a_retired_secret_key(channel_layer, group, member, settings):
    """Pages keep such a session (Django honours SECRET_KEY_FALLBACKS), and so does the chat."""
    session_key = await database_sync_to_async(signed_in_cookie)(member)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-this-test-0123456789-abcdefghijklmnopqrstuvwxyz"
    communicator = socket_with_cookie(session_key, group.slug)
    assert (await communicator.connect())[0]
    assert (await communicator.receive_json_from())["type"] == "ready"
    await communicator.disconnect()
    assert await database_sync_to_async(Session.objects.filter(session_key=session_key).exists)()


def stored(session_key: str) -> str:
    return Session.objects.get(session_key=session_key).session_data


def test_a_kept_answer_never_outlives_a_password_change_or_a_deactivation(member):
    """Sends and re-checks keep session_belongs_to's answers; whatever would change one asks afresh."""
    session_key = signed_in_cookie(member)
    assert session_belongs_to(stored(session_key), member)  # now kept
    assert session_belongs_to(stored(session_key), member)
    member.set_password("a-new-calm-password-42")
    member.save()
    assert not session_belongs_to(stored(session_key), member)
    other = signed_in_cookie(member)
    member.is_active = False
    assert not session_belongs_to(stored(other), member)


def test_a_kept_answer_is_forgotten_when_the_secret_keys_change(member, settings):
    session_key = signed_in_cookie(member)
    assert session_belongs_to(stored(session_key), member)
    settings.SECRET_KEY = "a-new-secret-key-for-this-test-0123456789-abcdefghijklmnopqrstuvwxyz"
    assert not session_belongs_to(stored(session_key), member)  # signed with a key no longer honoured
