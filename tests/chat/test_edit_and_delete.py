"""A member rewords or removes their own message; everyone sees the change, live and in history."""

import pytest
from channels.db import database_sync_to_async

from chat.models import ChatEvent, Message
from tests.chat.frames import sees_arrival
from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_author_edits_and_everyone_sees_the_new_words_marked_edited(
    channel_layer, group, member, second_member
):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await sam.send({"type": "send", "client_id": "s1", "body": "I feel like a failure"})
        await alex.receive_until("message")
        await sam.send({"type": "edit", "seq": 1, "body": "I feel like I'm struggling, and that's okay"})

        for socket in (alex, sam):
            updated = (await socket.receive_until("message_updated"))["message"]
            assert updated["seq"] == 1
            assert updated["body"] == "I feel like I'm struggling, and that's okay"
            assert updated["edited_at"] is not None
        assert await alex.nothing_more()

    async with connected(second_member, group.slug) as alex:
        [message] = alex.history["messages"]
        assert message["body"] == "I feel like I'm struggling, and that's okay"
        assert message["edited_at"] is not None
    assert await database_sync_to_async(ChatEvent.objects.filter(kind="chat.message.edited").count)() == 1


async def test_nobody_can_edit_or_remove_someone_elses_message(channel_layer, group, member, second_member):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await sees_arrival(sam, "Alex")
        await sam.send({"type": "send", "client_id": "s1", "body": "My words"})
        await alex.receive_until("message")
        await alex.send({"type": "edit", "seq": 1, "body": "Someone else's words"})
        assert (await alex.receive_until("error"))["code"] == "not_your_message"
        await alex.send({"type": "delete", "seq": 1})
        assert (await alex.receive_until("error"))["code"] == "not_your_message"
        await sam.receive_until("message")
        assert await sam.nothing_more()
        assert await alex.nothing_more()
    assert await database_sync_to_async(Message.objects.values_list("body", "state").get)() == ("My words", "visible")


async def test_the_author_removes_a_message_and_everyone_sees_a_tombstone(channel_layer, group, member, second_member):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await sam.send({"type": "send", "client_id": "s1", "body": "I shared too much"})
        await alex.receive_until("message")
        await sam.send({"type": "delete", "seq": 1})
        for socket in (alex, sam):
            removed = (await socket.receive_until("message_updated"))["message"]
            assert removed["state"] == "removed_by_author"
            assert removed["body"] == ""

    async with connected(second_member, group.slug, query="last_seq=0") as alex:
        [message] = alex.history["messages"]
        assert message["seq"] == 1
        assert message["state"] == "removed_by_author"
        assert message["body"] == ""
    # The words are erased, not just hidden.
    assert await database_sync_to_async(Message.objects.values_list("body", flat=True).get)() == ""


async def test_a_removed_message_cannot_be_edited_back(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        await sam.send({"type": "send", "client_id": "s1", "body": "Gone soon"})
        await sam.receive_until("ack")
        await sam.send({"type": "delete", "seq": 1})
        await sam.receive_until("message_updated")
        await sam.send({"type": "edit", "seq": 1, "body": "Back again"})
        error = await sam.receive_until("error")
        assert error["code"] == "not_found"


async def test_an_edit_that_is_too_long_is_refused_and_changes_nothing(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        await sam.send({"type": "send", "client_id": "s1", "body": "Short"})
        await sam.receive_until("message")
        await sam.send({"type": "edit", "seq": 1, "body": "x" * 4_001})
        assert (await sam.receive_until("error"))["code"] == "too_long"
        assert await sam.nothing_more()


def test_an_edit_is_broadcast_only_after_it_commits(group, member, monkeypatch):
    from django.db import transaction

    from chat.actions import edit_message, post_message
    from supportcircle import realtime

    post_message(member.pk, group.pk, client_id="s1", body="First words")
    sent = []
    monkeypatch.setattr(realtime, "send_now", lambda channel, event: sent.append(event))
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            edit_message(member.pk, group.pk, seq=1, body="Second thoughts")
            assert sent == []
            raise RuntimeError("the surrounding transaction fails")
    assert sent == []
    assert Message.objects.get(seq=1).body == "First words"
