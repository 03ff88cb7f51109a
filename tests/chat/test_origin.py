import pytest
from channels.db import database_sync_to_async

from tests.conftest import socket_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("origin", [b"http://evil.example", b"https://testserver.evil.example", None])
async def test_a_socket_from_a_foreign_or_missing_origin_cannot_open(group, member, origin):
    communicator = await database_sync_to_async(socket_for)(member, group.slug, origin=origin)
    is_open, _ = await communicator.connect()
    assert not is_open
    await communicator.disconnect()


async def test_a_socket_from_our_own_origin_opens(group, member):
    communicator = await database_sync_to_async(socket_for)(member, group.slug, origin=b"http://testserver")
    is_open, _ = await communicator.connect()
    assert is_open
    await communicator.disconnect()
