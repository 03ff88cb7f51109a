"""A facilitator runs the room from the chat page: a check-in round, a pause, a listening circle."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import page_for
from tests.support.servers import Daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_facilitator_runs_a_check_in_round_and_a_listening_circle(browser, group, member, facilitator):
    with Daphne() as server:
        chat = f"/groups/{group.slug}/chat/"
        robin = page_for(browser, server, facilitator, chat)
        sam = page_for(browser, server, member, chat)
        for page in (robin, sam):
            expect(page.locator("#connection-status")).to_have_text("Connected", timeout=15_000)

        robin.get_by_text("Facilitator tools").click()
        robin.get_by_role("button", name="Open a check-in round").click()
        expect(sam.locator("#round-panel")).to_be_visible()
        expect(sam.locator("#round-prompts")).to_contain_text("What am I feeling right now?")
        sam.get_by_label("Tired").check()
        sam.get_by_label("Hopeful").check()
        sam.get_by_label("What do I need?").select_option("rest")
        sam.get_by_role("button", name="Share my answer").click()
        expect(robin.locator("#round-cards")).to_contain_text("Sam feels hopeful, tired; needs rest")
        robin.get_by_role("button", name="Close the round and see the summary").click()
        expect(robin.locator("#round-summary")).to_contain_text("1 person answered")
        expect(robin.locator("#round-summary")).to_contain_text("Feelings: hopeful (1), tired (1).")
        expect(sam.locator("#round-summary")).to_be_hidden()
        expect(sam.locator("#round-panel")).to_be_hidden()  # a closed round goes away from the member's page

        robin.get_by_role("button", name="Pause the chat (only facilitators post)").click()
        expect(sam.locator("#room-notice")).to_contain_text("paused the chat")
        sam.fill("#composer-body", "Can I say something?")
        sam.keyboard.press("Enter")
        expect(sam.locator("#chat-error")).to_contain_text("The facilitator has paused the chat")
        expect(sam.locator("#composer-body")).to_have_value("Can I say something?")
        robin.get_by_role("button", name="Open the chat again").click()
        expect(sam.locator("#room-notice")).to_be_hidden()

        robin.get_by_role("button", name="Start a listening circle").click()
        expect(sam.locator("#circle-panel")).to_be_visible()
        sam.get_by_role("button", name="Raise my hand").click()
        expect(robin.locator("#circle-hands")).to_have_text("Hands raised, in order: Sam")
        robin.get_by_role("button", name="Pass the floor to the next raised hand").click()
        expect(sam.locator("#circle-floor")).to_have_text("You hold the floor. Take your time; everyone is listening.")
        sam.get_by_role("button", name="I'm done: pass the floor on").click()
        expect(robin.locator("#circle-floor")).to_have_text("The floor is open: raise your hand to share next.")

        for page in (robin, sam):
            assert page.problems == []
