"""A tab's ping falls in an outage and is refused: the page pings again once per ``retry_after``, so
it hears the newest seq as soon as the database answers and catches up within 5 s. It used to drop
the refused ping and learn what it missed only at its next ping, 20 s later.

Real faults: two daphne processes share Redis and PostgreSQL, and one of them loses its database (a
proxy between them cuts and refuses its connections, as in a network partition). Sam writes through
the other process; the partitioned one cannot re-check its sockets' right to receive, so it withholds
the messages from Alex's tabs and Robin's console (fail closed) until they ask. The page's 20 s ping
is brought forward with Playwright's clock (time otherwise flows as usual)."""

import time

import pytest

from chat.models import Message
from supportcircle.accounts.sessions import RECHECK_SECONDS  # nothing is delivered on an older answer
from tests.browser.conftest import (
    READERS,
    expect_connected,
    open_logged,
    page_for,
    say_in_chat,
    stored_messages,
    transcript,
    wait_for_every_tab,
    wait_until,
)
from tests.support.outages import DatabaseOutage, on_postgresql
from tests.support.redis_server import RedisServer
from tests.support.servers import Daphne
from tests.support.waiting import PATIENCE

# PostgreSQL only (selected in its pass, scripts/test.sh):
# sQLite is a file on the server's own disk: one process cannot lose it while another keeps it.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.system,
    pytest.mark.postgresql_only,
    pytest.mark.django_db(transaction=True),
]

RETRY_AFTER = 2  # what the server asks for (chat/consumers.py)
PING_EVERY_MS = 20_000  # static/js/socket.js
OUTAGE_SECONDS = 8


def test_a_refused_ping_is_sent_again_and_every_tab_catches_up(browser, tab_places, tmp_path):
    assert on_postgresql(), "selected only in the PostgreSQL pass (scripts/test.sh)"
    # The servers' logs go to files: an unread pipe, once full, would stall them.
    with (
        RedisServer() as redis,
        DatabaseOutage() as outage,
        Daphne(redis_url=redis.url, log_path=tmp_path / "kept.log") as kept,
        Daphne(
            redis_url=redis.url, extra_env=outage.server_env(), log_path=tmp_path / "partitioned.log"
        ) as partitioned,
    ):
        sam = page_for(browser, kept, *tab_places["sam"])
        readers, logs = open_logged(
            browser,
            partitioned,
            tab_places,
            READERS,
            before_open=lambda page: page.clock.install(),
        )
        expect_connected(sam, *readers.values())

        outage.begin()
        started = time.monotonic()
        sam.wait_for_timeout(RECHECK_SECONDS * 1000 + 500)  # every socket there is due to re-check
        say_in_chat(sam, "Checking in before bed.")
        say_in_chat(sam, "Today was a bit better.")
        wait_until(sam, lambda: Message.objects.count() == 2, PATIENCE, "Sam's messages stored")
        sam.wait_for_timeout(500)
        assert all(transcript(page) == [] for page in readers.values())  # withheld, not delivered

        marks = {name: len(log.sent) for name, log in logs.items()}
        for page in readers.values():
            page.clock.fast_forward(PING_EVERY_MS)  # the page's regular ping falls in the outage
        for name, log in logs.items():
            wait_until(readers[name], lambda log=log: log.refusals("ping") >= 1, PATIENCE, f"{name}'s ping refused")
        sam.wait_for_timeout(max(0, OUTAGE_SECONDS - (time.monotonic() - started)) * 1000)
        held = time.monotonic() - started
        during = {name: log.sent_since(marks[name], "ping") for name, log in logs.items()}
        outage.end()

        everything = stored_messages()
        took = wait_for_every_tab(readers, everything)

    print(f"\ncaught up {took:.1f} s after the outage; pings sent during its {held:.0f} s:")
    for name, frames in during.items():
        print(f"  {name}: {len(frames)} ({logs[name].refusals('ping')} refused)")
    assert [body for _, body in everything] == ["Checking in before bed.", "Today was a bit better."]
    for name, frames in during.items():
        assert 1 <= len(frames) <= held // RETRY_AFTER + 2, (name, len(frames))
    for page in (sam, *readers.values()):
        assert page.problems == []
