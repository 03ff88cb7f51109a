"""The time zone is guessed from the browser on sign-up and suggested on the profile when none was chosen,
and the profile's list can be searched by city (headless Chromium against a real daphne)."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from supportcircle.accounts.models import User
from tests.conftest import PASSWORD, session_cookie
from tests.support.servers import Daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_signing_up_in_berlin_keeps_berlin(browser):
    with Daphne() as server:
        page = browser.new_context(timezone_id="Europe/Berlin").new_page()
        page.goto(server.http_url + "/accounts/signup/")
        page.get_by_label("Pseudonym").fill("Lee")
        page.locator("#id_password1").fill(PASSWORD)
        page.locator("#id_password2").fill(PASSWORD)
        page.get_by_role("button", name="Create my account").click()
        expect(page.get_by_text("Welcome, Lee.")).to_be_visible()
    assert User.objects.get(pseudonym="Lee").timezone == "Europe/Berlin"


def test_the_profile_suggests_the_browsers_zone_and_finds_a_city(browser, member):
    with Daphne() as server:
        context = browser.new_context(timezone_id="Asia/Kolkata")
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(member), "url": server.http_url}]
        )
        page = context.new_page()
        page.goto(server.http_url + "/accounts/profile/")
        zone = page.get_by_label("Your time zone", exact=True)
        expect(zone).to_have_value("Asia/Kolkata")
        expect(page.locator("#timezone-guess")).to_contain_text("where your browser says you are")

        page.get_by_label("Find your time zone").fill("auckl")
        expect(zone).to_have_value("Pacific/Auckland")
        expect(page.locator("#id_timezone_search_count")).to_contain_text("Auckland")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    member.refresh_from_db()
    assert member.timezone == "Pacific/Auckland"
