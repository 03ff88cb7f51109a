"""A socket reads two sources, the client's frames and its channel-layer events: whichever ends, both end.

How the consumer waits on the two (chat.consumers.GroupChatConsumer.__call__) is about cost; these
scenes pin what a person and the server see, whatever the waiting looks like.
"""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from chat.models import Presence
from tests.conftest import socket_for
from tests.support.waiting import FRAME_PATIENCE

pytestmark = pytest.mark.django_db(transaction=True)


def readers_left() -> list[asyncio.Task]:
    return [task for task in asyncio.all_tasks() if "dispatch_from" in repr(task.get_coro()) and not task.done()]


async def opened(user, slug):
    communicator = await database_sync_to_async(socket_for)(user, slug)
    is_open, _ = await communicator.connect()
    assert is_open
    for expected in ("ready", "history"):
        assert (await communicator.receive_json_from(timeout=FRAME_PATIENCE))["type"] == expected
    return communicator


async def test_closing_the_socket_leaves_no_reader_behind(channel_layer, group, member):
    sam = await opened(member, group.slug)
    assert readers_left()
    await sam.disconnect(timeout=5)
    assert readers_left() == []


async def test_an_event_the_socket_cannot_handle_ends_it_with_that_error(channel_layer, group, member):
    sam = await opened(member, group.slug)
    channel_name = await database_sync_to_async(lambda: Presence.objects.get(user=member).channel_name)()
    await get_channel_layer().send(channel_name, {"type": "no.such.event"})
    with pytest.raises(ValueError, match="No handler for message type no.such.event"):
        while True:
            await sam.receive_output(timeout=FRAME_PATIENCE)
    assert readers_left() == []
