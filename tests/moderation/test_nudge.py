"""Guide first: a message that brushes against an agreement is shown privately to its author before it posts."""

import pytest
from channels.db import database_sync_to_async

from chat.models import Message
from moderation.models import AuditEntry
from tests.conftest import connected
from tests.moderation.scene import agreement, nothing_more, send

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_nudged_message_is_shown_only_to_its_author_and_stored_nowhere(
    channel_layer, circle, member, second_member
):
    no_advice = await database_sync_to_async(agreement)(circle, "no_unsolicited_advice")
    async with connected(member, circle.slug) as sam, connected(second_member, circle.slug) as alex:
        await sam.send(send("advice-1", "You should just eat more."))
        nudge = await sam.receive_until("nudge")
        assert nudge["ref"] == "advice-1"
        assert nudge["agreement"] == {"number": no_advice.number, "text": no_advice.text}
        assert f"Agreement {no_advice.number}" in nudge["message"]
        assert nudge["reason"]
        assert nudge["suggestion"] == "What do you need right now?"

        assert await nothing_more(sam) == []
        assert await nothing_more(alex) == []
    assert not await database_sync_to_async(Message.objects.filter(group=circle).exists)()


async def test_posting_anyway_after_a_nudge_posts_it_and_logs_that_choice(channel_layer, circle, member, second_member):
    async with connected(member, circle.slug) as sam, connected(second_member, circle.slug) as alex:
        await sam.send(send("advice-2", "You should just eat more."))
        await sam.receive_until("nudge")
        await sam.send(send("advice-2", "You should just eat more.", post_anyway=True))
        ack = await sam.receive_until("ack")
        assert ack["message"]["body"] == "You should just eat more."
        assert (await alex.receive_until("message"))["message"]["seq"] == ack["message"]["seq"]

    kinds = await database_sync_to_async(list)(
        AuditEntry.objects.filter(group=circle).order_by("id").values_list("kind", flat=True)
    )
    assert kinds == ["moderation.message.nudged", "moderation.message.posted_after_nudge"]


async def test_an_edited_message_that_keeps_the_agreement_posts_without_a_nudge(channel_layer, circle, member):
    async with connected(member, circle.slug) as sam:
        await sam.send(send("advice-3", "You should just eat more."))
        nudge = await sam.receive_until("nudge")
        await sam.send(send("advice-3b", nudge["suggestion"]))
        ack = await sam.receive_until("ack")
        assert ack["message"]["body"] == "What do you need right now?"
        assert ack["message"]["state"] == "visible"


async def test_a_message_that_touches_no_agreement_is_not_nudged_or_logged(channel_layer, circle, member):
    async with connected(member, circle.slug) as sam:
        await sam.send(send("hello-1", "Good morning everyone, I made it through the week."))
        await sam.receive_until("ack")
        await sam.receive_until("message")
        assert await nothing_more(sam) == []
    assert not await database_sync_to_async(AuditEntry.objects.exists)()


def test_facilitators_are_not_nudged_when_they_name_an_agreement(circle, facilitator):
    from chat.actions import Posted, post_message

    posted = post_message(facilitator.pk, circle.pk, client_id="robin-1", body="You should rest tonight, Sam.")
    assert isinstance(posted, Posted)
    assert posted.message.state == "visible"
