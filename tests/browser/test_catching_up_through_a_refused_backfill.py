"""A tab that missed messages asks for them (backfill), and the database refuses it for now: the page
asks again once per ``retry_after`` and catches up within 5 s of the database answering. It used to
keep its backfill marked as on its way for good, and never caught up until it reconnected.

Real faults under a running daphne: Redis dies while Sam writes (Alex's tabs and Robin's console miss
the broadcasts; the messages are stored), then, while a migration holds the messages table
(PostgreSQL's ACCESS EXCLUSIVE lock, with the server's statement timeout at 1 s), Redis comes back:
the server tells each socket the newest seq (that reads the groups table, which is free), and each
page's backfill is refused until the migration is done."""

import time

import pytest
from django.db import connection, transaction
from playwright.sync_api import expect

from chat.models import Message
from tests.browser.conftest import (
    READERS,
    expect_connected,
    open_logged,
    page_for,
    say_in_chat,
    stored_messages,
    wait_for_every_tab,
    wait_until,
)
from tests.support.outages import on_postgresql
from tests.support.redis_server import RedisServer
from tests.support.servers import Daphne

# PostgreSQL only (selected in its pass, scripts/test.sh):
# sQLite never makes a reader wait (WAL): only PostgreSQL refuses a backfill while answering a ping.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.system,
    pytest.mark.postgresql_only,
    pytest.mark.django_db(transaction=True),
]

RETRY_AFTER = 2  # what the server asks for (chat/consumers.py)
STATEMENT_TIMEOUT_SECONDS = 1
LOCK_SECONDS = 8


def test_a_refused_backfill_is_asked_again_and_every_tab_catches_up(browser, tab_places, tmp_path):
    assert on_postgresql(), "selected only in the PostgreSQL pass (scripts/test.sh)"
    timeout = {"DATABASE_STATEMENT_TIMEOUT_MS": str(STATEMENT_TIMEOUT_SECONDS * 1000)}
    log = tmp_path / "daphne.log"  # a file: Redis's tracebacks would fill an unread pipe and stall the server
    with RedisServer() as redis, Daphne(redis_url=redis.url, extra_env=timeout, log_path=log) as server:
        sam = page_for(browser, server, *tab_places["sam"])
        readers, logs = open_logged(browser, server, tab_places, READERS)
        expect_connected(sam, *readers.values())

        redis.kill()
        say_in_chat(sam, "Is anyone around tonight?")
        say_in_chat(sam, "It's been a long week.")
        expect(sam.locator("li[data-seq]")).to_have_count(2, timeout=10_000)  # stored and acknowledged

        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {Message._meta.db_table} IN ACCESS EXCLUSIVE MODE")
            locked_at = time.monotonic()
            marks = {name: len(log.sent) for name, log in logs.items()}
            redis.start()
            for name, log in logs.items():
                wait_until(
                    readers[name], lambda log=log: log.refusals("backfill") >= 1, 30, f"{name}'s backfill refused"
                )
            sam.wait_for_timeout(max(0, LOCK_SECONDS - (time.monotonic() - locked_at)) * 1000)
            held = time.monotonic() - locked_at
            during = {name: log.sent_since(marks[name], "backfill") for name, log in logs.items()}
        # The migration is done (the lock went with its transaction).

        everything = stored_messages()
        took = wait_for_every_tab(readers, everything)

    print(f"\ncaught up {took:.1f} s after the lock; backfills sent during its {held:.0f} s:")
    for name, frames in during.items():
        print(f"  {name}: {len(frames)} ({logs[name].refusals('backfill')} refused)")
    assert [body for _, body in everything] == ["Is anyone around tonight?", "It's been a long week."]
    for name, frames in during.items():
        # One at a time, each after the last was refused and retry_after passed: never a storm.
        assert 1 <= len(frames) <= held // (STATEMENT_TIMEOUT_SECONDS + RETRY_AFTER) + 2, (name, len(frames))
    for page in (sam, *readers.values()):
        assert page.problems == []
