"""Headless Chromium (Debian's /usr/bin/chromium, never a downloaded browser) against a real daphne."""

from __future__ import annotations

import json
import os
import time

import pytest
from django.conf import settings
from django.db import connections
from playwright.sync_api import expect

from chat.models import Message
from tests.support.waiting import PATIENCE

# Playwright's expectations give up after 5 s by default: on a loaded machine a page can take longer to
# show what it will show. They poll, so a longer limit costs nothing when the page is right.
expect.set_options(timeout=PATIENCE * 1000)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
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


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # (logging the cast in) are still plain synchronous code, as Django's docs allow here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is needed at {CHROMIUM} for browser tests")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
        # ORM calls made while Playwright's event loop runs get connections of their own (Django keys them
        # by context): closed here, or PostgreSQL refuses to drop the test database at the end of the run.
        connections.close_all()


def page_for(browser, server, user, path: str, before_open=None):
    """A fresh browser context logged in as ``user`` (by session cookie), opened at ``path``.

    ``before_open(page)``, if given, runs before the page loads (to route its WebSocket, say)."""
    from tests.conftest import session_cookie

    context = browser.new_context()
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(user), "url": server.http_url}])
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    if before_open is not None:
        before_open(page)
    page.goto(server.http_url + path)
    return page


class SocketLog:
    """Every frame a page sent and received on its WebSockets, in order (Playwright's framesent and
    framereceived events), so a test can count what the page itself put on the wire."""

    def __init__(self, page) -> None:
        self.sent: list[dict] = []
        self.received: list[dict] = []
        page.on("websocket", self._watch)

    def _watch(self, websocket) -> None:
        websocket.on("framesent", lambda payload: self.sent.append(_frame(payload)))
        websocket.on("framereceived", lambda payload: self.received.append(_frame(payload)))

    def sent_since(self, mark: int, kind: str | None = None) -> list[dict]:
        return [frame for frame in self.sent[mark:] if kind is None or frame.get("type") == kind]

    def refusals(self, kind: str) -> int:
        """How many of the page's ``kind`` frames the server answered with try_again."""
        return sum(frame.get("code") == "try_again" and frame.get("frame") == kind for frame in self.received)


def _frame(payload) -> dict:
    try:
        frame = json.loads(payload)
    except ValueError:
        return {"type": None}
    return frame if isinstance(frame, dict) else {"type": None}


MESSAGE_LISTS = "#messages li[data-seq], #console-messages li[data-seq]"


def transcript(page) -> list[tuple[int, str]]:
    """The conversation as the page shows it: (seq, words) of each message, in the order shown."""
    return [
        (int(seq), body)
        for seq, body in page.locator(MESSAGE_LISTS).evaluate_all(
            "items => items.map(i => [i.dataset.seq, i.querySelector('.body').textContent.trim()])"
        )
    ]


def wait_until(page, predicate, timeout: float, what) -> float:
    """Poll ``predicate`` (letting the page's events through meanwhile) until it holds; how long it took.
    ``what`` (a sentence, or a function giving one) says what did not happen in time."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s: {what() if callable(what) else what}")
        page.wait_for_timeout(100)
    return time.monotonic() - started


def expect_connected(*pages) -> None:
    for page in pages:
        expect(page.locator("#connection-status, #console-connection")).to_have_text("Connected", timeout=15_000)


def say_in_chat(page, words: str) -> None:
    page.locator("#composer-body").fill(words)
    page.locator("#composer-body").press("Enter")


def say_in_console(page, words: str) -> None:
    page.get_by_label("Say something to the group").fill(words)
    page.get_by_role("button", name="Send", exact=True).click()


# Two of Sam's tabs, Alex's, and Robin's console; or those who only read while Sam writes.
FOUR_TABS = ["sam", "sam, another tab", "alex", "robin's console"]
READERS = ["alex", "alex, another tab", "robin's console"]


@pytest.fixture
def tab_places(group, member, second_member, facilitator) -> dict:
    """Where a test may open a tab on ``group``, by name: (person, path)."""
    chat, console = f"/groups/{group.slug}/chat/", f"/groups/{group.slug}/console/"
    return {
        "sam": (member, chat),
        "sam, another tab": (member, chat),
        "alex": (second_member, chat),
        "alex, another tab": (second_member, chat),
        "robin's console": (facilitator, console),
    }


def open_logged(browser, server, places: dict, names, before_open=None) -> tuple[dict, dict]:
    """Open the tabs ``names`` (of ``places``, name: (person, path)) with their socket frames logged from
    the start: the pages and their SocketLogs, by name."""
    pages, logs = {}, {}

    def prepare(page, name) -> None:
        logs[name] = SocketLog(page)
        if before_open is not None:
            before_open(page)

    for name in names:
        user, path = places[name]
        pages[name] = page_for(browser, server, user, path, before_open=lambda page, name=name: prepare(page, name))
    return pages, logs


def stored_messages() -> list[tuple[int, str]]:
    """(seq, words) of every message the database holds, in order."""
    return list(Message.objects.order_by("seq").values_list("seq", "body"))


def wait_for_every_tab(tabs: dict, expected, timeout: float = PATIENCE) -> float:
    """Wait until every tab (name: page) shows ``expected`` (a list of (seq, words), or a function
    giving it) and nothing else; how long it took. On failure, says which tabs show what."""

    def wanted() -> list:
        return expected() if callable(expected) else expected

    def differs() -> str:
        return f"every tab shows {wanted()}; " + "; ".join(
            f"{name} shows {transcript(page)}" for name, page in tabs.items() if transcript(page) != wanted()
        )

    page = next(iter(tabs.values()))
    return wait_until(page, lambda: all(transcript(tab) == wanted() for tab in tabs.values()), timeout, differs)
