"""Check-in round: "What am I feeling right now?" and "What do I need?", answered as cards."""

import pytest
from channels.db import database_sync_to_async

from chat.models import ChatEvent
from tests.chat.frames import sees_arrival
from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_check_in_round_from_opening_to_summary(channel_layer, group, member, second_member, facilitator):
    async with (
        connected(facilitator, group.slug) as robin,
        connected(member, group.slug) as sam,
        connected(second_member, group.slug) as alex,
    ):
        await sees_arrival(sam, "Alex")
        await robin.send({"type": "round_open", "kind": "checkin"})
        opened = (await sam.receive_until("round"))["round"]
        assert opened["kind"] == "checkin"
        assert opened["open"] is True
        assert opened["prompts"] == ["What am I feeling right now?", "What do I need?"]
        assert opened["opened_by"]["pseudonym"] == "Robin"
        round_id = opened["id"]

        await sam.send(
            {
                "type": "round_answer",
                "round_id": round_id,
                "feelings": ["tired", "hopeful"],
                "need": "rest",
                "note": "Long week, but I'm here.",
            }
        )
        card = (await alex.receive_until("round_card"))["card"]
        assert card == {
            "round_id": round_id,
            "user": {"id": member.pk, "pseudonym": "Sam"},
            "feelings": ["tired", "hopeful"],
            "need": "rest",
            "note": "Long week, but I'm here.",
            "gratitude": "",
        }
        await alex.send({"type": "round_answer", "round_id": round_id, "feelings": ["tired"], "need": "company"})
        await robin.receive_until("round_card")
        await robin.receive_until("round_card")

        # Someone who arrives mid-round sees the prompts and the cards so far.
        async with connected(member, group.slug) as sam_second_tab:
            assert [c["user"]["pseudonym"] for c in sam_second_tab.ready["round"]["cards"]] == ["Sam", "Alex"]

        await robin.send({"type": "round_close", "round_id": round_id})
        closed_for_member = (await sam.receive_until("round"))["round"]
        assert closed_for_member["open"] is False
        assert "summary" not in closed_for_member
        summary = (await robin.receive_until("round"))["round"]["summary"]
        assert summary == {"answers": 2, "feelings": {"hopeful": 1, "tired": 2}, "needs": {"company": 1, "rest": 1}}

        await alex.send({"type": "round_answer", "round_id": round_id, "feelings": ["calm"]})
        assert (await alex.receive_until("error"))["code"] == "no_open_round"
    kinds = await database_sync_to_async(list)(ChatEvent.objects.order_by("at").values_list("kind", flat=True))
    assert kinds[0] == "chat.round.checkin_opened"
    assert kinds[-1] == "chat.round.checkin_closed"


async def test_answers_come_from_the_feelings_and_needs_lists(channel_layer, group, member, facilitator):
    async with connected(facilitator, group.slug) as robin, connected(member, group.slug) as sam:
        await robin.send({"type": "round_open", "kind": "checkin"})
        round_id = (await sam.receive_until("round"))["round"]["id"]
        await sam.send({"type": "round_answer", "round_id": round_id, "feelings": ["fine-ish"]})
        assert (await sam.receive_until("error"))["detail"] == "feelings"
        await sam.send({"type": "round_answer", "round_id": round_id, "feelings": ["sad"], "need": "chocolate"})
        assert (await sam.receive_until("error"))["detail"] == "need"
        await sam.send({"type": "round_answer", "round_id": round_id, "feelings": []})
        error = await sam.receive_until("error")
        assert (error["code"], error["detail"]) == ("missing_field", "feelings")
        assert await sam.nothing_more()


async def test_only_a_facilitator_opens_or_closes_a_round_and_one_at_a_time(channel_layer, group, member, facilitator):
    async with connected(facilitator, group.slug) as robin, connected(member, group.slug) as sam:
        await sam.send({"type": "round_open", "kind": "checkin"})
        assert (await sam.receive_until("error"))["code"] == "facilitators_only"
        await robin.send({"type": "round_open", "kind": "checkin"})
        round_id = (await robin.receive_until("round"))["round"]["id"]
        await robin.send({"type": "round_open", "kind": "gratitude"})
        assert (await robin.receive_until("error"))["code"] == "not_allowed"
        await sam.send({"type": "round_close", "round_id": round_id})
        assert (await sam.receive_until("error"))["code"] == "facilitators_only"
