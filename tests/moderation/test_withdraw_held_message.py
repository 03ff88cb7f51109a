"""A member takes back their own held message (their phone number, say): only they can, it leaves the
facilitators' queue at once, the words are erased, and the log says so without them."""

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from chat.actions import post_message
from chat.models import Message, MessageState
from moderation.actions import withdraw_held_message
from moderation.models import AuditEntry
from moderation.records import ModerationRefused
from tests.conftest import connected
from tests.moderation.scene import send

pytestmark = pytest.mark.django_db(transaction=True)

CONTACT = "Text me on 07700 900123 and we can talk outside the group."


async def test_the_author_takes_back_a_held_message_and_the_queue_lets_go_of_it_at_once(
    channel_layer, circle, member, facilitator
):
    async with connected(member, circle.slug) as sam, connected(facilitator, circle.slug) as robin:
        await sam.send(send("mine-1", CONTACT))
        seq = (await sam.receive_until("ack"))["message"]["seq"]
        assert (await sam.receive_until("notice"))["code"] == "held_for_review"
        assert (await robin.receive_until("queue_item"))["item"]["state"] == "open"

        await sam.send({"type": "withdraw", "seq": seq})

        updated = (await sam.receive_until("message_updated"))["message"]
        assert (updated["seq"], updated["state"], updated["body"]) == (seq, "removed_by_author", "")
        told = await sam.receive_until("notice")
        assert told["code"] == "message_withdrawn" and "You took your message back" in told["message"]
        resolved = (await robin.receive_until("queue_item"))["item"]
        assert (resolved["kind"], resolved["state"], resolved["message"]["body"]) == ("held", "resolved", "")

    def stored():
        message = Message.objects.get(group=circle, seq=seq)
        entry = AuditEntry.objects.get(kind="moderation.message.withdrawn")
        return message.state, message.body, entry.actor_id, entry.agreement_number, entry.note

    state, body, actor, cited, note = await database_sync_to_async(stored)()
    assert (state, body, actor, note) == (MessageState.REMOVED_BY_AUTHOR, "", member.pk, "")
    assert cited is not None  # the agreement it was held under, never the words


async def test_nobody_else_can_take_back_someone_elses_held_message(
    channel_layer, circle, member, second_member, facilitator
):
    held = await database_sync_to_async(post_message)(member.pk, circle.pk, client_id="mine-2", body=CONTACT)
    seq = held.message.seq
    async with connected(second_member, circle.slug) as alex, connected(facilitator, circle.slug) as robin:
        for socket in (alex, robin):
            await socket.send({"type": "withdraw", "seq": seq})
            refused = await socket.receive_until("error")
            assert (refused["code"], refused["frame"]) == ("not_found", "withdraw")
    state = await database_sync_to_async(lambda: Message.objects.get(group=circle, seq=seq).state)()
    assert state == MessageState.HELD


def test_a_message_no_longer_held_cannot_be_taken_back_this_way(circle, member):
    seq = post_message(member.pk, circle.pk, client_id="mine-3", body="Hello everyone").message.seq
    with pytest.raises(ModerationRefused, match="isn't waiting for a facilitator any more"):
        withdraw_held_message(member.pk, circle.pk, seq=seq)
    assert Message.objects.get(group=circle, seq=seq).state == MessageState.VISIBLE


def test_an_outsider_is_refused(circle, member, outsider):
    seq = post_message(member.pk, circle.pk, client_id="mine-4", body=CONTACT).message.seq
    with pytest.raises(ModerationRefused):
        withdraw_held_message(outsider.pk, circle.pk, seq=seq)
    assert Message.objects.get(group=circle, seq=seq).state == MessageState.HELD


def test_a_taken_back_message_leaves_the_queue_page_and_shows_in_the_log_without_its_words(circle, member, facilitator):
    seq = post_message(member.pk, circle.pk, client_id="mine-5", body=CONTACT).message.seq
    withdraw_held_message(member.pk, circle.pk, seq=seq)
    client = Client()
    client.force_login(facilitator)
    assert CONTACT not in client.get(f"/groups/{circle.slug}/moderation/").content.decode()
    log = client.get(f"/groups/{circle.slug}/moderation/log/").content.decode()
    assert "Held message taken back by its author" in log and "07700" not in log
