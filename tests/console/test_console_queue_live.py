"""The console's queue is live: a held message or crisis alert reaches the facilitator's socket as it happens,
crisis first on arrival, and acting on an item takes effect at once on open sockets and is audited."""

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings

from chat.actions import post_message
from moderation.models import AuditEntry
from tests.conftest import connected
from tests.moderation.scene import nothing_more, send

pytestmark = pytest.mark.django_db(transaction=True)

CONTACT = "Text me on 07700 900123 and we can talk outside the group."
CRISIS = "I don't think I can keep going. I want to kill myself."
LOCAL_HELP = [{"name": "Samaritans", "detail": "Call 116 123, any time", "url": "https://www.samaritans.org"}]


async def test_a_held_message_appears_in_the_facilitators_queue_live(channel_layer, careful_group, member, facilitator):
    async with connected(member, careful_group.slug) as sam, connected(facilitator, careful_group.slug) as robin:
        await sam.send(send("contact-1", CONTACT))
        item = (await robin.receive_until("queue_item"))["item"]
        assert (item["kind"], item["state"], item["member"]["pseudonym"]) == ("held", "open", "Sam")
        assert item["message"]["body"] == CONTACT


async def test_approving_from_the_console_reaches_everyone_at_once_and_is_audited(
    channel_layer, careful_group, member, second_member, facilitator
):
    async with (
        connected(member, careful_group.slug) as sam,
        connected(second_member, careful_group.slug) as alex,
        connected(facilitator, careful_group.slug) as robin,
    ):
        await sam.send(send("contact-2", CONTACT))
        item = (await robin.receive_until("queue_item"))["item"]
        await robin.send({"type": "moderate", "action": "approve", "seq": item["message"]["seq"]})
        assert (await alex.receive_until("message"))["message"]["body"] == CONTACT
        assert (await sam.receive_until("notice"))["code"] in ("held_for_review", "message_approved")
        # The facilitator's own answer and the queue update may arrive in either order.
        seen = {}
        while len(seen) < 2:
            frame = await robin.receive()
            if frame["type"] in ("queue_item", "notice"):
                seen[frame["type"]] = frame
        resolved = seen["queue_item"]["item"]
        assert (resolved["kind"], resolved["id"], resolved["state"]) == ("held", item["id"], "resolved")
        assert seen["notice"]["code"] == "moderation_done"
    approved = await database_sync_to_async(AuditEntry.objects.get)(kind="moderation.message.approved")
    assert approved.actor_id == facilitator.pk


@override_settings(CRISIS_RESOURCES=LOCAL_HELP)
async def test_on_arrival_the_console_gets_crisis_first_with_the_support_lines_the_member_was_shown(
    channel_layer, careful_group, member, facilitator
):
    await database_sync_to_async(post_message)(member.pk, careful_group.pk, client_id="held-first", body=CONTACT)
    await database_sync_to_async(post_message)(member.pk, careful_group.pk, client_id="crisis-later", body=CRISIS)
    async with connected(facilitator, careful_group.slug) as robin:
        first = await robin.receive()
        assert first["type"] == "crisis_alert"
        assert first["alert"]["resources"] == LOCAL_HELP
        second = await robin.receive_until("queue_item")
        assert second["item"]["kind"] == "held"


async def test_a_crisis_alert_reaches_the_console_live_and_not_other_members(
    channel_layer, careful_group, member, second_member, facilitator
):
    async with (
        connected(member, careful_group.slug) as sam,
        connected(second_member, careful_group.slug) as alex,
        connected(facilitator, careful_group.slug) as robin,
    ):
        await sam.send(send("crisis-1", CRISIS))
        alert = (await robin.receive_until("crisis_alert"))["alert"]
        assert alert["category"] == "crisis" and alert["member"]["pseudonym"] == "Sam"
        await alex.receive_until("message")
        assert [f["type"] for f in await nothing_more(alex)] == ["peer_hint"]  # a kind hint, never the alert
