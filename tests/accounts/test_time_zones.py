"""The time-zone menu: real places, common ones first, grouped by region; guessed from the browser on sign-up."""

import re

import pytest
from django.test import Client

from supportcircle.accounts import timezones
from supportcircle.accounts.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def profile_page(user) -> str:
    client = Client()
    client.force_login(user)
    return client.get("/accounts/profile/").content.decode()


def test_the_menu_offers_real_places_and_no_factory_or_old_aliases(member):
    html = profile_page(member)
    values = re.findall(r'<option value="([^"]+)"', html)
    assert "Europe/Berlin" in values and "Asia/Kolkata" in values and "UTC" in values
    for odd in ("Factory", "Asia/Calcutta", "Europe/Kiev", "US/Eastern", "EST5EDT", "GMT+0", "Etc/GMT+5"):
        assert odd not in values, odd
    assert len(set(values)) < 450


def test_common_places_come_first_and_the_rest_are_grouped_by_region(member):
    html = profile_page(member)
    groups = re.findall(r'<optgroup label="([^"]+)"', html)
    assert groups[0] == "Common"
    assert {"Europe", "Americas", "Asia", "Africa", "Pacific"} <= set(groups)
    common = html.split('<optgroup label="Common">', 1)[1].split("</optgroup>", 1)[0]
    assert '<option value="Europe/London"' in common and '<option value="America/New_York"' in common


def test_a_browsers_older_name_for_a_place_is_understood():
    assert timezones.canonical("Asia/Calcutta") == "Asia/Kolkata"
    assert timezones.canonical("Europe/Kiev") == "Europe/Kyiv"
    assert timezones.canonical("Factory") is None


def test_sign_up_keeps_the_zone_the_browser_guessed():
    Client().post(
        "/accounts/signup/",
        {"pseudonym": "Lee", "password1": PASSWORD, "password2": PASSWORD, "timezone": "Asia/Calcutta"},
    )
    assert User.objects.get(pseudonym="Lee").timezone == "Asia/Kolkata"


def test_sign_up_without_a_guess_or_with_nonsense_is_utc():
    Client().post(
        "/accounts/signup/", {"pseudonym": "Noor", "password1": PASSWORD, "password2": PASSWORD, "timezone": "Factory"}
    )
    assert User.objects.get(pseudonym="Noor").timezone == "UTC"


def test_a_zone_kept_from_before_stays_selected_until_they_choose_another(member):
    member.timezone = "US/Eastern"
    member.save(update_fields=["timezone"])
    html = profile_page(member)
    assert '<option value="US/Eastern" selected>' in html
