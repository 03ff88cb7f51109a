"""The accessibility gate: axe-core (WCAG 2.0/2.1 A and AA, and best practice) finds nothing on any page
or live state, logged out, as a member and as a facilitator, at desktop (1280x800) and phone (390x844)
sizes, and no page is wider than the screen at 320 px.

One browser and one server; each person keeps one tab (the facilitator two) that walks from state to
state in the order of ``STATES``, so the whole gate costs a few page loads per state. Adding a state is
one line in ``STATES``: its name, whose tab shows it, and a step that brings that tab there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import expect

from groups.actions import create_group, join_group, send_direct_message
from groups.models import DirectMessageRequest, DirectMessageRequestState
from moderation.engine import RULESET_NAMES
from safeguarding.models import AlertCase, RotaMember
from tests.browser.accessibility import (
    DESKTOP,
    PHONE,
    SMALLEST_PHONE,
    axe_violations,
    duplicate_ids,
    wider_than_screen,
)
from tests.browser.conftest import page_for
from tests.conftest import make_person
from tests.support.servers import Daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADVICE = "You should just eat more."
CONTACT = "Text me on 07700 900123 and we can talk outside the group."
CRISIS = "Honestly, tonight I don't think I can keep going. I want to kill myself."


@dataclass
class World:
    """The server, the group's names, and one tab per person (opened at the first state that needs it)."""

    browser: object
    server: Daphne
    people: dict
    names: dict
    tabs: dict = field(default_factory=dict)

    def tab(self, who: str):
        if who not in self.tabs:
            person = self.people[who]
            if person is None:
                page = self.browser.new_context().new_page()
                page.problems = []
                page.on("pageerror", lambda error: page.problems.append(str(error)))
            else:
                page = page_for(self.browser, self.server, person, "/")
            self.tabs[who] = page
        return self.tabs[who]


Step = Callable[[World, object], None]


def visit(path: str) -> Step:
    """Open ``path`` ({slug}, {conversation} and {direct_message} filled in) and wait for it to load."""

    def step(world: World, page) -> None:
        page.goto(world.server.http_url + path.format(**world.names))

    return step


def chat_connected(world: World, page) -> None:
    visit("/groups/{slug}/chat/")(world, page)
    expect(page.locator("#connection-status")).to_have_text("Connected", timeout=15_000)


def console_connected(world: World, page) -> None:
    visit("/groups/{slug}/console/")(world, page)
    expect(page.locator("#console-connection")).to_have_text("Connected", timeout=15_000)


def say(words: str, then: str) -> Step:
    """Write ``words`` in the chat's box and send them; wait until ``then`` shows."""

    def step(world: World, page) -> None:
        page.locator("#composer-body").fill(words)
        page.locator("#composer-body").press("Enter")
        # The server builds its moderation engine at the first message: that one may take a while.
        expect(page.locator(then).first).to_be_visible(timeout=60_000)

    return step


def click(name: str, then: str | None = None) -> Step:
    def step(world: World, page) -> None:
        page.get_by_role("button", name=name, exact=True).click()
        if then:
            expect(page.locator(then).first).to_be_visible(timeout=10_000)

    return step


def press(key: str, then: str) -> Step:
    def step(world: World, page) -> None:
        page.keyboard.press(key)
        expect(page.locator(then).first).to_be_visible(timeout=10_000)

    return step


def open_reaction_picker(world: World, page) -> None:
    page.locator("#messages .message-actions").first.get_by_role("button", name="React").click()
    expect(page.locator(".reaction-picker")).to_be_visible()


def open_session(world: World, page) -> None:
    click("Open the session")(world, page)
    expect(page.locator("#session-state")).to_contain_text("Live since")


def breathe(world: World, page) -> None:
    page.get_by_label("How long").select_option("60")
    click("Start pause & breathe")(world, page)
    expect(world.tab("sam").locator("#breathe-overlay")).to_be_visible(timeout=10_000)


def close_session(world: World, page) -> None:
    click("End it early")(world, page)
    click("Close the session")(world, page)
    page.get_by_role("link", name="Read the last session's summary").click()
    expect(page.get_by_role("heading", name="How people checked in")).to_be_visible()


def worry_about_sam(world: World, page) -> None:
    chat_connected(world, page)
    page.get_by_role("button", name="I'm worried about Sam: tell the facilitators privately").last.click()
    expect(page.locator(".worry-received")).to_be_visible(timeout=10_000)


def the_newest_alert(world: World, page) -> None:
    case = AlertCase.objects.order_by("-pk").first()
    visit(f"/safeguarding/alerts/{case.pk}/")(world, page)


def the_banner(world: World, page) -> None:
    visit("/groups/mine/")(world, page)
    expect(page.locator("#safeguarding-banner")).to_be_visible(timeout=30_000)


