"""Logging out in one place closes the socket held by another server process: nothing else would
(no message is delivered to it, so no re-check runs), so its closing shows the revocation crossed."""

import asyncio
import json

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from django.test import Client

from chat.protocol import CloseCode
from tests.support.redis_server import RedisServer
from tests.support.servers import Daphne
from tests.support.waiting import PATIENCE

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

KEY = "revocation-test-channel-key-0123456789abcdef"


async def test_logging_out_closes_a_socket_on_another_server_process(group, member, settings):
    with (
        RedisServer() as private_redis,
        Daphne(redis_url=private_redis.url, extra_env={"CHANNEL_ENCRYPTION_KEY": KEY}) as srv,
    ):
        # This test process is "the other server": same Redis, same prefix, same key as daphne.
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {
                    "hosts": [{"address": private_redis.url}],
                    "prefix": "sc",
                    "symmetric_encryption_keys": [KEY],
                },
            }
        }
        browser = Client()
        await sync_to_async(browser.force_login)(member)
        cookie = browser.cookies[django_settings.SESSION_COOKIE_NAME].value
        headers = {"Cookie": f"{django_settings.SESSION_COOKIE_NAME}={cookie}", "Origin": "http://127.0.0.1"}
        async with websockets.connect(f"{srv.ws_url}/ws/groups/{group.slug}/", additional_headers=headers) as ws:
            while json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] != "history":
                pass
            await sync_to_async(browser.post)("/accounts/logout/")
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), PATIENCE)
        assert closed.value.rcvd.code == CloseCode.NOT_LOGGED_IN
