"""A crowd of sockets opening at once subscribes to Redis in a few commands, not one per channel,
and every socket still hears its groups; a leave and a join that cross leave the join standing."""

import asyncio
import uuid

import redis
from channels.layers import get_channel_layer

from tests.conftest import REDIS_URL, require_redis
from tests.support.servers import free_port


def layer_at(settings, address: str) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chat.layers.BoundedRedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": address}], "prefix": f"test-{uuid.uuid4().hex[:8]}"},
        }
    }


def subscribe_calls() -> int:
    stats = redis.Redis.from_url(REDIS_URL).info("commandstats")
    return int(stats.get("cmdstat_subscribe", {}).get("calls", 0))


async def test_a_crowd_opening_at_once_subscribes_in_a_few_commands_and_everyone_hears_their_group(settings):
    require_redis()
    layer_at(settings, REDIS_URL)
    layer = get_channel_layer()
    try:
        await layer.new_channel()  # the process's connection to Redis, opened before counting
        before = subscribe_calls()

        async def arrive(number: int) -> str:
            # What a socket does: its own channel, then its group, its person and its session.
            channel = await layer.new_channel()
            await layer.group_add_many([f"room.{number % 10}", f"user.{number}", f"session.{number}"], channel)
            return channel

        channels = await asyncio.gather(*(arrive(number) for number in range(200)))
        sent = subscribe_calls() - before
        # 800 channels one command each before; here at most a handful of rounds.
        assert sent <= 10, sent

        for room in range(10):
            await layer.group_send(f"room.{room}", {"type": "chat.message", "room": room})
        for number, channel in enumerate(channels):
            message = await asyncio.wait_for(layer.receive(channel), 5)
            assert message["room"] == number % 10
        await layer.group_send("user.7", {"type": "chat.notice", "to": 7})
        assert (await asyncio.wait_for(layer.receive(channels[7]), 5))["to"] == 7
    finally:
        await layer.flush()


async def test_a_leave_and_a_join_that_cross_leave_the_room_subscribed(settings):
    require_redis()
    layer_at(settings, REDIS_URL)
    layer = get_channel_layer()
    try:
        leaving, joining = await layer.new_channel(), await layer.new_channel()
        await layer.group_add_many(["room.crossing"], leaving)
        # The last socket of the room leaves while another joins, in the same moment.
        await asyncio.gather(
            layer.group_discard_many(["room.crossing"], leaving),
            layer.group_add_many(["room.crossing"], joining),
        )
        await layer.group_send("room.crossing", {"type": "chat.message", "body": "still here"})
        assert (await asyncio.wait_for(layer.receive(joining), 5))["body"] == "still here"
    finally:
        await layer.flush()


async def test_everyone_in_a_round_hears_that_redis_is_gone(settings):
    layer_at(settings, f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    layer = get_channel_layer()
    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(layer.new_channel() for _ in range(5)), return_exceptions=True), 10
        )
        assert all(isinstance(result, Exception) for result in results), results
    finally:
        await layer.flush()


async def test_a_socket_subscribes_while_a_publish_waits_on_a_stalled_redis(settings):
    # A stalled Redis holds a publish in its round trip; someone arriving meanwhile still subscribes
    # (a write Redis will read when it wakes) and is served, instead of queueing behind that publish.
    from tests.support.redis_server import RedisServer

    with RedisServer() as server:
        layer_at(settings, server.url)
        layer = get_channel_layer()
        try:
            await layer.new_channel()  # connected before the stall
            server.pause()
            try:
                await layer.group_send("room.stalled", {"type": "chat.message", "body": "sent into the stall"})
                publishing = asyncio.ensure_future(layer.group_send("room.stalled", {"type": "chat.message"}))
                await asyncio.sleep(0.2)
                channel = await asyncio.wait_for(layer.new_channel(), 1)
                await asyncio.wait_for(layer.group_add_many(["room.stalled", "user.9"], channel), 1)
            finally:
                server.resume()
            await asyncio.wait_for(publishing, 10)
            await layer.group_send("room.stalled", {"type": "chat.message", "body": "after the stall"})
            bodies = []
            while "after the stall" not in bodies:
                bodies.append((await asyncio.wait_for(layer.receive(channel), 5)).get("body"))
        finally:
            await layer.flush()
