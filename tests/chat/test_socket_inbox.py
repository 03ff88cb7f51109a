"""A socket's inbox (chat.inbox), and the layer's bounded one (chat.layers.BoundedInbox), by themselves."""

import asyncio
import tracemalloc

import pytest

from chat.inbox import Inbox
from chat.layers import BoundedInbox


async def test_it_hands_out_what_was_put_in_order():
    inbox = Inbox()
    for n in range(3):
        inbox.put_nowait(n)
    assert inbox.qsize() == 3
    assert [await inbox.get(), await inbox.get(), inbox.get_nowait()] == [0, 1, 2]
    assert inbox.empty()
    with pytest.raises(asyncio.QueueEmpty):
        inbox.get_nowait()


async def test_a_reader_waits_until_something_arrives():
    inbox = Inbox()
    reader = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    assert not reader.done()
    inbox.put_nowait("hello")
    assert await reader == "hello"
    assert inbox.empty()


async def test_a_reader_cancelled_after_being_woken_leaves_the_item_to_the_next():
    inbox = Inbox()
    first, second = asyncio.ensure_future(inbox.get()), asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("only one")
    first.cancel()
    assert await second == "only one"
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_cancelled_reader_takes_nothing_away():
    inbox = Inbox()
    reader = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    inbox.put_nowait("kept")
    assert await inbox.get() == "kept"


async def test_a_full_bounded_inbox_drops_what_waits_for_one_overflow_marker():
    inbox = BoundedInbox(capacity=3, marker="overflow")
    for n in range(3):
        inbox.put_nowait(n)
    inbox.put_nowait(3)
    assert inbox.qsize() == 1
    assert await inbox.get() == "overflow"


def test_an_emptied_inbox_keeps_no_storage():
    # Every open socket holds two inboxes, and most of the time both are empty: then they hold no deque.
    inboxes = [Inbox() for _ in range(200)]
    for inbox in inboxes:
        inbox.put_nowait("hello")
        inbox.get_nowait()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        idle = [Inbox() for _ in range(200)]
        for inbox in idle:
            inbox.put_nowait("hello")
            assert inbox.get_nowait() == "hello"
        per_inbox = (tracemalloc.get_traced_memory()[0] - before) / len(idle)
    finally:
        tracemalloc.stop()
    assert per_inbox < 200, per_inbox  # an empty deque alone is 760 bytes
    assert inboxes[0].empty() and inboxes[0].qsize() == 0
