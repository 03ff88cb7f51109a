"""Mindful listening: one member holds the floor, everyone else listens and may react, hands queue."""

import pytest

from tests.chat.frames import message_numbered, sees_arrival
from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)


def circle(frame: dict) -> dict:
    return frame["room"]["circle"]


def names(people: list[dict]) -> list[str]:
    return [person["pseudonym"] for person in people]


async def floor_passed_to(socket, pseudonym: str) -> dict:
    """The circle as ``socket`` sees it once the floor reached ``pseudonym`` (earlier room frames skipped)."""
    while True:
        state = circle(await socket.receive_until("room"))
        if state["floor_holder"] and state["floor_holder"]["pseudonym"] == pseudonym:
            return state


async def test_a_listening_circle_passes_the_floor_from_hand_to_hand(
    channel_layer, group, member, second_member, facilitator
):
    async with (
        connected(facilitator, group.slug) as robin,
        connected(member, group.slug) as sam,
        connected(second_member, group.slug) as alex,
    ):
        await sees_arrival(robin, "Alex")
        await sees_arrival(sam, "Alex")
        await robin.send({"type": "circle", "on": True})
        started = await alex.receive_until("room")
        assert circle(started) == {"on": True, "floor_holder": None, "raised_hands": []}
        await robin.receive_until("room")

        await sam.send({"type": "send", "client_id": "s1", "body": "Can I go first?"})
        error = await sam.receive_until("error")
        assert error["code"] == "not_your_turn"
        assert "raise your hand" in error["message"]

        await sam.send({"type": "raise_hand"})
        await alex.receive_until("room")
        await alex.send({"type": "raise_hand"})
        assert names(circle(await robin.receive_until("room"))["raised_hands"]) == ["Sam"]
        assert names(circle(await robin.receive_until("room"))["raised_hands"]) == ["Sam", "Alex"]

        await robin.send({"type": "pass_floor"})
        passed = await floor_passed_to(alex, "Sam")
        assert names(passed["raised_hands"]) == ["Alex"]

        await sam.send({"type": "send", "client_id": "s1", "body": "This week I learned to rest."})
        await message_numbered(alex, 1)
        await alex.send({"type": "send", "client_id": "a1", "body": "Me too!"})
        assert (await alex.receive_until("error"))["code"] == "not_your_turn"
        await alex.send({"type": "react", "seq": 1, "kind": "i_hear_you"})
        assert (await sam.receive_until("reaction"))["kind"] == "i_hear_you"

        await alex.send({"type": "pass_floor"})
        assert (await alex.receive_until("error"))["code"] == "not_your_turn"

        await sam.send({"type": "pass_floor"})
        assert (await floor_passed_to(robin, "Alex"))["raised_hands"] == []
        await alex.send({"type": "send", "client_id": "a1", "body": "Me too, and thank you."})
        assert (await alex.receive_until("ack"))["message"]["seq"] == 2

        await robin.send({"type": "circle", "on": False})
        while circle(await sam.receive_until("room"))["on"]:
            pass  # earlier passes of the floor
        await sam.send({"type": "send", "client_id": "s2", "body": "Thank you all."})
        assert (await sam.receive_until("ack"))["duplicate"] is False


async def test_a_facilitator_passes_the_floor_to_someone_by_name(channel_layer, group, member, facilitator):
    async with connected(facilitator, group.slug) as robin, connected(member, group.slug) as sam:
        await robin.send({"type": "circle", "on": True})
        await sam.receive_until("room")
        await robin.send({"type": "pass_floor", "to": member.pk})
        assert circle(await sam.receive_until("room"))["floor_holder"] == {"id": member.pk, "pseudonym": "Sam"}
        await robin.send({"type": "pass_floor", "to": 999_999})
        assert (await robin.receive_until("error"))["code"] == "not_found"


async def test_a_member_cannot_start_a_circle_and_hands_wait_for_one(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        await sam.send({"type": "circle", "on": True})
        assert (await sam.receive_until("error"))["code"] == "facilitators_only"
        await sam.send({"type": "raise_hand"})
        error = await sam.receive_until("error")
        assert (error["code"], error["detail"]) == ("not_allowed", "circle")
        assert await sam.nothing_more()


async def test_someone_arriving_mid_circle_sees_who_holds_the_floor(
    channel_layer, group, member, second_member, facilitator
):
    async with connected(facilitator, group.slug) as robin:
        await robin.send({"type": "circle", "on": True})
        await robin.receive_until("room")
        await robin.send({"type": "pass_floor", "to": member.pk})
        await robin.receive_until("room")
    async with connected(second_member, group.slug) as alex:
        assert circle(alex.ready)["floor_holder"]["pseudonym"] == "Sam"
