"""An author marks a message with a content warning.

Collapsing it per recipient is tested in test_boundaries_at_the_socket.
"""

import pytest
from channels.db import database_sync_to_async

from chat.models import Message
from tests.chat.frames import sees_arrival
from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_author_marks_a_message_with_a_content_warning(channel_layer, group, member, second_member):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await sam.send(
            {"type": "send", "client_id": "s1", "body": "Dinner was hard tonight.", "content_warning": "food"}
        )
        assert (await alex.receive_until("message"))["message"]["content_warning"] == "food"
        assert (await sam.receive_until("ack"))["message"]["content_warning"] == "food"
    async with connected(second_member, group.slug) as alex:
        assert alex.history["messages"][0]["content_warning"] == "food"


async def test_a_label_outside_the_list_is_refused_and_nothing_is_posted(channel_layer, group, member, second_member):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await sees_arrival(sam, "Alex")
        await sam.send({"type": "send", "client_id": "s1", "body": "Hmm", "content_warning": "spoilers"})
        error = await sam.receive_until("error")
        assert error["code"] == "invalid_field"
        assert error["detail"] == "content_warning"
        assert error["ref"] == "s1"
        assert await alex.nothing_more()
    assert await database_sync_to_async(Message.objects.count)() == 0
