"""Who may change what: every view in the URL conf that takes a POST, for each of ten kinds of visitor.

Each visitor sends the POST an authorised person would send (real form data, built from the
real scene), and the test checks what changed in the database, not only the status code.
The expectations are an explicit table, ``POST_EXPECTED``; a view that takes a POST and has
no row fails the suite, so nobody can add a way to change things without deciding who may.

Outcomes, as the visitor notices them:

- ``done``: the change happened (the route's probe reads something different afterwards).
- ``login``: sent to log in; nothing changed.
- ``forbidden``: 403; nothing changed. Logged for whoever looks after the site.
- ``missing``: 404, nothing revealed; nothing changed. Logged too.
- ``away``: sent to another page with a note saying why; nothing changed.
- ``refused``: the form is shown again with what went wrong (200 or 400); nothing changed.

"Nothing changed" is checked twice: the route's own probe (the rows that POST would change) reads
the same, and so does every other row in the database (sessions aside). Each POST runs in a
transaction that is rolled back, so every visitor meets the same scene.

Views that only ever read (``READ_ONLY``) refuse a POST with 405 (an anonymous visitor to a page for
the signed-in is sent to log in first), changing nothing. Views with several verbs in their
URL are sent one verb: they check who is asking before they look at the verb.

A refusal (403 or 404) leaves a warning in the log; no log record, traceback included, holds the
words that were posted or a password.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.core import mail
from django.db import transaction
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from groups.actions import change_agreements, join_group
from groups.models import (
    BlockedMember,
    BoundarySettings,
    DirectMessage,
    DirectMessageRequest,
    Group,
    Membership,
    SessionSchedule,
)
from moderation.actions import warn_member
from moderation.models import REPAIR_PROMPTS, MemberWarning, RepairRequest, Report, ReportReason
from moderation.review import policy_for
from safeguarding.models import AlertCase, Debrief, RotaMember
from supportcircle.accounts.models import User
from supportcircle.accounts.outbox import wait_until_sent
from tests.conftest import PASSWORD, make_person
from tests.security.roles import ROLES, people_in_roles
from tests.security.scene import url_values
from tests.security.test_authorization_matrix import EXPECTED as GET_EXPECTED
from tests.security.test_authorization_matrix import outcome_of as get_outcome_of
from tests.security.urlconf import routes

pytestmark = pytest.mark.django_db

# Written into every free-text field; it must never reach a log record.
PRIVATE_WORDS = "words-only-for-the-group-7391"
NEW_PASSWORD = "another-calm-test-password-77"


@dataclass
class Scene:
    """The cast of ``tests/conftest.py`` and ``roles.py``, plus what a valid POST needs to point at."""

    group: Group
    member: User  # Sam
    second_member: User  # Alex
    facilitator: User  # Robin
    outsider: User  # Casey
    people: dict[str, User | None]
    values: dict[str, object]
    jo: User  # seated in the group: someone the seated can ask, block or mute
    asked_sam: DirectMessageRequest  # Kit asked Sam for a private conversation; only Sam may answer
    sams_warning: MemberWarning  # only Sam may offer repair for it


@pytest.fixture
def scene(group, member, second_member, facilitator, outsider) -> Scene:
    values = url_values(group, member, second_member, facilitator)
    people = people_in_roles(group, member, facilitator, outsider)
    jo, kit = make_person("Jo"), make_person("Kit")
    join_group(jo, group, accepted_version=group.agreement_version)
    join_group(kit, group, accepted_version=group.agreement_version)
    User.objects.filter(pk=outsider.pk).update(email="casey@example.org")
    return Scene(
        group=group,
        member=member,
        second_member=second_member,
        facilitator=facilitator,
        outsider=outsider,
        people=people,
        values=values,
        jo=jo,
        asked_sam=DirectMessageRequest.objects.create(from_user=kit, to_user=member, note="Hello, Sam."),
        sams_warning=warn_member(facilitator, group, user_id=member.pk, agreement_number=1),
    )


Data = Callable[[Scene, "User | None"], dict]
Probe = Callable[[Scene, "User | None"], object]


@dataclass(frozen=True)
class Case:
    expected: dict[str, str]
    data: Data
    probe: Probe  # a snapshot of the rows this POST would change
    values: Callable[[Scene], dict] = field(default=lambda scene: {})  # URL values for this view only
    prepare: Callable[[Scene, Client], None] | None = None  # runs as the visitor, before the POST


def everyone(outcome: str) -> dict[str, str]:
    return dict.fromkeys(ROLES, outcome)


def signed_in(outcome: str, **exceptions: str) -> dict[str, str]:
    """Anonymous visitors are sent to log in; everyone else gets ``outcome`` (unless named)."""
    return {**everyone(outcome), "anonymous": "login", **exceptions}


FACILITATORS = signed_in("forbidden", facilitator="done")
SEATED = signed_in("away", member="done", paused="done", facilitator="done")


# Probes -------------------------------------------------------------------------


def own_membership(scene: Scene, person: User | None):
    return Membership.objects.filter(user=person, group=scene.group).values_list("state", "accepted_version").first()


def own_row(*fields: str) -> Probe:
    return lambda scene, person: User.objects.filter(pk=getattr(person, "pk", None)).values_list(*fields).first()


def sessions_of(scene: Scene, person: User | None) -> int:
    if person is None:
        return 0
    return sum(1 for session in Session.objects.all() if session.get_decoded().get("_auth_user_id") == str(person.pk))


def credentials_for(scene: Scene, person: User | None) -> User:
    """Signed-in visitors give their own password; an anonymous visitor is Casey, not signed in yet."""
    return person or scene.outsider


def _agreements_bumped(scene: Scene, client: Client) -> None:
    # A new version, so the seated have something to accept; the others join with it.
    change_agreements(scene.facilitator, scene.group, ["We listen first.", "What is shared here stays here."])


def _recovery_emails_sent() -> list[list[str]]:
    """Who recovery emails went to; they leave after the page answers (supportcircle/accounts/outbox.py)."""
    assert wait_until_sent()
    return [message.to for message in mail.outbox]


def _reset_link_opened(scene: Scene, client: Client) -> None:
    # Django moves a reset token from the link into the session, then takes the new password by POST.
    sam = User.objects.get(pk=scene.member.pk)
    token = default_token_generator.make_token(sam)
    response = client.get(f"/accounts/reset/{urlsafe_base64_encode(force_bytes(sam.pk))}/{token}/")
    assert response.status_code == 302, response.status_code


def _case_row(scene: Scene):
    return AlertCase.objects.filter(pk=scene.values["case_id"]).values_list("state", "follow_up_note").get()


def _alert_taken(scene: Scene, client: Client) -> None:
    # The visitor first says "I've got this" (refused, and nothing changes, for those who may not).
    client.post(f"/safeguarding/alerts/{scene.values['case_id']}/take/")


def _join_form(scene: Scene, person: User | None) -> dict:
    version = Group.objects.get(pk=scene.group.pk).agreement_version
    return {"accept": "on", "version": version, "note": PRIVATE_WORDS}


POST_EXPECTED: dict[str, Case] = {
    # Accounts --------------------------------------------------------------------
    "login": Case(
        everyone("done"),  # a right password signs in, whoever was signed in before
        data=lambda scene, person: {"username": credentials_for(scene, person).pseudonym, "password": PASSWORD},
        probe=lambda scene, person: User.objects.get(pk=credentials_for(scene, person).pk).last_login,
    ),
    "logout": Case(signed_in("done", anonymous="away"), data=lambda scene, person: {}, probe=sessions_of),
    "password_change": Case(
        signed_in("done"),
        data=lambda scene, person: {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
        probe=own_row("password"),
    ),
    # Anyone may ask for a reset link for an address; it goes only to that address, and the page reveals nothing.
    "password_reset": Case(
        everyone("done"),
        data=lambda scene, person: {"email": "casey@example.org"},
        probe=lambda scene, person: _recovery_emails_sent(),
    ),
    # Whoever holds Sam's reset link may set his password: the link is the authorization.
    "password_reset_confirm": Case(
        everyone("done"),
        data=lambda scene, person: {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        probe=lambda scene, person: User.objects.get(pk=scene.member.pk).password,
        values=lambda scene: {"uidb64": urlsafe_base64_encode(force_bytes(scene.member.pk)), "token": "set-password"},
        prepare=_reset_link_opened,
    ),
    "accounts:signup": Case(
        {**everyone("away"), "anonymous": "done"},
        data=lambda scene, person: {"pseudonym": "Noor", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        probe=lambda scene, person: User.objects.filter(pseudonym="Noor").exists(),
    ),
    "accounts:profile": Case(
        signed_in("done"),
        data=lambda scene, person: {"email": "new-address@example.org", "timezone": "Europe/Lisbon"},
        probe=own_row("email", "timezone"),
    ),
    "accounts:delete": Case(
        signed_in("done"),  # always and only one's own account
        data=lambda scene, person: {"password": PASSWORD},
        probe=own_row("pk"),
    ),
    # Joining and one's own standing ------------------------------------------------
    "groups:join": Case(
        # Anyone may accept the agreements of an open group (a removed member may come back); not the banned.
        # Robin published the new version, so has accepted it already and is simply taken to the chat.
        signed_in("done", banned="refused", facilitator="away"),
        data=_join_form,
        probe=own_membership,
        prepare=_agreements_bumped,
    ),
    "groups:invite": Case(
        # Whoever holds the link may join; the seated are simply taken to the chat.
        signed_in("done", member="away", paused="away", facilitator="away", banned="refused"),
        data=_join_form,
        probe=own_membership,
    ),
    "groups:leave": Case(  # Robin, the group's only facilitator, stays until another one is brought in
        signed_in("away", member="done", paused="done"), data=lambda scene, person: {}, probe=own_membership
    ),
    "groups:pause": Case(  # a facilitator may take a break too
        signed_in("away", member="done", facilitator="done"), data=lambda scene, person: {}, probe=own_membership
    ),
    "groups:resume": Case(signed_in("away", paused="done"), data=lambda scene, person: {}, probe=own_membership),
    # Facilitators of this very group -------------------------------------------------
    "groups:member_action": Case(  # remove Alex
        FACILITATORS,
        data=lambda scene, person: {"reason": PRIVATE_WORDS},
        probe=lambda scene, person: own_membership(scene, scene.second_member),
    ),
    "groups:change_agreements": Case(
        FACILITATORS,
        data=lambda scene, person: {"texts": f"We listen first.\n{PRIVATE_WORDS}"},
        probe=lambda scene, person: Group.objects.get(pk=scene.group.pk).agreement_version,
    ),
    "groups:add_schedule": Case(
        FACILITATORS,
        data=lambda scene, person: {
            "weekday": 2,
            "start_time": "19:30",
            "duration_minutes": 60,
            "timezone": "Europe/London",
        },
        probe=lambda scene, person: SessionSchedule.objects.filter(group=scene.group).count(),
    ),
    "groups:settings": Case(
        FACILITATORS,
        data=lambda scene, person: {
            "description": PRIVATE_WORDS,
            "visibility": "unlisted",
            "join_policy": "request",
            "capacity": 10,
        },
        probe=lambda scene, person: (
            Group.objects.filter(pk=scene.group.pk)
            .values_list("description", "visibility", "join_policy", "capacity")
            .get()
        ),
    ),
    "groups:remove_schedule": Case(
        FACILITATORS,
        data=lambda scene, person: {},
        probe=lambda scene, person: SessionSchedule.objects.filter(group=scene.group).count(),
    ),
    "moderation:act": Case(  # warn Alex
        FACILITATORS,
        data=lambda scene, person: {
            "action": "warn",
            "member": scene.second_member.pk,
            "agreement": 1,
            "note": PRIVATE_WORDS,
        },
        probe=lambda scene, person: MemberWarning.objects.filter(member=scene.second_member).count(),
    ),
    "moderation:policy": Case(
        FACILITATORS,
        data=lambda scene, person: {
            **{category: "hold" for category in policy_for(scene.group)},
            "crisis": "alert",
        },
        probe=lambda scene, person: policy_for(Group.objects.get(pk=scene.group.pk)),
    ),
    # Sam was warned: only he may offer repair for it; the other seated see the form again, for it isn't theirs.
    "moderation:repair": Case(
        signed_in("forbidden", member="done", paused="refused", facilitator="refused"),
        data=lambda scene, person: {
            "about": f"warning:{scene.sams_warning.pk}",
            "prompt": REPAIR_PROMPTS[0],
            "note": PRIVATE_WORDS,
        },
        probe=lambda scene, person: RepairRequest.objects.filter(group=scene.group).count(),
    ),
    # One's own boundaries and private messages ----------------------------------------
    "groups:boundaries": Case(
        signed_in("done"),
        data=lambda scene, person: {"dm_policy": "nobody", "collapsed_labels": ["food"], "here_to_be_heard": "on"},
        probe=lambda scene, person: (
            BoundarySettings.objects.filter(user=person)
            .values_list("dm_policy", "collapsed_labels", "here_to_be_heard")
            .first()
        ),
    ),
    # Block Jo: only someone seated in a group with Jo may choose Jo.
    "groups:boundary_action": Case(
        SEATED,
        data=lambda scene, person: {"person": scene.jo.pk},
        probe=lambda scene, person: list(BlockedMember.objects.filter(blocker=person).values_list("blocked")),
        values=lambda scene: {"verb": "block"},
    ),
    "groups:request_conversation": Case(
        SEATED,
        data=lambda scene, person: {"person": scene.jo.pk, "note": PRIVATE_WORDS},
        probe=lambda scene, person: DirectMessageRequest.objects.filter(to_user=scene.jo).count(),
    ),
    # Kit asked Sam: only Sam may answer; anyone else is told it's already answered, revealing nothing.
    "groups:answer_request": Case(
        signed_in("away", member="done"),
        data=lambda scene, person: {},
        probe=lambda scene, person: DirectMessageRequest.objects.get(pk=scene.asked_sam.pk).state,
        values=lambda scene: {"request_id": scene.asked_sam.pk, "verb": "accept"},
    ),
    # Sam and Alex's private conversation: Sam may write in it; nobody else learns it exists.
    "groups:conversation": Case(
        signed_in("missing", member="done"),
        data=lambda scene, person: {"body": PRIVATE_WORDS},
        probe=lambda scene, person: (
            DirectMessage.objects.filter(conversation_id=scene.values["conversation_id"])
            .values_list("pk", flat=True)
            .count()
        ),
    ),
    # Alex's reply in that conversation: only Sam may report it, to a group they share.
    "moderation:report_direct_message": Case(
        signed_in("missing", member="done"),
        data=lambda scene, person: {
            "reason": ReportReason.choices[0][0],
            "group": scene.group.pk,
            "note": PRIVATE_WORDS,
        },
        probe=lambda scene, person: Report.objects.filter(direct_message_id=scene.values["direct_message_id"]).count(),
    ),
    # Safeguarding: the crisis alert about Sam. Robin (the group's facilitator) and an operator may take it;
    # whoever took it follows up, closes it and writes a debrief; nobody else learns it exists.
    "safeguarding:take": Case(
        signed_in("missing", facilitator="done", staff="done"),
        data=lambda scene, person: {},
        probe=lambda scene, person: _case_row(scene),
    ),
    "safeguarding:followed_up": Case(
        signed_in("missing", facilitator="done", staff="done"),
        data=lambda scene, person: {"note": PRIVATE_WORDS},
        probe=lambda scene, person: _case_row(scene),
        prepare=_alert_taken,
    ),
    "safeguarding:close": Case(
        signed_in("missing", facilitator="done", staff="done"),
        data=lambda scene, person: {},
        probe=lambda scene, person: _case_row(scene),
        prepare=_alert_taken,
    ),
    "safeguarding:debrief": Case(
        signed_in("missing", facilitator="done", staff="done"),
        data=lambda scene, person: {"note": PRIVATE_WORDS},
        probe=lambda scene, person: Debrief.objects.count(),
        prepare=_alert_taken,
    ),
    "safeguarding:rota": Case(  # one's own availability; nobody here is on the rota
        signed_in("missing"),
        data=lambda scene, person: {"available": "no"},
        probe=lambda scene, person: list(RotaMember.objects.values_list("is_available")),
    ),
}

# Pages that accept a POST but only read: they answer it as they answer a GET.
READ_ONLY = (
    "chat:room",
    "groups:directory",
    "groups:mine",
    "groups:detail",
    "groups:members",
    "groups:inbox",
    "moderation:queue",
)


# The checks -------------------------------------------------------------------------


def everything() -> dict[str, list]:
    """Every row of every table (sessions aside: signing in writes one): to prove a refusal changed nothing."""
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values_list())
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy and model is not Session
    }


def changed_tables(before: dict[str, list], after: dict[str, list]) -> list[str]:
    return sorted(label for label in before if before[label] != after[label])


def outcome_of(response, changed: bool) -> str:
    if changed:
        return "done" if response.status_code in (200, 302) else f"done, with a {response.status_code}"
    if response.status_code == 302:
        return "login" if response["Location"].startswith("/accounts/login/") else "away"
    return {200: "refused", 400: "refused", 403: "forbidden", 404: "missing"}.get(
        response.status_code, str(response.status_code)
    )


@contextmanager
def rolled_back():
    """Whatever happens inside is undone, so the next visitor meets the same scene."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def client_for(person: User | None) -> Client:
    client = Client()
    if person is not None:
        client.force_login(person)
    return client


