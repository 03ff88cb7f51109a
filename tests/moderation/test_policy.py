"""Facilitators choose, per kind of agreement, what moderation does in their group; crisis always posts with help."""

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from moderation.actions import update_policy
from moderation.models import AuditEntry
from moderation.review import policy_for
from tests.conftest import connected
from tests.moderation.scene import send

pytestmark = pytest.mark.django_db(transaction=True)

CONTACT = "Text me on 07700 900123 and we can talk outside the group."


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_facilitator_changes_an_action_on_the_policy_page_and_it_is_logged(circle, facilitator):
    client = signed_in(facilitator)
    page = client.get(f"/groups/{circle.slug}/moderation/policy/").content.decode()
    assert "Advice nobody asked for" in page
    choices = {category: action.value for category, action in policy_for(circle).items()}
    response = client.post(f"/groups/{circle.slug}/moderation/policy/", {**choices, "advice": "allow"})
    assert response.status_code == 302
    assert policy_for(circle)["advice"] == "allow"
    entry = AuditEntry.objects.get()
    assert (entry.kind, entry.actor_id, entry.note) == ("moderation.policy.changed", facilitator.pk, "advice: allow")


def test_the_policy_page_does_not_offer_holding_or_blocking_crisis(circle, facilitator):
    client = signed_in(facilitator)
    choices = {category: action.value for category, action in policy_for(circle).items()}
    response = client.post(f"/groups/{circle.slug}/moderation/policy/", {**choices, "crisis": "block"})
    assert response.status_code == 400
    assert "Please choose one of the actions in the list." in response.content.decode()
    assert policy_for(circle)["crisis"] == "resources"


def test_the_policy_page_is_for_facilitators_of_the_group(circle, member, outsider):
    assert signed_in(member).get(f"/groups/{circle.slug}/moderation/policy/").status_code == 403
    assert signed_in(outsider).get(f"/groups/{circle.slug}/moderation/policy/").status_code == 403


async def test_a_group_that_chose_alert_posts_the_message_and_tells_the_facilitators(
    channel_layer, circle, member, second_member, facilitator
):
    await database_sync_to_async(update_policy)(facilitator, circle, {"contact": "alert"})
    async with (
        connected(member, circle.slug) as sam,
        connected(second_member, circle.slug) as alex,
        connected(facilitator, circle.slug) as robin,
    ):
        await sam.send(send("contact-a", CONTACT))
        assert (await sam.receive_until("ack"))["message"]["state"] == "visible"
        assert (await alex.receive_until("message"))["message"]["body"] == CONTACT
        item = (await robin.receive_until("queue_item"))["item"]
        assert (item["kind"], item["category"], item["member"]["pseudonym"]) == ("alert", "contact", "Sam")
    assert await database_sync_to_async(AuditEntry.objects.filter(kind="moderation.message.alerted").exists)()


def test_a_group_without_rule_sets_is_only_checked_for_crisis(group, member):
    from chat.actions import Posted, post_message
    from moderation.models import Alert

    posted = post_message(member.pk, group.pk, client_id="free-1", body="You should just eat more.")
    assert isinstance(posted, Posted)
    assert not AuditEntry.objects.exists()

    post_message(member.pk, group.pk, client_id="free-2", body="I want to kill myself.")
    assert Alert.objects.filter(group=group, member=member, category="crisis").exists()
