"""The radar reaches facilitators over the socket; members say "I'm here to listen today" and are not flagged;
one tap sends a private, kind check-in that only that member receives."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from chat.models import ChatEvent
from groups.models import CareMessage, ListeningToday, LiveSession, SessionAttendance
from tests.conftest import connected
from tests.moderation.scene import nothing_more

pytestmark = pytest.mark.django_db(transaction=True)


def half_an_hour_ago(group) -> None:
    """Move the live session (and everyone's arrival) 30 minutes into the past: a clock moved by hand."""
    earlier = timezone.now() - timedelta(minutes=30)
    LiveSession.objects.filter(group=group).update(started_at=earlier)
    SessionAttendance.objects.filter(session__group=group).update(arrived_at=earlier)


async def radar_of(robin) -> dict:
    await robin.send({"type": "radar"})
    return {entry["member"]["pseudonym"]: entry for entry in (await robin.receive_until("radar"))["members"]}


async def test_a_quiet_member_shows_on_the_radar_but_one_who_is_listening_today_does_not(
    channel_layer, group, member, second_member, facilitator
):
    async with (
        connected(member, group.slug) as sam,
        connected(second_member, group.slug) as alex,
        connected(facilitator, group.slug) as robin,
    ):
        await alex.send({"type": "listening", "on": True})
        noted = await alex.receive_until("notice")
        assert noted["code"] == "listening_noted" and noted["listening"] is True

        await robin.send({"type": "session", "action": "open"})
        await robin.receive_until("session")
        await sam.receive_until("session")
        assert await radar_of(robin) == {}  # nobody has been quiet for long yet

        await database_sync_to_async(half_an_hour_ago)(group)
        on_radar = await radar_of(robin)
        assert list(on_radar) == ["Sam"]
        assert on_radar["Sam"]["concerns"] == [
            {"reason": "silent", "text": "Hasn't said anything for 30 minutes of this session."}
        ]
        assert await nothing_more(sam) == []  # the radar is for facilitators only


async def test_a_member_is_refused_the_radar(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        await sam.send({"type": "radar"})
        assert (await sam.receive_until("error"))["code"] == "facilitators_only"
        assert await nothing_more(sam) == []


async def test_one_tap_sends_a_private_kind_check_in_to_that_member_only(
    channel_layer, group, member, second_member, facilitator
):
    async with (
        connected(member, group.slug) as sam,
        connected(second_member, group.slug) as alex,
        connected(facilitator, group.slug) as robin,
    ):
        words = "Hi Sam, I noticed you've been quiet. No need to reply; I'm here if you'd like to talk."
        await robin.send({"type": "check_in_with", "member": member.pk, "message": words, "reason": "silent"})
        care = await sam.receive_until("care")
        assert care["message"] == words
        assert care["from"] == {"id": facilitator.pk, "pseudonym": "Robin"}
        done = await robin.receive_until("notice")
        assert done["code"] == "care_sent"
        assert await nothing_more(alex) == []
        assert await nothing_more(sam) == []

    stored = await database_sync_to_async(CareMessage.objects.get)(group=group)
    assert (stored.member_id, stored.facilitator_id, stored.reason) == (member.pk, facilitator.pk, "silent")
    assert await database_sync_to_async(ChatEvent.objects.filter(kind="groups.care.sent").count)() == 1


async def test_a_member_cannot_send_a_check_in_and_an_empty_one_is_refused(channel_layer, group, member, facilitator):
    async with connected(member, group.slug) as sam, connected(facilitator, group.slug) as robin:
        await sam.send({"type": "check_in_with", "member": facilitator.pk, "message": "Hello"})
        assert (await sam.receive_until("error"))["code"] == "facilitators_only"
        await robin.send({"type": "check_in_with", "member": member.pk, "message": "   "})
        error = await robin.receive_until("error")
        assert (error["code"], error["detail"]) == ("missing_field", "message")
        assert await nothing_more(sam) == []
    assert not await database_sync_to_async(CareMessage.objects.exists)()


async def test_listening_can_be_taken_back(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        await sam.send({"type": "listening", "on": True})
        await sam.receive_until("notice")
        await sam.send({"type": "listening", "on": False})
        assert (await sam.receive_until("notice"))["listening"] is False
    assert not await database_sync_to_async(ListeningToday.objects.exists)()
