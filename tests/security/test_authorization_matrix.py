"""Who may open which page: every view in the URL conf, for each of ten kinds of visitor.

The expectations are an explicit table. A view without a row fails the suite,
so a new page cannot ship without someone deciding who may see it.

Outcomes: ``ok`` (200), ``login`` (sent to log in), ``away`` (sent elsewhere with a
note), ``forbidden`` (403), ``missing`` (404, nothing revealed), ``post`` (405: the
view only changes things, by POST).
"""

import logging

import pytest
from django.test import Client

from tests.security.roles import ROLES, people_in_roles
from tests.security.scene import url_values
from tests.security.urlconf import routes

pytestmark = pytest.mark.django_db


def everyone(outcome: str) -> dict[str, str]:
    return dict.fromkeys(ROLES, outcome)


def signed_in(outcome: str, **exceptions: str) -> dict[str, str]:
    """Anonymous visitors are sent to log in; everyone else gets ``outcome`` (unless named)."""
    return {**everyone(outcome), "anonymous": "login", **exceptions}


# Seated in the group (member, on a break, facilitator): the conversation is theirs.
READERS = signed_in("away", member="ok", paused="ok", facilitator="ok")
NOT_SEATED = ("outsider", "requested", "removed", "banned", "other_facilitator", "staff")
FACILITATORS = signed_in("forbidden", facilitator="ok")
POST_ONLY = signed_in("post")

EXPECTED: dict[str, dict[str, str]] = {
    "login": everyone("ok"),
    "logout": everyone("post"),
    "password_change": signed_in("ok"),
    "password_change_done": signed_in("ok"),
    "password_reset": everyone("ok"),
    "password_reset_done": everyone("ok"),
    "password_reset_confirm": everyone("ok"),  # an invalid link says so; it reveals nothing
    "password_reset_complete": everyone("ok"),
    "accounts:signup": {**everyone("away"), "anonymous": "ok"},
    "accounts:profile": signed_in("ok"),
    "accounts:export": signed_in("ok"),  # always and only one's own data
    "accounts:delete": signed_in("ok"),
    "chat:room": READERS,
    "groups:directory": everyone("ok"),
    "groups:mine": signed_in("ok"),
    "groups:detail": everyone("ok"),  # what the group is about and its agreements: public by design
    "groups:join": POST_ONLY,
    "groups:invite": everyone("ok"),
    "groups:leave": POST_ONLY,
    "groups:pause": POST_ONLY,
    "groups:resume": POST_ONLY,
    "groups:members": FACILITATORS,
    "groups:member_action": POST_ONLY,
    "groups:change_agreements": POST_ONLY,
    "groups:add_schedule": POST_ONLY,
    "groups:settings": POST_ONLY,
    "groups:remove_schedule": POST_ONLY,
    "chat:history": {**READERS, "anonymous": "401", **dict.fromkeys(NOT_SEATED, "forbidden")},
    "console:console": FACILITATORS,
    "console:session_summary": FACILITATORS,
    "console:session_chart": FACILITATORS,
    "console:session_export": FACILITATORS,
    "groups:boundaries": signed_in("ok"),  # one's own boundaries
    "groups:boundary_action": POST_ONLY,
    "groups:inbox": signed_in("ok"),  # one's own conversations
    "groups:request_conversation": POST_ONLY,
    "groups:answer_request": POST_ONLY,
    # Sam and Alex's private conversation: Sam reads it; nobody else learns it exists.
    "groups:conversation": signed_in("missing", member="ok"),
    "moderation:queue": FACILITATORS,
    "moderation:act": POST_ONLY,
    "moderation:log": signed_in("forbidden", facilitator="ok", staff="ok"),  # site staff may audit moderation
    "moderation:policy": FACILITATORS,
    "moderation:repair": signed_in("forbidden", member="ok", paused="ok", facilitator="ok"),
    "moderation:my_reports": signed_in("ok"),  # one's own reports
    "moderation:support_lines": everyone("ok"),  # the support lines, for anyone, signed in or not
    # Alex's message in Sam and Alex's conversation: only Sam may report it; nobody else learns it exists.
    "moderation:report_direct_message": signed_in("missing", member="ok"),
    # A crisis alert about Sam: those who may take it (the group's facilitator, an operator) see it; nobody
    # else learns it exists, Sam included. Taking, following up, closing and a debrief are by POST.
    "safeguarding:alert": signed_in("missing", facilitator="ok", staff="ok"),
    "safeguarding:take": POST_ONLY,
    "safeguarding:followed_up": POST_ONLY,
    "safeguarding:close": POST_ONLY,
    "safeguarding:debrief": POST_ONLY,
    "safeguarding:banner": signed_in("ok"),  # the alerts one may take: none for most people
    "safeguarding:rota": signed_in("missing"),  # one's own place on the rota; nobody here is on it
    "safeguarding:report": signed_in("forbidden", staff="ok"),
    # For probes and Prometheus. /metrics answers these visitors because the test client is on this
    # machine, straight; from anywhere else it is missing (tests/operations/test_metrics.py).
    "healthz": everyone("ok"),
    "readyz": everyone("ok"),
    "metrics": everyone("ok"),
}


def outcome_of(response) -> str:
    if response.status_code == 200:
        return "ok"
    if response.status_code == 302:
        return "login" if "/accounts/login/" in response["Location"] else "away"
    return {403: "forbidden", 404: "missing", 405: "post"}.get(response.status_code, str(response.status_code))


def test_every_view_has_a_row_in_the_authorization_table():
    missing = [route.name for route in routes() if route.name not in EXPECTED]
    assert missing == [], f"Decide who may open these views and add rows to EXPECTED: {missing}"


def test_each_kind_of_visitor_gets_what_the_table_says(group, member, second_member, facilitator, outsider):
    values = url_values(group, member, second_member, facilitator)
    people = people_in_roles(group, member, facilitator, outsider)
    clients = {}
    for role, person in people.items():
        clients[role] = Client()
        if person is not None:
            clients[role].force_login(person)
    differences = {}
    for route in routes():
        if route.name not in EXPECTED:
            continue  # reported by the test above
        actual = {role: outcome_of(clients[role].get(route.url(values))) for role in ROLES}
        wrong = {
            role: f"{actual[role]} (expected {EXPECTED[route.name][role]})"
            for role in ROLES
            if actual[role] != EXPECTED[route.name][role]
        }
        if wrong:
            differences[route.name] = wrong
    assert differences == {}


def test_a_refused_page_is_logged_without_what_was_asked_for(group, member, second_member, facilitator, caplog):
    caplog.set_level(logging.INFO)
    client = Client()
    client.force_login(member)
    response = client.get(f"/groups/{group.slug}/members/?note=private-words")
    assert response.status_code == 403
    refusals = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert refusals, "a refusal leaves a trace for whoever looks after the site"
    assert all("private-words" not in record.getMessage() for record in caplog.records)
