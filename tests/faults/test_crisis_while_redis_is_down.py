"""A crisis message while Redis is down: the member sees resources at once, and the alert waits in the
database until a facilitator opens the chat (real daphne, a private redis-server killed first)."""

import asyncio
import json

import pytest
import websockets
from asgiref.sync import sync_to_async

from moderation.models import Alert
from tests.support.redis_server import RedisServer
from tests.support.servers import Daphne, ws_headers

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

CRISIS = "I don't think I can keep going. I want to kill myself."
SERVER_ENV = {"CHANNEL_ENCRYPTION_KEY": "fault-tests-channel-key-0123456789abcdef"}


async def first_of(ws, frame_type: str, timeout: float = 3) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if frame["type"] == frame_type:
            return frame


async def test_a_crisis_while_redis_is_down_shows_resources_at_once_and_alerts_later(group, member, facilitator):
    sam_headers = await sync_to_async(ws_headers)(member)
    robin_headers = await sync_to_async(ws_headers)(facilitator)
    with RedisServer() as private_redis, Daphne(redis_url=private_redis.url, extra_env=SERVER_ENV) as server:
        url = f"{server.ws_url}/ws/groups/{group.slug}/"
        async with websockets.connect(url, additional_headers=sam_headers) as sam:
            await first_of(sam, "history")
            private_redis.kill()
            await sam.send(json.dumps({"type": "send", "client_id": "crisis-1", "body": CRISIS}))
            await first_of(sam, "ack")
            card = await first_of(sam, "crisis_resources")
            assert card["resources"]
        assert await sync_to_async(Alert.objects.filter(group=group, acknowledged_at__isnull=True).count)() == 1

        private_redis.start()  # Redis is back; Robin, who was not online, opens the chat
        async with websockets.connect(url, additional_headers=robin_headers) as robin:
            alert = (await first_of(robin, "crisis_alert", timeout=5))["alert"]
            assert alert["member"]["pseudonym"] == "Sam"
