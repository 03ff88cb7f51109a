"""Facilitators cannot read direct messages unless one is reported, and then only that one message,
in the queue of the one shared group the reporter chose."""

import html
import json

import pytest
from django.test import Client

from groups.actions import create_group, join_group
from groups.models import DirectMessage, DirectMessageRequest, DirectMessageRequestState
from moderation.actions import report_direct_message, resolve_report
from moderation.models import AuditEntry, Report
from tests.conftest import make_person

pytestmark = pytest.mark.django_db

HELLO = "Hi Alex, how was the weekend?"
REPORTED = "You'd feel better if you just stopped eating sugar."  # Sam's message that Alex reports
AFTER = "Sorry, I only meant to help."
ALEX_OWN = "Please don't tell me what to eat."


@pytest.fixture
def conversation(group, member, second_member):
    """Sam and Alex's private conversation: four messages, one of them (Sam's second) reported later."""
    thread = DirectMessageRequest.objects.create(
        from_user=member, to_user=second_member, state=DirectMessageRequestState.ACCEPTED
    )
    for author, body in ((member, HELLO), (member, REPORTED), (second_member, ALEX_OWN), (member, AFTER)):
        DirectMessage.objects.create(conversation=thread, author=author, body=body)
    return thread


def reported_message(conversation):
    return conversation.messages.get(body=REPORTED)


def as_person(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def page(client: Client, url: str) -> str:
    return text_of(client.get(url))


def alex_reports(conversation, second_member, group, **extra) -> Report:
    return report_direct_message(
        second_member,
        conversation_id=conversation.pk,
        direct_message_id=reported_message(conversation).pk,
        group_id=group.pk,
        reason=extra.pop("reason", "advice"),
        note=extra.pop("note", "It keeps happening."),
    )


def test_before_a_report_the_facilitator_cannot_open_the_conversation_nor_read_it_in_the_queue(
    group, conversation, facilitator
):
    robin = as_person(facilitator)
    assert robin.get(f"/messages/{conversation.pk}/").status_code == 404
    queue = page(robin, f"/groups/{group.slug}/moderation/")
    for body in (HELLO, REPORTED, ALEX_OWN, AFTER):
        assert body not in queue


def test_after_alex_reports_it_robin_reads_exactly_that_message_and_nothing_else_of_the_conversation(
    group, conversation, second_member, facilitator
):
    alex = as_person(second_member)
    form = alex.get(f"/messages/{conversation.pk}/report/{reported_message(conversation).pk}/")
    assert form.status_code == 200
    response = alex.post(
        f"/messages/{conversation.pk}/report/{reported_message(conversation).pk}/",
        {"reason": "advice", "note": "It keeps happening.", "group": group.pk},
        follow=True,
    )
    assert "Thank you for telling us" in text_of(response)
    assert "Sam isn't told that you reported it" in text_of(response)

    robin = as_person(facilitator)
    queue = page(robin, f"/groups/{group.slug}/moderation/")
    assert REPORTED in queue
    assert "Alex reported a private message from Sam" in queue
    assert "It keeps happening." in queue
    for body in (HELLO, ALEX_OWN, AFTER):
        assert body not in queue
    # The conversation itself stays closed to the facilitator.
    assert robin.get(f"/messages/{conversation.pk}/").status_code == 404


def test_a_facilitator_of_a_group_the_two_do_not_share_never_sees_it(
    group, conversation, member, second_member, facilitator
):
    morgan = make_person("Morgan")
    elsewhere = create_group(name="Other Harbour", facilitators=[morgan], agreements=["Be kind."])
    join_group(member, elsewhere, accepted_version=1)  # Sam is there, Alex is not
    alex_reports(conversation, second_member, group)

    morgan_sees = as_person(morgan)
    assert REPORTED not in page(morgan_sees, f"/groups/{elsewhere.slug}/moderation/")
    assert morgan_sees.get(f"/groups/{group.slug}/moderation/").status_code == 403
    assert morgan_sees.get(f"/messages/{conversation.pk}/").status_code == 404


def test_with_two_shared_groups_only_the_chosen_groups_facilitators_see_it(
    group, conversation, member, second_member, facilitator
):
    jo = make_person("Jo")
    second = create_group(name="Evening Circle", facilitators=[jo], agreements=["Be kind."])
    join_group(member, second, accepted_version=1)
    join_group(second_member, second, accepted_version=1)
    alex = as_person(second_member)
    form = page(alex, f"/messages/{conversation.pk}/report/{reported_message(conversation).pk}/")
    assert "Which group's facilitators should read it?" in form
    assert "Evening Circle" in form and "Quiet Harbour" in form

    alex_reports(conversation, second_member, second)

    assert REPORTED in page(as_person(jo), f"/groups/{second.slug}/moderation/")
    assert REPORTED not in page(as_person(facilitator), f"/groups/{group.slug}/moderation/")


def test_staff_get_no_way_to_read_a_private_message(group, conversation, second_member):
    alex_reports(conversation, second_member, group)
    stevie = as_person(make_person("Stevie", is_staff=True, is_superuser=True))
    assert stevie.get(f"/messages/{conversation.pk}/").status_code == 404
    report = Report.objects.get()
    admin_pages = page(stevie, "/admin/moderation/report/") + page(
        stevie, f"/admin/moderation/report/{report.pk}/change/"
    )
    for body in (HELLO, REPORTED, ALEX_OWN, AFTER):
        assert body not in admin_pages


def test_the_audit_rows_never_hold_the_words(group, conversation, second_member, facilitator):
    report = alex_reports(conversation, second_member, group)
    resolve_report(facilitator, group, report_id=report.pk, outcome="I've spoken with Sam.")

    rows = list(AuditEntry.objects.order_by("id"))
    assert [row.kind for row in rows] == [
        "moderation.direct_message.reported",
        "moderation.direct_message.report_resolved",
    ]
    assert (rows[0].actor_id, rows[0].target_id) == (second_member.pk, None)
    every_field = json.dumps(list(AuditEntry.objects.values()), default=str)
    for body in (HELLO, REPORTED, ALEX_OWN, AFTER):
        assert body not in every_field
    log = page(as_person(facilitator), f"/groups/{group.slug}/moderation/log/")
    assert "Private message reported" in log and REPORTED not in log


def test_alexs_export_includes_the_report_and_sams_does_not_say_who_reported_him(
    group, conversation, member, second_member, facilitator
):
    report = alex_reports(conversation, second_member, group)
    resolve_report(facilitator, group, report_id=report.pk, outcome="I've spoken with Sam.")

    alex_export = json.loads(as_person(second_member).get("/accounts/export/").content)
    (row,) = alex_export["records"]["moderation.Report"]
    assert row["reporter"] == "you"
    assert row["direct_message"] == reported_message(conversation).pk
    assert (row["reason"], row["note"], row["outcome"]) == ("advice", "It keeps happening.", "I've spoken with Sam.")

    sam_export = json.loads(as_person(member).get("/accounts/export/").content)
    assert "moderation.Report" not in sam_export["records"]
    assert "moderation.AuditEntry" not in sam_export["records"]


def test_when_sam_deletes_his_account_the_report_goes_with_his_words(group, conversation, member, second_member):
    from supportcircle.accounts.actions import delete_account

    alex_reports(conversation, second_member, group)
    delete_account(member)
    assert not Report.objects.exists()
    assert AuditEntry.objects.filter(kind="moderation.direct_message.reported").exists()
