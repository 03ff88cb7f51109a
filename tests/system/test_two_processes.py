"""Two daphne processes sharing Redis carry one conversation."""

import asyncio
import json

import pytest
import websockets
from asgiref.sync import sync_to_async

from tests.conftest import REDIS_URL, require_redis
from tests.support.servers import Daphne, ws_headers

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]


async def next_of_type(ws, frame_type: str, timeout: float = 5) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if frame["type"] == frame_type:
            return frame


async def message_from(ws, pseudonym: str, timeout: float = 5) -> dict:
    while True:
        frame = await next_of_type(ws, "message", timeout)
        if frame["message"]["author"]["pseudonym"] == pseudonym:
            return frame["message"]


async def test_members_on_two_server_processes_chat_with_each_other(group, member, second_member):
    require_redis()
    sam_headers = await sync_to_async(ws_headers)(member)
    alex_headers = await sync_to_async(ws_headers)(second_member)
    with Daphne(redis_url=REDIS_URL) as first, Daphne(redis_url=REDIS_URL) as second:
        path = f"/ws/groups/{group.slug}/"
        async with (
            websockets.connect(first.ws_url + path, additional_headers=sam_headers) as sam,
            websockets.connect(second.ws_url + path, additional_headers=alex_headers) as alex,
        ):
            await next_of_type(sam, "history")
            await next_of_type(alex, "history")
            await sam.send(json.dumps({"type": "send", "client_id": "x1", "body": "Hello from process one"}))
            assert (await message_from(alex, "Sam"))["body"] == "Hello from process one"
            await alex.send(json.dumps({"type": "send", "client_id": "y1", "body": "And back from two"}))
            assert (await message_from(sam, "Alex"))["body"] == "And back from two"
