"""The server dies mid-conversation and comes back: each member sees every message exactly once."""

from collections import Counter

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import page_for
from tests.support.servers import Daphne

pytestmark = [pytest.mark.browser, pytest.mark.system, pytest.mark.django_db(transaction=True)]


def send(page, text: str) -> None:
    page.fill("#composer-body", text)
    page.keyboard.press("Enter")


def seqs_shown(page) -> list[int]:
    return [int(seq) for seq in page.locator("li[data-seq]").evaluate_all("items => items.map(i => i.dataset.seq)")]


def test_a_restart_mid_conversation_loses_nothing_and_repeats_nothing(browser, group, member, second_member):
    chat = f"/groups/{group.slug}/chat/"
    first = Daphne().start()
    try:
        sam = page_for(browser, first, member, chat)
        alex = page_for(browser, first, second_member, chat)
        for page in (sam, alex):
            expect(page.locator("#connection-status")).to_have_text("Connected", timeout=15_000)
        send(sam, "Before the storm 1")
        send(alex, "Before the storm 2")
        expect(sam.locator("li[data-seq]")).to_have_count(2)
        expect(alex.locator("li[data-seq]")).to_have_count(2)
    finally:
        first.kill()

    # The server is gone: both pages say so calmly, and what Sam writes is kept.
    for page in (sam, alex):
        expect(page.locator("#connection-status")).to_contain_text("Reconnecting", timeout=10_000)
    send(sam, "Sent while the server was down")
    expect(sam.locator("li.pending")).to_contain_text("Sent while the server was down")
    sam.fill("#composer-body", "A thought I'm still writing")

    with Daphne(port=first.port) as second:
        assert second.port == first.port
        for page in (sam, alex):
            expect(page.locator("#connection-status")).to_have_text("Connected", timeout=40_000)
        send(alex, "After the storm")
        for page in (sam, alex):
            expect(page.locator("li[data-seq]")).to_have_count(4, timeout=15_000)
            expect(page.locator("li.pending")).to_have_count(0)
            seqs = seqs_shown(page)
            assert Counter(seqs) == Counter([1, 2, 3, 4]), seqs
            assert page.problems == []
        expect(alex.locator('li[data-seq="3"] .body')).to_have_text("Sent while the server was down")
        expect(sam.locator("#composer-body")).to_have_value("A thought I'm still writing")
