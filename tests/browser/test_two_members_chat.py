"""Two members chat in two browsers: messages, replies, reactions, edits and typing, as people see them."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import page_for
from tests.support.servers import Daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def send(page, text: str) -> None:
    page.fill("#composer-body", text)
    page.keyboard.press("Enter")


def test_two_members_chat_reply_and_react(browser, group, member, second_member):
    with Daphne() as server:
        chat = f"/groups/{group.slug}/chat/"
        sam = page_for(browser, server, member, chat)
        alex = page_for(browser, server, second_member, chat)
        for page in (sam, alex):
            expect(page.locator("#connection-status")).to_have_text("Connected", timeout=15_000)
        expect(sam.locator("#here-now")).to_contain_text("Alex")

        sam.locator("#composer-body").press_sequentially("Hi Alex")
        expect(alex.locator("#typing")).to_have_text("Sam is typing…")
        send(sam, "Hi Alex, rough morning here.")
        expect(alex.locator('li[data-seq="1"] .body')).to_have_text("Hi Alex, rough morning here.")
        # Once the message arrives, Sam is no longer shown typing.
        expect(alex.locator("#typing")).to_have_text("")

        alex.locator('li[data-seq="1"]').get_by_role("button", name="Reply to Sam").click()
        expect(alex.locator("#reply-preview")).to_be_visible()
        send(alex, "I'm sorry, Sam. I'm here.")
        expect(sam.locator('li[data-seq="2"] .quote')).to_contain_text("Replying to Sam: Hi Alex, rough morning here.")

        alex.locator('li[data-seq="1"]').get_by_role("button", name="React to Sam's message").click()
        alex.get_by_role("button", name="Sending care").click()
        expect(sam.locator('li[data-seq="1"] .reactions')).to_have_text("Sending care: Alex")

        sam.locator('li[data-seq="1"]').get_by_role("button", name="Edit").click()
        sam.fill('li[data-seq="1"] .edit-form textarea', "Hi Alex, a rough morning, but better now.")
        sam.locator('li[data-seq="1"] .edit-form').get_by_role("button", name="Save").click()
        expect(alex.locator('li[data-seq="1"] .body')).to_have_text("Hi Alex, a rough morning, but better now.")
        expect(alex.locator('li[data-seq="1"] .edited-tag')).to_be_visible()

        for page in (sam, alex):
            expect(page.locator("li[data-seq]")).to_have_count(2)
            assert page.problems == []