def log_out(world: World, page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


# (what the state is, whose tab, the step that brings the tab there), walked in order.
STATES: list[tuple[str, str, Step]] = [
    ("the group directory, logged out", "visitor", visit("/")),
    ("log in", "visitor", visit("/accounts/login/")),
    ("sign up", "visitor", visit("/accounts/signup/")),
    ("sign up, with what to change", "visitor", click("Create my account", ".error")),
    ("a group's page, logged out", "visitor", visit("/groups/{slug}/")),
    ("password recovery", "visitor", visit("/accounts/password_reset/")),
    ("the group directory", "sam", visit("/")),
    ("my groups", "sam", visit("/groups/mine/")),
    ("a group's page, as a member", "sam", visit("/groups/{slug}/")),
    ("messages", "sam", visit("/messages/")),
    ("a private conversation", "sam", visit("/messages/{conversation}/")),
    ("reporting a private message", "alex", visit("/messages/{conversation}/report/{direct_message}/")),
    ("my boundaries", "sam", visit("/settings/boundaries/")),
    ("my reports", "sam", visit("/reports/mine/")),
    ("my profile", "sam", visit("/accounts/profile/")),
    ("deleting my account", "sam", visit("/accounts/delete/")),
    ("repair", "sam", visit("/groups/{slug}/repair/")),
    ("members, as the facilitator", "robin", visit("/groups/{slug}/members/")),
    ("the moderation policy", "robin", visit("/groups/{slug}/moderation/policy/")),
    ("the moderation log", "robin", visit("/groups/{slug}/moderation/log/")),
    ("the console, connected", "robin", console_connected),
    ("the console, a live session open", "robin", open_session),
    ("the chat, a live session on", "sam", chat_connected),
    ("the chat as the facilitator", "robin chat", chat_connected),
    ("the chat: my first message", "sam", say("Good evening, everyone.", "li.message.mine:not(.pending)")),
    ("the chat: a nudge before posting", "sam", say(ADVICE, "section.nudge")),
    ("the chat: a held message", "sam", say(CONTACT, ".held-note")),
    ("the chat: the crisis card", "sam", say(CRISIS, "#crisis-card")),
    ("the chat: I'm worried about someone", "alex chat", worry_about_sam),
    ("a crisis alert's page", "robin pages", the_newest_alert),
    ("the safeguarding banner on another page", "robin pages", the_banner),
    ("support lines", "visitor", visit("/support/")),
    ("my rota hours", "operator", visit("/safeguarding/rota/")),
    ("the safeguarding report", "operator", visit("/safeguarding/report/")),
    ("the chat as the facilitator, its queue with items", "robin chat", lambda world, page: None),
    ("the console with items in Needs you", "robin", lambda world, page: None),
    ("the moderation queue with items", "robin chat", visit("/groups/{slug}/moderation/")),
    ("the console, a round open", "robin", click("Start a check-in round", "#round-close")),
    ("the chat: a round open", "sam", lambda world, page: expect(page.locator("#round-panel")).to_be_visible()),
    ("the console, pause & breathe on", "robin", breathe),
    ("the chat: the breathe overlay", "sam", lambda world, page: None),
    ("the chat: the breathe guide left, the pause going on", "sam", press("Escape", "#session-banner")),
    ("the chat: the reaction picker open", "sam", open_reaction_picker),
    ("the session summary", "robin", close_session),
    ("logged out", "sam", log_out),
]


@pytest.fixture
def operator(db):
    """An operator who is also on the safeguarding rota."""
    person = make_person("Jordan", is_staff=True, email="jordan@example.org")
    RotaMember.objects.create(user=person)
    return person


@pytest.fixture
def world_people(facilitator, member, second_member, operator):
    group = create_group(
        name="Evening Harbour",
        facilitators=[facilitator],
        agreements=["What is shared here stays here."],
        description="A small evening group for everyday stress.",
        rulesets=RULESET_NAMES,
    )
    join_group(member, group, accepted_version=group.agreement_version)
    join_group(second_member, group, accepted_version=group.agreement_version)
    thread = DirectMessageRequest.objects.create(
        from_user=member, to_user=second_member, state=DirectMessageRequestState.ACCEPTED
    )
    direct = send_direct_message(member, thread.pk, "How was today, honestly?")
    people = {
        "visitor": None,
        "sam": member,
        "alex": second_member,
        "alex chat": second_member,
        "robin": facilitator,
        "robin chat": facilitator,
        "robin pages": facilitator,
        "operator": operator,
    }
    return people, {"slug": group.slug, "conversation": thread.pk, "direct_message": direct.pk}


def findings_at(page, size: dict) -> list[str]:
    page.set_viewport_size(size)
    return axe_violations(page)


def test_every_page_and_live_state_passes_axe_and_fits_the_screen(browser, world_people):
    people, names = world_people
    problems: list[str] = []
    with Daphne() as server:
        world = World(browser=browser, server=server, people=people, names=names)
        for name, who, step in STATES:
            page = world.tab(who)
            page.set_viewport_size(DESKTOP)
            step(world, page)
            for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
                problems += [f"{name} ({who}, {label}): {finding}" for finding in findings_at(page, size)]
            problems += [f"{name} ({who}): id used more than once: {same}" for same in duplicate_ids(page)]
            page.set_viewport_size(SMALLEST_PHONE)
            problems += [f"{name} ({who}, 320 px): wider than the screen: {w}" for w in [wider_than_screen(page)] if w]
        for who, page in world.tabs.items():
            problems += [f"{who}: script error: {error}" for error in page.problems]
    assert not problems, "\n".join(problems)
