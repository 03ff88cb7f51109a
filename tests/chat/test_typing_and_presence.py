"""Who is here now, and who is typing: live, across sockets, and never about someone blocked."""

import pytest
from channels.db import database_sync_to_async

from chat.models import Presence
from groups.actions import block_member
from tests.chat.frames import sees_arrival
from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)


def names(people: list[dict]) -> list[str]:
    return [person["pseudonym"] for person in people]


async def test_members_see_who_is_here_now_as_people_arrive_and_leave(channel_layer, group, member, second_member):
    async with connected(member, group.slug) as sam:
        assert names(sam.ready["here"]) == ["Sam"]
        async with connected(second_member, group.slug) as alex:
            assert names(alex.ready["here"]) == ["Alex", "Sam"]
            arrival = await sam.receive_until("presence")
            assert names(arrival["here"]) == ["Alex", "Sam"]
            assert await alex.nothing_more()
        departure = await sam.receive_until("presence")
        assert names(departure["here"]) == ["Sam"]
        assert await sam.nothing_more()
    assert await database_sync_to_async(Presence.objects.count)() == 0


async def test_a_second_tab_does_not_announce_anyone_twice(channel_layer, group, member, second_member):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug):
        await sees_arrival(sam, "Alex")
        async with connected(second_member, group.slug) as alex_second_tab:
            assert names(alex_second_tab.ready["here"]) == ["Alex", "Sam"]
            assert await sam.nothing_more()
        assert await sam.nothing_more()


async def test_someone_blocked_never_appears_here_nor_typing(channel_layer, group, member, second_member, facilitator):
    await database_sync_to_async(block_member)(second_member, member)
    async with connected(member, group.slug) as sam, connected(facilitator, group.slug) as robin:
        await sees_arrival(sam, "Robin")
        async with connected(second_member, group.slug) as alex:
            assert names(alex.ready["here"]) == ["Alex", "Robin"]
            assert names((await sees_arrival(robin, "Alex"))["here"]) == ["Alex", "Robin", "Sam"]
            await alex.send({"type": "typing"})
            assert (await robin.receive_until("typing"))["user"]["pseudonym"] == "Alex"
            assert await sam.nothing_more()


async def test_typing_reaches_everyone_else_at_most_once_in_three_seconds(channel_layer, group, member, second_member):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await sees_arrival(sam, "Alex")
        await sam.send({"type": "typing"})
        assert await alex.receive_until("typing") == {"type": "typing", "user": {"id": member.pk, "pseudonym": "Sam"}}
        for _ in range(5):
            await sam.send({"type": "typing"})
        assert await alex.nothing_more(0.5)
        assert await sam.nothing_more()


async def test_a_member_on_a_break_is_not_shown_typing(channel_layer, group, member, second_member):
    from groups.actions import pause_membership

    await database_sync_to_async(pause_membership)(member, group)
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await sam.send({"type": "typing"})
        error = await sam.receive_until("error")
        assert error["code"] in ("not_allowed", "taking_a_break")
        assert await alex.nothing_more()


async def test_a_socket_of_a_crashed_server_stops_counting_as_here(channel_layer, group, member, second_member):
    from datetime import timedelta

    from django.utils import timezone

    from chat.protocol import PRESENCE_TTL_SECONDS

    # Alex's socket lived in a server process that was killed: it never said goodbye.
    await database_sync_to_async(Presence.objects.create)(
        group=group,
        user=second_member,
        channel_name="specific.crashed!abc",
        last_seen=timezone.now() - timedelta(seconds=PRESENCE_TTL_SECONDS + 1),
    )
    async with connected(member, group.slug) as sam:
        assert names(sam.ready["here"]) == ["Sam"]
    assert not await database_sync_to_async(Presence.objects.filter(channel_name="specific.crashed!abc").exists)()
