"""Headless Chromium (Debian's /usr/bin/chromium, never a downloaded browser) against a real daphne."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connections

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
