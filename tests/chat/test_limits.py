"""Limits with clear error frames: message length, frame size, and a per-member rate limit."""

import pytest
from channels.db import database_sync_to_async

from chat.models import Message
from chat.protocol import MAX_FRAME_CHARS, RATE_LIMIT_MESSAGES, RATE_LIMIT_WINDOW_SECONDS
from tests.chat.frames import sees_arrival
from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)


async def send_many(socket, count: int, prefix: str = "m") -> None:
    for number in range(count):
        await socket.send({"type": "send", "client_id": f"{prefix}{number}", "body": f"Thought {number}"})
        assert (await socket.receive_until("ack"))["duplicate"] is False


async def test_a_message_over_four_thousand_characters_is_refused_and_kept_for_the_author(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        await sam.send({"type": "send", "client_id": "long", "body": "a" * 4_001})
        error = await sam.receive_until("error")
        assert error["code"] == "too_long"
        assert error["ref"] == "long"
        assert "4,000 characters" in error["message"]
        assert await sam.nothing_more()


async def test_a_frame_over_the_size_limit_is_refused(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        await sam.send_text('{"type": "ping", "padding": "' + "x" * MAX_FRAME_CHARS + '"}')
        assert (await sam.receive_until("error"))["code"] == "frame_too_large"
        assert await sam.nothing_more()


async def test_a_member_who_posts_too_fast_is_told_when_they_can_post_again(
    channel_layer, group, member, second_member
):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await sees_arrival(sam, "Alex")
        await send_many(sam, RATE_LIMIT_MESSAGES)
        await sam.send({"type": "send", "client_id": "one-too-many", "body": "And another thing"})
        error = await sam.receive_until("error")
        assert error["code"] == "rate_limited"
        assert error["ref"] == "one-too-many"
        assert 1 <= error["retry_after"] <= RATE_LIMIT_WINDOW_SECONDS
        assert f"You can post again in {error['retry_after']} second" in error["message"]
        # A resend of something already stored is still acknowledged, never refused.
        await sam.send({"type": "send", "client_id": "m0", "body": "Thought 0"})
        assert (await sam.receive_until("ack"))["duplicate"] is True

        for _ in range(RATE_LIMIT_MESSAGES):
            await alex.receive_until("message")
        assert await alex.nothing_more()
    assert await database_sync_to_async(Message.objects.count)() == RATE_LIMIT_MESSAGES


async def test_the_rate_limit_holds_across_a_reconnect(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        await send_many(sam, RATE_LIMIT_MESSAGES)
    async with connected(member, group.slug) as sam:
        await sam.send({"type": "send", "client_id": "after-reconnect", "body": "Did the limit forget me?"})
        assert (await sam.receive_until("error"))["code"] == "rate_limited"
