"""No page loads anything from another site: no third-party scripts, trackers, fonts or analytics.

Every view in the URL conf is rendered as each kind of visitor and its HTML checked.
"""

import re
from html.parser import HTMLParser
from urllib.parse import urlparse

import pytest
from django.test import Client

from supportcircle.accounts.models import User
from tests.conftest import PASSWORD
from tests.security.scene import url_values
from tests.security.urlconf import routes

pytestmark = pytest.mark.django_db

# Attributes through which a page makes the browser fetch something by itself.
LOADING_ATTRIBUTES = {
    ("script", "src"),
    ("link", "href"),
    ("img", "src"),
    ("iframe", "src"),
    ("source", "src"),
    ("video", "src"),
    ("audio", "src"),
    ("embed", "src"),
    ("object", "data"),
    ("form", "action"),
}
TRACKERS = re.compile(
    r"google-analytics|googletagmanager|gtag\(|facebook\.net|hotjar|segment\.com|plausible|matomo", re.IGNORECASE
)


class Loads(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for attribute in ("src", "href", "data", "action"):
            if (tag, attribute) in LOADING_ATTRIBUTES and attributes.get(attribute):
                self.urls.append(attributes[attribute])
        if tag == "script" and not attributes.get("src"):
            self.inline_scripts += 1


def is_same_origin(url: str) -> bool:
    parsed = urlparse(url)
    return not parsed.netloc and parsed.scheme in ("", "data")


@pytest.mark.parametrize("visitor", ["anonymous", "member", "facilitator", "staff"])
def test_no_page_loads_anything_from_another_site(visitor, group, member, second_member, facilitator):
    values = url_values(group, member, second_member, facilitator)
    client = Client()
    if visitor != "anonymous":
        user = {"member": member, "facilitator": facilitator}.get(visitor) or User.objects.create_user(
            "Staff Person", PASSWORD, is_staff=True, is_superuser=True
        )
        client.force_login(user)
    checked = 0
    for route in routes():
        response = client.get(route.url(values))
        if "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        loads = Loads()
        loads.feed(html)
        foreign = [url for url in loads.urls if not is_same_origin(url)]
        assert foreign == [], (route.template, foreign)
        assert loads.inline_scripts == 0, route.template
        assert not TRACKERS.search(html), route.template
        checked += 1
    assert checked >= 10  # the walk really rendered pages
