import pytest
from channels.db import database_sync_to_async
from django.db import connection

from chat.actions import post_message
from chat.protocol import BACKFILL_PAGE
from supportcircle import db_threads
from tests.conftest import connected, on_every_database_thread

pytestmark = pytest.mark.django_db(transaction=True)


async def post(author, group, count: int, start: int = 1) -> None:
    for number in range(start, start + count):
        await database_sync_to_async(post_message)(author.pk, group.pk, client_id=f"m{number}", body=f"Note {number}")


async def test_it_backfills_exactly_the_gap_on_reconnect(channel_layer, group, member, second_member):
    await post(second_member, group, 5)
    async with connected(member, group.slug) as sam:
        assert sam.ready["latest_seq"] == 5
    # Sam's train goes into a tunnel; the group keeps talking.
    await post(second_member, group, 3, start=6)
    async with connected(member, group.slug, query="last_seq=5") as sam:
        assert sam.ready["latest_seq"] == 8
        assert [m["seq"] for m in sam.history["messages"]] == [6, 7, 8]
        assert sam.history["after_seq"] == 5
        assert sam.history["through_seq"] == 8
        assert sam.history["more"] is False
        assert await sam.nothing_more()


async def test_a_client_that_missed_nothing_gets_an_empty_backfill(channel_layer, group, member, second_member):
    await post(second_member, group, 2)
    async with connected(member, group.slug, query="last_seq=2") as sam:
        assert sam.history["messages"] == []
        assert sam.history["through_seq"] == 2


async def test_a_seq_beyond_the_newest_is_never_echoed_as_the_servers_own(channel_layer, group, member, second_member):
    await post(second_member, group, 3)
    async with connected(member, group.slug, query="last_seq=999999") as sam:
        assert sam.ready["latest_seq"] == 3
        assert (sam.history["through_seq"], sam.history["messages"]) == (3, [])
        await sam.send({"type": "backfill", "after_seq": 999999})
        assert (await sam.receive_until("history"))["through_seq"] == 3


async def test_a_backfill_frame_fills_a_gap_while_connected(channel_layer, group, member, second_member):
    await post(second_member, group, 4)
    async with connected(member, group.slug) as sam:
        await sam.send({"type": "backfill", "after_seq": 2})
        history = await sam.receive_until("history")
        assert [m["seq"] for m in history["messages"]] == [3, 4]


async def test_a_long_absence_is_backfilled_page_by_page(group, member, second_member, settings):
    settings.CHAT_RATE_LIMIT = (1_000, 10)  # one author writes the whole backlog here
    await post(second_member, group, BACKFILL_PAGE + 10)
    async with connected(member, group.slug, query="last_seq=0") as sam:
        first = sam.history
        assert len(first["messages"]) == BACKFILL_PAGE
        assert first["more"] is True
        await sam.send({"type": "backfill", "after_seq": first["through_seq"]})
        second = await sam.receive_until("history")
        assert [m["seq"] for m in second["messages"]] == list(range(BACKFILL_PAGE + 1, BACKFILL_PAGE + 11))
        assert second["more"] is False


async def test_ping_tells_an_idle_client_the_newest_seq(channel_layer, group, member, second_member):
    async with connected(member, group.slug) as sam:
        await post(second_member, group, 1)
        await sam.send({"type": "ping"})
        pong = await sam.receive_until("pong")
        assert pong["latest_seq"] == 1


@pytest.mark.parametrize("channel_layer", ["memory"], indirect=True)
async def test_a_backfill_frame_is_answered_in_one_trip_to_the_database(
    channel_layer, group, member, second_member, monkeypatch
):
    # After a backlog every socket asks for one, each costing a hand-over to a database thread and back
    # (chat.actions.backfill, one call): 1 the session and 2 the person it names (whose session it still is:
    # supportcircle.accounts.sessions.session_owners), 3 the page with the reader's standing (chat.pages).
    await post(second_member, group, 4)
    async with connected(member, group.slug) as sam:
        calls, statements = [], []

        def note(execute, sql, params, many, context):
            statements.append(sql)
            return execute(sql, params, many, context)

        handler = db_threads._DatabaseThreadCall.thread_handler

        def counted(self, *args, **kwargs):
            calls.append(self.func)
            return handler(self, *args, **kwargs)

        await on_every_database_thread(lambda: connection.execute_wrappers.append(note))
        monkeypatch.setattr(db_threads._DatabaseThreadCall, "thread_handler", counted)
        try:
            await sam.send({"type": "backfill", "after_seq": 2})
            history = await sam.receive_until("history")
        finally:
            monkeypatch.undo()
            await on_every_database_thread(lambda: connection.execute_wrappers.remove(note))
        assert [m["seq"] for m in history["messages"]] == [3, 4]
        assert len(calls) == 1
        assert len(statements) == 3, "\n".join(statements)
