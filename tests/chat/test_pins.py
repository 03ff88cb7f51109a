"""A facilitator pins a message to the top of the room."""

import pytest

from tests.chat.frames import sees_arrival
from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_facilitator_pins_a_message_and_everyone_sees_it_pinned(channel_layer, group, member, facilitator):
    async with connected(facilitator, group.slug) as robin, connected(member, group.slug) as sam:
        await robin.send({"type": "send", "client_id": "r1", "body": "Breathe in for four, out for six."})
        await sam.receive_until("message")
        await robin.send({"type": "pin", "seq": 1})
        for socket in (sam, robin):
            assert (await socket.receive_until("message_updated"))["message"]["pinned"] is True

    async with connected(member, group.slug) as sam:
        assert [m["seq"] for m in sam.ready["pinned"]] == [1]
        assert sam.ready["pinned"][0]["body"] == "Breathe in for four, out for six."

    async with connected(facilitator, group.slug) as robin:
        await robin.send({"type": "pin", "seq": 1, "pinned": False})
        assert (await robin.receive_until("message_updated"))["message"]["pinned"] is False
    async with connected(member, group.slug) as sam:
        assert sam.ready["pinned"] == []


async def test_a_member_cannot_pin(channel_layer, group, member, second_member):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await sees_arrival(sam, "Alex")
        await alex.send({"type": "send", "client_id": "a1", "body": "Pin me?"})
        await sam.receive_until("message")
        await sam.send({"type": "pin", "seq": 1})
        error = await sam.receive_until("error")
        assert error["code"] == "facilitators_only"
        assert error["message"] == "Only the group's facilitators can do that."
        assert await sam.nothing_more()
        await alex.receive_until("message")
        assert await alex.nothing_more()
