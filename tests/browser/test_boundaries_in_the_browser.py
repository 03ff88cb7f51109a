"""In the browser: a muted message arrives folded and opens on request; new agreements stop posting kindly."""

import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from groups.actions import mute_member, update_boundary_settings
from tests.browser.conftest import page_for
from tests.support.servers import Daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_muted_message_is_folded_until_opened_and_here_to_be_heard_shows(
    browser, group, member, second_member, facilitator
):
    def set_the_scene():
        try:
            mute_member(member, second_member)
            update_boundary_settings(second_member, dm_policy="accepted", collapsed_labels=[], here_to_be_heard=True)
        finally:
            connection.close()

    # Off Playwright's event-loop thread: the actions' after-commit broadcasts run their own loop.
    scene = threading.Thread(target=set_the_scene)
    scene.start()
    scene.join()
    with Daphne() as server:
        chat = f"/groups/{group.slug}/chat/"
        sam = page_for(browser, server, member, chat)
        alex = page_for(browser, server, second_member, chat)
        for page in (sam, alex):
            expect(page.locator("#connection-status")).to_have_text("Connected", timeout=15_000)

        alex.fill("#composer-body", "Have you tried just not worrying?")
        alex.keyboard.press("Enter")
        message = sam.locator('li[data-seq="1"]')
        expect(message.locator(".heard-only")).to_have_text("here to be heard, not advised")
        summary = message.locator("summary")
        expect(summary).to_have_text("Collapsed because you muted Alex. Show message")
        expect(message.locator(".body")).to_be_hidden()
        summary.focus()
        sam.keyboard.press("Enter")
        expect(message.locator(".body")).to_have_text("Have you tried just not worrying?")
        # Alex sees their own message plainly.
        expect(alex.locator('li[data-seq="1"] summary')).to_have_count(0)

        robin = page_for(browser, server, facilitator, f"/groups/{group.slug}/members/")
        robin.get_by_label("The group's own agreements, one per line").fill("We take turns.")
        robin.get_by_role("button", name="Publish a new version").click()
        expect(robin.locator(".notices")).to_contain_text("The new agreements are published.")
        notice = sam.locator("#cannot-post")
        expect(notice).to_contain_text("updated the group's agreements")
        expect(notice.get_by_role("link", name="Read the agreements")).to_have_attribute(
            "href", f"/groups/{group.slug}/#agreements"
        )
        expect(sam.locator("#composer")).to_be_hidden()
        for page in (sam, alex):
            assert page.problems == []