def url_for(route_name: str, scene: Scene, case_values: dict) -> str:
    route = next(route for route in routes() if route.name == route_name)
    return route.url({**scene.values, **case_values})


def leaks(records: list[logging.LogRecord]) -> list[str]:
    formatter = logging.Formatter("%(name)s %(message)s")
    return [
        formatter.format(record)
        for record in records
        if PRIVATE_WORDS in formatter.format(record) or PASSWORD in formatter.format(record)
    ]


def test_every_view_that_takes_a_post_has_a_row(scene):
    """A route outside both tables must refuse a POST outright (405) as the facilitator sends it."""
    known = set(POST_EXPECTED) | set(READ_ONLY)
    undecided = []
    for route in routes():
        if route.name in known:
            continue
        with rolled_back():
            response = client_for(scene.facilitator).post(route.url(scene.values), {})
        if response.status_code != 405:
            undecided.append(route.name)
    assert undecided == [], f"Decide who may POST to these views and add rows to POST_EXPECTED: {undecided}"


def test_every_row_names_a_view_that_exists():
    names = {route.name for route in routes()}
    assert sorted((set(POST_EXPECTED) | set(READ_ONLY)) - names) == []


@pytest.mark.parametrize("route_name", sorted(POST_EXPECTED))
def test_each_kind_of_visitor_changes_only_what_the_table_says(route_name, scene, caplog):
    case = POST_EXPECTED[route_name]
    caplog.set_level(logging.INFO)
    wrong, unlogged, leaked = {}, [], []
    for role in ROLES:
        person = scene.people[role]
        with rolled_back():
            client = client_for(person)
            if case.prepare:
                case.prepare(scene, client)
            url = url_for(route_name, scene, case.values(scene))
            data = case.data(scene, person)
            before, everything_before = case.probe(scene, person), everything()
            caplog.clear()
            response = client.post(url, data)
            changed = case.probe(scene, person) != before
            elsewhere = [] if changed else changed_tables(everything_before, everything())
            records = list(caplog.records)
        actual = outcome_of(response, changed)
        if elsewhere:
            actual += f", yet changed {elsewhere}"
        if actual != case.expected[role]:
            wrong[role] = f"{actual} (expected {case.expected[role]})"
        if actual in ("forbidden", "missing") and not any(
            record.levelno >= logging.WARNING and url in record.getMessage() for record in records
        ):
            unlogged.append(role)
        leaked += leaks(records)
    assert wrong == {}
    assert unlogged == [], "a refusal leaves a trace for whoever looks after the site"
    assert leaked == [], "the log never holds what was written, nor a password"


