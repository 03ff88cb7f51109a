"""A removal or ban closes the person's sockets in every server process."""

import asyncio
import json
import uuid

import pytest
import websockets
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from groups.actions import ban_member, remove_member
from groups.models import Membership
from tests.conftest import REDIS_URL, require_redis
from tests.support.servers import Daphne, ws_headers
from tests.support.waiting import FRAME_PATIENCE, PATIENCE

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shared_layer(settings):
    """This test process and both daphne processes on one Redis channel layer."""
    require_redis()
    prefix = f"sys-{uuid.uuid4().hex[:8]}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL}], "prefix": prefix},
        }
    }
    return prefix


async def history_read(ws) -> None:
    while json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] != "history":
        pass


async def close_code(ws, timeout: float) -> int:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code


@pytest.mark.parametrize(("action", "expected_code"), [(remove_member, 4409), (ban_member, 4410)])
async def test_every_open_socket_of_the_person_closes_on_both_processes(
    shared_layer, group, facilitator, member, second_member, action, expected_code
):
    sam_headers = await sync_to_async(ws_headers)(member)
    alex_headers = await sync_to_async(ws_headers)(second_member)
    env = {"CHANNEL_PREFIX": shared_layer}
    path = f"/ws/groups/{group.slug}/"
    with Daphne(redis_url=REDIS_URL, extra_env=env) as first, Daphne(redis_url=REDIS_URL, extra_env=env) as second:
        async with (
            websockets.connect(first.ws_url + path, additional_headers=sam_headers) as sam_tab_one,
            websockets.connect(second.ws_url + path, additional_headers=sam_headers) as sam_tab_two,
            websockets.connect(second.ws_url + path, additional_headers=alex_headers) as alex,
        ):
            for ws in (sam_tab_one, sam_tab_two, alex):
                await history_read(ws)
            membership = await sync_to_async(Membership.objects.get)(user=member, group=group)

            await sync_to_async(action)(facilitator, membership, "Harm to other members.")
            # Closed by the removal's broadcast, with its own code (how soon is the bench's to measure).
            codes = await asyncio.gather(close_code(sam_tab_one, PATIENCE), close_code(sam_tab_two, PATIENCE))
            assert codes == [expected_code, expected_code]

            # Alex's socket on the same process stays open and usable (presence may say Sam left first).
            await alex.send(json.dumps({"type": "ping"}))
            while (frame := json.loads(await asyncio.wait_for(alex.recv(), FRAME_PATIENCE)))["type"] != "pong":
                assert frame["type"] == "presence", frame

        # And Sam cannot come back in through either process.
        for server in (first, second):
            async with websockets.connect(server.ws_url + path, additional_headers=sam_headers) as again:
                assert await close_code(again, 3) == expected_code
    await get_channel_layer().flush()
