"""Each server process publishes its group messages in order, many to a round trip, and a
broadcast never fails or stalls the person who sent it, even with Redis gone."""

import asyncio
import uuid

from channels.layers import get_channel_layer

from tests.conftest import REDIS_URL, require_redis
from tests.support.servers import free_port


def layer_at(settings, address: str) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chat.layers.BoundedRedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": address}], "prefix": f"test-{uuid.uuid4().hex[:8]}", "capacity": 1_000},
        }
    }


async def test_a_burst_of_broadcasts_arrives_complete_and_in_order(settings):
    require_redis()
    layer_at(settings, REDIS_URL)
    layer = get_channel_layer()
    try:
        channel = await layer.new_channel()
        await layer.group_add("group.order", channel)
        for number in range(300):
            await layer.group_send("group.order", {"type": "chat.message", "seq": number})
        received = [(await asyncio.wait_for(layer.receive(channel), 5))["seq"] for _ in range(300)]
        assert received == list(range(300))
    finally:
        await layer.flush()


async def test_a_broadcast_with_redis_gone_returns_at_once_and_raises_nothing(settings, caplog):
    layer_at(settings, f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    layer = get_channel_layer()
    try:
        await asyncio.wait_for(layer.group_send("group.gone", {"type": "chat.message", "seq": 1}), 0.5)
        await asyncio.sleep(0.5)  # the publisher tries, fails and says so
        assert "publish failed" in caplog.text
    finally:
        await layer.flush()
