"""Redis dies, stalls or is missing: nothing acknowledged is lost, nothing is duplicated, nobody sees a 500.

Real processes: a private redis-server (never the shared one) and daphne, with
clients that do what static/js/chat.js does (tests/support/chat_client.py).
"""

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async

from chat.models import Message
from tests.support.chat_client import ChatClient
from tests.support.redis_server import RedisServer
from tests.support.servers import Daphne, ws_headers
from tests.support.waiting import PATIENCE

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

# Encrypted as in production; the per-author rate limit raised, since these tests send in bulk.
ENCRYPTED = {"CHANNEL_ENCRYPTION_KEY": "fault-tests-channel-key-0123456789abcdef", "CHAT_RATE_LIMIT": "1000/10"}


async def stored_bodies(group) -> list[str]:
    return await sync_to_async(list)(Message.objects.filter(group=group).order_by("seq").values_list("body", flat=True))


async def client_for(user, server: Daphne, group) -> ChatClient:
    headers = await sync_to_async(ws_headers)(user)
    return ChatClient(lambda: f"{server.ws_url}/ws/groups/{group.slug}/", headers).start()


async def test_redis_down_at_connect_is_a_clean_refusal_the_client_backs_off_from(group, member):
    redis = RedisServer()  # never started: nothing listens on its port
    with Daphne(redis_url=redis.url, extra_env=ENCRYPTED) as server:
        sam = await client_for(member, server, group)
        await sam.until(lambda: len(sam.close_codes) >= 2)
        await sam.stop()
    assert set(sam.close_codes) == {4503}
    assert sam.http_statuses == []


async def test_a_redis_restart_mid_conversation_loses_and_duplicates_nothing(group, member, second_member):
    with RedisServer() as redis:
        with (
            Daphne(redis_url=redis.url, extra_env=ENCRYPTED) as first,
            Daphne(redis_url=redis.url, extra_env=ENCRYPTED) as second,
        ):
            sam = await client_for(member, first, group)
            alex = await client_for(second_member, second, group)
            await sam.until(lambda: sam.connections == 1)
            await alex.until(lambda: alex.connections == 1)
            said = []
            for number in range(1, 31):
                if number == 11:
                    redis.kill()
                if number == 21:
                    redis.start()
                speaker = sam if number % 2 else alex
                said.append(f"message {number}")
                await speaker.say(said[-1])
                await asyncio.sleep(0.05)  # a conversation's pace, so the restart falls mid-conversation
            for client in (sam, alex):
                await client.until(lambda client=client: not client.outbox and client.contiguous >= 30)
            await sam.stop()
            await alex.stop()
    stored = await stored_bodies(group)
    assert sorted(stored) == sorted(said)  # every message stored exactly once
    assert sam.bodies() == alex.bodies() == stored  # and both transcripts are the same, in order
    assert len(sam.acked) + len(alex.acked) == 30


async def test_a_stalled_redis_delays_no_acknowledgement_and_recipients_catch_up(group, member, second_member):
    with RedisServer() as redis, Daphne(redis_url=redis.url, extra_env=ENCRYPTED) as server:
        sam = await client_for(member, server, group)
        alex = await client_for(second_member, server, group)
        await sam.until(lambda: sam.connections == 1)
        await alex.until(lambda: alex.connections == 1)
        redis.pause()
        stalled_at = time.monotonic()
        try:
            # Redis stays stalled until every message is acknowledged: an ack that waited for Redis
            # would never come.
            for number in range(1, 4):
                await sam.say(f"said while Redis was stalled {number}")
                await sam.until(lambda: not sam.outbox, timeout=PATIENCE)
                await asyncio.sleep(1)  # a person's pace, so the stall spans a conversation
            # Someone arriving now is served from the database or refused cleanly (4503): never left
            # hanging, never given a 500.
            latecomer = await client_for(second_member, server, group)
            await latecomer.until(lambda: latecomer.connections or latecomer.close_codes, timeout=PATIENCE)
            assert set(latecomer.close_codes) <= {4503} and latecomer.http_statuses == []
            # The stall itself lasts ten seconds at least: the fault under test, not a wait.
            await asyncio.sleep(max(0.0, 10 - (time.monotonic() - stalled_at)))
        finally:
            redis.resume()
        await alex.until(lambda: alex.contiguous >= 3)
        await latecomer.until(lambda: latecomer.contiguous >= 3)
        for client in (sam, alex, latecomer):
            await client.stop()
    assert alex.bodies() == sam.bodies() == latecomer.bodies() == await stored_bodies(group)


async def test_after_a_redis_restart_a_quiet_member_sees_what_was_said_without_asking(group, member, second_member):
    """Nobody has to speak (or wait for the 20 s ping) for the gap to fill: the server tells every
    open socket the latest seq as soon as its subscription to Redis is back. (Alex never pings here,
    so catching up at all shows it; how soon is the bench's to measure.)"""
    with RedisServer() as redis, Daphne(redis_url=redis.url, extra_env=ENCRYPTED) as server:
        headers = await sync_to_async(ws_headers)(second_member)
        alex = ChatClient(lambda: f"{server.ws_url}/ws/groups/{group.slug}/", headers, ping_every=600).start()
        sam = await client_for(member, server, group)
        await alex.until(lambda: alex.connections == 1)
        await sam.until(lambda: sam.connections == 1)
        redis.kill()
        await sam.say("said while Redis was away")
        await sam.until(lambda: not sam.outbox, timeout=PATIENCE)  # stored and acknowledged from the database
        redis.start()
        await alex.until(lambda: alex.contiguous >= 1, timeout=PATIENCE)
        for client in (sam, alex):
            await client.stop()
    assert alex.bodies() == ["said while Redis was away"]
    assert alex.connections == 1  # the same socket, never reopened
