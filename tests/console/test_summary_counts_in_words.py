"""The summary counts in words: "1 report", "2 reports", never "report(s)" (nor anywhere else people read)."""

import re
from pathlib import Path

import pytest

from console.live import close_session, open_session
from moderation.actions import report_message
from supportcircle.text import counted
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def test_one_open_report_is_one_report(client, group, member, second_member, facilitator):
    from chat.actions import post_message

    open_session(facilitator.pk, group.pk)
    seq = post_message(member.pk, group.pk, client_id="hello", body="Hello everyone").message.seq
    report_message(second_member.pk, group.pk, seq=seq, reason="other")
    session = close_session(facilitator.pk, group.pk)
    client.login(username=facilitator.pseudonym, password=PASSWORD)

    html = client.get(f"/groups/{group.slug}/sessions/{session.pk}/summary/").content.decode()

    assert "1 report still open" in html
    assert "(s)" not in html


def test_counted_says_the_word_in_the_right_number():
    assert counted(1, "report") == "1 report"
    assert counted(2, "report") == "2 reports"
    assert counted(0, "held message") == "0 held messages"
    assert counted(3, "person", "people") == "3 people"


def test_no_page_or_app_says_a_word_with_s_in_brackets():
    apps = ("supportcircle", "groups", "chat", "moderation", "console")
    places = [*ROOT.glob("templates/**/*.html"), *(path for app in apps for path in ROOT.glob(f"{app}/**/*.py"))]
    offenders = [str(path.relative_to(ROOT)) for path in places if re.search(r"[a-z]\(s\)", path.read_text())]
    assert offenders == []
