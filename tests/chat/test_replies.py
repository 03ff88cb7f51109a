"""A member answers a message by quoting it."""

import pytest
from channels.db import database_sync_to_async

from chat.actions import post_message
from chat.models import Message
from tests.chat.frames import message_numbered, sees_arrival
from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_reply_carries_a_quote_of_the_message_it_answers(channel_layer, group, member, second_member):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await sam.send({"type": "send", "client_id": "s1", "body": "Today was heavy. I skipped the walk."})
        await alex.receive_until("message")
        await alex.send(
            {"type": "send", "client_id": "a1", "body": "That sounds hard. I'm glad you said it.", "reply_to": 1}
        )

        reply = await message_numbered(sam, 2)
        assert reply["reply_to"] == {
            "seq": 1,
            "author": {"id": member.pk, "pseudonym": "Sam"},
            "excerpt": "Today was heavy. I skipped the walk.",
            "state": "visible",
            "content_warning": "",
        }
        assert (await alex.receive_until("ack"))["message"]["reply_to"]["seq"] == 1

    async with connected(member, group.slug) as sam:
        assert sam.history["messages"][1]["reply_to"]["excerpt"] == "Today was heavy. I skipped the walk."


async def test_a_reply_to_a_message_that_does_not_exist_is_refused_and_nothing_is_posted(
    channel_layer, group, member, second_member
):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await sees_arrival(sam, "Alex")
        await sam.send({"type": "send", "client_id": "s1", "body": "Replying to nothing", "reply_to": 41})
        error = await sam.receive_until("error")
        assert error["code"] == "not_found"
        assert error["detail"] == "reply_to"
        assert error["ref"] == "s1"
        assert await sam.nothing_more()
        assert await alex.nothing_more()
    assert await database_sync_to_async(Message.objects.count)() == 0


async def test_a_reply_to_a_removed_message_quotes_nothing_of_it(channel_layer, group, member, second_member):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await sam.send({"type": "send", "client_id": "s1", "body": "Something I regret saying"})
        await message_numbered(alex, 1)
        await alex.send({"type": "send", "client_id": "a1", "body": "Thank you for trusting us", "reply_to": 1})
        await alex.receive_until("ack")
        await sam.send({"type": "delete", "seq": 1})
        await sam.receive_until("message_updated")

    async with connected(second_member, group.slug) as alex:
        quoted = alex.history["messages"][1]["reply_to"]
        assert quoted["excerpt"] == ""
        assert quoted["state"] == "removed_by_author"


async def test_a_quote_never_shows_words_the_reader_chose_not_to_see(
    channel_layer, group, member, second_member, facilitator
):
    from groups.actions import block_member, mute_member

    await database_sync_to_async(mute_member)(member, second_member)
    async with connected(member, group.slug) as sam, connected(facilitator, group.slug) as robin:
        alex_message = await database_sync_to_async(post_message)(
            second_member.pk, group.pk, client_id="a1", body="Something Sam muted"
        )
        await message_numbered(robin, 1)
        await robin.send({"type": "send", "client_id": "r1", "body": "Thank you, Alex.", "reply_to": 1})
        quote = (await message_numbered(sam, 2))["reply_to"]
        assert quote["withheld"] is True
        assert quote["excerpt"] == ""
        assert (await message_numbered(robin, 2))["reply_to"]["excerpt"] == "Something Sam muted"
    assert alex_message.message.seq == 1

    await database_sync_to_async(block_member)(member, second_member)
    async with connected(member, group.slug) as sam:
        [reply] = sam.history["messages"]
        assert reply["reply_to"]["withheld"] is True
        assert reply["reply_to"]["author"] == {"id": None, "pseudonym": ""}
        assert "Something Sam muted" not in str(sam.history)
