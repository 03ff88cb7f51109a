"""A member reports a message: they are thanked at once, and told the outcome when a facilitator answers."""

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from chat.actions import post_message
from moderation.models import AuditEntry, Report
from tests.conftest import connected
from tests.moderation.scene import nothing_more, send

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_reporter_is_thanked_and_later_told_the_outcome(
    channel_layer, circle, member, second_member, facilitator
):
    async with (
        connected(member, circle.slug) as sam,
        connected(second_member, circle.slug) as alex,
        connected(facilitator, circle.slug) as robin,
    ):
        await sam.send(send("plain-1", "Honestly, that's not how I see it."))
        seq = (await sam.receive_until("ack"))["message"]["seq"]
        await alex.receive_until("message")

        await alex.send({"type": "report", "seq": seq, "reason": "judgment", "note": "It stung a bit."})
        thanks = await alex.receive_until("notice")
        assert thanks["code"] == "report_received"
        assert "Thank you" in thanks["message"]
        assert thanks["link"] == "/reports/mine/"

        item = (await robin.receive_until("queue_item"))["item"]
        assert (item["kind"], item["reporter"]["pseudonym"], item["note"]) == ("report", "Alex", "It stung a bit.")
        assert item["message"]["seq"] == seq

        await robin.send(
            {
                "type": "moderate",
                "action": "resolve_report",
                "report": item["id"],
                "outcome": "I've talked with Sam and we're keeping an eye on it.",
            }
        )
        assert (await robin.receive_until("notice"))["code"] == "moderation_done"
        outcome = await alex.receive_until("notice")
        assert outcome["code"] == "report_answered"
        assert "keeping an eye on it" in outcome["message"]
        # The person who was reported is not told who reported them.
        assert [f for f in await nothing_more(sam) if f["type"] == "notice"] == []

    report = await database_sync_to_async(Report.objects.get)()
    assert report.state == "resolved" and report.resolved_by_id == facilitator.pk
    kinds = await database_sync_to_async(list)(AuditEntry.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["moderation.report.filed", "moderation.report.resolved"]


async def test_a_report_with_a_reason_not_in_the_list_is_refused_kindly(channel_layer, circle, member, second_member):
    async with connected(member, circle.slug) as sam, connected(second_member, circle.slug) as alex:
        await sam.send(send("plain-2", "Hello all."))
        seq = (await sam.receive_until("ack"))["message"]["seq"]
        await alex.send({"type": "report", "seq": seq, "reason": "because"})
        error = await alex.receive_until("error")
        assert (error["code"], error["detail"]) == ("invalid_field", "reason")
        await alex.send({"type": "report", "seq": 99, "reason": "other"})
        assert (await alex.receive_until("error"))["code"] == "not_found"
    assert not await database_sync_to_async(Report.objects.exists)()


def test_reporting_the_same_message_twice_is_answered_not_duplicated(circle, member, second_member):
    from moderation.actions import report_message
    from moderation.records import ModerationRefused

    seq = post_message(member.pk, circle.pk, client_id="p-3", body="Hello").message.seq
    report_message(second_member.pk, circle.pk, seq=seq, reason="other")
    with pytest.raises(ModerationRefused, match="already reported"):
        report_message(second_member.pk, circle.pk, seq=seq, reason="other")
    assert Report.objects.count() == 1


def test_an_outsider_cannot_report_a_message_in_a_group_they_are_not_in(circle, member, outsider):
    from moderation.actions import report_message
    from moderation.records import ModerationRefused

    seq = post_message(member.pk, circle.pk, client_id="p-4", body="Hello").message.seq
    with pytest.raises(ModerationRefused):
        report_message(outsider.pk, circle.pk, seq=seq, reason="other")


def test_my_reports_page_shows_each_report_and_its_outcome(circle, member, second_member, facilitator):
    from moderation.actions import report_message, resolve_report

    seq = post_message(member.pk, circle.pk, client_id="p-5", body="Hello").message.seq
    report = report_message(second_member.pk, circle.pk, seq=seq, reason="advice")
    client = Client()
    client.force_login(second_member)
    page = client.get("/reports/mine/").content.decode()
    assert "Waiting for a facilitator" in page
    assert "Advice nobody asked for" in page

    resolve_report(facilitator, circle, report_id=report.pk, outcome="We talked about it in the group.")
    page = client.get("/reports/mine/").content.decode()
    assert "We talked about it in the group." in page

    client.force_login(member)
    assert "We talked about it" not in client.get("/reports/mine/").content.decode()


def test_the_socket_and_the_pages_offer_the_same_report_reasons():
    from chat.protocol import REPORT_REASONS
    from moderation.models import ReportReason

    assert tuple(ReportReason.values) == REPORT_REASONS


def test_removing_a_reported_message_answers_the_report(circle, member, second_member, facilitator):
    from moderation.actions import hide_message, report_message

    seq = post_message(member.pk, circle.pk, client_id="p-6", body="Hello").message.seq
    report = report_message(second_member.pk, circle.pk, seq=seq, reason="judgment")
    hide_message(facilitator, circle, seq=seq, agreement_number=3)
    report.refresh_from_db()
    assert report.state == "resolved"
    assert "removed the message under Agreement 3" in report.outcome
