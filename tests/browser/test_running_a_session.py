"""A facilitator runs a live session from the console in headless Chromium: opens it, runs a check-in round with
two members, starts pause & breathe (members cannot post, then can), acts on a held message, and reads the
summary with its chart. The screenshot in the README comes from this scene."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from groups.actions import create_group, join_group
from tests.browser.conftest import page_for
from tests.support.servers import Daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The README's screenshot: rewritten only when asked (UPDATE_SCREENSHOTS=1), so a test run leaves the tree clean.
README_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "console.png"
CONTACT = "Text me on 07700 900123 and we can talk outside the group."


@pytest.fixture
def evening_group(db, facilitator, member, second_member):
    group = create_group(
        name="Evening Harbour",
        facilitators=[facilitator],
        agreements=["What is shared here stays here.", "We listen with curiosity, not judgment."],
        description="A small evening group for everyday stress.",
        rulesets=["crisis", "off_platform"],
    )
    join_group(member, group, accepted_version=group.agreement_version)
    join_group(second_member, group, accepted_version=group.agreement_version)
    return group


def drawn(page, selector: str) -> bool:
    """The image loaded and has a size (the page's CSP forbids wait_for_function's string eval)."""
    for _ in range(100):
        if page.locator(selector).evaluate("img => img.complete && img.naturalWidth > 0"):
            return True
        page.wait_for_timeout(100)
    return False


def check_in(page, feeling: str, need: str) -> None:
    expect(page.locator("#round-panel")).to_be_visible(timeout=10_000)
    page.get_by_label(feeling).check()
    page.get_by_label("What do I need?").select_option(need)
    page.get_by_role("button", name="Share my answer").click()


def test_a_facilitator_runs_a_whole_session_from_the_console(
    browser, evening_group, member, second_member, facilitator, tmp_path
):
    group = evening_group
    with Daphne() as server:
        chat = f"/groups/{group.slug}/chat/"
        sam = page_for(browser, server, member, chat)
        alex = page_for(browser, server, second_member, chat)
        robin = page_for(browser, server, facilitator, f"/groups/{group.slug}/console/")
        robin.set_viewport_size({"width": 1440, "height": 1000})
        expect(robin.locator("#console-connection")).to_have_text("Connected", timeout=15_000)
        for page in (sam, alex):
            expect(page.locator("#connection-status")).to_have_text("Connected", timeout=15_000)

        # Open the session: everyone sees it; the roster shows who is here.
        robin.get_by_role("button", name="Open the session").click()
        expect(robin.locator("#session-state")).to_contain_text("Live since")
        expect(sam.locator("#session-banner")).to_contain_text("The live session is on")
        expect(robin.locator("#roster")).to_contain_text("Alex")
        expect(robin.locator("#roster")).to_contain_text("Sam")

        # A check-in round with two members; a difficult feeling reaches the wellbeing radar.
        robin.get_by_role("button", name="Start a check-in round").click()
        check_in(sam, "Hopeful", "to_be_heard")
        check_in(alex, "Overwhelmed", "rest")
        expect(robin.locator("#round-cards")).to_contain_text("Sam Hopeful")
        expect(robin.locator("#round-cards")).to_contain_text("Alex Overwhelmed")
        expect(robin.locator("#radar")).to_contain_text("Checked in today feeling overwhelmed.", timeout=10_000)
        robin.get_by_role("button", name="Close the round").click()
        expect(robin.locator("#round-state")).to_contain_text("The round closed with 2 answers.")

        # A held message arrives in the queue while the session is live.
        alex.fill("#composer-body", CONTACT)
        alex.keyboard.press("Enter")
        held = robin.locator("#queue .queue-item.kind-held")
        expect(held).to_contain_text("Held message · Alex", timeout=10_000)
        expect(held).to_contain_text(CONTACT)
        shot = README_SCREENSHOT if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path / "console.png"
        robin.screenshot(path=str(shot), full_page=False)
        assert shot.stat().st_size > 10_000

        # Acting on it reaches the members at once.
        held.get_by_role("button", name="Approve").click()
        expect(sam.locator("#messages")).to_contain_text(CONTACT)
        expect(robin.locator("#queue-empty")).to_be_visible()

        # Pause & breathe: the members see the guide and cannot post, then the room opens by itself.
        robin.get_by_label("How long").select_option("15")
        robin.get_by_role("button", name="Start pause & breathe").click()
        expect(sam.locator("#breathe-overlay")).to_be_visible()
        expect(sam.locator("#breathe-overlay")).to_contain_text("in for four")
        sam.get_by_role("button", name="Hide this guide").click()
        expect(sam.locator("#composer-body")).to_be_disabled()  # posting rests until the chat opens again
        expect(sam.locator("#session-banner")).to_contain_text("The chat is open again", timeout=25_000)
        expect(robin.locator("#breathe-start")).to_be_visible()
        sam.fill("#composer-body", "Is it over?")
        sam.keyboard.press("Enter")
        expect(robin.locator("#console-messages")).to_contain_text("Is it over?")

        # Close the session and read the summary with its chart.
        robin.get_by_role("button", name="Close the session").click()
        summary_link = robin.get_by_role("link", name="Read the last session's summary")
        expect(summary_link).to_be_visible()
        summary_link.click()
        expect(robin.get_by_role("heading", name="How people checked in")).to_be_visible()
        chart = robin.locator("#checkin-chart")
        expect(chart).to_be_visible()
        for image in ("#checkin-chart", "#attendance-chart"):
            assert drawn(robin, image), f"{image} did not load"
        expect(robin.locator("table.record")).to_contain_text("Alex")

        for page in (robin, sam, alex):
            assert page.problems == []


def test_a_member_who_arrives_mid_breath_sees_the_guide_and_it_is_still_when_they_prefer_less_motion(
    browser, group, member
):
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from groups.models import Group
    from tests.conftest import session_cookie

    Group.objects.filter(pk=group.pk).update(
        breathe_until=timezone.now() + timedelta(seconds=60), breathe_prompt="Feel your feet on the floor."
    )
    with Daphne() as server:
        context = browser.new_context(reduced_motion="reduce")
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(member), "url": server.http_url}]
        )
        sam = context.new_page()
        sam.goto(f"{server.http_url}/groups/{group.slug}/chat/")
        guide = sam.locator("#breathe-overlay")
        expect(guide).to_be_visible(timeout=15_000)
        expect(guide).to_contain_text("Feel your feet on the floor.")
        expect(sam.locator("#breathe-heading")).to_be_focused()
        circle = sam.locator(".breathe-circle")
        assert circle.evaluate("node => getComputedStyle(node).animationName") == "none"
        context.close()
