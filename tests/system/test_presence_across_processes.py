"""Who is here now, and reactions, across two daphne processes sharing Redis."""

import json

import pytest
import websockets
from asgiref.sync import sync_to_async

from tests.conftest import REDIS_URL, require_redis
from tests.support.servers import Daphne, ws_headers
from tests.system.test_two_processes import next_of_type

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]


async def test_members_on_two_processes_see_each_other_here_and_react(group, member, second_member):
    require_redis()
    sam_headers = await sync_to_async(ws_headers)(member)
    alex_headers = await sync_to_async(ws_headers)(second_member)
    with Daphne(redis_url=REDIS_URL) as first, Daphne(redis_url=REDIS_URL) as second:
        path = f"/ws/groups/{group.slug}/"
        async with websockets.connect(first.ws_url + path, additional_headers=sam_headers) as sam:
            ready = await next_of_type(sam, "ready")
            assert [p["pseudonym"] for p in ready["here"]] == ["Sam"]
            async with websockets.connect(second.ws_url + path, additional_headers=alex_headers) as alex:
                assert [p["pseudonym"] for p in (await next_of_type(alex, "ready"))["here"]] == ["Alex", "Sam"]
                assert [p["pseudonym"] for p in (await next_of_type(sam, "presence"))["here"]] == ["Alex", "Sam"]

                await sam.send(json.dumps({"type": "send", "client_id": "s1", "body": "Good to see you, Alex"}))
                await next_of_type(alex, "message")
                await alex.send(json.dumps({"type": "react", "seq": 1, "kind": "sending_care"}))
                reaction = await next_of_type(sam, "reaction")
                assert (reaction["kind"], reaction["user"]["pseudonym"]) == ("sending_care", "Alex")
            assert [p["pseudonym"] for p in (await next_of_type(sam, "presence"))["here"]] == ["Sam"]
