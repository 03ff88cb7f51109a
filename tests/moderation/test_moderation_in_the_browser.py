"""In a real browser: the author sees a nudge privately and may post anyway; a crisis message brings a warm
card with resources, with focus moved to it; the facilitator's chat shows the alert in the live queue."""

import pytest
from django.conf import settings

from tests.conftest import session_cookie
from tests.support.servers import Daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def open_chat(browser, server, cookie: str, slug: str):
    # Sessions are made before Playwright starts: its event loop forbids the ORM in this thread.
    context = browser.new_context()
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": server.http_url}])
    page = context.new_page()
    page.goto(f"{server.http_url}/groups/{slug}/chat/")
    page.wait_for_selector("#connection-status:has-text('Connected')")
    return page


def say(page, words: str) -> None:
    page.fill("#composer-body", words)
    page.press("#composer-body", "Enter")


def test_a_nudge_then_posting_anyway_and_a_crisis_card_and_the_facilitators_alert(circle, member, facilitator):
    from playwright.sync_api import expect, sync_playwright

    slug = circle.slug
    sam_cookie, robin_cookie = session_cookie(member), session_cookie(facilitator)
    with Daphne() as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        sam = open_chat(browser, server, sam_cookie, slug)
        robin = open_chat(browser, server, robin_cookie, slug)

        say(sam, "You should just eat more.")
        nudge = sam.locator("section.nudge")
        # A fresh server builds the group's engine on first connect (seconds on a busy machine).
        expect(nudge).to_be_visible(timeout=20_000)
        expect(nudge).to_contain_text("We listen first, and offer advice only when someone asks for it.")
        expect(nudge).to_contain_text("What do you need right now?")
        expect(sam.locator("#nudge-heading")).to_be_focused()
        expect(robin.locator("#messages")).not_to_contain_text("You should just eat more.")

        sam.get_by_role("button", name="Post anyway").click()
        expect(robin.locator("#messages")).to_contain_text("You should just eat more.")
        expect(sam.locator("section.nudge")).to_have_count(0)

        say(sam, "I want to kill myself.")
        card = sam.locator("#crisis-card")
        expect(card).to_be_visible()
        expect(card).to_contain_text("Find a helpline near you")
        expect(sam.locator("#crisis-heading")).to_be_focused()
        expect(robin.locator(".queue-panel")).to_contain_text("Sam may be in crisis")

        sam.keyboard.press("Escape")
        expect(card).to_have_count(0)

        robin.get_by_role("button", name="I'm following up").click()
        expect(robin.locator(".queue-panel")).not_to_contain_text("Sam may be in crisis")
        browser.close()


def test_a_member_reports_a_message_from_its_button_and_is_thanked(circle, member, second_member, facilitator):
    from playwright.sync_api import expect, sync_playwright

    from chat.actions import post_message

    post_message(member.pk, circle.pk, client_id="b-1", body="Honestly nobody here gets it.")
    slug = circle.slug
    alex_cookie, robin_cookie = session_cookie(second_member), session_cookie(facilitator)
    with Daphne() as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        alex = open_chat(browser, server, alex_cookie, slug)
        robin = open_chat(browser, server, robin_cookie, slug)

        alex.get_by_role("button", name="Report Sam's message").click()
        expect(alex.get_by_label("What's the matter?")).to_be_focused()
        alex.get_by_label("What's the matter?").select_option("judgment")
        alex.get_by_label("Anything the facilitators should know (optional)").fill("It stung.")
        alex.get_by_role("button", name="Send to the facilitators").click()

        expect(alex.locator("#moderation-status")).to_contain_text("Thank you for telling us.")
        expect(alex.get_by_role("link", name="See my reports")).to_be_visible()
        expect(robin.locator(".queue-panel")).to_contain_text("Alex reported Sam's message")
        browser.close()
