"""A group can choose to block a kind of message: nothing is posted and the author is told which agreement, kindly."""

import pytest
from channels.db import database_sync_to_async

from chat.models import Message
from moderation.actions import update_policy
from moderation.models import AuditEntry
from tests.conftest import connected
from tests.moderation.scene import agreement, nothing_more, send

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_blocked_message_gets_an_error_that_cites_the_agreement_and_stores_nothing(
    channel_layer, circle, member, second_member, facilitator
):
    await database_sync_to_async(update_policy)(facilitator, circle, {"judgment": "block"})
    curiosity = await database_sync_to_async(agreement)(circle, "curiosity")
    async with connected(member, circle.slug) as sam, connected(second_member, circle.slug) as alex:
        await sam.send(send("judge-1", "You are so lazy."))
        error = await sam.receive_until("error")
        assert error["code"] == "blocked_by_agreement"
        assert error["ref"] == "judge-1"
        assert error["agreement"] == {"number": curiosity.number, "text": curiosity.text}
        assert f"Agreement {curiosity.number}" in error["message"]
        assert "still in the box" in error["message"]
        assert await nothing_more(alex) == []

    assert not await database_sync_to_async(Message.objects.exists)()
    kinds = await database_sync_to_async(list)(AuditEntry.objects.values_list("kind", flat=True))
    assert sorted(kinds) == ["moderation.message.blocked", "moderation.policy.changed"]


async def test_posting_anyway_does_not_get_past_a_block(channel_layer, circle, member, facilitator):
    await database_sync_to_async(update_policy)(facilitator, circle, {"judgment": "block"})
    async with connected(member, circle.slug) as sam:
        await sam.send(send("judge-2", "You are so lazy.", post_anyway=True))
        assert (await sam.receive_until("error"))["code"] == "blocked_by_agreement"
    assert not await database_sync_to_async(Message.objects.exists)()
