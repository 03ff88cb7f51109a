"""The console in a facilitator's busiest minutes: a private check-in starts with words that fit why they are
checking in, and the conversation column can be hidden or pinned, remembered for that facilitator
(headless Chromium against a real daphne)."""

import pytest
from playwright.sync_api import expect

from chat.actions import post_message
from groups.actions import create_group, join_group
from moderation.engine import RULESET_NAMES
from tests.browser.conftest import expect_connected, page_for
from tests.support.servers import Daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CRISIS = "I want to kill myself."
CONTACT = "Text me on 07700 900123 and we can talk outside the group."


@pytest.fixture
def harbour(facilitator, member, second_member):
    group = create_group(
        name="Evening Harbour", facilitators=[facilitator], agreements=["Be kind."], rulesets=RULESET_NAMES
    )
    join_group(member, group, accepted_version=1)
    join_group(second_member, group, accepted_version=1)
    return group


@pytest.fixture
def a_crisis_alert_and_a_held_message(harbour, member, second_member):
    """Posted before the browser starts (its event loop would refuse the broadcast's sync call)."""
    post_message(member.pk, harbour.pk, client_id="crisis-1", body=CRISIS)
    post_message(second_member.pk, harbour.pk, client_id="held-1", body=CONTACT)


def check_in_words(robin, item_text: str) -> str:
    item = robin.locator("#queue li.queue-item", has_text=item_text)
    item.get_by_role("button", name="Check in privately").click()
    return item.locator("form.check-in textarea").input_value()


def test_checking_in_after_a_crisis_alert_or_a_held_message_starts_with_words_for_that(
    a_crisis_alert_and_a_held_message, browser, harbour, facilitator
):
    with Daphne() as server:
        robin = page_for(browser, server, facilitator, f"/groups/{harbour.slug}/console/")
        expect_connected(robin)
        expect(robin.locator("#queue li.queue-item")).to_have_count(2)

        after_crisis = check_in_words(robin, "Crisis alert")
        assert after_crisis.startswith("Hi Sam, I saw what you shared and I'm really glad you told us.")
        assert "quiet" not in after_crisis

        about_held = check_in_words(robin, "Held message")
        assert about_held.startswith("Hi Alex, I'm reading your message that's waiting for a facilitator.")
        assert "quiet" not in about_held
        assert robin.problems == []


def test_the_conversation_column_hides_and_pins_and_stays_so_for_this_facilitator(browser, harbour, facilitator):
    with Daphne() as server:
        robin = page_for(browser, server, facilitator, f"/groups/{harbour.slug}/console/")
        expect_connected(robin)
        hide = robin.get_by_role("button", name="Hide the conversation")
        pin = robin.get_by_role("button", name="Pin the conversation")
        expect(hide).to_have_attribute("aria-pressed", "false")
        expect(robin.locator("#console-messages")).to_be_visible()

        hide.focus()
        robin.keyboard.press("Enter")
        expect(hide).to_have_attribute("aria-pressed", "true")
        expect(robin.locator("#console-messages")).to_be_hidden()
        expect(robin.locator("#conversation-hidden-note")).to_be_visible()
        pin.click()
        expect(pin).to_have_attribute("aria-pressed", "true")

        robin.reload()
        expect_connected(robin)
        expect(robin.get_by_role("button", name="Hide the conversation")).to_have_attribute("aria-pressed", "true")
        expect(robin.get_by_role("button", name="Pin the conversation")).to_have_attribute("aria-pressed", "true")
        expect(robin.locator("#console-messages")).to_be_hidden()
        assert robin.locator("#conversation-panel").evaluate("p => getComputedStyle(p).position") == "sticky"

        robin.get_by_role("button", name="Hide the conversation").click()
        expect(robin.locator("#console-messages")).to_be_visible()
        assert robin.problems == []
