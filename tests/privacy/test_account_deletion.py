"""Deleting my account ends my sessions and sockets and turns my messages into tombstones."""

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.test import Client

from chat.actions import post_message
from chat.models import Message, MessageState
from chat.protocol import CloseCode
from groups.models import Membership
from supportcircle.accounts.models import User
from tests.conftest import PASSWORD, connected

pytestmark = pytest.mark.django_db(transaction=True)


def delete_my_account(client: Client, password: str = PASSWORD):
    return client.post("/accounts/delete/", {"password": password})


def test_deleting_needs_my_password_and_changes_nothing_without_it(member):
    client = Client()
    client.force_login(member)
    response = delete_my_account(client, "not-my-password")
    assert response.status_code == 200
    assert "That password doesn&#x27;t match" in response.content.decode()
    assert User.objects.filter(pk=member.pk).exists()


def test_deleting_my_account_erases_my_words_as_tombstones_and_ends_every_session(group, member, second_member):
    post_message(member.pk, group.pk, client_id="m1", body="Something I no longer want kept.")
    post_message(second_member.pk, group.pk, client_id="a1", body="A reply from Alex.")
    laptop, phone = Client(), Client()
    laptop.force_login(member)
    phone.force_login(member)

    response = delete_my_account(laptop)

    assert response.status_code == 302
    assert not User.objects.filter(pk=member.pk).exists()
    assert not Membership.objects.filter(user_id=member.pk).exists()
    mine = Message.objects.get(client_id="m1")
    assert mine.body == ""
    assert mine.state == MessageState.REMOVED_BY_AUTHOR
    assert mine.author_id is None
    assert mine.to_wire()["author"]["pseudonym"] == "A former member"
    assert Message.objects.get(client_id="a1").body == "A reply from Alex."  # others' words stay
    assert not Session.objects.exists()
    assert phone.get("/accounts/profile/").status_code == 302  # the other device is logged out too


async def test_deleting_my_account_closes_my_open_chats_and_others_see_the_tombstone(
    channel_layer, group, member, second_member
):
    await database_sync_to_async(post_message)(member.pk, group.pk, client_id="m1", body="Words to erase.")
    browser = Client()
    await database_sync_to_async(browser.force_login)(member)
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await database_sync_to_async(delete_my_account)(browser)
        assert await sam.closed_with(timeout=1) == CloseCode.NOT_LOGGED_IN
        updated = await alex.receive_until("message_updated")
        assert updated["message"]["seq"] == 1
        assert updated["message"]["body"] == ""
        assert updated["message"]["state"] == "removed_by_author"
