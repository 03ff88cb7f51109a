"""Taking a break: the seat is kept, the chat stays readable, posting waits until the member comes back."""

import pytest
from channels.db import database_sync_to_async

from chat.actions import post_message
from groups.actions import pause_membership, resume_membership
from groups.models import Membership, MembershipState
from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_member_on_a_break_reads_but_is_told_kindly_they_cannot_post(
    channel_layer, group, member, second_member
):
    async with connected(member, group.slug) as sam:
        await database_sync_to_async(pause_membership)(member, group)
        notice = await sam.receive_until("notice")
        assert (notice["code"], notice["can_post"]) == ("taking_a_break", False)

        await sam.send({"type": "send", "client_id": "s1", "body": "Just one thing"})
        refused = await sam.receive_until("error")
        assert refused["code"] == "taking_a_break"
        assert "taking a break" in refused["message"] and refused["ref"] == "s1"

        await database_sync_to_async(post_message)(second_member.pk, group.pk, client_id="a1", body="Missing you, Sam")
        assert (await sam.receive_until("message"))["message"]["body"] == "Missing you, Sam"

        await database_sync_to_async(resume_membership)(member, group)
        back = await sam.receive_until("notice")
        assert (back["code"], back["can_post"]) == ("welcome_back", True)
        await sam.send({"type": "send", "client_id": "s2", "body": "I'm back"})
        assert (await sam.receive_until("ack"))["message"]["body"] == "I'm back"


def test_a_break_keeps_the_seat_so_a_full_group_stays_full(group, member, outsider):
    from groups.actions import join_group
    from groups.errors import MembershipError

    group.capacity = 2
    group.save()
    pause_membership(member, group)
    with pytest.raises(MembershipError, match="full"):
        join_group(outsider, group, accepted_version=1)


def test_pausing_and_resuming_from_the_group_page_is_recorded(client, group, member):
    client.force_login(member)
    response = client.post(f"/groups/{group.slug}/pause/", follow=True)
    assert "You're taking a break" in response.content.decode()
    assert "Come back and post again" in response.content.decode()
    assert Membership.objects.get(user=member, group=group).state == MembershipState.PAUSED
    client.post(f"/groups/{group.slug}/resume/")
    membership = Membership.objects.get(user=member, group=group)
    assert membership.state == MembershipState.ACTIVE
    assert [e.kind for e in membership.events.order_by("at", "pk")][-2:] == [
        "groups.membership.paused",
        "groups.membership.resumed",
    ]


def test_the_chat_page_says_kindly_a_member_is_on_a_break(client, group, member):
    pause_membership(member, group)
    client.force_login(member)
    page = client.get(f"/groups/{group.slug}/chat/").content.decode()
    assert "You're taking a break from this group, so you can read but not post." in page
