"""The chat page reads what the socket's welcome reads, in a pinned number of statements.

When a crowd comes back at once (a server restart, the start of a session), every member opens this
page and then its socket: each statement here is paid thousands of times.
"""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from chat.actions import pin_message, post_message
from chat.opening import room_at_connect
from tests.chat.test_connect import everything_on

pytestmark = pytest.mark.django_db


def statements_for_the_page(person, slug: str) -> tuple[list[str], str]:
    client = Client()
    client.force_login(person)
    with CaptureQueriesContext(connection) as seen:
        response = client.get(f"/groups/{slug}/chat/")
    assert response.status_code == 200
    return [query["sql"] for query in seen.captured_queries], response.content.decode()


def test_a_quiet_room_page_takes_seven_statements(group, member, second_member):
    post_message(second_member.pk, group.pk, client_id="hello", body="Hello, whoever reads this")
    statements, page = statements_for_the_page(member, group.slug)
    # 1 the session, 2 the person (Django's own), 3 the group with the membership (chat.actions.open_chat),
    # 4 boundaries (blocks, mutes, collapsed labels), 5 the history (the membership with the latest seq, the
    # page and its reactions, in one statement: chat.pages), 6 what the room has at all
    # (chat.opening.room_at_connect, as the socket asks it: practices, open round, pins, read marker, a
    # time-out, a live session, a pause), 7 whether the banner for people who may be paged shows (safeguarding).
    assert len(statements) == 7, "\n".join(statements)
    assert "Hello, whoever reads this" in page


def test_a_room_with_nothing_posted_takes_seven_statements(group, member):
    statements, page = statements_for_the_page(member, group.slug)
    assert len(statements) == 7, "\n".join(statements)
    assert "No messages yet" in page


def test_a_busy_room_page_shows_everything_that_is_there(group, facilitator, member, second_member):
    # The quiet-room shortcut must never hide what is there: slow mode, the circle, the pin, the unread divider.
    everything_on(group, facilitator, member, second_member)
    known = room_at_connect(member.pk, group.pk)
    assert (known.has_room_state, known.has_open_round, known.has_pinned, known.last_read_seq) == (True, True, True, 2)
    assert (known.joins_locked, known.breathing, known.extra) == (True, True, {"timed_out": True, "live_session": True})
    post_message(facilitator.pk, group.pk, client_id="new", body="Something new since")
    _, page = statements_for_the_page(member, group.slug)
    assert "A listening circle is on" in page
    assert "Pinned by the facilitators" in page and 'id="pinned" aria-labelledby="pinned-heading" hidden' not in page
    assert page.index("And one more thing") < page.index("New since you were last here") < page.index("Something new")


def test_an_unpinned_message_leaves_the_pinned_list(group, facilitator, member):
    post_message(member.pk, group.pk, client_id="p", body="Worth keeping")
    pin_message(facilitator.pk, group.pk, seq=1, pinned=True)
    assert room_at_connect(member.pk, group.pk).has_pinned
    pin_message(facilitator.pk, group.pk, seq=1, pinned=False)
    assert not room_at_connect(member.pk, group.pk).has_pinned


def test_an_unknown_group_is_not_found(member):
    client = Client()
    client.force_login(member)
    assert client.get("/groups/no-such-group/chat/").status_code == 404


def test_the_page_offers_every_content_label_feeling_and_need(group, member):
    # Made into HTML once per process (chat/templatetags/chat_labels.py), and still all there, escaped.
    from chat.protocol import FEELINGS, NEEDS
    from groups.models import ContentLabel

    _, page = statements_for_the_page(member, group.slug)
    for value, label in ContentLabel.choices:
        assert f'<option value="{value}">{label}</option>' in page
    for key, label in FEELINGS.items():
        assert f'<input type="checkbox" name="feelings" value="{key}"> {label}</label>' in page
    for key, label in NEEDS.items():
        assert f'<option value="{key}">{label}</option>' in page.replace("&#x27;", "'")
