"""What members write never lands in a log line, an error report or Redis in clear.

A unique canary string is sent in chat; then every place it could leak is searched.
"""

import asyncio
import json
import logging
import subprocess
import uuid

import pytest
import redis
import websockets
from asgiref.sync import sync_to_async
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper

import supportcircle.asgi  # noqa: F401  (Django's setup reconfigures logging; do it before capturing)
from tests.conftest import connected
from tests.support.redis_server import RedisServer
from tests.support.servers import Daphne, ws_headers
from tests.support.waiting import eventually_async

pytestmark = pytest.mark.django_db(transaction=True)


def new_canary() -> str:
    return f"canary-{uuid.uuid4().hex}"


def refuse(self, *args, **kwargs):
    raise OperationalError("the database is unavailable")


async def test_a_canary_sent_in_chat_appears_in_no_log_line(channel_layer, group, member, second_member, caplog):
    canary = new_canary()
    caplog.set_level(logging.DEBUG)
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await sam.send({"type": "send", "client_id": "c1", "body": f"I feel {canary} today"})
        await sam.receive_until("ack")
        assert canary in (await alex.receive_until("message"))["message"]["body"]
        # The failure paths log too: a refused frame, an oversize body, an unknown type, an outage.
        await sam.send({"type": "send", "client_id": "c2", "body": canary * 400})
        await sam.receive_until("error")
        await sam.send({"type": canary})
        await sam.receive_until("error")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(CursorWrapper, "_execute", refuse)
            await sam.send({"type": "send", "client_id": "c3", "body": f"again {canary}"})
            assert (await sam.receive_until("error"))["code"] == "try_again"
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert caplog.records  # the capture itself worked
    assert canary not in logged


@pytest.mark.system
async def test_a_canary_crosses_redis_only_encrypted_and_stays_out_of_the_server_log(
    group, member, second_member, tmp_path
):
    canary = new_canary()
    server_log = tmp_path / "daphne.log"
    monitor_log = tmp_path / "monitor.log"
    env = {"CHANNEL_ENCRYPTION_KEY": "canary-test-channel-key-0123456789abcdef", "LOG_LEVEL": "DEBUG"}
    with RedisServer() as private_redis, Daphne(redis_url=private_redis.url, extra_env=env, log_path=server_log) as srv:
        with monitor_log.open("wb") as monitor_out:
            monitor = subprocess.Popen(
                ["redis-cli", "-p", str(private_redis.port), "monitor"], stdout=monitor_out, stderr=subprocess.DEVNULL
            )
            try:
                url = f"{srv.ws_url}/ws/groups/{group.slug}/"
                sam_headers = await sync_to_async(ws_headers)(member)
                alex_headers = await sync_to_async(ws_headers)(second_member)
                async with (
                    websockets.connect(url, additional_headers=sam_headers) as sam,
                    websockets.connect(url, additional_headers=alex_headers) as alex,
                ):
                    await sam.send(json.dumps({"type": "send", "client_id": "c1", "body": f"I feel {canary}"}))
                    while True:
                        frame = json.loads(await asyncio.wait_for(alex.recv(), 5))
                        if frame["type"] == "message":
                            assert canary in frame["message"]["body"]  # it did cross Redis
                            break
                # The capture has seen the broadcast before it stops.
                await eventually_async(
                    lambda: b"PUBLISH" in monitor_log.read_bytes().upper(), what="the PUBLISH captured"
                )
            finally:
                monitor.terminate()
                monitor.wait(5)
        client = redis.Redis.from_url(private_redis.url)
        stored = b"".join(
            key + (client.dump(key) or b"") for key in client.scan_iter(count=1000)
        )  # every key and value Redis holds
    published = monitor_log.read_bytes()
    assert b"PUBLISH" in published.upper()  # the capture saw the broadcast
    assert canary.encode() not in published
    assert canary.encode() not in stored
    log_text = server_log.read_bytes()
    assert log_text  # DEBUG logging did write
    assert canary.encode() not in log_text
