"""The conversation can be read over plain HTTP, a page at a time, by its members only."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chat.actions import post_message, react_to_message
from chat.models import Message
from chat.protocol import BACKFILL_PAGE
from groups.models import Group, Membership
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def history_url(group, **query) -> str:
    url = reverse("chat:history", args=[group.slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def logged_in(client, person):
    assert client.login(pseudonym=person.pseudonym, password=PASSWORD)
    return client


def test_a_member_reads_the_page_after_the_seq_they_hold(client, group, member, second_member):
    for number in range(1, 6):
        post_message(second_member.pk, group.pk, client_id=f"m{number}", body=f"Note {number}")
    page = logged_in(client, member).get(history_url(group, after_seq=3)).json()
    assert page["type"] == "history"
    assert [m["seq"] for m in page["messages"]] == [4, 5]
    assert [m["body"] for m in page["messages"]] == ["Note 4", "Note 5"]
    assert (page["after_seq"], page["through_seq"], page["more"]) == (3, 5, False)


def test_without_after_seq_a_member_gets_the_latest_messages(client, group, member, second_member):
    post_message(second_member.pk, group.pk, client_id="m1", body="Good morning, everyone.")
    page = logged_in(client, member).get(history_url(group)).json()
    assert [m["body"] for m in page["messages"]] == ["Good morning, everyone."]


def test_a_long_history_comes_a_page_at_a_time(client, group, member, second_member, settings):
    settings.CHAT_RATE_LIMIT = (1_000, 10)
    for number in range(1, BACKFILL_PAGE + 3):
        post_message(second_member.pk, group.pk, client_id=f"m{number}", body=f"Note {number}")
    page = logged_in(client, member).get(history_url(group, after_seq=0)).json()
    assert len(page["messages"]) == BACKFILL_PAGE
    assert page["more"] is True


def test_an_outsider_is_told_kindly_that_the_conversation_is_for_members(client, group, outsider):
    response = logged_in(client, outsider).get(history_url(group, after_seq=0))
    assert response.status_code == 403
    assert response.json()["code"] == "not_a_member"
    assert "for members of the group" in response.json()["message"]


def test_someone_logged_out_is_asked_to_log_in(client, group):
    response = client.get(history_url(group, after_seq=0))
    assert response.status_code == 401
    assert response.json()["message"] == "Please log in to read this conversation."


@pytest.mark.parametrize("after_seq", ["soon", "²", "-1", "100000000000000000000", ""])
def test_a_bad_after_seq_gets_a_documented_error_that_says_what_to_send(client, group, member, after_seq):
    response = logged_in(client, member).get(history_url(group, after_seq=after_seq))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_field"
    assert response.json()["detail"] == "after_seq"
    assert "whole number" in response.json()["message"]
    assert "messages" not in response.json()


def test_a_history_request_takes_three_statements_however_full_the_page(client, group, member, second_member, settings):
    settings.CHAT_RATE_LIMIT = (1_000, 10)
    for number in range(60):
        post_message(second_member.pk, group.pk, client_id=f"m{number}", body=f"Note {number}")
        react_to_message(member.pk, group.pk, seq=number + 1, kind="sending_care", on=True)
    logged_in(client, member)
    for query in ({}, {"after_seq": 5}):
        with CaptureQueriesContext(connection) as seen:
            page = client.get(history_url(group, **query)).json()
        assert len(page["messages"]) >= 50 and all(m["reactions"] for m in page["messages"])
        # 1 the session, 2 the person (Django's own), 3 the group by its slug with the membership and its
        # latest seq, the reader's boundaries (blocks, mutes, collapsed labels), the page and its reactions,
        # in one statement (chat.pages): the standing and the boundaries are read once, with the page. (With
        # Django's pool, taking the connection also sends the pool's health check, an empty statement.)
        assert len(seen.captured_queries) == 3, "\n".join(q["sql"] for q in seen.captured_queries)


def test_a_malformed_after_seq_is_refused_before_the_conversation_is_read_whoever_asks(client, group, member, outsider):
    # Not the latest page read and then thrown away: the answer comes before the group, the membership or
    # a message is looked at, so it says nothing about them. (The session and the person may be read, for
    # the headers every signed-in page gets.)
    for asking in (member, outsider, None):
        client.logout()
        if asking is not None:
            logged_in(client, asking)
        with CaptureQueriesContext(connection) as seen:
            response = client.get(history_url(group, after_seq="soon"))
        assert (response.status_code, response.json()["code"]) == (400, "invalid_field")
        read = " ".join(q["sql"] for q in seen.captured_queries)
        assert all(table._meta.db_table not in read for table in (Group, Membership, Message)), read


def test_a_group_that_is_not_there_is_not_found(client, member):
    response = logged_in(client, member).get(reverse("chat:history", args=["no-such-group"]))
    assert response.status_code == 404
    assert response.json()["code"] == "group_not_found"
