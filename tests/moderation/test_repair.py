"""Repair over perfection: a member who was warned, or had a message removed, is invited to repair;
a facilitator accepts it, which restores the member and is noted in the log."""

from html import escape

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone

from chat.actions import post_message
from moderation import actions
from moderation.models import AuditEntry, RepairRequest, TimeOut
from tests.conftest import connected
from tests.moderation.scene import agreement, send

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_warned_member_is_offered_prompts_and_can_send_a_repair(circle, member, facilitator):
    curiosity = agreement(circle, "curiosity")
    warning = actions.warn_member(facilitator, circle, user_id=member.pk, agreement_number=curiosity.number)
    client = signed_in(member)
    page = client.get(f"/groups/{circle.slug}/repair/").content.decode()
    for prompt in ("I was wrong.", "I hurt you and want to understand.", "Can we try again?"):
        assert prompt in page
    assert escape(curiosity.text) in page

    response = client.post(
        f"/groups/{circle.slug}/repair/",
        {"about": f"warning:{warning.pk}", "prompt": "I hurt you and want to understand.", "note": "Sorry, Alex."},
    )
    assert response.status_code == 302
    repair = RepairRequest.objects.get()
    assert (repair.prompt, repair.agreement_number, repair.state) == (
        "I hurt you and want to understand.",
        curiosity.number,
        "pending",
    )
    # Offered once: the invitation is gone.
    assert "nothing waiting for repair" in client.get(f"/groups/{circle.slug}/repair/").content.decode()


def test_a_repair_form_without_a_prompt_says_what_to_do(circle, member, facilitator):
    actions.warn_member(facilitator, circle, user_id=member.pk, agreement_number=1)
    response = signed_in(member).post(f"/groups/{circle.slug}/repair/", {"note": "sorry"})
    assert response.status_code == 400
    assert "Please choose the words you&#x27;d like to begin with." in response.content.decode()
    assert not RepairRequest.objects.exists()


def test_a_member_with_nothing_to_repair_is_told_so_kindly(circle, member):
    page = signed_in(member).get(f"/groups/{circle.slug}/repair/").content.decode()
    assert "nothing waiting for repair" in page


def test_an_outsider_cannot_open_the_repair_page(circle, outsider):
    assert signed_in(outsider).get(f"/groups/{circle.slug}/repair/").status_code == 403


async def test_accepting_a_repair_ends_the_time_out_tells_the_member_and_is_logged(
    channel_layer, circle, member, facilitator
):
    def warn_pause_and_repair():
        hidden = post_message(member.pk, circle.pk, client_id="r-1", body="Hi").message
        actions.hide_message(facilitator, circle, seq=hidden.seq, agreement_number=2)
        actions.time_out_member(facilitator, circle, user_id=member.pk, minutes=60, agreement_number=2)
        hidden.refresh_from_db()
        return actions.request_repair(member, circle, prompt="Can we try again?", message=hidden)

    repair = await database_sync_to_async(warn_pause_and_repair)()
    async with connected(facilitator, circle.slug) as robin, connected(member, circle.slug) as sam:
        item = (await robin.receive_until("queue_item"))["item"]
        assert (item["kind"], item["id"], item["prompt"]) == ("repair", repair.pk, "Can we try again?")

        await sam.send(send("paused-1", "Am I still paused?"))
        assert (await sam.receive_until("error"))["code"] == "timed_out"

        await robin.send({"type": "moderate", "action": "accept_repair", "repair": repair.pk})
        await robin.receive_until("notice")
        accepted = await sam.receive_until("notice")
        assert accepted["code"] == "repair_accepted"

        await sam.send(send("after-1", "Thank you, Robin."))
        assert (await sam.receive_until("ack"))["message"]["body"] == "Thank you, Robin."

    assert not await database_sync_to_async(TimeOut.objects.filter(until__gt=timezone.now()).exists)()
    entry = await database_sync_to_async(AuditEntry.objects.get)(kind="moderation.repair.accepted")
    assert (entry.actor_id, entry.target_id, entry.agreement_number) == (facilitator.pk, member.pk, 2)
