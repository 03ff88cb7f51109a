"""Something fails on the server while it handles a send (``server_error``): the page keeps every word
in the box, says kindly what happened, and sends nothing again by itself; once the fault is repaired,
the person sends again and every tab shows it exactly once. Two messages refused at once both stay:
the page used to put back only the first and lose the second, and on PostgreSQL (whose answers can
come back in either order) put them back in the order the answers came, not the order they were written.

Real faults under a running daphne: the database goes away while Sam and Robin write (their words wait
in the page, retried), and comes back with the group's row corrupted by hand (its rule sets, a list,
made the number 5), so the server fails on every send to the group while everything else goes on."""

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
from tests.support.outages import DatabaseOutage
from tests.support.servers import Daphne
from tests.support.waiting import PATIENCE

pytestmark = [pytest.mark.browser, pytest.mark.system, pytest.mark.django_db(transaction=True)]

SOMETHING_WENT_WRONG = "Something went wrong on our side"  # chat/protocol.py ERROR_MESSAGES[SERVER_ERROR]


def test_a_server_error_keeps_every_word_and_nothing_is_sent_again_by_itself(browser, group, tab_places):
    rulesets = group.rulesets
    with DatabaseOutage() as outage, Daphne(extra_env=outage.server_env()) as server:
        tabs, logs = open_logged(browser, server, tab_places, FOUR_TABS)
        sam, robin = tabs["sam"], tabs["robin's console"]
        expect_connected(*tabs.values())
        say_in_chat(tabs["alex"], "How is everyone doing?")
        for page in tabs.values():
            expect(page.locator("li[data-seq]")).to_have_count(1)

        outage.begin()
        say_in_chat(sam, "Honestly, not great.")
        say_in_chat(sam, "Work has been a lot this week.")
        say_in_console(robin, "Thank you for saying so, Sam.")
        expect(sam.locator("#chat-error")).to_contain_text("Nothing was lost")
        expect(sam.locator("li.pending")).to_have_count(2)
        Group.objects.filter(pk=group.pk).update(rulesets=5)  # what the database comes back with
        outage.end()

        expect(sam.locator("#chat-error")).to_contain_text(SOMETHING_WENT_WRONG)
        expect(robin.locator("#console-error")).to_contain_text(SOMETHING_WENT_WRONG)
        words_kept = "Honestly, not great.\n\nWork has been a lot this week."
        expect(sam.locator("#composer-body")).to_have_value(words_kept)
        expect(sam.locator("li.pending")).to_have_count(0)
        expect(robin.get_by_label("Say something to the group")).to_have_value("Thank you for saying so, Sam.")
        expect(robin.locator("#console-sending")).to_have_text("")
        marks = {name: len(log.sent) for name, log in logs.items()}
        sam.wait_for_timeout(5000)  # long enough for any retry: none comes (a window for an absence, not a wait)
        assert all(log.sent_since(marks[name], "send") == [] for name, log in logs.items())
        assert Message.objects.count() == 1

        Group.objects.filter(pk=group.pk).update(rulesets=rulesets)  # repaired
        sam.locator("#composer-body").press("Enter")
        robin.get_by_role("button", name="Send", exact=True).click()
        wait_until(sam, lambda: Message.objects.count() == 3, PATIENCE, "both stored")
        everything = stored_messages()
        wait_for_every_tab(tabs, everything)
        expect(sam.locator("#chat-error")).to_be_hidden()
        expect(sam.locator("#composer-body")).to_have_value("")

    assert sorted(body for _, body in everything) == sorted(
        ["How is everyone doing?", words_kept, "Thank you for saying so, Sam."]
    )
    for page in tabs.values():
        assert page.problems == []
