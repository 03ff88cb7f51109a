"""The server process is killed and restarted mid-conversation: clients back off, reconnect with
their last sequence number, resend what was not acknowledged, and end with the same transcript."""

import asyncio

import pytest
import redis
from asgiref.sync import sync_to_async

from chat.models import Message
from tests.support.chat_client import ChatClient
from tests.support.redis_server import RedisServer
from tests.support.servers import Daphne, ws_headers
from tests.support.waiting import eventually_async

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

SERVER_ENV = {"CHANNEL_ENCRYPTION_KEY": "fault-tests-channel-key-0123456789abcdef", "CHAT_RATE_LIMIT": "1000/10"}


def subscribers(redis_url: str, group_id: int) -> int:
    client = redis.Redis.from_url(redis_url)
    channel = f"sc__group__group.{group_id}"
    return dict(client.pubsub_numsub(channel)).get(channel.encode(), 0)


async def subscribers_become(redis_url: str, group_id: int, expected: int) -> bool:
    return await eventually_async(
        lambda: subscribers(redis_url, group_id) == expected, what=f"{expected} subscriber(s) to the group"
    )


async def test_a_killed_and_restarted_server_loses_and_duplicates_nothing(group, member, second_member):
    with RedisServer() as private_redis:
        server = Daphne(redis_url=private_redis.url, extra_env=SERVER_ENV).start()
        try:
            url = lambda: f"{server.ws_url}/ws/groups/{group.slug}/"  # noqa: E731  (same port after the restart)
            sam = ChatClient(url, await sync_to_async(ws_headers)(member)).start()
            alex = ChatClient(url, await sync_to_async(ws_headers)(second_member)).start()
            await sam.until(lambda: sam.connections == 1)
            await alex.until(lambda: alex.connections == 1)
            assert await subscribers_become(private_redis.url, group.pk, 1)  # one process, subscribed once
            said = []
            for number in range(1, 21):
                if number == 8:
                    server.kill()
                    # The dead process's subscriptions went with its connection: nothing stale remains.
                    assert await subscribers_become(private_redis.url, group.pk, 0)
                if number == 14:
                    server = Daphne(redis_url=private_redis.url, port=server.port, extra_env=SERVER_ENV).start()
                said.append(f"message {number}")
                await (sam if number % 2 else alex).say(said[-1])
                await asyncio.sleep(0.05)  # a conversation's pace, so the crash falls mid-conversation
            for client in (sam, alex):
                await client.until(lambda client=client: not client.outbox and client.contiguous >= 20)
            await sam.stop()
            await alex.stop()
        finally:
            server.stop()
    stored = await sync_to_async(list)(
        Message.objects.filter(group=group).order_by("seq").values_list("body", flat=True)
    )
    assert sorted(stored) == sorted(said)
    assert sam.bodies() == alex.bodies() == stored
    assert sam.connections >= 2 and alex.connections >= 2
