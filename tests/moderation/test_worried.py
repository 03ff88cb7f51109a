"""'I'm worried about them': a member raises a worry about someone else's message. The facilitators
get a crisis-first alert; the worried member is thanked and told what they can do meanwhile."""

import pytest
from channels.db import database_sync_to_async

from moderation.models import Alert
from tests.conftest import connected
from tests.moderation.scene import send

pytestmark = pytest.mark.django_db(transaction=True)

QUIET = "not much to say today. tired of all of it"


async def test_a_worried_member_reaches_the_facilitators_first_and_is_told_what_to_do_meanwhile(
    channel_layer, circle, member, second_member, facilitator
):
    async with (
        connected(member, circle.slug) as sam,
        connected(second_member, circle.slug) as alex,
        connected(facilitator, circle.slug) as robin,
    ):
        await sam.send(send("q-1", QUIET))
        seq = (await sam.receive_until("ack"))["message"]["seq"]
        await alex.receive_until("message")

        await alex.send({"type": "worried", "seq": seq, "note": "they've been quiet all week"})
        thanks = await alex.receive_until("notice")
        assert thanks["code"] == "worry_received" and "Sam" in thanks["message"]
        assert "kind reply" in thanks["message"] and thanks["resources"]

        alert = (await robin.receive_until("crisis_alert"))["alert"]
        assert (alert["category"], alert["source"]) == ("worried", "peer")
        assert alert["member"]["pseudonym"] == "Sam" and alert["raised_by"]["pseudonym"] == "Alex"

        # A second worry about the same message: thanked again, one alert stands.
        await alex.send({"type": "worried", "seq": seq})
        assert (await alex.receive_until("notice"))["code"] == "worry_received"
    assert await database_sync_to_async(Alert.objects.filter(category="worried").count)() == 1


async def test_a_worry_comes_before_other_alerts_when_a_facilitator_connects(
    channel_layer, circle, member, second_member, facilitator
):
    async with connected(member, circle.slug) as sam, connected(second_member, circle.slug) as alex:
        await sam.send(send("q-2", "please call me on 07700 900123"))  # held for contact
        await sam.receive_until("notice")
        await sam.send(send("q-3", QUIET))
        seq = (await sam.receive_until("ack"))["message"]["seq"]
        await alex.send({"type": "worried", "seq": seq})
        await alex.receive_until("notice")
    async with connected(facilitator, circle.slug) as robin:
        first = await robin.receive()
        while first["type"] in ("presence", "typing"):
            first = await robin.receive()
    assert first["type"] == "crisis_alert" and first["alert"]["category"] == "worried"


async def test_one_cannot_raise_a_worry_about_ones_own_message(channel_layer, circle, member):
    async with connected(member, circle.slug) as sam:
        await sam.send(send("q-4", QUIET))
        seq = (await sam.receive_until("ack"))["message"]["seq"]
        await sam.send({"type": "worried", "seq": seq})
        error = await sam.receive_until("error")
    assert error["code"] == "not_allowed" and "support lines" in error["message"]


async def test_a_worry_about_a_message_that_is_not_there_is_refused_kindly(channel_layer, circle, second_member):
    async with connected(second_member, circle.slug) as alex:
        await alex.send({"type": "worried", "seq": 999})
        error = await alex.receive_until("error")
        assert error["code"] == "not_found"
        await alex.send({"type": "worried", "seq": "one"})
        assert (await alex.receive_until("error"))["code"] == "invalid_field"
    assert not await database_sync_to_async(Alert.objects.exists)()
