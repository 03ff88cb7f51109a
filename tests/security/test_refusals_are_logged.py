"""Failed authorization is logged, on every refusal path, without what was asked for or written.

A refusal leaves one WARNING line on the ``supportcircle.authz`` logger (``log_refusal``): who was
refused (their id, never their pseudonym), where (the route), and a short reason code. Refusals
with a 403 or 404 are logged by ``LogRefusalsMiddleware``; refusals that send the person away with
a note or show the form again log themselves. Both authorization matrices are walked: every
refusal in them is logged, and nothing that was allowed is.
"""

from __future__ import annotations

import logging

import pytest
from django.conf import settings
from django.test import Client

from groups.actions import ban_member, create_group, join_group, remove_member
from groups.models import BoundarySettings, DirectMessagePolicy, DirectMessageRequest, Membership
from tests.conftest import make_person
from tests.security.roles import ROLES, people_in_roles
from tests.security.scene import url_values
from tests.security.test_authorization_matrix import EXPECTED as GET_EXPECTED
from tests.security.test_authorization_matrix import outcome_of as get_outcome_of
from tests.security.test_post_authorization_matrix import (  # noqa: F401 (fixtures)
    POST_EXPECTED,
    PRIVATE_WORDS,
    client_for,
    outcome_of,
    rolled_back,
    scene,
    url_for,
)
from tests.security.urlconf import routes

pytestmark = pytest.mark.django_db

AUTHZ = "supportcircle.authz"

# Outcomes in the matrices that are not refusals: nothing to do, or already done.
NOT_REFUSED = {
    ("logout", "anonymous"),  # nobody to sign out
    ("groups:join", "facilitator"),  # already accepted the new agreements: taken to the chat
    ("groups:invite", "member"),  # already seated: taken to the chat
    ("groups:invite", "paused"),
    ("groups:invite", "facilitator"),
    ("groups:pause", "paused"),  # already on a break: a member's state, not who they are
    ("groups:resume", "member"),  # not on a break
    ("groups:resume", "facilitator"),
}
REFUSALS = ("away", "refused", "forbidden", "missing", "401")


def refusal_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == AUTHZ]


