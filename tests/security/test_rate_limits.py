"""Limits that slow down guessing and flooding, each with a kind message and a time to try again."""

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from chat.actions import post_message
from chat.protocol import RATE_LIMIT_MESSAGES, CloseCode, ErrorCode
from supportcircle.accounts.models import Attempt
from tests.conftest import PASSWORD, connected, socket_for
from tests.support.waiting import FRAME_PATIENCE

pytestmark = pytest.mark.django_db


def log_in(client: Client, password: str, pseudonym: str = "Sam"):
    return client.post("/accounts/login/", {"username": pseudonym, "password": password})


def test_five_wrong_passwords_lock_logging_in_with_a_kind_message_and_a_retry_time(member):
    client = Client()
    for _ in range(5):
        assert log_in(client, "not-the-password").status_code == 200
    locked = log_in(client, PASSWORD)  # even the right password waits now
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0
    assert "Please try again in 15 minutes" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_successful_login_clears_earlier_failures(member):
    client = Client()
    for _ in range(4):
        log_in(client, "not-the-password")
    assert log_in(client, PASSWORD).status_code == 302
    assert not Attempt.objects.filter(kind=Attempt.Kind.FAILED_LOGIN).exists()


def test_a_first_try_login_writes_nothing_about_attempts(member):
    # In a crowd of people logging in at once, each write queues for the database: a login with no
    # failures behind it only looks (and another person's failures are left alone).
    Attempt.objects.create(kind=Attempt.Kind.FAILED_LOGIN, key="someone else's")
    client = Client()
    with CaptureQueriesContext(connection) as queries:
        assert log_in(client, PASSWORD).status_code == 302
    assert not [
        q["sql"] for q in queries.captured_queries if "accounts_attempt" in q["sql"] and "SELECT" not in q["sql"]
    ]
    assert Attempt.objects.filter(key="someone else's").exists()


def test_failed_logins_are_counted_without_keeping_the_pseudonym_or_address(member):
    log_in(Client(), "not-the-password")
    attempt = Attempt.objects.get()
    assert "sam" not in attempt.key.lower() and "127.0.0.1" not in attempt.key


def test_the_lockout_is_for_one_pseudonym_and_does_not_lock_out_everyone(member, second_member):
    client = Client()
    for _ in range(5):
        log_in(client, "not-the-password")
    assert log_in(client, PASSWORD, pseudonym="Alex").status_code == 302


def test_sign_ups_from_one_address_are_paused_after_five_in_an_hour(db):
    for number in range(5):
        response = Client().post(
            "/accounts/signup/",
            {"pseudonym": f"Newcomer {number}", "password1": PASSWORD, "password2": PASSWORD},
        )
        assert response.status_code == 302
    paused = Client().post(
        "/accounts/signup/", {"pseudonym": "Newcomer 6", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert paused.status_code == 429
    assert int(paused["Retry-After"]) > 0
    assert "paused sign-ups for a little while" in paused.content.decode()


@pytest.mark.django_db(transaction=True)
async def test_a_socket_beyond_the_per_person_cap_is_refused_with_its_own_code(channel_layer, group, member, settings):
    settings.MAX_SOCKETS_PER_PERSON = 3
    async with connected(member, group.slug), connected(member, group.slug), connected(member, group.slug):
        communicator = await database_sync_to_async(socket_for)(member, group.slug)
        is_open, _ = await communicator.connect()
        assert is_open
        output = await communicator.receive_output(timeout=FRAME_PATIENCE)
        assert output == {"type": "websocket.close", "code": CloseCode.TOO_MANY_SOCKETS}
    # Once a tab closes, a new one opens.
    async with connected(member, group.slug) as socket:
        assert socket.ready["type"] == "ready"


@pytest.mark.django_db(transaction=True)
async def test_a_flood_of_messages_is_slowed_with_a_kind_message_and_a_retry_time(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        for number in range(RATE_LIMIT_MESSAGES):
            await sam.send({"type": "send", "client_id": f"f{number}", "body": f"line {number}"})
            assert (await sam.receive_until("ack"))["client_id"] == f"f{number}"
        await sam.send({"type": "send", "client_id": "one-too-many", "body": "and another"})
        error = await sam.receive_until("error")
        assert error["code"] == ErrorCode.RATE_LIMITED
        assert error["ref"] == "one-too-many"
        assert error["retry_after"] >= 1
        assert f"{error['retry_after']} second" in error["message"]


@pytest.mark.django_db(transaction=True)
async def test_a_flood_of_reports_is_paused_with_thanks_and_a_retry_time(
    channel_layer, group, member, second_member, settings
):
    from moderation.actions import REPORTS_PER_HOUR
    from moderation.models import Report

    settings.CHAT_RATE_LIMIT = (1_000, 10)  # Alex writes the messages Sam reports, quickly

    for number in range(REPORTS_PER_HOUR + 1):
        await database_sync_to_async(post_message)(
            second_member.pk, group.pk, client_id=f"r{number}", body=f"Note {number}"
        )
    async with connected(member, group.slug) as sam:
        for seq in range(1, REPORTS_PER_HOUR + 1):
            await sam.send({"type": "report", "seq": seq, "reason": "judgment"})
            await sam.receive_until("notice")
        await sam.send({"type": "report", "seq": REPORTS_PER_HOUR + 1, "reason": "judgment"})
        error = await sam.receive_until("error")
    assert error["code"] == ErrorCode.RATE_LIMITED
    assert error["retry_after"] >= 60
    assert "Thank you for looking out for the group" in error["message"]
    assert "You can send another in about" in error["message"]
    assert await database_sync_to_async(Report.objects.filter(reporter=member).count)() == REPORTS_PER_HOUR