@pytest.mark.parametrize(
    "route_name", sorted(name for name, case in POST_EXPECTED.items() if case.expected == FACILITATORS)
)
def test_a_facilitator_of_another_group_cannot_reach_this_group_through_their_own(route_name, scene):
    """Morgan sends the same POST, with this group's ids, to Other Harbour's address: this group is untouched."""
    case = POST_EXPECTED[route_name]
    morgan = scene.people["other_facilitator"]
    theirs = Group.objects.get(name="Other Harbour")
    with rolled_back():
        client = client_for(morgan)
        before = case.probe(scene, morgan)
        response = client.post(
            url_for(route_name, scene, {**case.values(scene), "slug": theirs.slug}), case.data(scene, morgan)
        )
        after = case.probe(scene, morgan)
    assert response.status_code in (302, 404), response.status_code
    assert after == before


@pytest.mark.parametrize("route_name", READ_ONLY)
def test_a_post_to_a_page_that_only_reads_is_refused_and_changes_nothing(route_name, scene):
    """405 (GET and HEAD only), before the page reads anything; a page for the signed-in sends an
    anonymous visitor to log in first, as a GET would."""
    wrong = {}
    for role in ROLES:
        with rolled_back():
            client = client_for(scene.people[role])
            before = everything()
            response = client.post(url_for(route_name, scene, {}), {"note": PRIVATE_WORDS})
            elsewhere = changed_tables(before, everything())
        expected = "login" if GET_EXPECTED[route_name][role] == "login" else "post"
        actual = get_outcome_of(response) + (f", yet changed {elsewhere}" if elsewhere else "")
        if actual != expected:
            wrong[role] = f"{actual} (expected {expected})"
        elif actual == "post":
            assert response["Allow"] == "GET, HEAD"
    assert wrong == {}