def as_person(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def who(person) -> str:
    return f"user={person.pk if person else 'anonymous'} "


@pytest.mark.parametrize("route_name", sorted(POST_EXPECTED))
def test_every_refused_post_is_logged_with_who_and_where_and_nothing_allowed_is(route_name, scene, caplog):  # noqa: F811
    case = POST_EXPECTED[route_name]
    caplog.set_level(logging.INFO)
    wrong = {}
    for role in ROLES:
        person = scene.people[role]
        with rolled_back():
            client = client_for(person)
            if case.prepare:
                case.prepare(scene, client)
            before = case.probe(scene, person)
            caplog.clear()
            response = client.post(url_for(route_name, scene, case.values(scene)), case.data(scene, person))
            outcome = outcome_of(response, case.probe(scene, person) != before)
            lines = refusal_lines(caplog)
            words = [record.getMessage() for record in caplog.records if PRIVATE_WORDS in record.getMessage()]
        refused = outcome in REFUSALS and (route_name, role) not in NOT_REFUSED
        expected = [f"refused {who(person)}at {route_name} "] if refused else []
        found = [line[: len(expected[0])] if expected else line for line in lines]
        if found != expected or words:
            wrong[role] = f"{outcome}: logged {lines}, words {words}"
    assert wrong == {}


def test_every_refused_page_is_logged_with_who_and_where(group, member, second_member, facilitator, outsider, caplog):
    values = url_values(group, member, second_member, facilitator)
    people = people_in_roles(group, member, facilitator, outsider)
    caplog.set_level(logging.INFO)
    wrong = {}
    for route in routes():
        for role in ROLES:
            person = people[role]
            caplog.clear()
            outcome = get_outcome_of(client_for(person).get(route.url(values)))
            assert outcome == GET_EXPECTED[route.name][role]  # as test_authorization_matrix proves
            lines = refusal_lines(caplog)
            if outcome in REFUSALS:
                if len(lines) != 1 or not lines[0].startswith(f"refused {who(person)}at {route.name} "):
                    wrong[(route.name, role)] = lines
            elif lines:
                wrong[(route.name, role)] = lines
    assert wrong == {}


# Scenes, each with the reason a person would give for it -------------------------------------


def test_a_banned_person_is_refused_as_banned_wherever_they_try_to_come_back(group, outsider, facilitator, caplog):
    join_group(outsider, group, accepted_version=group.agreement_version)
    ban_member(facilitator, Membership.objects.get(user=outsider, group=group), "Repeated harm.")
    casey = as_person(outsider)
    caplog.set_level(logging.INFO)

    form = {"accept": "on", "version": group.agreement_version, "note": PRIVATE_WORDS}
    casey.post(f"/groups/{group.slug}/join/", form)
    casey.post(f"/groups/{group.slug}/invite/{group.invite_token}/", form)
    casey.get(f"/groups/{group.slug}/chat/")

    lines = refusal_lines(caplog)
    assert lines == [
        f"refused user={outsider.pk} at groups:join /groups/{group.slug}/join/: banned",
        f"refused user={outsider.pk} at groups:invite /groups/{group.slug}/invite/[hidden]/: banned",
        f"refused user={outsider.pk} at chat:room /groups/{group.slug}/chat/: banned",
    ]
    everything = "\n".join(record.getMessage() for record in caplog.records)
    assert PRIVATE_WORDS not in everything and "Casey" not in everything
    # An invite link is a key: never in our lines (django.request still logs a 400's whole path).
    assert all(group.invite_token not in line for line in lines)


def test_a_banned_person_asking_for_a_place_is_refused_as_banned(facilitator, outsider, caplog):
    asking = create_group(name="Asking Harbour", facilitators=[facilitator], agreements=["Be kind."])
    asking.join_policy = "request"
    asking.save()
    Membership.objects.create(user=outsider, group=asking, state="banned", accepted_version=1)
    caplog.set_level(logging.INFO)

    as_person(outsider).post(f"/groups/{asking.slug}/join/", {"accept": "on", "version": 1, "note": PRIVATE_WORDS})

    assert refusal_lines(caplog) == [f"refused user={outsider.pk} at groups:join /groups/{asking.slug}/join/: banned"]


def test_signing_up_while_signed_in_is_logged(member, caplog):
    caplog.set_level(logging.INFO)
    as_person(member).post("/accounts/signup/", {"pseudonym": "Noor", "password1": "x", "password2": "x"})
    assert refusal_lines(caplog) == [
        f"refused user={member.pk} at accounts:signup /accounts/signup/: already_signed_in"
    ]


def test_a_member_reaching_a_facilitators_page_is_logged_as_not_a_facilitator(group, member, caplog):
    caplog.set_level(logging.INFO)
    response = as_person(member).post(f"/groups/{group.slug}/agreements/", {"texts": PRIVATE_WORDS})
    assert response.status_code == 403
    (line,) = refusal_lines(caplog)
    assert line == f"refused user={member.pk} at groups:change_agreements {response.request['PATH_INFO']}: " + (
        "not_a_facilitator"
    )
    assert all(PRIVATE_WORDS not in record.getMessage() for record in caplog.records)


def test_a_removed_member_is_logged_when_the_chat_sends_them_away(group, member, facilitator, caplog):
    remove_member(facilitator, Membership.objects.get(user=member, group=group), "Stepped over a line.")
    caplog.set_level(logging.INFO)
    sam = as_person(member)
    sam.get(f"/groups/{group.slug}/chat/")
    sam.get(f"/groups/{group.slug}/chat/history/")
    assert [line.rsplit(": ", 1)[1] for line in refusal_lines(caplog)] == ["membership_ended", "membership_ended"]


def test_a_facilitator_removing_another_facilitator_is_logged(group, facilitator, caplog):
    other = make_person("Jules")
    Membership.objects.create(user=other, group=group, role="facilitator", state="active", accepted_version=1)
    theirs = Membership.objects.get(user=other, group=group)
    caplog.set_level(logging.INFO)
    as_person(facilitator).post(f"/groups/{group.slug}/members/{theirs.pk}/remove/", {"reason": PRIVATE_WORDS})
    (line,) = refusal_lines(caplog)
    assert line.startswith(f"refused user={facilitator.pk} at groups:member_action ")
    assert line.endswith(": facilitator_on_facilitator")
    assert PRIVATE_WORDS not in line


def test_a_request_someones_boundaries_refuse_is_logged_without_naming_them(group, member, second_member, caplog):
    BoundarySettings.objects.create(user=second_member, dm_policy=DirectMessagePolicy.NOBODY)
    caplog.set_level(logging.INFO)
    as_person(member).post("/messages/request/", {"person": second_member.pk, "note": PRIVATE_WORDS})
    assert not DirectMessageRequest.objects.exists()
    assert refusal_lines(caplog) == [f"refused user={member.pk} at groups.request_direct_message: not_requestable"]


def test_the_refusal_logger_prints_whatever_the_log_level(caplog):
    assert settings.LOGGING["loggers"][AUTHZ]["level"] == "WARNING"
    assert logging.getLogger(AUTHZ).isEnabledFor(logging.WARNING)


def test_a_refused_page_is_one_line_without_a_traceback(group, member, caplog):
    caplog.set_level(logging.INFO)
    response = as_person(member).get(f"/groups/{group.slug}/console/")
    assert response.status_code == 403
    lines = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert [record.name for record in lines] == [AUTHZ]
    assert lines[0].exc_info is None


def test_a_real_error_keeps_its_traceback_and_a_missing_page_loses_it():
    from django.http import Http404

    from supportcircle.security import RefusalsWithoutTraceback

    def record(status: int, problem: Exception) -> logging.LogRecord:
        return logging.makeLogRecord(
            {
                "name": "django.request",
                "msg": "%s",
                "args": ("/x/",),
                "status_code": status,
                "exc_info": (type(problem), problem, None),
            }
        )

    server_error, missing = record(500, RuntimeError("a fault")), record(404, Http404("no such group"))
    refusals = RefusalsWithoutTraceback()
    assert refusals.filter(server_error) and server_error.exc_info is not None
    assert refusals.filter(missing) and missing.exc_info is None
