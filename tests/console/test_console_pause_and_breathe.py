"""Pause & breathe: a grounding prompt for everyone, members' posting rests, then opens again by itself."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from chat.models import ChatEvent, Message
from groups.models import Group
from tests.conftest import connected
from tests.moderation.scene import nothing_more, send

pytestmark = pytest.mark.django_db(transaction=True)


async def test_everyone_gets_the_prompt_and_members_cannot_post_while_breathing(
    channel_layer, group, member, facilitator
):
    async with connected(member, group.slug) as sam, connected(facilitator, group.slug) as robin:
        await robin.send({"type": "breathe", "seconds": 60})
        for socket in (sam, robin):
            breathe = (await socket.receive_until("breathe"))["breathe"]
            assert breathe["on"] is True
            assert 59 <= breathe["seconds"] <= 60
            assert "breathe" in breathe["prompt"].lower()

        await sam.send(send("during", "Is anyone else here?"))
        error = await sam.receive_until("error")
        assert error["code"] == "breathing"
        assert error["ref"] == "during"
        assert 1 <= error["retry_after"] <= 60
        assert "opens again by itself" in error["message"]
        assert await nothing_more(robin) == []  # nothing was posted

        # The facilitator, who holds the space, may still speak.
        await robin.send(send("guide", "In for four..."))
        assert (await robin.receive_until("ack"))["message"]["body"] == "In for four..."

    assert not await database_sync_to_async(Message.objects.filter(client_id="during").exists)()
    assert await database_sync_to_async(ChatEvent.objects.filter(kind="groups.breathe.started").count)() == 1


async def test_posting_opens_again_by_itself_when_the_time_is_up(channel_layer, group, member, facilitator):
    async with connected(member, group.slug) as sam, connected(facilitator, group.slug) as robin:
        await robin.send({"type": "breathe", "seconds": 30, "prompt": "Feel your feet on the floor."})
        assert (await sam.receive_until("breathe"))["breathe"]["prompt"] == "Feel your feet on the floor."
        await sam.send(send("too-soon", "Thank you"))
        assert (await sam.receive_until("error"))["code"] == "breathing"

        # The clock moves past the end of the breath (nobody presses anything).
        await database_sync_to_async(Group.objects.filter(pk=group.pk).update)(
            breathe_until=timezone.now() - timedelta(seconds=1)
        )
        await sam.send(send("after", "Thank you, that helped."))
        assert (await sam.receive_until("ack"))["message"]["body"] == "Thank you, that helped."


async def test_a_member_arriving_mid_breath_sees_the_prompt(channel_layer, group, member, facilitator):
    async with connected(facilitator, group.slug) as robin:
        await robin.send({"type": "breathe", "seconds": 60})
        await robin.receive_until("breathe")
        async with connected(member, group.slug) as sam:
            breathe = (await sam.receive_until("breathe"))["breathe"]
            assert breathe["on"] is True and breathe["until"]


async def test_the_facilitator_can_end_it_early(channel_layer, group, member, facilitator):
    async with connected(member, group.slug) as sam, connected(facilitator, group.slug) as robin:
        await robin.send({"type": "breathe", "seconds": 60})
        await sam.receive_until("breathe")
        await robin.send({"type": "breathe", "seconds": 0})
        assert (await sam.receive_until("breathe"))["breathe"] == {
            "on": False,
            "until": None,
            "seconds": 0,
            "prompt": "",
        }
        await sam.send(send("back", "I'm back"))
        assert (await sam.receive_until("ack"))["message"]["body"] == "I'm back"


async def test_a_member_cannot_start_it_and_odd_lengths_are_refused(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        await sam.send({"type": "breathe", "seconds": 60})
        assert (await sam.receive_until("error"))["code"] == "facilitators_only"
        await sam.send({"type": "breathe", "seconds": 5})
        error = await sam.receive_until("error")
        assert (error["code"], error["detail"]) == ("invalid_field", "seconds")
        assert await nothing_more(sam) == []
    assert (await database_sync_to_async(Group.objects.get)(pk=group.pk)).breathe_until is None
