"""Compassionate reactions only: members see who reacted, never a count."""

import pytest
from channels.db import database_sync_to_async

from chat.models import Reaction
from groups.actions import block_member
from tests.chat.frames import message_numbered
from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_member_sends_care_and_everyone_sees_who_it_came_from(channel_layer, group, member, second_member):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await sam.send({"type": "send", "client_id": "s1", "body": "I made it through the week."})
        await message_numbered(alex, 1)
        await alex.send({"type": "react", "seq": 1, "kind": "proud_of_you"})

        for socket in (sam, alex):
            reaction = await socket.receive_until("reaction")
            assert reaction == {
                "type": "reaction",
                "seq": 1,
                "kind": "proud_of_you",
                "on": True,
                "user": {"id": second_member.pk, "pseudonym": "Alex"},
            }
        # Reacting the same way twice changes nothing and tells nobody.
        await alex.send({"type": "react", "seq": 1, "kind": "proud_of_you"})
        assert await sam.nothing_more(0.5)

    async with connected(member, group.slug) as sam:
        [message] = sam.history["messages"]
        assert message["reactions"] == [{"kind": "proud_of_you", "user": {"id": second_member.pk, "pseudonym": "Alex"}}]
        assert "count" not in str(message)


async def test_a_reaction_can_be_taken_back(channel_layer, group, member, second_member):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await sam.send({"type": "send", "client_id": "s1", "body": "Me too, honestly."})
        await message_numbered(alex, 1)
        await alex.send({"type": "react", "seq": 1, "kind": "me_too"})
        await sam.receive_until("reaction")
        await alex.send({"type": "react", "seq": 1, "kind": "me_too", "on": False})
        taken_back = await sam.receive_until("reaction")
        assert taken_back["on"] is False
    assert await database_sync_to_async(Reaction.objects.count)() == 0


async def test_only_the_compassionate_reactions_exist(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        await sam.send({"type": "send", "client_id": "s1", "body": "Hello"})
        await sam.receive_until("message")
        await sam.send({"type": "react", "seq": 1, "kind": "like"})
        error = await sam.receive_until("error")
        assert error["code"] == "invalid_field"
        assert error["detail"] == "kind"
        await sam.send({"type": "react", "seq": 9, "kind": "sending_care"})
        assert (await sam.receive_until("error"))["code"] == "not_found"
        assert await sam.nothing_more()


async def test_a_reaction_from_someone_blocked_never_arrives(channel_layer, group, member, second_member, facilitator):
    await database_sync_to_async(block_member)(member, second_member)
    async with connected(facilitator, group.slug) as robin:
        await robin.send({"type": "send", "client_id": "r1", "body": "Welcome, everyone."})
        await robin.receive_until("ack")
        # The broadcast is published after the ack; wait for it so it cannot reach the next sockets late.
        await robin.receive_until("message")
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await alex.send({"type": "react", "seq": 1, "kind": "thank_you_for_sharing"})
        assert (await alex.receive_until("reaction"))["user"]["pseudonym"] == "Alex"
        assert await sam.nothing_more(0.5)
    async with connected(member, group.slug) as sam:
        assert sam.history["messages"][0]["reactions"] == []
    async with connected(facilitator, group.slug) as robin:
        assert [r["user"]["pseudonym"] for r in robin.history["messages"][0]["reactions"]] == ["Alex"]
