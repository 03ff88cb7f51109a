"""A message asking to move off the platform waits for a facilitator; its author is told, nobody else sees it."""

import pytest
from channels.db import database_sync_to_async

from chat.models import Message
from moderation.models import AuditEntry
from tests.conftest import connected
from tests.moderation.scene import agreement, nothing_more, send

pytestmark = pytest.mark.django_db(transaction=True)

CONTACT = "Text me on 07700 900123 and we can talk outside the group."


async def test_a_held_message_reaches_only_its_author_and_the_facilitators_queue(
    channel_layer, circle, member, second_member, facilitator
):
    stay_here = await database_sync_to_async(agreement)(circle, "stay_here")
    async with (
        connected(member, circle.slug) as sam,
        connected(second_member, circle.slug) as alex,
        connected(facilitator, circle.slug) as robin,
    ):
        await sam.send(send("contact-1", CONTACT))
        ack = await sam.receive_until("ack")
        assert ack["message"]["state"] == "held"
        assert ack["message"]["body"] == CONTACT  # the author still sees their own words
        notice = await sam.receive_until("notice")
        assert notice["code"] == "held_for_review"
        assert f"Agreement {stay_here.number}" in notice["message"]

        item = (await robin.receive_until("queue_item"))["item"]
        assert item["kind"] == "held"
        assert item["message"] == {"seq": ack["message"]["seq"], "body": CONTACT, "state": "held"}
        assert item["agreement"]["number"] == stay_here.number

        assert await nothing_more(alex) == []
        assert await nothing_more(sam) == []

    message = await database_sync_to_async(Message.objects.get)(group=circle)
    assert message.state == "held"
    entry = await database_sync_to_async(AuditEntry.objects.get)(group=circle)
    assert (entry.kind, entry.agreement_number, entry.actor_id) == (
        "moderation.message.held",
        stay_here.number,
        None,
    )


async def test_other_members_history_leaves_a_held_message_out_but_its_author_keeps_it(
    channel_layer, circle, member, second_member
):
    async with connected(member, circle.slug) as sam:
        await sam.send(send("contact-2", CONTACT))
        await sam.receive_until("ack")
        await sam.send(send("after-1", "Anyway, how is everyone?"))
        await sam.receive_until("ack")

    async with connected(second_member, circle.slug, query="last_seq=0") as alex:
        assert [m["body"] for m in alex.history["messages"]] == ["Anyway, how is everyone?"]
        assert alex.history["through_seq"] == 2  # the gap is covered: nothing looks lost
    async with connected(member, circle.slug) as sam_again:
        assert [m["state"] for m in sam_again.history["messages"]] == ["held", "visible"]
