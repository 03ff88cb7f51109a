"""Issue 27, part A, in headless Chromium: the chat and the console on a phone, the chat at desktop size,
everything a member and a facilitator do by keyboard alone, and pause & breathe as a real dialog.

Keyboard steps move with Tab (``tab_to``) and act with Enter, Space and Escape only: no clicks."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from chat.models import Message
from groups.actions import create_group, join_group
from groups.models import Group
from tests.browser.accessibility import DESKTOP, PHONE
from tests.browser.conftest import page_for, say_in_chat
from tests.conftest import session_cookie
from tests.support.servers import Daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTACT = "Text me on 07700 900123 and we can talk outside the group."
# The README's phone pictures: rewritten only when asked (UPDATE_SCREENSHOTS=1), so a test run leaves the tree clean.
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


@pytest.fixture
def harbour(db, facilitator, member, second_member):
    group = create_group(
        name="Evening Harbour",
        facilitators=[facilitator],
        agreements=["What is shared here stays here.", "We listen with curiosity, not judgment."],
        description="A small evening group for everyday stress.",
        # Only what the scenes need (a held phone number), so the server's first message is not slowed by
        # building every rule set on a busy machine.
        rulesets=["crisis", "off_platform"],
    )
    join_group(member, group, accepted_version=group.agreement_version)
    join_group(second_member, group, accepted_version=group.agreement_version)
    return group


def a_long_evening(group, *people) -> None:
    """Forty messages already said, so the conversation is longer than any screen."""
    lines = ["Long day, but I'm here.", "Same. Glad to see you all.", "I tried the breathing thing today."]
    Message.objects.bulk_create(
        Message(group=group, seq=n, author=people[n % len(people)], client_id=f"earlier-{n}", body=lines[n % 3])
        for n in range(1, 41)
    )
    Group.objects.filter(pk=group.pk).update(last_seq=40)
    # Said earlier this evening, not this very second: the rate limit counts a member's recent messages.
    Message.objects.filter(group=group).update(created_at=timezone.now() - timedelta(hours=1))


def connected(page, status="#connection-status") -> None:
    expect(page.locator(status)).to_have_text("Connected", timeout=15_000)


def focused(page, locator) -> bool:
    return locator.evaluate("node => node === document.activeElement")


def tab_to(page, locator, backwards: bool = False, most: int = 60) -> int:
    """Press Tab (or Shift+Tab) until ``locator`` has the focus; how many presses it took."""
    for presses in range(1, most + 1):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if focused(page, locator):
            return presses
    raise AssertionError(f"{locator} not reached in {most} presses of Tab")


def box_of(page, selector: str) -> dict:
    return page.locator(selector).evaluate(
        "node => { const r = node.getBoundingClientRect(); "
        "return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; }"
    )


def page_scrolls(page) -> bool:
    return page.evaluate("() => document.scrollingElement.scrollHeight > document.scrollingElement.clientHeight + 1")


def test_on_a_phone_every_word_of_the_header_shows_and_the_console_puts_needs_you_first(browser, harbour, facilitator):
    with Daphne() as server:
        robin = page_for(browser, server, facilitator, f"/groups/{harbour.slug}/console/")
        robin.set_viewport_size(PHONE)
        connected(robin, "#console-connection")
        assert robin.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        log_out = robin.get_by_role("button", name="Log out")
        expect(log_out).to_be_in_viewport()
        assert box_of(robin, "header.site-header button.link-button")["right"] <= PHONE["width"]
        # "Needs you" first: above the room controls and the conversation, and first by keyboard too.
        needs_you = box_of(robin, "#queue-heading")["top"]
        assert needs_you < box_of(robin, "#controls-heading")["top"]
        assert needs_you < box_of(robin, "#conversation-heading")["top"]
        assert needs_you < 900, "Needs you is within the first screen or so"
        assert robin.problems == []


def test_at_desktop_size_the_box_stays_on_screen_and_only_the_messages_scroll(
    browser, harbour, member, second_member, facilitator
):
    a_long_evening(harbour, member, second_member, facilitator)
    chat = f"/groups/{harbour.slug}/chat/"
    with Daphne() as server:
        sam = page_for(browser, server, member, chat)
        robin = page_for(browser, server, facilitator, chat)
        sam.set_viewport_size(DESKTOP)
        connected(sam)
        connected(robin)
        assert not page_scrolls(sam), "the page itself does not scroll; the messages do"
        assert sam.locator("#messages").evaluate("list => list.scrollHeight > list.clientHeight")
        assert box_of(sam, "#composer-body")["bottom"] <= DESKTOP["height"]

        say_in_chat(sam, "Good evening, everyone.")
        expect(sam.locator("#messages li.mine:not(.pending)").last).to_contain_text("Good evening", timeout=60_000)
        expect(sam.locator("#composer-body")).to_be_focused()
        expect(sam.locator("#composer-body")).to_be_in_viewport()
        assert sam.evaluate("() => window.scrollY") == 0 and not page_scrolls(sam)

        # A held message: its notice sits between the messages and the box, and goes when dismissed.
        say_in_chat(sam, CONTACT)
        notice = sam.locator("#moderation-status .notice")
        expect(notice).to_have_count(1, timeout=15_000)
        assert box_of(sam, "#messages")["bottom"] <= box_of(sam, "#moderation-status")["top"]
        assert box_of(sam, "#moderation-status")["bottom"] <= box_of(sam, "#composer-body")["top"]
        expect(sam.locator("#composer-body")).to_be_in_viewport()
        notice.get_by_role("button", name="Dismiss").click()
        expect(notice).to_have_count(0)

        # A round that closes goes away from the member's page; the facilitator keeps its summary to hide.
        robin.get_by_text("Facilitator tools").click()
        robin.get_by_role("button", name="Open a check-in round").click()
        expect(sam.locator("#round-panel")).to_be_visible()
        robin.get_by_role("button", name="Close the round and see the summary").click()
        expect(sam.locator("#round-panel")).to_be_hidden()
        expect(robin.locator("#round-summary")).to_contain_text("Round closed.")
        robin.get_by_role("button", name="Hide this summary").click()
        expect(robin.locator("#round-panel")).to_be_hidden()
        for page in (sam, robin):
            assert page.problems == []


def test_by_keyboard_alone_a_member_sends_replies_reacts_and_answers_a_round_and_a_facilitator_acts_on_the_queue(
    browser, harbour, member, second_member, facilitator
):
    a_long_evening(harbour, member, second_member, facilitator)
    chat = f"/groups/{harbour.slug}/chat/"
    with Daphne() as server:
        sam = page_for(browser, server, member, chat)
        alex = page_for(browser, server, second_member, chat)
        robin = page_for(browser, server, facilitator, f"/groups/{harbour.slug}/console/")
        sam.set_viewport_size(DESKTOP)
        for page in (sam, alex):
            connected(page)
        connected(robin, "#console-connection")
        say_in_chat(alex, "Rough day. Glad to be here.")
        expect(sam.locator("#messages")).to_contain_text("Rough day", timeout=60_000)

        # From the top of the page to the message box: two presses of Tab and Enter (the skip link).
        box = sam.locator("#composer-body")
        presses = tab_to(sam, sam.get_by_role("link", name="Skip to your message box"))
        assert presses <= 3
        sam.keyboard.press("Enter")
        expect(box).to_be_focused()

        # Send.
        sam.keyboard.type("Evening, all.")
        sam.keyboard.press("Enter")
        expect(sam.locator("#messages li.mine:not(.pending)").last).to_contain_text("Evening, all.", timeout=15_000)

        # Reply: back from the box to Alex's message, Enter, and the box has the focus again.
        tab_to(sam, sam.get_by_role("button", name="Reply to Alex").last, backwards=True)
        sam.keyboard.press("Enter")
        expect(box).to_be_focused()
        expect(sam.locator("#reply-preview")).to_contain_text("Replying to Alex")
        sam.keyboard.type("That sounds hard. I'm listening.")
        sam.keyboard.press("Enter")
        expect(alex.locator("#messages li").last.locator(".quote")).to_contain_text("Replying to Alex", timeout=15_000)

        # React: the picker opens with the focus in it; Escape closes it and gives the focus back.
        react = sam.get_by_role("button", name="React to Alex's message").first
        tab_to(sam, sam.get_by_role("button", name="React to Alex's message").last, backwards=True)
        react = sam.get_by_role("button", name="React to Alex's message").last
        sam.keyboard.press("Enter")
        picker = sam.get_by_role("group", name="React to Alex's message")
        expect(picker).to_be_visible()
        sam.keyboard.press("Escape")
        expect(picker).to_have_count(0)
        expect(react).to_be_focused()
        expect(react).to_have_attribute("aria-expanded", "false")
        sam.keyboard.press("Enter")
        expect(picker.get_by_role("button", name="I hear you")).to_be_focused()
        sam.keyboard.press("Enter")
        expect(alex.locator("#messages li").filter(has_text="Rough day").locator(".reactions")).to_contain_text(
            "I hear you: Sam"
        )

        # A round opens: it is said aloud and the focus moves to it; Sam answers with Tab and Space.
        robin.get_by_role("button", name="Start a check-in round").click()
        expect(sam.locator("#chat-announcer")).to_contain_text("A check-in round has opened")
        expect(sam.locator("#round-title")).to_be_focused()
        tab_to(sam, sam.get_by_label("Hopeful"))
        sam.keyboard.press("Space")
        tab_to(sam, sam.get_by_role("button", name="Share my answer"))
        sam.keyboard.press("Enter")
        expect(robin.locator("#round-cards")).to_contain_text("Sam", timeout=15_000)

        # A held message reaches the console's Needs you; Robin approves it by keyboard, from the top.
        say_in_chat(alex, CONTACT)
        approve = robin.locator("#queue").get_by_role("button", name="Approve")
        expect(approve).to_be_visible(timeout=15_000)
        robin.reload()  # from the top of the page, as a keyboard user arrives
        connected(robin, "#console-connection")
        assert tab_to(robin, robin.get_by_role("link", name="Skip to Needs you")) <= 3
        robin.keyboard.press("Enter")
        assert tab_to(robin, approve) <= 2, "the item's first action is right after the skip link"
        robin.keyboard.press("Enter")
        expect(sam.locator("#messages")).to_contain_text(CONTACT, timeout=15_000)
        for page in (sam, alex, robin):
            assert page.problems == []


def test_pause_and_breathe_is_a_dialog_that_escape_leaves_and_posting_rests_until_it_ends(
    browser, harbour, member, facilitator
):
    chat = f"/groups/{harbour.slug}/chat/"
    with Daphne() as server:
        sam = page_for(browser, server, member, chat)
        robin = page_for(browser, server, facilitator, f"/groups/{harbour.slug}/console/")
        connected(sam)
        connected(robin, "#console-connection")
        sam.locator("#composer-body").fill("Half a thought")
        robin.get_by_label("How long").select_option("15")
        robin.get_by_role("button", name="Start pause & breathe").click()

        dialog = sam.get_by_role("dialog", name="Let's pause and breathe")
        expect(dialog).to_be_visible(timeout=10_000)
        expect(dialog).to_have_attribute("aria-modal", "true")
        expect(sam.locator("#breathe-heading")).to_be_focused()
        expect(sam.locator("#composer-body")).to_be_disabled()
        expect(sam.locator("#composer-body")).to_have_value("Half a thought")
        for _ in range(4):  # the focus stays inside the dialog
            sam.keyboard.press("Tab")
            assert sam.evaluate("() => !!document.activeElement.closest('#breathe-overlay')")
        sam.keyboard.press("Shift+Tab")
        assert sam.evaluate("() => !!document.activeElement.closest('#breathe-overlay')")

        # Escape leaves the guide; the pause goes on and says when posting opens again.
        sam.keyboard.press("Escape")
        expect(dialog).to_have_count(0)
        expect(sam.locator("#session-banner")).to_contain_text("We're still breathing together")
        expect(sam.locator("#composer-body")).to_be_disabled()

        expect(sam.locator("#session-banner")).to_contain_text("The chat is open again", timeout=25_000)
        expect(sam.locator("#composer-body")).to_be_enabled()
        expect(sam.locator("#composer-body")).to_have_value("Half a thought")
        for page in (sam, robin):
            assert page.problems == []


def test_the_refusal_during_a_pause_goes_once_the_chat_opens_again(browser, group, member):
    waiting = [{"client_id": "written-offline", "body": "Are we still on?"}]
    with Daphne() as server:
        context = browser.new_context()
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(member), "url": server.http_url}]
        )
        # Written while offline: the page sends it on connecting, in the middle of the pause.
        context.add_init_script(f"localStorage.setItem('sc-outbox:{group.slug}', {json.dumps(json.dumps(waiting))});")
        Group.objects.filter(pk=group.pk).update(
            breathe_until=timezone.now() + timedelta(seconds=10), breathe_prompt="Feel your feet on the floor."
        )
        sam = context.new_page()
        sam.goto(f"{server.http_url}/groups/{group.slug}/chat/")
        expect(sam.locator("#chat-error")).to_contain_text("You can post again in", timeout=10_000)
        expect(sam.locator("#composer-body")).to_have_value("Are we still on?")
        expect(sam.locator("#chat-error")).to_be_hidden(timeout=15_000)
        expect(sam.locator("#composer-body")).to_be_enabled()
        expect(sam.locator("#composer-body")).to_have_value("Are we still on?")
        context.close()


def test_the_chat_the_console_and_the_summary_at_phone_size_for_the_readme(
    browser, harbour, member, second_member, facilitator, tmp_path
):
    a_long_evening(harbour, member, second_member, facilitator)
    where = IMAGES if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    with Daphne() as server:
        robin = page_for(browser, server, facilitator, f"/groups/{harbour.slug}/console/")
        sam = page_for(browser, server, member, f"/groups/{harbour.slug}/chat/")
        alex = page_for(browser, server, second_member, f"/groups/{harbour.slug}/chat/")
        for page in (robin, sam, alex):
            page.set_viewport_size(PHONE)
        connected(robin, "#console-connection")
        connected(sam)
        connected(alex)
        robin.get_by_role("button", name="Open the session").click()
        robin.get_by_role("button", name="Start a check-in round").click()
        for page, feeling, need in ((sam, "Hopeful", "to_be_heard"), (alex, "Tired", "rest")):
            expect(page.locator("#round-panel")).to_be_visible(timeout=10_000)
            page.get_by_label(feeling).check()
            page.get_by_label("What do I need?").select_option(need)
            page.get_by_role("button", name="Share my answer").click()
        expect(robin.locator("#round-cards li")).to_have_count(2, timeout=10_000)
        robin.get_by_role("button", name="Close the round").click()
        say_in_chat(alex, CONTACT)
        expect(robin.locator("#queue .queue-item")).to_have_count(1, timeout=60_000)
        say_in_chat(sam, "Thank you all for tonight.")
        expect(sam.locator("#messages li.mine:not(.pending)").last).to_contain_text("Thank you", timeout=15_000)
        sam.screenshot(path=str(where / "phone-chat.png"))
        robin.evaluate("() => window.scrollTo(0, 0)")
        robin.screenshot(path=str(where / "phone-console.png"))
        robin.get_by_role("button", name="Close the session").click()
        robin.get_by_role("link", name="Read the last session's summary").click()
        expect(robin.get_by_role("heading", name="Who was here")).to_be_visible()
        for chart in robin.locator(".summary-figure img").all():
            expect(chart).to_have_js_property("complete", True)
            assert chart.evaluate("img => img.naturalWidth") > 0
        robin.screenshot(path=str(where / "phone-summary.png"))
        for name in ("phone-chat.png", "phone-console.png", "phone-summary.png"):
            assert (where / name).stat().st_size > 10_000
        for page in (sam, alex, robin):
            assert page.problems == []
