"""Facilitators are people too: crisis words written in the console are posted, never blocked, and
answered at once with the same resources a member gets, in a card that takes focus and closes with
Escape (headless Chromium against a real daphne)."""

import pytest
from playwright.sync_api import expect

from groups.actions import create_group
from tests.browser.conftest import page_for
from tests.support.servers import Daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORDS = "Honestly, tonight I don't think I can keep going. I want to kill myself."


def test_crisis_words_in_the_console_bring_the_resources_at_once(browser, facilitator):
    group = create_group(
        name="Evening Harbour", facilitators=[facilitator], agreements=["Be kind."], rulesets=["crisis"]
    )
    with Daphne() as server:
        robin = page_for(browser, server, facilitator, f"/groups/{group.slug}/console/")
        expect(robin.locator("#console-connection")).to_have_text("Connected", timeout=15_000)
        box = robin.get_by_label("Say something to the group")
        box.fill(WORDS)
        robin.get_by_role("button", name="Send").click()

        card = robin.get_by_role("region", name="You don't have to carry this alone")
        expect(card).to_be_visible()
        expect(card.get_by_role("link", name="Find a helpline near you")).to_have_attribute(
            "href", "https://findahelpline.com"
        )
        expect(robin.locator("#crisis-heading")).to_be_focused()
        expect(robin.locator("#console-messages")).to_contain_text(WORDS)  # posted, never blocked
        expect(box).to_have_value("")

        robin.keyboard.press("Escape")
        expect(robin.locator("#crisis-card")).to_have_count(0)
        expect(box).to_be_focused()
        assert robin.problems == []
