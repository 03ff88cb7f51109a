"""Care that reaches people in danger, in Chromium against a real daphne with the real second opinion:
a crisis written without crisis words brings the card within two seconds and the console's alert;
the quick exit leaves the page at once; a worried peer's alert is first in the console."""

import pytest
from playwright.sync_api import expect

from groups.actions import create_group, join_group
from moderation.engine import RULESET_NAMES
from tests.browser.conftest import page_for, say_in_chat
from tests.support.servers import Daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLAN = "counted them twice. 46. should be plenty. sorting my things out tonight so nobody has to"
DANGER_AT_HOME = (
    "he's downstairs again and he said if I tell anyone he'll finish it this time, I'm hiding in the bathroom"
)
EYE_ROLL = "you always want attention, honestly 🙄"
# Quick exit goes here in the tests (no internet); in production, a neutral site (QUICK_EXIT_URL).
NEUTRAL = "about:blank"


@pytest.fixture
def harbour(facilitator, member, second_member):
    group = create_group(
        name="Night Harbour", facilitators=[facilitator], agreements=["Be kind."], rulesets=RULESET_NAMES
    )
    join_group(member, group, accepted_version=1)
    join_group(second_member, group, accepted_version=1)
    return group


def model_is_warm(page) -> None:
    """The model loads once per server process; a follow-up to a message only it reads shows it is ready."""
    say_in_chat(page, EYE_ROLL)
    expect(page.locator(".follow-up")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Leave it as it is").click()


def test_a_crisis_without_crisis_words_brings_the_card_within_two_seconds_and_the_console_alert(
    browser, harbour, member, facilitator
):
    with Daphne() as server:
        robin = page_for(browser, server, facilitator, f"/groups/{harbour.slug}/console/")
        sam = page_for(browser, server, member, f"/groups/{harbour.slug}/chat/")
        expect(robin.locator("#console-connection")).to_have_text("Connected", timeout=15_000)
        expect(sam.locator("#connection-status")).to_have_text("Connected", timeout=15_000)
        model_is_warm(sam)

        say_in_chat(sam, PLAN)
        expect(sam.locator("#messages")).to_contain_text(PLAN)  # posted at once
        card = sam.get_by_role("region", name="You don't have to carry this alone")
        expect(card).to_be_visible(timeout=2_000)
        expect(card).to_contain_text("a facilitator knows")
        expect(sam.locator("#crisis-heading")).to_be_focused()

        first = robin.locator("#queue li").first
        expect(first).to_contain_text("Crisis alert · Sam", timeout=2_000)
        expect(first).to_contain_text(PLAN)
        assert sam.problems == [] and robin.problems == []


def test_the_quick_exit_leaves_the_page_at_once_from_the_header_and_from_the_card(browser, harbour, member):
    with Daphne(extra_env={"QUICK_EXIT_URL": NEUTRAL}) as server:
        sam = page_for(browser, server, member, f"/groups/{harbour.slug}/chat/")
        expect(sam.locator("#connection-status")).to_have_text("Connected", timeout=15_000)
        # One step to the support lines, whether or not anything was detected.
        expect(sam.get_by_role("link", name="Support lines, any time")).to_have_attribute("href", "/support/")
        model_is_warm(sam)

        say_in_chat(sam, DANGER_AT_HOME)
        card = sam.get_by_role("region", name="Your safety comes first")
        expect(card).to_be_visible(timeout=2_000)
        expect(card.locator("li").first).to_contain_text("Emergency services")
        card.get_by_role("button", name="Quick exit").click()
        expect(sam).to_have_url(NEUTRAL)

        # The header's quick exit, by keyboard: the chat page is replaced in the tab's history.
        sam.goto(f"{server.http_url}/groups/{harbour.slug}/chat/")
        sam.get_by_role("link", name="Quick exit").focus()
        sam.keyboard.press("Enter")
        expect(sam).to_have_url(NEUTRAL)
        sam.go_back()
        assert "/chat/" not in sam.url


def test_a_worried_peers_alert_reaches_the_console_first(browser, harbour, member, second_member, facilitator):
    with Daphne() as server:
        sam = page_for(browser, server, member, f"/groups/{harbour.slug}/chat/")
        alex = page_for(browser, server, second_member, f"/groups/{harbour.slug}/chat/")
        expect(sam.locator("#connection-status")).to_have_text("Connected", timeout=15_000)
        expect(alex.locator("#connection-status")).to_have_text("Connected", timeout=15_000)
        say_in_chat(sam, "please call me on 07700 900123")  # held: a queue item for the facilitators
        say_in_chat(sam, "not much to say today. tired of all of it")
        message = alex.locator("#messages li", has_text="tired of all of it")
        message.get_by_role("button", name="I'm worried about Sam: tell the facilitators privately").click()
        expect(alex.locator(".worry-received")).to_contain_text("Thank you for looking out for Sam")

        robin = page_for(browser, server, facilitator, f"/groups/{harbour.slug}/console/")
        expect(robin.locator("#console-connection")).to_have_text("Connected", timeout=15_000)
        first = robin.locator("#queue li").first
        expect(first).to_contain_text("Worried about them (from Alex) · Sam")
        # The held message is there too, after it (and perhaps the second opinion's quiet "please look").
        expect(robin.locator("#queue li", has_text="07700 900123")).to_have_count(1)
        assert alex.problems == [] and robin.problems == []
