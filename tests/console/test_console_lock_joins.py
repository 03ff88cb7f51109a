"""Lock joins: while a facilitator has locked joins, nobody new can take a seat; they are told kindly."""

import pytest
from channels.db import database_sync_to_async

from groups.actions import join_group
from groups.errors import MembershipError
from groups.models import Group, Membership
from tests.conftest import PASSWORD, connected

pytestmark = pytest.mark.django_db(transaction=True)


async def test_locking_joins_tells_the_room_and_refuses_a_newcomer_kindly(
    channel_layer, group, member, facilitator, outsider
):
    async with connected(member, group.slug) as sam, connected(facilitator, group.slug) as robin:
        await robin.send({"type": "lock_joins", "locked": True})
        for socket in (sam, robin):
            assert (await socket.receive_until("session"))["session"]["joins_locked"] is True

        fresh = await database_sync_to_async(Group.objects.get)(pk=group.pk)
        with pytest.raises(MembershipError, match="paused new joins"):
            await database_sync_to_async(join_group)(outsider, fresh, accepted_version=fresh.agreement_version)

        await robin.send({"type": "lock_joins", "locked": False})
        assert (await sam.receive_until("session"))["session"]["joins_locked"] is False
    fresh = await database_sync_to_async(Group.objects.get)(pk=group.pk)
    await database_sync_to_async(join_group)(outsider, fresh, accepted_version=fresh.agreement_version)
    assert await database_sync_to_async(Membership.objects.filter(user=outsider, group=group).exists)()


def test_the_join_page_says_why_while_joins_are_locked(client, group, outsider):
    Group.objects.filter(pk=group.pk).update(joins_locked=True)
    client.login(username=outsider.pseudonym, password=PASSWORD)
    response = client.post(f"/groups/{group.slug}/join/", {"version": group.agreement_version, "accept": "on"})
    assert response.status_code == 400
    assert "paused new joins until it ends" in response.content.decode().replace("&#x27;", "'")
    assert not Membership.objects.filter(user=outsider, group=group).exists()


async def test_a_member_cannot_lock_joins(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        await sam.send({"type": "lock_joins", "locked": True})
        assert (await sam.receive_until("error"))["code"] == "facilitators_only"
    assert not (await database_sync_to_async(Group.objects.get)(pk=group.pk)).joins_locked
