"""A chat report never points at its reporter in the reported person's data export.

Alex reports one of Sam's messages in the group's chat. Sam may learn that a facilitator acted on
his message (a warning is his to see), never that anyone reported it, let alone who. Alex's own
export holds the report; the facilitators still see who reported what, in the queue and the log.
"""

import html
import importlib
import json

import pytest
from django.apps import apps
from django.test import Client

from chat.actions import post_message
from moderation.actions import report_message, resolve_report, warn_member
from moderation.models import AuditEntry

pytestmark = pytest.mark.django_db

SAMS_WORDS = "Honestly nobody here gets it."
ALEXS_NOTE = "It stung a bit."


def export_of(person) -> dict:
    client = Client()
    client.force_login(person)
    return json.loads(client.get("/accounts/export/").content)


def page(person, url: str) -> str:
    client = Client()
    client.force_login(person)
    return html.unescape(client.get(url).content.decode())


@pytest.fixture
def reported(group, member, second_member, facilitator):
    """Sam posts; Alex reports it; Robin warns Sam about that message and answers Alex's report."""
    seq = post_message(member.pk, group.pk, client_id="sam-1", body=SAMS_WORDS).message.seq
    report = report_message(second_member.pk, group.pk, seq=seq, reason="judgment", note=ALEXS_NOTE)
    warn_member(facilitator, group, user_id=member.pk, agreement_number=2, seq=seq)
    resolve_report(facilitator, group, report_id=report.pk, outcome="I've had a quiet word.")
    return report


def test_sams_export_holds_nothing_that_names_or_numbers_alex_in_relation_to_a_report(reported, member):
    records = export_of(member)["records"]

    assert "moderation.Report" not in records
    rows = records["moderation.AuditEntry"]
    # Sam sees that a facilitator acted on his message, and nothing about a report.
    assert [row["kind"] for row in rows] == ["moderation.member.warned"]
    (robin,) = {row["actor"] for row in rows}
    everything = json.dumps(records)
    assert "report" not in everything.lower()
    assert ALEXS_NOTE not in everything
    # Nobody but Robin (as he acted on Sam's message) and Sam himself is named in any audit row.
    assert {value for row in rows for value in (row["actor"], row["target"])} == {robin, "you"}


def test_alexs_export_holds_the_report_and_its_outcome(reported, second_member):
    records = export_of(second_member)["records"]

    (row,) = records["moderation.Report"]
    assert (row["reporter"], row["message"], row["reason"], row["note"]) == (
        "you",
        reported.message_id,
        "judgment",
        ALEXS_NOTE,
    )
    assert row["outcome"] == "I've had a quiet word."
    kinds = {entry["kind"]: entry for entry in records["moderation.AuditEntry"]}
    assert kinds["moderation.report.filed"]["actor"] == "you"
    assert kinds["moderation.report.resolved"]["target"] == "you"


def test_the_facilitators_still_see_who_reported_whose_message(reported, group, member, second_member, facilitator):
    seq = post_message(member.pk, group.pk, client_id="sam-2", body="Whatever.").message.seq
    report_message(second_member.pk, group.pk, seq=seq, reason="other", note="And this one.")
    queue = page(facilitator, f"/groups/{group.slug}/moderation/")
    assert "Alex" in queue and "And this one." in queue

    log = page(facilitator, f"/groups/{group.slug}/moderation/log/")
    rows = [row for row in log.split("<tr>") if "Message reported" in row]
    assert len(rows) == 2
    assert all("<td>Alex</td>" in row and "Sam · message" in row for row in rows)
    assert any(f"message {reported.message.seq}<" in row for row in rows)


def test_a_report_filed_before_the_change_leaves_sams_export_too(reported, member):
    filed = AuditEntry.objects.get(kind="moderation.report.filed")
    filed.target = member  # as report_message used to write it
    filed.save(update_fields=["target"])

    migration = importlib.import_module("moderation.migrations.0003_chat_report_rows_name_no_target")
    migration.forget_targets(apps, None)

    assert AuditEntry.objects.get(pk=filed.pk).target_id is None
    assert "report" not in json.dumps(export_of(member)["records"]).lower()
