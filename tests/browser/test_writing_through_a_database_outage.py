"""The database goes down under a running daphne while members and the facilitator go on writing, in
four tabs (two of Sam's, Alex's, Robin's console). Each page keeps the words it could not store and
sends each one again once per ``retry_after``, never its whole outbox for every refusal (that turned
a 10 s outage into a storm of thousands of resends). When the database is back, every tab shows every
acknowledged message exactly once within 5 s.

The fault is real and under the server (tests/support/outages.py): on PostgreSQL the server's
connections are cut and refused by a proxy, on SQLite its database file goes away."""

from collections import Counter

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    FOUR_TABS,
    expect_connected,
    open_logged,
    say_in_chat,
    say_in_console,
    stored_messages,
    wait_for_every_tab,
    wait_until,
)
from tests.support.outages import DatabaseOutage
from tests.support.servers import Daphne
from tests.support.waiting import PATIENCE

pytestmark = [pytest.mark.browser, pytest.mark.system, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 8
RETRY_AFTER = 2  # what the server asks for (chat/consumers.py)
# A refused frame is sent again once per retry_after: with its first sending and one late retry, no
# frame goes out more often than this during the outage, however many others are waiting.
MOST_SENDINGS_OF_ONE_FRAME = OUTAGE_SECONDS // RETRY_AFTER + 2


def test_an_outage_costs_one_frame_per_waiting_message_per_retry_and_loses_nothing(browser, tab_places):
    with DatabaseOutage() as outage, Daphne(extra_env=outage.server_env()) as server:
        tabs, logs = open_logged(browser, server, tab_places, FOUR_TABS)
        sam, alex, robin = tabs["sam"], tabs["alex"], tabs["robin's console"]
        expect_connected(*tabs.values())
        say_in_chat(sam, "Evening, everyone.")
        for page in tabs.values():
            expect(page.locator("li[data-seq]")).to_have_count(1)

        outage.begin()
        marks = {name: len(log.sent) for name, log in logs.items()}
        for number in range(1, 4):
            say_in_chat(sam, f"Sam, while the database is away, {number}")
        for number in range(1, 3):
            say_in_chat(alex, f"Alex, while the database is away, {number}")
        say_in_console(robin, "Robin: take your time, nothing is lost.")
        expect(sam.locator("#chat-error")).to_contain_text("Nothing was lost")
        expect(sam.locator("li.pending")).to_have_count(3)
        expect(robin.locator("#console-sending")).to_have_text("Trying again in a moment…")
        sam.wait_for_timeout(OUTAGE_SECONDS * 1000)
        during = {name: log.sent_since(marks[name]) for name, log in logs.items()}
        outage.end()

        took = wait_until(sam, lambda: len(stored_messages()) == 7, PATIENCE, "every message stored")
        took += wait_for_every_tab(tabs, stored_messages)
        everything = stored_messages()
        for page in (sam, alex):
            expect(page.locator("li.pending")).to_have_count(0)
        expect(robin.get_by_label("Say something to the group")).to_have_value("")

    print(f"\ncaught up {took:.1f} s after the outage; frames sent during {OUTAGE_SECONDS} s of it:")
    for name, frames in during.items():
        print(f"  {name}: {len(frames)} ({dict(Counter(frame.get('type') for frame in frames))})")
    assert Counter(body for _, body in everything) == Counter(
        ["Evening, everyone."]
        + [f"Sam, while the database is away, {n}" for n in range(1, 4)]
        + [f"Alex, while the database is away, {n}" for n in range(1, 3)]
        + ["Robin: take your time, nothing is lost."]
    )
    for name, frames in during.items():
        sendings = Counter(frame["client_id"] for frame in frames if frame.get("type") == "send")
        assert max(sendings.values(), default=0) <= MOST_SENDINGS_OF_ONE_FRAME, (name, sendings)
        # Each waiting message, the ping and its retries, typing: never more than a few frames each.
        assert len(frames) <= (len(sendings) + 2) * MOST_SENDINGS_OF_ONE_FRAME, (name, len(frames))
    for page in tabs.values():
        assert page.problems == []
