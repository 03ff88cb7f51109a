"""A facilitator opens and closes the live session from the console; everyone sees it, and attendance is kept."""

import pytest
from channels.db import database_sync_to_async

from chat.models import ChatEvent
from groups.models import LiveSession, SessionAttendance
from tests.conftest import connected
from tests.moderation.scene import nothing_more

pytestmark = pytest.mark.django_db(transaction=True)


async def test_opening_the_session_tells_everyone_and_counts_who_is_here(channel_layer, group, member, facilitator):
    async with connected(member, group.slug) as sam, connected(facilitator, group.slug) as robin:
        await robin.send({"type": "session", "action": "open"})
        for socket in (robin, sam):
            session = (await socket.receive_until("session"))["session"]
            assert session["live"] is True
            assert session["joins_locked"] is False
        # The facilitator also gets the (empty) radar for the session that just started? Not unasked.
        assert await nothing_more(sam) == []

    live = await database_sync_to_async(LiveSession.objects.get)(group=group)
    seats = await database_sync_to_async(list)(
        SessionAttendance.objects.filter(session=live)
        .order_by("user__pseudonym")
        .values_list("user__pseudonym", flat=True)
    )
    assert seats == ["Robin", "Sam"]
    assert (
        await database_sync_to_async(ChatEvent.objects.filter(group=group, kind="groups.session.opened").count)() == 1
    )


async def test_closing_the_session_writes_everyones_leave_time(channel_layer, group, member, facilitator):
    async with connected(member, group.slug) as sam, connected(facilitator, group.slug) as robin:
        await robin.send({"type": "session", "action": "open"})
        await sam.receive_until("session")
        await robin.send({"type": "session", "action": "close"})
        closed = (await sam.receive_until("session"))["session"]
        assert closed["live"] is False and closed["ended_at"] is not None
        assert closed["summary_url"].endswith(f"/sessions/{closed['id']}/summary/")

    seats = await database_sync_to_async(list)(SessionAttendance.objects.filter(session_id=closed["id"]))
    assert seats and all(seat.left_at is not None for seat in seats)


async def test_someone_arriving_mid_session_is_told_it_is_live_and_counted(channel_layer, group, member, facilitator):
    async with connected(facilitator, group.slug) as robin:
        await robin.send({"type": "session", "action": "open"})
        await robin.receive_until("session")
        async with connected(member, group.slug) as sam:
            session = (await sam.receive_until("session"))["session"]
            assert session["live"] is True
        # Sam left while the session was still on: the leave time is kept.
        seat = await database_sync_to_async(SessionAttendance.objects.get)(user=member)
        assert seat.left_at is not None and seat.left_at >= seat.arrived_at


async def test_a_second_open_is_refused_kindly(channel_layer, group, facilitator):
    async with connected(facilitator, group.slug) as robin:
        await robin.send({"type": "session", "action": "open"})
        await robin.receive_until("session")
        await robin.send({"type": "session", "action": "open"})
        error = await robin.receive_until("error")
        assert error["code"] == "not_allowed"
    assert await database_sync_to_async(LiveSession.objects.filter(group=group).count)() == 1
