"""Facilitators see what is waiting, crisis first: live in the chat, and on the queue page."""

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from chat.actions import post_message
from moderation.actions import report_message
from tests.conftest import connected
from tests.moderation.scene import send

pytestmark = pytest.mark.django_db(transaction=True)

CONTACT = "Text me on 07700 900123 and we can talk outside the group."
CRISIS = "I want to kill myself."


def page_for(user, slug: str):
    client = Client()
    client.force_login(user)
    return client.get(f"/groups/{slug}/moderation/")


async def test_a_held_message_reaches_the_facilitators_open_chat_as_a_queue_item(
    channel_layer, circle, member, facilitator
):
    async with connected(facilitator, circle.slug) as robin, connected(member, circle.slug) as sam:
        await sam.send(send("held-q", CONTACT))
        await sam.receive_until("ack")
        item = (await robin.receive_until("queue_item"))["item"]
        assert (item["kind"], item["state"], item["member"]["pseudonym"]) == ("held", "open", "Sam")


async def test_a_facilitator_who_connects_later_gets_the_open_queue_crisis_first(
    channel_layer, circle, member, second_member, facilitator
):
    def fill_queue():
        post_message(member.pk, circle.pk, client_id="q-1", body=CONTACT)
        seq = post_message(member.pk, circle.pk, client_id="q-2", body="Hello all").message.seq
        report_message(second_member.pk, circle.pk, seq=seq, reason="other")
        post_message(second_member.pk, circle.pk, client_id="q-3", body=CRISIS)

    await database_sync_to_async(fill_queue)()
    async with connected(facilitator, circle.slug) as robin:
        first = await robin.receive()
        assert first["type"] == "crisis_alert"
        kinds = [(await robin.receive_until("queue_item"))["item"]["kind"] for _ in range(2)]
        assert kinds == ["held", "report"]


async def test_members_never_receive_queue_items(channel_layer, circle, member, second_member):
    async with connected(second_member, circle.slug) as alex, connected(member, circle.slug) as sam:
        await sam.send(send("held-m", CONTACT))
        await sam.receive_until("ack")
        await sam.send(send("crisis-m", CRISIS))
        await sam.receive_until("crisis_resources")
        seen = []
        while not await alex.communicator.receive_nothing(timeout=0.3):
            seen.append((await alex.receive())["type"])
        assert "queue_item" not in seen and "crisis_alert" not in seen


def test_the_queue_page_lists_alerts_held_messages_and_reports(circle, member, second_member, facilitator):
    post_message(member.pk, circle.pk, client_id="p-1", body=CONTACT)
    seq = post_message(member.pk, circle.pk, client_id="p-2", body="Just saying hello").message.seq
    report_message(second_member.pk, circle.pk, seq=seq, reason="harassment", note="Felt pointed.")
    post_message(second_member.pk, circle.pk, client_id="p-3", body=CRISIS)

    page = page_for(facilitator, circle.slug).content.decode()
    assert page.index("Alex may be in crisis") < page.index("Held for review") < page.index("Reports")
    assert CONTACT in page
    assert "Harassment or a personal attack" in page and "Felt pointed." in page


def test_the_queue_page_is_for_this_groups_facilitators_only(circle, member, outsider):
    assert page_for(member, circle.slug).status_code == 403
    assert page_for(outsider, circle.slug).status_code == 403
    assert Client().get(f"/groups/{circle.slug}/moderation/").status_code == 302  # to log in


def test_acting_from_the_queue_page_uses_the_same_actions(circle, member, second_member, facilitator):
    from chat.models import Message

    seq = post_message(member.pk, circle.pk, client_id="p-4", body=CONTACT).message.seq
    client = Client()
    client.force_login(facilitator)
    response = client.post(f"/groups/{circle.slug}/moderation/act/", {"action": "approve", "seq": seq}, follow=True)
    assert "now with the group" in response.content.decode()
    assert Message.objects.get(seq=seq).state == "visible"

    client.force_login(second_member)
    refused = client.post(f"/groups/{circle.slug}/moderation/act/", {"action": "hide", "seq": seq, "agreement": 1})
    assert refused.status_code == 403
    assert Message.objects.get(seq=seq).state == "visible"


def test_a_queue_page_action_missing_its_agreement_says_so(circle, member, facilitator):
    client = Client()
    client.force_login(facilitator)
    response = client.post(
        f"/groups/{circle.slug}/moderation/act/", {"action": "warn", "member": member.pk}, follow=True
    )
    assert "Please choose the agreement this is about." in response.content.decode()
