"""The database is briefly unavailable: the sender is told to retry, nothing is acknowledged or
broadcast, nobody is let in or served unauthorized, and the retry stores exactly once."""

from contextlib import asynccontextmanager

import pytest
from channels.db import database_sync_to_async
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper

from chat.models import Message
from chat.protocol import CloseCode
from tests.conftest import connected, socket_for

pytestmark = pytest.mark.django_db(transaction=True)


def refuse(self, *args, **kwargs):
    raise OperationalError("the database is unavailable")


async def settle(*sockets) -> None:
    """Read what arriving sockets announce to each other ("here now" lists), so only replies remain."""
    for socket in sockets:
        while not await socket.nothing_more():
            await socket.receive()


@asynccontextmanager
async def database_down():
    """Every statement fails at the driver boundary, in every thread, as during a failover."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CursorWrapper, "_execute", refuse)
        patch.setattr(CursorWrapper, "_executemany", refuse)
        yield


async def test_a_send_during_an_outage_is_not_acknowledged_and_its_retry_stores_once(
    channel_layer, group, member, second_member
):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        frame = {"type": "send", "client_id": "sam-1", "body": "Is anyone up?"}
        await settle(sam, alex)
        async with database_down():
            await sam.send(frame)
            error = await sam.receive()
            assert error["type"] == "error"
            assert error["code"] == "try_again"
            assert error["ref"] == "sam-1"
            assert error["retry_after"] >= 1
            assert await sam.nothing_more()
            assert await alex.nothing_more()

        await sam.send(frame)
        ack = await sam.receive_until("ack")
        assert ack["duplicate"] is False
        assert (await alex.receive_until("message"))["message"]["body"] == "Is anyone up?"
        await sam.send(frame)
        assert (await sam.receive_until("ack"))["duplicate"] is True
    assert await database_sync_to_async(Message.objects.filter(group=group).count)() == 1


@pytest.mark.parametrize("frame", [{"type": "ping"}, {"type": "backfill", "after_seq": 0}])
async def test_reads_during_an_outage_fail_closed(channel_layer, group, member, frame):
    async with connected(member, group.slug) as sam:
        await settle(sam)
        async with database_down():
            await sam.send(frame)
            error = await sam.receive()
            assert error["code"] == "try_again"
            assert await sam.nothing_more()


async def test_a_socket_opened_during_an_outage_is_refused_with_a_code_to_retry_later(channel_layer, group, member):
    communicator = await database_sync_to_async(socket_for)(member, group.slug)
    async with database_down():
        is_open, _ = await communicator.connect()
        assert is_open
        output = await communicator.receive_output(timeout=3)
    assert output == {"type": "websocket.close", "code": CloseCode.SERVER_RESTARTING}
    await communicator.wait()
