"""When the facilitator already has the most chat sockets open that we allow, the console says why it
cannot connect yet and what helps, instead of a bare "Reconnecting…" (headless Chromium, real daphne,
the other sockets real WebSocket clients with the same person's session)."""

import json
from contextlib import ExitStack

import pytest
from django.conf import settings
from playwright.sync_api import expect
from websockets.sync.client import connect

from chat.opening import MAX_SOCKETS_PER_PERSON_DEFAULT
from groups.actions import create_group
from tests.browser.conftest import page_for
from tests.conftest import session_cookie
from tests.support.servers import Daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_console_explains_when_every_allowed_socket_is_already_open(browser, facilitator):
    group = create_group(name="Evening Harbour", facilitators=[facilitator], agreements=["Be kind."])
    cookie = f"{settings.SESSION_COOKIE_NAME}={session_cookie(facilitator)}"
    with Daphne() as server, ExitStack() as tabs:
        for _ in range(MAX_SOCKETS_PER_PERSON_DEFAULT):
            tab = tabs.enter_context(
                connect(
                    f"{server.ws_url}/ws/groups/{group.slug}/",
                    origin=server.http_url,
                    additional_headers={"Cookie": cookie},
                )
            )
            assert json.loads(tab.recv(timeout=10))["type"] == "ready"

        robin = page_for(browser, server, facilitator, f"/groups/{group.slug}/console/")
        expect(robin.locator("#console-connection")).to_have_text("Waiting for a free connection…", timeout=15_000)
        expect(robin.locator("#console-error")).to_contain_text("Closing one you no longer need")
        assert robin.problems == []
