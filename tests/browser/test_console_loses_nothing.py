"""The facilitator's console in headless Chromium loses nothing on a bad line: a message that never
reached it is fetched as soon as it notices the gap, and the facilitator's own words stay in the box
until the server has stored them, sent again (once) when the server asks for a retry.

The network between the browser and daphne is the boundary here: Playwright's WebSocket route
drops one frame, or answers one, exactly as a flaky connection or a busy server would."""

import json
import re

import pytest
from playwright.sync_api import expect

from chat.models import Message
from chat.protocol import ErrorCode, error_frame
from groups.actions import create_group, join_group
from tests.browser.conftest import page_for
from tests.support.servers import Daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SOCKET = re.compile(r"/ws/")


@pytest.fixture
def harbour(db, facilitator, member):
    group = create_group(
        name="Evening Harbour",
        facilitators=[facilitator],
        agreements=["What is shared here stays here."],
        description="A small evening group for everyday stress.",
    )
    join_group(member, group, accepted_version=group.agreement_version)
    return group


def say(page, words: str) -> None:
    page.locator("#composer-body").fill(words)
    page.locator("#composer button[type=submit]").click()


def test_a_message_the_console_never_received_is_fetched_when_the_next_one_arrives(
    browser, harbour, member, facilitator
):
    dropped = []

    def lose_one_message(page) -> None:
        def route(ws) -> None:
            daphne = ws.connect_to_server()

            def to_the_console(message) -> None:
                frame = json.loads(message)
                if frame.get("type") == "message" and frame["message"]["body"] == "Is anyone else up?" and not dropped:
                    dropped.append(frame)  # lost on the way: the console never sees this frame
                    return
                ws.send(message)

            daphne.on_message(to_the_console)

        page.route_web_socket(SOCKET, route)

    with Daphne() as server:
        robin = page_for(browser, server, facilitator, f"/groups/{harbour.slug}/console/", before_open=lose_one_message)
        sam = page_for(browser, server, member, f"/groups/{harbour.slug}/chat/")
        expect(robin.locator("#console-connection")).to_have_text("Connected", timeout=15_000)
        expect(sam.locator("#connection-status")).to_have_text("Connected", timeout=15_000)

        say(sam, "Is anyone else up?")
        expect(sam.locator("#messages")).to_contain_text("Is anyone else up?")
        say(sam, "Couldn't sleep again.")

        conversation = robin.locator("#console-messages")
        expect(conversation).to_contain_text("Couldn't sleep again.")
        expect(conversation).to_contain_text("Is anyone else up?")
        assert len(dropped) == 1
        # In order, each once.
        bodies = conversation.locator("li[data-seq] .body").all_inner_texts()
        assert bodies == ["Is anyone else up?", "Couldn't sleep again."]
        assert robin.problems == []


def test_the_facilitators_words_stay_until_stored_and_a_retry_stores_them_once(browser, harbour, member, facilitator):
    sends = []

    def server_busy_once(page) -> None:
        def route(ws) -> None:
            daphne = ws.connect_to_server()

            def to_the_server(message) -> None:
                frame = json.loads(message)
                if frame.get("type") == "send":
                    sends.append(frame["client_id"])
                    if len(sends) == 1:  # the server could not save it this time, and says so
                        ws.send(json.dumps(error_frame(ErrorCode.TRY_AGAIN, ref=frame["client_id"], retry_after=1)))
                        return
                daphne.send(message)

            ws.on_message(to_the_server)

        page.route_web_socket(SOCKET, route)

    words = "Welcome, everyone. Take a breath; we'll start in a minute."
    with Daphne() as server:
        robin = page_for(browser, server, facilitator, f"/groups/{harbour.slug}/console/", before_open=server_busy_once)
        sam = page_for(browser, server, member, f"/groups/{harbour.slug}/chat/")
        expect(robin.locator("#console-connection")).to_have_text("Connected", timeout=15_000)
        expect(sam.locator("#connection-status")).to_have_text("Connected", timeout=15_000)

        box = robin.get_by_label("Say something to the group")
        box.fill(words)
        robin.get_by_role("button", name="Send").click()
        expect(robin.locator("#console-error")).to_contain_text("Nothing was lost")
        expect(robin.locator("#console-sending")).to_have_text("Trying again in a moment…")
        expect(box).to_have_value(words)

        expect(sam.locator("#messages")).to_contain_text(words, timeout=10_000)
        expect(box).to_have_value("")
        expect(robin.locator("#console-sending")).to_have_text("")
        expect(robin.locator("#console-error")).to_be_hidden()  # the "try again" is over
        expect(robin.locator("#console-messages")).to_contain_text(words)
        assert len(sends) == 2 and sends[0] == sends[1]  # the same message, asked twice
        assert Message.objects.filter(group=harbour, body=words).count() == 1
        assert robin.problems == []
