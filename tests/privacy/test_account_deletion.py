"""Deleting my account ends my sessions and sockets and turns my messages into tombstones."""

import logging
import re
from html import unescape

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.test import Client

from chat.actions import post_message
from chat.models import Message, MessageState
from chat.protocol import CloseCode
from groups.actions import create_group, join_group, pause_membership
from groups.models import Group, Membership, MembershipState, Role
from moderation.models import AuditEntry
from supportcircle.accounts.actions import delete_account
from supportcircle.accounts.models import User
from tests.conftest import PASSWORD, connected, make_person

pytestmark = pytest.mark.django_db(transaction=True)


def words_on(client: Client, url: str) -> str:
    """The page as someone reads it: the text, without its tags, each run of spaces as one."""
    return " ".join(re.sub(r"<[^>]+>", " ", unescape(client.get(url).content.decode())).split()).replace(" .", ".")


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
        assert await sam.closed_with() == CloseCode.NOT_LOGGED_IN
        updated = await alex.receive_until("message_updated")
        assert updated["message"]["seq"] == 1
        assert updated["message"]["body"] == ""
        assert updated["message"]["state"] == "removed_by_author"


def test_the_only_facilitator_is_told_before_deleting_what_it_leaves_behind(group, facilitator, member):
    robin, sam = Client(), Client()
    robin.force_login(facilitator)
    sam.force_login(member)
    page = words_on(robin, "/accounts/delete/")
    assert "You're the only facilitator of Quiet Harbour." in page
    assert "crisis alerts and queue will reach nobody until an administrator brings in another facilitator" in page
    assert "You can still go ahead: this is your choice." in page
    assert "only facilitator" not in words_on(sam, "/accounts/delete/")


def test_a_facilitator_with_an_active_co_facilitator_is_not_warned(member):
    robin, jo = make_person("Robin"), make_person("Jo")
    create_group(name="Evening Circle", facilitators=[robin, jo], agreements=["We listen first."])
    client = Client()
    client.force_login(robin)
    assert "only facilitator" not in words_on(client, "/accounts/delete/")
    # A co-facilitator on a break gets no alerts, so they do not count.
    pause_membership(jo, Group.objects.get(name="Evening Circle"))
    assert "You're the only facilitator of Evening Circle." in words_on(client, "/accounts/delete/")


def test_deleting_is_never_refused_and_the_administrators_learn_the_group_has_no_facilitator(
    group, facilitator, caplog
):
    other = create_group(name="Morning Light", facilitators=[facilitator], agreements=["We listen first."])
    client = Client()
    client.force_login(facilitator)

    with caplog.at_level(logging.WARNING, logger="supportcircle.accounts.actions"):
        response = delete_my_account(client)

    assert response.status_code == 302
    assert not User.objects.filter(pseudonym="Robin").exists()
    for each in (group, other):
        entry = AuditEntry.objects.get(group=each, kind="groups.facilitator.none_left")
        assert entry.actor_id is None and entry.target_id is None  # the audit log names nobody
        assert "an administrator brings in another facilitator" in entry.note
        assert f"group {each.pk} has no active facilitator" in caplog.text
    assert "Robin" not in caplog.text


def test_the_audit_log_shows_the_entry_in_plain_words(group, facilitator):
    jo = make_person("Jo")
    join_group(jo, group, accepted_version=1)
    Membership.objects.filter(user=jo, group=group).update(role=Role.FACILITATOR)
    Membership.objects.filter(user=facilitator, group=group).update(state=MembershipState.LEFT)
    gone = make_person("Kit")
    create_group(name="Kit's Circle", facilitators=[gone], agreements=["We listen first."])
    delete_account(gone)  # Kit facilitated alone; Quiet Harbour still has Jo, so nothing is written there
    assert not AuditEntry.objects.filter(group=group, kind="groups.facilitator.none_left").exists()
    kits = AuditEntry.objects.get(kind="groups.facilitator.none_left")
    viewer = make_person("Admin", is_staff=True)  # an administrator reads any group's log
    client = Client()
    client.force_login(viewer)
    page = unescape(client.get(f"/groups/{kits.group.slug}/moderation/log/").content.decode())
    assert "No facilitator left: an administrator needs to bring one in" in page
