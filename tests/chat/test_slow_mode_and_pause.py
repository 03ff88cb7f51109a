"""A facilitator slows the room down or pauses it; members are told gently why posting is different."""

import pytest
from channels.db import database_sync_to_async

from chat.models import ChatEvent
from tests.chat.frames import sees_arrival
from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)


async def test_slow_mode_lets_each_member_post_once_per_interval(channel_layer, group, member, facilitator):
    async with connected(facilitator, group.slug) as robin, connected(member, group.slug) as sam:
        await robin.send({"type": "room_settings", "slow_mode_seconds": 30})
        for socket in (robin, sam):
            assert (await socket.receive_until("room"))["room"]["slow_mode_seconds"] == 30

        await sam.send({"type": "send", "client_id": "s1", "body": "Checking in: tired but here."})
        await sam.receive_until("ack")
        await sam.send({"type": "send", "client_id": "s2", "body": "Also, one more thing"})
        error = await sam.receive_until("error")
        assert error["code"] == "slow_mode"
        assert error["ref"] == "s2"
        assert 1 <= error["retry_after"] <= 30
        assert "Slow mode is on" in error["message"]

        # The facilitator holds the space and is not slowed.
        for number in range(2):
            await robin.send({"type": "send", "client_id": f"r{number}", "body": "Take your time."})
            await robin.receive_until("ack")

        await robin.send({"type": "room_settings", "slow_mode_seconds": 0})
        await sam.receive_until("room")
        await sam.send({"type": "send", "client_id": "s2", "body": "Also, one more thing"})
        assert (await sam.receive_until("ack"))["message"]["body"] == "Also, one more thing"


async def test_a_pause_lets_only_facilitators_post_until_it_lifts(channel_layer, group, member, facilitator):
    async with connected(facilitator, group.slug) as robin, connected(member, group.slug) as sam:
        await robin.send({"type": "room_settings", "paused": True})
        assert (await sam.receive_until("room"))["room"]["paused"] is True

        await sam.send({"type": "send", "client_id": "s1", "body": "Can I say something?"})
        error = await sam.receive_until("error")
        assert error["code"] == "room_paused"
        assert "grounding exercise" in error["message"]

        await robin.send({"type": "send", "client_id": "r1", "body": "Notice five things you can see."})
        assert (await sam.receive_until("message"))["message"]["body"] == "Notice five things you can see."

        await robin.send({"type": "room_settings", "paused": False})
        await sam.receive_until("room")
        await sam.send({"type": "send", "client_id": "s1", "body": "Can I say something?"})
        assert (await sam.receive_until("ack"))["duplicate"] is False
    kinds = await database_sync_to_async(list)(ChatEvent.objects.values_list("kind", flat=True))
    assert kinds.count("chat.room.settings") == 2


async def test_someone_arriving_during_a_pause_learns_of_it_at_once(channel_layer, group, member, facilitator):
    async with connected(facilitator, group.slug) as robin:
        await robin.send({"type": "room_settings", "paused": True, "slow_mode_seconds": 10})
        await robin.receive_until("room")
    async with connected(member, group.slug) as sam:
        assert sam.ready["room"]["paused"] is True
        assert sam.ready["room"]["slow_mode_seconds"] == 10


async def test_only_facilitators_change_the_room(channel_layer, group, member, second_member):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await sees_arrival(sam, "Alex")
        await sam.send({"type": "room_settings", "paused": True})
        assert (await sam.receive_until("error"))["code"] == "facilitators_only"
        await sam.send({"type": "room_settings", "slow_mode_seconds": 601})
        error = await sam.receive_until("error")
        assert (error["code"], error["detail"]) == ("invalid_field", "slow_mode_seconds")
        assert await alex.nothing_more()
        assert await sam.nothing_more()
