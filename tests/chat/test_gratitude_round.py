"""Gratitude round: each member shares one thing they are grateful for."""

import pytest

from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_gratitude_round_collects_one_thing_from_each_member(channel_layer, group, member, facilitator):
    async with connected(facilitator, group.slug) as robin, connected(member, group.slug) as sam:
        await robin.send({"type": "round_open", "kind": "gratitude"})
        opened = (await sam.receive_until("round"))["round"]
        assert opened["prompts"] == ["What is one thing I'm grateful for today?"]

        await sam.send({"type": "round_answer", "round_id": opened["id"]})
        error = await sam.receive_until("error")
        assert (error["code"], error["detail"]) == ("missing_field", "gratitude")

        await sam.send({"type": "round_answer", "round_id": opened["id"], "gratitude": "My sister called."})
        card = (await robin.receive_until("round_card"))["card"]
        assert (card["user"]["pseudonym"], card["gratitude"], card["feelings"]) == ("Sam", "My sister called.", [])

        # Answering again replaces the card rather than adding a second one.
        await sam.send({"type": "round_answer", "round_id": opened["id"], "gratitude": "My sister called, twice."})
        assert (await robin.receive_until("round_card"))["card"]["gratitude"] == "My sister called, twice."

        await robin.send({"type": "round_close", "round_id": opened["id"]})
        closed = (await robin.receive_until("round"))["round"]
        assert closed["open"] is False
        assert closed["summary"]["answers"] == 1


async def test_a_gratitude_over_five_hundred_characters_is_refused(channel_layer, group, member, facilitator):
    async with connected(facilitator, group.slug) as robin, connected(member, group.slug) as sam:
        await robin.send({"type": "round_open", "kind": "gratitude"})
        round_id = (await sam.receive_until("round"))["round"]["id"]
        await sam.send({"type": "round_answer", "round_id": round_id, "gratitude": "x" * 501})
        assert (await sam.receive_until("error"))["detail"] == "gratitude"
