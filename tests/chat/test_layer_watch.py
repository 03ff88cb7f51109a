"""A process tells its sockets to catch up when Redis may have lost what was published, and only then.

chat.layer_watch judges by what Redis says (a heartbeat it published that never came back, a command it
refused, its own clock standing still), never by how late this process hears it: an event loop too busy to
read its heartbeats in time must not send every socket a re-check and a catch-up. On the real Redis: the
suite's for a busy loop; a private redis-server (tests/support/redis_server.py) to pause and restart.
"""

import asyncio
import time
import uuid

import pytest

from chat import layer_watch
from chat.layers import BoundedRedisPubSubChannelLayer
from tests.conftest import REDIS_URL, require_redis
from tests.support.redis_server import RedisServer
from tests.support.waiting import PATIENCE


def layer_on(url: str) -> BoundedRedisPubSubChannelLayer:
    return BoundedRedisPubSubChannelLayer(hosts=[{"address": url}], prefix=f"test-{uuid.uuid4().hex[:8]}")


class Watched:
    """A watcher on a layer, and a socket's channel in the process's group, which hears what every socket would."""

    def __init__(self, layer: BoundedRedisPubSubChannelLayer) -> None:
        self.layer = layer
        self.watcher = layer_watch.Watcher(layer)

    async def __aenter__(self) -> "Watched":
        self.socket = await self.layer.new_channel()
        await self.layer.group_add(layer_watch.PROCESS_GROUP, self.socket)
        self.running = asyncio.ensure_future(self.watcher.run())
        await self.heartbeats_heard(3)
        return self

    async def __aexit__(self, *exc) -> None:
        self.running.cancel()
        await asyncio.gather(self.running, return_exceptions=True)
        await self.layer.flush()

    async def heartbeats_heard(self, count: int) -> None:
        deadline = time.monotonic() + PATIENCE
        while self.watcher.heard < count:
            assert time.monotonic() < deadline, f"heard {self.watcher.heard} heartbeats, waited for {count}"
            await asyncio.sleep(0.05)

    async def told(self, within: float) -> list[dict]:
        """What a socket of the process heard from the watcher within ``within`` seconds."""
        heard = []
        try:
            async with asyncio.timeout(within):
                while True:
                    heard.append(await self.layer.receive(self.socket))
        except TimeoutError:
            return heard


async def a_crowd_seconds_behind(layer: BoundedRedisPubSubChannelLayer, turns: int) -> None:
    """What a process in a crowd does to its event loop: every turn of it takes a while (the sockets' work,
    here 0.2 s), and broadcasts queue for the layer's connection to Redis, each waiting for the ones before
    it to be answered, a turn or more each. Everything the watcher sends and hears waits its turn too."""

    async def sockets_at_work() -> None:
        for _ in range(turns):
            time.sleep(0.2)  # noqa: ASYNC251 (holding the loop is the point)
            await asyncio.sleep(0)

    async def broadcast(number: int) -> None:
        await layer.group_send("a-busy-room", {"type": "chat.message", "n": number})

    await asyncio.gather(sockets_at_work(), *(broadcast(number) for number in range(turns)))


async def test_an_event_loop_seconds_behind_tells_no_socket_anything(caplog):
    require_redis()
    async with Watched(layer_on(REDIS_URL)) as watched:
        heard = watched.watcher.heard
        # Heartbeats go out and come back seconds late, and Redis's answers are read late, though Redis
        # took each in time.
        await a_crowd_seconds_behind(watched.layer, turns=30)
        await watched.heartbeats_heard(heard + 3)
        assert await watched.told(within=1.0) == []
    assert "channel layer interrupted" not in caplog.text


@pytest.mark.system
async def test_a_paused_redis_is_noticed_and_every_socket_told_once_it_answers():
    with RedisServer() as redis:
        async with Watched(layer_on(redis.url)) as watched:
            redis.pause()
            await asyncio.sleep(3)  # longer than a send waits for Redis (SEND_TIMEOUT_SECONDS) before giving up
            redis.resume()
            assert await watched.told(within=PATIENCE / 3) == [layer_watch.RECONNECTED_EVENT]


@pytest.mark.system
async def test_a_restarted_redis_is_noticed_and_every_socket_told_once_it_answers():
    with RedisServer() as redis:
        async with Watched(layer_on(redis.url)) as watched:
            redis.kill()
            await asyncio.sleep(1)
            redis.start()
            told = await watched.told(within=PATIENCE / 3)
            assert told and set(map(str, told)) == {str(layer_watch.RECONNECTED_EVENT)}
