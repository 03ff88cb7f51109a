"""The database comes back without its newest messages (restored from a backup, or a failover to a
replica that was behind), so the server's newest seq is below what the pages hold. Each tab then shows
what the server has, and the messages written next under those numbers, each once: it no longer keeps
messages the group does not have, nor a count of them that makes it skip what comes next.

Real faults: daphne dies; the database loses its two newest messages; daphne starts again on it."""

import pytest
from playwright.sync_api import expect

from chat.models import Message
from groups.models import Group
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
from tests.support.servers import Daphne
from tests.support.waiting import PATIENCE

pytestmark = [pytest.mark.browser, pytest.mark.system, pytest.mark.django_db(transaction=True)]


def test_every_tab_follows_the_server_when_it_lost_its_newest_messages(browser, group, tab_places):
    first = Daphne().start()
    try:
        tabs, _ = open_logged(browser, first, tab_places, FOUR_TABS)
        sam, alex, robin = tabs["sam"], tabs["alex"], tabs["robin's console"]
        expect_connected(*tabs.values())
        for number, page in enumerate((sam, alex, sam, alex, sam), start=1):
            say_in_chat(page, f"Before the restore {number}")
            expect(page.locator("li[data-seq]")).to_have_count(number)
        for page in tabs.values():
            expect(page.locator("li[data-seq]")).to_have_count(5)
    finally:
        first.kill()

    # Restored from a backup taken before the last two messages.
    Message.objects.filter(group=group, seq__gt=3).delete()
    Group.objects.filter(pk=group.pk).update(last_seq=3)

    with Daphne(port=first.port):
        expect_connected(*tabs.values())
        before = stored_messages()
        wait_for_every_tab(tabs, before)

        say_in_chat(alex, "Is everyone still here?")
        say_in_console(robin, "I'm here. Some of the last messages were lost; please say them again if you like.")
        say_in_chat(sam, "Yes, still here.")
        wait_until(sam, lambda: len(stored_messages()) == 6, PATIENCE, "the new messages stored")
        after = stored_messages()
        wait_for_every_tab(tabs, after)

    assert [seq for seq, _ in after] == [1, 2, 3, 4, 5, 6]
    assert [body for _, body in after][3:] == [
        "Is everyone still here?",
        "I'm here. Some of the last messages were lost; please say them again if you like.",
        "Yes, still here.",
    ]
    for page in tabs.values():
        assert page.problems == []
