"""An edit is checked like a new message: it cannot slip past an agreement, and crisis words still bring help."""

import pytest
from channels.db import database_sync_to_async

from chat.models import Message
from tests.conftest import connected
from tests.moderation.scene import agreement, send

pytestmark = pytest.mark.django_db(transaction=True)


async def test_an_edit_that_would_be_nudged_is_refused_and_the_message_stays_as_it_was(
    channel_layer, circle, member, second_member
):
    no_advice = await database_sync_to_async(agreement)(circle, "no_unsolicited_advice")
    async with connected(member, circle.slug) as sam, connected(second_member, circle.slug) as alex:
        await sam.send(send("e-1", "That sounds so hard."))
        seq = (await sam.receive_until("ack"))["message"]["seq"]
        await alex.receive_until("message")

        await sam.send({"type": "edit", "seq": seq, "body": "You should just eat more."})
        error = await sam.receive_until("error")
        assert error["code"] == "blocked_by_agreement"
        assert f"Agreement {no_advice.number}" in error["message"]
    assert (await database_sync_to_async(Message.objects.get)(seq=seq)).body == "That sounds so hard."


async def test_editing_in_crisis_words_offers_help_and_alerts_the_facilitators(
    channel_layer, circle, member, facilitator
):
    async with connected(member, circle.slug) as sam, connected(facilitator, circle.slug) as robin:
        await sam.send(send("e-2", "Long day."))
        seq = (await sam.receive_until("ack"))["message"]["seq"]
        await sam.send({"type": "edit", "seq": seq, "body": "Long day. I want to kill myself."})
        await sam.receive_until("crisis_resources")
        alert = (await robin.receive_until("crisis_alert"))["alert"]
        assert alert["message"]["seq"] == seq
