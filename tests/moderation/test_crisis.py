"""Protect always: a message about crisis is never held or blocked. Its author is offered help at once,
and the facilitators are alerted, now or whenever they next open the chat, until one of them follows up."""

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings

from chat.models import Message
from groups.actions import pause_membership
from moderation.actions import acknowledge_alert, update_policy
from moderation.models import Alert, AuditEntry
from tests.conftest import connected
from tests.moderation.scene import nothing_more, send

pytestmark = pytest.mark.django_db(transaction=True)

CRISIS = "I don't think I can keep going. I want to kill myself."
LOCAL_HELP = [{"name": "Harbour Line", "detail": "Open all night.", "url": "https://example.org/harbour"}]


@override_settings(CRISIS_RESOURCES=LOCAL_HELP)
async def test_the_author_gets_resources_the_facilitator_an_alert_and_the_group_the_message(
    channel_layer, circle, member, second_member, facilitator
):
    async with (
        connected(member, circle.slug) as sam,
        connected(second_member, circle.slug) as alex,
        connected(facilitator, circle.slug) as robin,
    ):
        await sam.send(send("crisis-1", CRISIS))
        card = await sam.receive_until("crisis_resources")
        assert card["resources"] == LOCAL_HELP
        assert "alone" in card["title"]

        alert = (await robin.receive_until("crisis_alert"))["alert"]
        assert alert["member"] == {"id": member.pk, "pseudonym": "Sam"}
        assert alert["message"]["body"] == CRISIS
        assert alert["state"] == "open"

        seen = (await alex.receive_until("message"))["message"]
        assert seen["body"] == CRISIS
        # No alert or card for Alex: a gentle hint how to answer kindly.
        assert [f["type"] for f in await nothing_more(alex)] in (["peer_hint"], ["message", "peer_hint"])

    stored = await database_sync_to_async(Message.objects.get)(group=circle)
    assert stored.state == "visible"
    row = await database_sync_to_async(Alert.objects.get)(group=circle)
    assert (row.category, row.member_id, row.resources_shown) == ("crisis", member.pk, LOCAL_HELP)
    entry = await database_sync_to_async(AuditEntry.objects.get)(kind="moderation.crisis.alerted")
    assert entry.target_id == member.pk and entry.actor_id is None


async def test_crisis_is_never_held_even_when_it_also_asks_to_talk_elsewhere(channel_layer, circle, member):
    async with connected(member, circle.slug) as sam:
        await sam.send(send("crisis-2", "I want to kill myself. Please text me on 07700 900123."))
        ack = await sam.receive_until("ack")
        assert ack["message"]["state"] == "visible"
        await sam.receive_until("crisis_resources")


def test_a_group_cannot_set_crisis_to_be_held_or_blocked(circle, facilitator):
    from moderation.records import ModerationRefused

    with pytest.raises(ModerationRefused):
        update_policy(facilitator, circle, {"crisis": "hold"})


async def test_an_alert_waits_for_a_facilitator_who_connects_later_until_acknowledged(
    channel_layer, circle, member, facilitator
):
    async with connected(member, circle.slug) as sam:
        await sam.send(send("crisis-3", CRISIS))
        await sam.receive_until("crisis_resources")

    async with connected(facilitator, circle.slug) as robin:
        alert = (await robin.receive_until("crisis_alert"))["alert"]
        await robin.send({"type": "moderate", "action": "acknowledge_alert", "alert": alert["id"]})
        done = await robin.receive_until("notice")
        assert done["code"] == "moderation_done"
        resolved = (await robin.receive_until("queue_item"))["item"]
        assert (resolved["kind"], resolved["id"], resolved["state"]) == ("alert", alert["id"], "resolved")

    async with connected(facilitator, circle.slug) as robin_again:
        assert [f["type"] for f in await nothing_more(robin_again)] == []
    entry = await database_sync_to_async(AuditEntry.objects.get)(kind="moderation.crisis.acknowledged")
    assert entry.actor_id == facilitator.pk


def test_only_a_facilitator_of_the_group_can_acknowledge_an_alert(circle, member, second_member, outsider):
    from chat.actions import post_message
    from moderation.records import ModerationRefused

    post_message(member.pk, circle.pk, client_id="crisis-4", body=CRISIS)
    alert = Alert.objects.get()
    for person in (second_member, outsider, member):
        with pytest.raises(ModerationRefused):
            acknowledge_alert(person, circle, alert_id=alert.pk)
    assert Alert.objects.get().acknowledged_at is None


async def test_crisis_language_gets_through_a_pause_slow_mode_the_rate_limit_and_a_time_out(
    channel_layer, circle, member, facilitator, settings
):
    """Someone in crisis is never told to wait: their words post and help comes at once."""
    from chat.room import change_room_settings
    from moderation.actions import time_out_member

    settings.CHAT_RATE_LIMIT = (1, 10)
    async with connected(member, circle.slug) as sam:
        await sam.send(send("first", "Morning, everyone."))
        await sam.receive_until("ack")
        await database_sync_to_async(change_room_settings)(facilitator.pk, circle.pk, slow_mode_seconds=60, paused=True)
        await database_sync_to_async(time_out_member)(facilitator, circle, user_id=member.pk, minutes=10)

        await sam.send(send("ordinary", "Still here."))
        assert (await sam.receive_until("error"))["code"] == "room_paused"  # the room rules hold for everything else

        await sam.send(send("crisis-3", CRISIS))
        ack = await sam.receive_until("ack")
        assert ack["message"]["state"] == "visible"
        await sam.receive_until("crisis_resources")
    assert await database_sync_to_async(Message.objects.filter(group=circle, client_id="crisis-3").exists)()


@pytest.mark.parametrize("facilitator_away", [True, False])
async def test_a_crisis_alert_no_facilitator_can_see_is_told_to_the_operators(
    channel_layer, circle, member, facilitator, facilitator_away, caplog
):
    # The group's only facilitator is on a break (away, as when leaving: their notifications pause), or not.
    if facilitator_away:
        await database_sync_to_async(pause_membership)(facilitator, circle)
    with caplog.at_level("WARNING", logger="moderation.review"):
        async with connected(member, circle.slug) as sam:
            await sam.send(send("crisis-away", CRISIS))
            await sam.receive_until("crisis_resources")  # the member is answered at once either way
    alert = await database_sync_to_async(Alert.objects.get)(group=circle)
    told = [record.getMessage() for record in caplog.records if record.name == "moderation.review"]
    if facilitator_away:
        assert told == [
            f"crisis alert {alert.pk} in group {circle.pk}: the group has no active facilitator to follow it up"
        ]
    else:
        assert told == []
    assert not any(CRISIS in record.getMessage() for record in caplog.records)  # numbers only, never the words
