"""Each member's boundaries, applied by the server per recipient: live, in history and in backfill."""

import pytest
from channels.db import database_sync_to_async

from chat.actions import post_message
from groups.actions import block_member, mute_member, unblock_member, update_boundary_settings
from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)


async def frame_types_within(socket, seconds: float = 0.3) -> list[str]:
    """Every frame type that arrives in the next moment (presence and typing may come and go)."""
    types = []
    while not await socket.nothing_more(seconds):
        types.append((await socket.receive())["type"])
    return types


def say(user, group, client_id, body, content_warning=None):
    return post_message(user.pk, group.pk, client_id=client_id, body=body, content_warning=content_warning)


async def test_a_block_hides_each_from_the_other_live_both_ways(
    channel_layer, group, facilitator, member, second_member
):
    await database_sync_to_async(block_member)(member, second_member)
    async with (
        connected(member, group.slug) as sam,
        connected(second_member, group.slug) as alex,
        connected(facilitator, group.slug) as robin,
    ):
        await alex.send({"type": "send", "client_id": "a1", "body": "Hello all"})
        assert (await alex.receive_until("ack"))["message"]["seq"] == 1
        assert (await robin.receive_until("message"))["message"]["body"] == "Hello all"

        await sam.send({"type": "send", "client_id": "s1", "body": "Morning"})
        assert (await sam.receive_until("ack"))["message"]["seq"] == 2
        assert (await robin.receive_until("message"))["message"]["body"] == "Morning"

        # Sam's own broadcast copy of "Morning" and Alex's own copy of "Hello all", nothing else.
        assert (await sam.receive_until("message"))["message"]["seq"] == 2
        assert (await alex.receive_until("message"))["message"]["seq"] == 1
        assert await sam.nothing_more()
        assert await alex.nothing_more()


async def test_a_block_applies_to_history_and_backfill_and_through_seq_covers_the_gap(
    channel_layer, group, facilitator, member, second_member
):
    def conversation():
        say(facilitator, group, "r1", "Welcome")
        say(second_member, group, "a1", "Hi, it's Alex")
        say(facilitator, group, "r2", "Let's begin")
        block_member(second_member, member)  # Alex blocks Sam: Sam no longer sees Alex either

    await database_sync_to_async(conversation)()
    async with connected(member, group.slug) as sam:
        assert [m["body"] for m in sam.history["messages"]] == ["Welcome", "Let's begin"]
        assert sam.history["through_seq"] == 3
        await sam.send({"type": "backfill", "after_seq": 0})
        backfill = await sam.receive_until("history")
        assert [m["seq"] for m in backfill["messages"]] == [1, 3]
        assert backfill["through_seq"] == 3 and backfill["more"] is False
    async with connected(member, group.slug, query="last_seq=1") as sam:
        assert [m["seq"] for m in sam.history["messages"]] == [3]
        assert sam.history["through_seq"] == 3


async def test_a_block_made_while_connected_takes_effect_at_once_and_unblocking_restores(
    channel_layer, group, member, second_member
):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await database_sync_to_async(block_member)(member, second_member)
        await alex.send({"type": "send", "client_id": "a1", "body": "Can you hear me?"})
        await alex.receive_until("ack")
        # The block reached Sam's socket before the message did (both via the channel layer, in order).
        await sam.send({"type": "ping"})
        await sam.receive_until("pong")
        assert "message" not in await frame_types_within(sam)

        await database_sync_to_async(unblock_member)(member, second_member)
        await sam.send({"type": "ping"})
        await sam.receive_until("pong")
        await alex.send({"type": "send", "client_id": "a2", "body": "Now?"})
        assert (await sam.receive_until("message"))["message"]["body"] == "Now?"


async def test_a_mute_collapses_for_the_muter_only(channel_layer, group, member, second_member, facilitator):
    await database_sync_to_async(mute_member)(member, second_member)
    async with connected(member, group.slug) as sam, connected(facilitator, group.slug) as robin:
        await database_sync_to_async(say)(second_member, group, "a1", "I think you should try yoga")
        muted = (await sam.receive_until("message"))["message"]
        assert muted["collapsed"] == {"reason": "muted", "label": ""}
        assert muted["author"]["pseudonym"] == "Alex"
        plain = (await robin.receive_until("message"))["message"]
        assert "collapsed" not in plain
        assert await sam.nothing_more()
    async with connected(member, group.slug) as sam:
        assert sam.history["messages"][0]["collapsed"]["reason"] == "muted"


async def test_the_content_warnings_i_chose_arrive_collapsed_for_me_and_nobody_else(
    channel_layer, group, member, second_member, facilitator
):
    await database_sync_to_async(update_boundary_settings)(
        member, dm_policy="accepted", collapsed_labels=["food"], here_to_be_heard=False
    )
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await database_sync_to_async(say)(facilitator, group, "r1", "Lunch was hard today", "food")
        await database_sync_to_async(say)(facilitator, group, "r2", "A memory came back", "trauma_details")
        food = (await sam.receive_until("message"))["message"]
        assert food["collapsed"] == {"reason": "content_warning", "label": "food"}
        assert "collapsed" not in (await sam.receive_until("message"))["message"]
        assert "collapsed" not in (await alex.receive_until("message"))["message"]
    async with connected(member, group.slug) as sam:
        assert [m.get("collapsed", {}).get("label") for m in sam.history["messages"]] == ["food", None]


async def test_changing_my_collapsed_labels_while_connected_applies_to_the_next_message(
    channel_layer, group, member, facilitator
):
    async with connected(member, group.slug) as sam:
        await database_sync_to_async(update_boundary_settings)(
            member, dm_policy="accepted", collapsed_labels=["body"], here_to_be_heard=False
        )
        await sam.send({"type": "ping"})
        await sam.receive_until("pong")
        await database_sync_to_async(say)(facilitator, group, "r1", "Noticing my body today", "body")
        assert (await sam.receive_until("message"))["message"]["collapsed"]["label"] == "body"


async def test_here_to_be_heard_shows_beside_my_name_live_and_in_history(channel_layer, group, member, second_member):
    await database_sync_to_async(update_boundary_settings)(
        member, dm_policy="accepted", collapsed_labels=[], here_to_be_heard=True
    )
    async with connected(second_member, group.slug) as alex, connected(member, group.slug) as sam:
        await sam.send({"type": "send", "client_id": "s1", "body": "I just need to vent."})
        assert (await sam.receive_until("ack"))["message"]["author"]["heard_only"] is True
        assert (await alex.receive_until("message"))["message"]["author"]["heard_only"] is True
        await alex.send({"type": "send", "client_id": "a1", "body": "I'm listening."})
        assert "heard_only" not in (await alex.receive_until("ack"))["message"]["author"]
    async with connected(second_member, group.slug) as alex:
        assert alex.history["messages"][0]["author"]["heard_only"] is True
