"""A group message is decoded (checked, decrypted, unpacked) once per process, not once per socket.

With Redis, chat payloads cross encrypted; each of a process's sockets in the group used to decrypt
the same bytes again. Every recipient still gets the whole event, as its own copy.
"""

import asyncio
import uuid
from unittest import mock

from cryptography.fernet import MultiFernet

from chat.layers import BoundedRedisPubSubChannelLayer
from tests.conftest import REDIS_URL, require_redis

ROOM = 30


def encrypted_layer() -> BoundedRedisPubSubChannelLayer:
    require_redis()
    return BoundedRedisPubSubChannelLayer(
        hosts=[{"address": REDIS_URL}],
        prefix=f"test-{uuid.uuid4().hex[:8]}",
        symmetric_encryption_keys=["a key for the test only"],
    )


async def test_a_room_of_thirty_decrypts_each_message_once_and_everyone_gets_all_of_it():
    layer = encrypted_layer()
    try:
        channels = [await layer.new_channel() for _ in range(ROOM)]
        for channel in channels:
            await layer.group_add("room", channel)
        event = {"type": "chat.message", "seq": 7, "author_id": 3, "frame": '{"type": "message", "seq": 7}'}
        with mock.patch.object(MultiFernet, "decrypt", autospec=True, side_effect=MultiFernet.decrypt) as decrypt:
            await layer.group_send("room", event)
            received = await asyncio.wait_for(asyncio.gather(*(layer.receive(c) for c in channels)), 5)
        assert received == [event] * ROOM
        assert decrypt.call_count == 1

        received[0]["seq"] = 8  # one socket's copy is its own
        assert received[1]["seq"] == 7
    finally:
        await layer.flush()


async def test_messages_to_one_socket_and_to_groups_interleaved_each_arrive_whole():
    layer = encrypted_layer()
    try:
        first, second = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("room", first)
        await layer.group_add("room", second)
        await layer.send(first, {"type": "private.frame", "frame": "only for you"})
        for seq in range(3):
            await layer.group_send("room", {"type": "chat.message", "seq": seq})
        mine = [await asyncio.wait_for(layer.receive(first), 5) for _ in range(4)]
        theirs = [await asyncio.wait_for(layer.receive(second), 5) for _ in range(3)]
        assert mine[0] == {"type": "private.frame", "frame": "only for you"}
        assert [m["seq"] for m in mine[1:]] == [0, 1, 2]
        assert [m["seq"] for m in theirs] == [0, 1, 2]
    finally:
        await layer.flush()
