"""Each thing a facilitator can do from the chat takes effect at once on everyone's open sockets,
and nobody but a facilitator of this very group can do it."""

import pytest
from channels.db import database_sync_to_async

from chat.actions import post_message
from groups.actions import create_group
from groups.models import Membership
from moderation.models import AuditEntry, TimeOut
from tests.conftest import connected, make_person
from tests.moderation.scene import agreement, nothing_more, send

pytestmark = pytest.mark.django_db(transaction=True)

CONTACT = "Text me on 07700 900123 and we can talk outside the group."


def moderate(action: str, **fields) -> dict:
    return {"type": "moderate", "action": action, **fields}


async def test_approving_a_held_message_delivers_it_to_the_group_at_once(
    channel_layer, circle, member, second_member, facilitator
):
    async with (
        connected(member, circle.slug) as sam,
        connected(second_member, circle.slug) as alex,
        connected(facilitator, circle.slug) as robin,
    ):
        await sam.send(send("held-1", CONTACT))
        seq = (await sam.receive_until("ack"))["message"]["seq"]
        assert (await sam.receive_until("notice"))["code"] == "held_for_review"
        await robin.receive_until("queue_item")

        await robin.send(moderate("approve", seq=seq))
        assert (await robin.receive_until("notice"))["code"] == "moderation_done"
        arrived = (await alex.receive_until("message"))["message"]
        assert (arrived["seq"], arrived["body"], arrived["state"]) == (seq, CONTACT, "visible")
        assert (await sam.receive_until("notice"))["code"] == "message_approved"
        resolved = (await robin.receive_until("queue_item"))["item"]
        assert (resolved["kind"], resolved["state"]) == ("held", "resolved")


async def test_hiding_a_message_replaces_it_with_its_tombstone_on_every_open_socket(
    channel_layer, circle, member, second_member, facilitator
):
    curiosity = await database_sync_to_async(agreement)(circle, "curiosity")
    async with (
        connected(member, circle.slug) as sam,
        connected(second_member, circle.slug) as alex,
        connected(facilitator, circle.slug) as robin,
    ):
        await sam.send(send("mean-1", "Whatever, nobody cares what you think."))
        seq = (await sam.receive_until("ack"))["message"]["seq"]
        await alex.receive_until("message")

        await robin.send(moderate("hide", seq=seq, agreement=curiosity.number, note="Unkind"))
        await robin.receive_until("notice")
        for socket in (alex, sam, robin):
            updated = (await socket.receive_until("message_updated"))["message"]
            assert (updated["seq"], updated["state"], updated["body"]) == (seq, "removed_under_agreement", "")
            assert updated["removed_agreement"] == curiosity.number
        told = await sam.receive_until("notice")
        assert told["code"] == "message_hidden"
        assert f"Agreement {curiosity.number}" in told["message"]
        assert told["link"] == f"/groups/{circle.slug}/repair/"


async def test_a_warning_reaches_only_the_member_privately_and_cites_the_agreement(
    channel_layer, circle, member, second_member, facilitator
):
    no_advice = await database_sync_to_async(agreement)(circle, "no_unsolicited_advice")
    async with (
        connected(member, circle.slug) as sam,
        connected(second_member, circle.slug) as alex,
        connected(facilitator, circle.slug) as robin,
    ):
        await robin.send(moderate("warn", member=member.pk, agreement=no_advice.number, note="Let's listen first."))
        await robin.receive_until("notice")
        warning = await sam.receive_until("notice")
        assert warning["code"] == "warning"
        assert f"Agreement {no_advice.number}: {no_advice.text}" in warning["message"]
        assert "Let's listen first." in warning["message"]
        assert await nothing_more(alex) == []


async def test_a_time_out_stops_posting_at_once_and_says_until_when(
    channel_layer, circle, member, second_member, facilitator
):
    async with (
        connected(member, circle.slug) as sam,
        connected(second_member, circle.slug) as alex,
        connected(facilitator, circle.slug) as robin,
    ):
        await robin.send(moderate("time_out", member=member.pk, minutes=15))
        await robin.receive_until("notice")
        paused = await sam.receive_until("notice")
        assert paused["code"] == "timed_out"

        await sam.send(send("during-1", "Can I still talk?"))
        error = await sam.receive_until("error")
        assert error["code"] == "timed_out"
        assert error["until"] == paused["until"]
        assert 14 * 60 < error["retry_after"] <= 15 * 60
        assert "UTC" in error["message"]
        assert await nothing_more(alex) == []

    time_out = await database_sync_to_async(TimeOut.objects.get)()
    assert time_out.given_by_id == facilitator.pk


@pytest.mark.parametrize(("action", "close_code", "state"), [("remove", 4409, "removed"), ("ban", 4410, "banned")])
async def test_removing_or_banning_closes_the_members_chat_at_once(
    channel_layer, circle, member, facilitator, action, close_code, state
):
    async with connected(member, circle.slug) as sam, connected(facilitator, circle.slug) as robin:
        await robin.send(moderate(action, member=member.pk, note="Repeated harm after warnings."))
        assert (await robin.receive_until("notice"))["code"] == "moderation_done"
        assert await sam.closed_with() == close_code
    membership = await database_sync_to_async(Membership.objects.get)(user=member, group=circle)
    assert membership.state == state
    assert await database_sync_to_async(AuditEntry.objects.filter(kind=f"moderation.member.{state}").exists)()


async def test_members_cannot_moderate(channel_layer, circle, member, second_member):
    async with connected(second_member, circle.slug) as alex:
        for frame in (moderate("warn", member=member.pk, agreement=1), moderate("remove", member=member.pk)):
            await alex.send(frame)
            error = await alex.receive_until("error")
            assert error["code"] == "facilitators_only"
    assert not await database_sync_to_async(AuditEntry.objects.exists)()
    assert await database_sync_to_async(Membership.objects.filter(user=member, state="active").exists)()


def test_a_facilitator_of_another_group_and_an_outsider_are_refused(circle, member, outsider):
    from moderation.actions import hide_message, time_out_member, warn_member
    from moderation.records import ModerationRefused

    other = create_group(name="Elsewhere", facilitators=[make_person("Morgan")], agreements=["Be kind."])
    morgan = other.memberships.get().user
    seq = post_message(member.pk, circle.pk, client_id="m-1", body="Hello").message.seq
    for person in (morgan, outsider, member):
        with pytest.raises(ModerationRefused):
            hide_message(person, circle, seq=seq, agreement_number=1)
        with pytest.raises(ModerationRefused):
            warn_member(person, circle, user_id=member.pk, agreement_number=1)
        with pytest.raises(ModerationRefused):
            time_out_member(person, circle, user_id=member.pk, minutes=5)
    assert not AuditEntry.objects.exists()


def test_a_facilitator_cannot_warn_about_an_agreement_the_group_does_not_have(circle, member, facilitator):
    from moderation.actions import warn_member
    from moderation.records import ModerationRefused

    with pytest.raises(ModerationRefused, match="don't have a number 99"):
        warn_member(facilitator, circle, user_id=member.pk, agreement_number=99)


async def test_a_member_on_a_time_out_who_opens_the_chat_again_is_told_until_when(
    channel_layer, circle, member, facilitator
):
    from moderation.actions import time_out_member

    await database_sync_to_async(time_out_member)(facilitator, circle, user_id=member.pk, minutes=20)
    async with connected(member, circle.slug) as sam:
        told = await sam.receive_until("notice")
        assert told["code"] == "timed_out"
        assert "UTC" in told["message"]
