"""A member whose socket falls behind is closed with 4408 TOO_SLOW, and everyone else carries on.

Two bounds (chat/layers.py): the socket's inbox in the channel layer, and the bytes daphne
holds for a client that stopped reading. Either way nothing is lost: the history has it all.
"""

import asyncio
import json
import socket
import uuid

import pytest
import websockets
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from chat.actions import post_message
from chat.layers import OVERFLOW_EVENT
from chat.models import Message, Presence
from chat.protocol import CloseCode
from supportcircle.realtime import group_channel
from tests.conftest import REDIS_URL, connected, require_redis
from tests.support.servers import Daphne, ws_headers
from tests.support.waiting import PATIENCE, eventually_async

pytestmark = pytest.mark.django_db(transaction=True)

INBOX = 20


def bounded_layers(kind: str) -> dict:
    if kind == "redis":
        require_redis()
        return {
            "default": {
                "BACKEND": "chat.layers.BoundedRedisPubSubChannelLayer",
                "CONFIG": {
                    "hosts": [{"address": REDIS_URL}],
                    "prefix": f"test-{uuid.uuid4().hex[:8]}",
                    "capacity": INBOX,
                },
            }
        }
    return {"default": {"BACKEND": "chat.layers.BoundedInMemoryChannelLayer", "CONFIG": {"capacity": INBOX}}}


def chat_event(number: int) -> dict:
    frame = json.dumps({"type": "message", "message": {"seq": number, "body": f"Note {number}"}})
    return {"type": "chat.message", "seq": number, "author_id": None, "frame": frame}


async def test_a_socket_that_keeps_up_is_never_closed(group, member, second_member, settings):
    settings.CHANNEL_LAYERS = bounded_layers("memory")
    async with connected(member, group.slug) as sam:
        layer = get_channel_layer()
        for number in range(3 * INBOX):
            await layer.group_send(group_channel(group.pk), chat_event(number))
            await sam.receive_until("message")
        assert await sam.nothing_more()


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_an_inbox_nobody_reads_stays_bounded_and_says_overflow_first(kind, settings):
    settings.CHANNEL_LAYERS = bounded_layers(kind)
    layer = get_channel_layer()
    try:
        channel = await layer.new_channel()
        await layer.group_add("group.bounded", channel)
        # A second socket of the group that reads: once it holds the last note, everything published
        # has reached this process (one subscription, delivered in order to both inboxes at once).
        witness = await layer.new_channel()
        await layer.group_add("group.bounded", witness)
        last = 5 * INBOX - 1
        for number in range(5 * INBOX):
            await layer.group_send("group.bounded", chat_event(number))
        while (await asyncio.wait_for(layer.receive(witness), PATIENCE)).get("seq") != last:
            pass
        assert await asyncio.wait_for(layer.receive(channel), PATIENCE) == OVERFLOW_EVENT
    finally:
        if kind == "redis":
            await layer.flush()


async def big_history(author, group, count: int) -> None:
    body = "I hear you, and I am glad you said it out loud. " * 80  # about 4,000 characters
    await sync_to_async(Message.objects.bulk_create)(
        [
            Message(group=group, seq=seq, author=author, client_id=f"h{seq}", body=body[:3_900])
            for seq in range(1, count + 1)
        ]
    )
    group.last_seq = count
    await sync_to_async(group.save)(update_fields=["last_seq"])


@pytest.mark.system
async def test_a_client_that_stops_reading_is_closed_with_too_slow_after_what_it_has(
    group, member, second_member, tmp_path
):
    await big_history(second_member, group, 200)
    headers = await sync_to_async(ws_headers)(member)
    log = tmp_path / "daphne.log"
    with Daphne(extra_env={"CHAT_SEND_BUFFER_BYTES": "262144", "LOG_LEVEL": "INFO"}, log_path=log) as server:
        # Sam's connection barely reads: a tiny receive buffer, one frame at a time.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        async with websockets.connect(
            server.ws_url + f"/ws/groups/{group.slug}/?last_seq=200",
            additional_headers=headers,
            sock=sock,
            max_queue=1,
            max_size=None,
            compression=None,
        ) as sam:
            # Sam asks for the whole history (about 800 KB a page) again and again, reading none of it.
            for _ in range(20):
                await sam.send(json.dumps({"type": "backfill", "after_seq": 0}))
            # Reading starts once the server has given up on Sam (chat/layers.py logs it as it closes).
            await eventually_async(
                lambda: b"chat socket too slow to read" in log.read_bytes(), what="the server closing Sam as too slow"
            )
            pages = 0
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    frame = json.loads(await asyncio.wait_for(sam.recv(), PATIENCE))
                    pages += frame["type"] == "history" and len(frame["messages"]) == 200
            assert closed.value.rcvd.code == CloseCode.TOO_SLOW
            # The server stopped queueing once Sam was too far behind: not all 20 pages came.
            assert 0 < pages < 20


async def test_sockets_whose_inbox_overflows_are_closed_with_too_slow_and_come_back(
    group, member, second_member, settings
):
    settings.CHANNEL_LAYERS = bounded_layers("memory")
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        layer = get_channel_layer()
        sockets = await database_sync_to_async(
            lambda: list(Presence.objects.filter(group=group).values_list("channel_name", flat=True))
        )()
        # A burst within one turn of the event loop: more than an inbox holds arrives before
        # either socket can take any of it.
        for number in range(INBOX + 5):
            for channel in sockets:
                await layer.send(channel, chat_event(number))
        assert await sam.closed_with() == CloseCode.TOO_SLOW
        assert await alex.closed_with() == CloseCode.TOO_SLOW  # just as far behind
    # Both reconnect, as the client does after 4408, and the conversation goes on.
    async with connected(second_member, group.slug), connected(member, group.slug) as sam:
        await sync_to_async(post_message)(second_member.pk, group.pk, client_id="after", body="Still here with you.")
        assert (await sam.receive_until("message"))["message"]["body"] == "Still here with you."
