"""Each member's place in the conversation: the "New since you were last here" divider."""

import pytest
from django.test import Client

from chat.actions import post_message
from tests.chat.test_backfill import post
from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_member_comes_back_to_where_they_stopped_reading(channel_layer, group, member, second_member):
    await post(second_member, group, 3)
    async with connected(member, group.slug) as sam:
        assert sam.ready["last_read_seq"] == 0
        await sam.send({"type": "read", "seq": 3})
        await sam.send({"type": "read", "seq": 2})  # never moves backward
        await sam.send({"type": "read", "seq": 99})  # never past the newest message
        assert await sam.nothing_more()
    async with connected(member, group.slug) as sam:
        assert sam.ready["last_read_seq"] == 3


def test_the_page_marks_what_is_new_since_the_last_visit(group, member, second_member):
    for number in range(1, 4):
        post_message(second_member.pk, group.pk, client_id=f"p{number}", body=f"Early note {number}")
    from chat.actions import mark_read

    mark_read(member.pk, group.pk, seq=2)
    client = Client()
    client.force_login(member)
    page = client.get(f"/groups/{group.slug}/chat/").content.decode()
    divider = page.index("New since you were last here")
    assert page.index("Early note 2") < divider < page.index("Early note 3")


def test_nothing_is_marked_new_when_everything_was_read(group, member, second_member):
    post_message(second_member.pk, group.pk, client_id="p1", body="Only note")
    from chat.actions import mark_read

    mark_read(member.pk, group.pk, seq=1)
    client = Client()
    client.force_login(member)
    assert "New since you were last here" not in client.get(f"/groups/{group.slug}/chat/").content.decode()
