"""Page views leave no database connection open behind them, on request threads kept from one
page view to the next (supportcircle/http.py).

Django made a thread for each request; a connection kept open for that thread's next request was
never used again. On PostgreSQL that was a server process per page view until pages failed with
"too many clients"; on SQLite an open file per page view.
"""

import asyncio
import os
import threading

import pytest
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator
from django.conf import settings
from django.core.signals import request_started
from django.db import connection

from tests.conftest import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def open_connections() -> int:
    """Connections open on this test database: server processes (PostgreSQL) or open files (SQLite)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            return cursor.fetchone()[0]
    database = os.path.realpath(connection.settings_dict["NAME"])
    return sum(os.path.realpath(f"/proc/self/fd/{fd}") == database for fd in os.listdir("/proc/self/fd"))


async def page_view(url: str, cookie: bytes) -> int:
    from supportcircle.asgi import application

    page = HttpCommunicator(application, "GET", url, headers=[(b"host", b"testserver"), (b"cookie", cookie)])
    status = (await page.get_response(timeout=15))["status"]
    await page.wait(timeout=5)  # the request has finished, as a server waits for it to
    return status


async def test_a_hundred_chat_page_views_leave_no_connection_behind(group, member):
    cookie = f"{settings.SESSION_COOKIE_NAME}={await database_sync_to_async(session_cookie)(member)}".encode()
    url = f"/groups/{group.slug}/chat/"
    assert await page_view(url, cookie) == 200  # the first one may open what the process keeps
    before = await database_sync_to_async(open_connections)()
    statuses = {await page_view(url, cookie) for _ in range(100)}
    assert statuses == {200}
    # No more than before (connections of earlier tests' finished threads may close meanwhile).
    assert await database_sync_to_async(open_connections)() <= before


async def test_page_views_reuse_their_threads_and_two_at_once_never_share_one(group, member):
    cookie = f"{settings.SESSION_COOKIE_NAME}={await database_sync_to_async(session_cookie)(member)}".encode()
    url = f"/groups/{group.slug}/chat/"
    seen: list[tuple[str, int]] = []
    both_in = threading.Barrier(2, timeout=10)
    together = False

    def note_thread(**kwargs) -> None:
        seen.append((threading.current_thread().name, threading.get_ident()))
        if together:
            both_in.wait()  # passes only if the two requests run at once, each on a thread of its own

    request_started.connect(note_thread)
    try:
        assert {await page_view(url, cookie) for _ in range(5)} == {200}
        one_after_another = set(seen)
        seen.clear()
        together = True
        assert await asyncio.gather(page_view(url, cookie), page_view(url, cookie)) == [200, 200]
    finally:
        request_started.disconnect(note_thread)
    # One after another: the same kept thread, not a new thread for each page view.
    ((name, _),) = one_after_another
    assert name.startswith("request")
    assert len(set(seen)) == 2
