import asyncio
import logging
import threading

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from chat import consumers, room
from chat.actions import mark_read, pin_message, post_message
from chat.layers import BoundedInMemoryChannelLayer
from chat.models import Presence, RoundKind
from chat.protocol import CloseCode
from console import live
from groups.models import Membership, MembershipState, SessionAttendance
from moderation.actions import time_out_member
from supportcircle import db_threads
from tests.conftest import connected, on_every_database_thread, socket_for
from tests.support.waiting import FRAME_PATIENCE

pytestmark = pytest.mark.django_db(transaction=True)


async def refused_with(user, slug) -> int:
    communicator = await database_sync_to_async(socket_for)(user, slug)
    is_open, _ = await communicator.connect()
    assert is_open  # accepted only to be closed with a code the client understands
    output = await communicator.receive_output(timeout=FRAME_PATIENCE)
    assert output["type"] == "websocket.close"
    await communicator.wait()
    return output["code"]


async def test_an_anonymous_socket_is_refused(channel_layer, group):
    assert await refused_with(None, group.slug) == CloseCode.NOT_LOGGED_IN


async def test_an_outsider_is_refused(channel_layer, group, outsider):
    assert await refused_with(outsider, group.slug) == CloseCode.NOT_A_MEMBER


async def test_someone_who_only_asked_to_join_is_refused(channel_layer, group, outsider):
    await database_sync_to_async(Membership.objects.create)(user=outsider, group=group, state=MembershipState.REQUESTED)
    assert await refused_with(outsider, group.slug) == CloseCode.NOT_A_MEMBER


async def test_a_banned_member_is_refused_with_the_ban_code(channel_layer, group, member):
    await database_sync_to_async(Membership.objects.filter(user=member).update)(state=MembershipState.BANNED)
    assert await refused_with(member, group.slug) == CloseCode.BANNED


async def test_an_unknown_group_is_refused(channel_layer, member):
    assert await refused_with(member, "no-such-group") == CloseCode.GROUP_NOT_FOUND


async def test_a_member_is_greeted_with_the_last_fifty_messages(channel_layer, group, member, second_member, settings):
    settings.CHAT_RATE_LIMIT = (1_000, 10)  # one author writes the whole backlog here
    for number in range(1, 61):
        await database_sync_to_async(post_message)(
            second_member.pk, group.pk, client_id=f"c{number}", body=f"Thought number {number}"
        )
    async with connected(member, group.slug) as socket:
        assert socket.ready["me"]["pseudonym"] == "Sam"
        assert socket.ready["latest_seq"] == 60
        assert socket.ready["can_post"] is True
        seqs = [message["seq"] for message in socket.history["messages"]]
        assert seqs == list(range(11, 61))
        assert socket.history["messages"][-1]["body"] == "Thought number 60"
        assert socket.history["messages"][-1]["author"]["pseudonym"] == "Alex"
        assert await socket.nothing_more()


def taking_turns(sql: str) -> bool:
    """How writers take turns, not work: SQLite's BEGIN IMMEDIATE."""
    return sql == "BEGIN IMMEDIATE"


def statements_to_open() -> int:
    """A socket opening in a quiet room (see test_opening_the_chat_takes_a_pinned_number_of_queries): on
    PostgreSQL seven and the seat read last in the welcome's trip, on SQLite eight (the arrival takes two)."""
    return 8


async def queries_while_opening(user, slug, query: str = "") -> list[str]:
    """The SQL a socket runs from its handshake until its first frames are sent."""
    seen: list[str] = []

    def note(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    communicator = await database_sync_to_async(socket_for)(user, slug, query=query)
    await on_every_database_thread(lambda: connection.execute_wrappers.append(note))
    try:
        is_open, _ = await communicator.connect()
        assert is_open
        assert (await communicator.receive_json_from())["type"] == "ready"
        assert (await communicator.receive_json_from())["type"] == "history"
        assert await communicator.receive_nothing(timeout=0.3)
    finally:
        await on_every_database_thread(lambda: connection.execute_wrappers.remove(note))
        await communicator.disconnect()
    return seen


@pytest.mark.parametrize("channel_layer", ["memory"], indirect=True)
async def test_opening_the_chat_takes_a_pinned_number_of_queries(channel_layer, group, member):
    # In a crowd of people arriving at once every query is a round trip on a database thread.
    # Admitting (chat.opening.admit, one trip): 1 the session (supportcircle.accounts.sessions), 2 the person
    # it names with the group, their membership and their open sockets (chat.actions.open_chat_for_person).
    # The welcome (chat.opening.welcome, one trip):
    # 3 boundaries (blocks, mutes, collapsed labels), 4 the history (the membership with the latest seq, the
    # page and its reactions, in one statement: chat.pages), 5 what the room has at all (chat.opening.room_at_connect:
    # practices, open round, pins, read marker, a time-out, a live session, a pause), 6-7 arriving (this socket
    # with dead sockets' rows expired, in one statement on PostgreSQL and two on SQLite; then "here now",
    # each committed as it runs: no transaction, no lock). On PostgreSQL, 8 last in the same trip: the seat
    # a first send is decided on (chat.actions.seat_to_post_from; chat.seat). In a quiet room
    # nothing else is read; see test_a_busy_room_is_read_in_full for one where everything is on. (Not
    # counted: SQLite's BEGIN IMMEDIATE.)
    queries = [query for query in await queries_while_opening(member, group.slug) if not taking_turns(query)]
    assert len(queries) == statements_to_open(), "\n".join(queries)
    writes = [query for query in queries if query.startswith(("INSERT", "UPDATE", "DELETE", "WITH expired AS (DELETE"))]
    assert len(writes) == (1 if connection.vendor == "postgresql" else 2)  # the arrival


@pytest.mark.parametrize("channel_layer", ["memory"], indirect=True)
async def test_a_socket_opened_from_an_up_to_date_page_reads_no_history_page(
    channel_layer, group, member, second_member
):
    # The chat page was drawn through seq 1 and its socket opens with ?last_seq=1 (static/js/chat.js), as
    # a crowd coming back does: nothing was posted since, so the history (5, one statement) finds the latest
    # seq and no page after it.
    await database_sync_to_async(post_message)(second_member.pk, group.pk, client_id="one", body="Welcome back")
    queries = [
        query for query in await queries_while_opening(member, group.slug, "last_seq=1") if not taking_turns(query)
    ]
    assert len(queries) == statements_to_open(), "\n".join(queries)


async def test_a_socket_opens_while_another_database_thread_is_busy(channel_layer, group, member, settings):
    """As with PostgreSQL, where the sockets' database work runs on several threads (supportcircle/db_threads.py):
    someone arriving is not kept waiting behind a slow statement of someone else's."""
    settings.DATABASE_THREADS = 2
    monkeypatch_pool = db_threads._pool
    db_threads._pool = None  # a pool of two for this test
    communicator = await database_sync_to_async(socket_for)(member, group.slug)
    started, released = threading.Event(), threading.Event()

    def hold_a_thread() -> None:
        started.set()
        released.wait(10)

    busy = asyncio.ensure_future(db_threads.db(hold_a_thread)())
    try:
        assert await asyncio.to_thread(started.wait, 5)
        is_open, _ = await communicator.connect(timeout=5)
        assert is_open
        ready = await communicator.receive_json_from(timeout=5)
        assert (ready["type"], ready["me"]["pseudonym"]) == ("ready", "Sam")
        assert (await communicator.receive_json_from())["type"] == "history"
        assert not busy.done(), "the socket opened only once the other thread was free"
    finally:
        released.set()
        await busy
        await communicator.disconnect(timeout=5)
        db_threads.close_connections()
        db_threads._pool.shutdown()
        db_threads._pool = monkeypatch_pool
    assert not await database_sync_to_async(Presence.objects.filter(user=member).exists)()


@pytest.mark.parametrize("channel_layer", ["memory"], indirect=True)
async def test_closing_the_chat_in_a_quiet_room_takes_three_statements(channel_layer, group, member):
    # A mass disconnect (a restart, a network blip) queues one goodbye per socket on the database
    # thread: out of "here now" (1 this socket's row, 2 the list for those still here) and
    # 3 whether a live session is on, which there is not. (Not counted: how writers take turns, see taking_turns.)
    seen: list[str] = []

    def note(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    communicator = await database_sync_to_async(socket_for)(member, group.slug)
    assert (await communicator.connect())[0]
    assert (await communicator.receive_json_from())["type"] == "ready"
    await on_every_database_thread(lambda: connection.execute_wrappers.append(note))
    try:
        await communicator.disconnect(timeout=5)
    finally:
        await on_every_database_thread(lambda: connection.execute_wrappers.remove(note))
    statements = [sql for sql in seen if not taking_turns(sql)]
    assert len(statements) == 3, "\n".join(statements)
    assert statements[0].startswith("DELETE")
    assert not await database_sync_to_async(Presence.objects.filter(user=member).exists)()


def everything_on(group, facilitator, member, second_member) -> None:
    """Slow mode, a listening circle, an open round with an answer, a pin, a read marker, a time-out,
    a live session with joins locked and a pause & breathe: all at once in one room."""
    post_message(second_member.pk, group.pk, client_id="pin-me", body="Something worth keeping in view")
    post_message(second_member.pk, group.pk, client_id="read-to", body="And one more thing")
    room.change_room_settings(facilitator.pk, group.pk, slow_mode_seconds=30)
    room.set_listening_circle(facilitator.pk, group.pk, on=True)
    round_ = room.open_round(facilitator.pk, group.pk, kind=RoundKind.CHECKIN)
    room.answer_round(second_member.pk, group.pk, round_id=round_["id"], feelings=("calm",))
    pin_message(facilitator.pk, group.pk, seq=1, pinned=True)
    mark_read(member.pk, group.pk, seq=2)
    time_out_member(facilitator, group, user_id=member.pk, minutes=30)
    live.open_session(facilitator.pk, group.pk)
    live.set_joins_locked(facilitator.pk, group.pk, locked=True)
    live.start_breathing(facilitator.pk, group.pk, seconds=120)


@pytest.mark.parametrize("channel_layer", ["memory"], indirect=True)
async def test_a_busy_room_is_read_in_full(channel_layer, group, facilitator, member, second_member):
    # The quiet-room shortcut (chat.opening.room_at_connect) must never hide what is there.
    await database_sync_to_async(everything_on)(group, facilitator, member, second_member)
    async with connected(member, group.slug) as socket:
        ready = socket.ready
        assert ready["room"]["slow_mode_seconds"] == 30
        assert ready["room"]["circle"]["on"] is True
        assert ready["round"]["kind"] == RoundKind.CHECKIN
        assert [card["user"]["id"] for card in ready["round"]["cards"]] == [second_member.pk]
        assert [pin["seq"] for pin in ready["pinned"]] == [1]
        assert ready["last_read_seq"] == 2
        waiting = [await socket.receive() for _ in range(3)]
        assert {frame["type"] for frame in waiting} == {"notice", "session", "breathe"}
        notice = next(frame for frame in waiting if frame["type"] == "notice")
        assert "paused your posting" in notice["message"]
        session = next(frame for frame in waiting if frame["type"] == "session")
        assert session["session"]["joins_locked"] is True
        assert await socket.nothing_more()
    # And the member's arrival counted for the live session.
    assert await database_sync_to_async(SessionAttendance.objects.filter(session__group=group, user=member).exists)()


class StalledLayer(BoundedInMemoryChannelLayer):
    """A channel layer (Redis) that never answers: the state of a stalled server."""

    async def new_channel(self, prefix: str = "specific.") -> str:
        await asyncio.sleep(3600)


async def test_a_channel_layer_that_never_answers_closes_the_socket_cleanly_in_one_log_line(
    group, member, settings, monkeypatch
):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "tests.chat.test_connect.StalledLayer"}}
    monkeypatch.setattr(consumers, "LAYER_TIMEOUT_SECONDS", 0.1)
    lines: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = lines.append
    logging.getLogger("chat.middleware").addHandler(handler)
    try:
        assert await refused_with(member, group.slug) == CloseCode.SERVER_RESTARTING
    finally:
        logging.getLogger("chat.middleware").removeHandler(handler)
    # Under load this happens to many sockets at once: one line each, no traceback to format.
    [line] = [record for record in lines if "refused before it opened" in record.getMessage()]
    assert "did not answer in time" in line.getMessage()
    assert not line.exc_info


@pytest.mark.parametrize("channel_layer", ["memory"], indirect=True)
@pytest.mark.parametrize("last_seq", ["100000000000000000000", "²", "-3"])
async def test_a_reconnect_with_a_last_seq_out_of_range_is_greeted_with_the_latest_messages(
    channel_layer, group, member, last_seq
):
    async with connected(member, group.slug, query=f"last_seq={last_seq}") as socket:
        assert socket.history["type"] == "history"
        assert socket.history["through_seq"] == socket.ready["latest_seq"]


@pytest.mark.parametrize("channel_layer", ["memory"], indirect=True)
async def test_a_socket_opens_with_a_session_kept_outside_the_database(channel_layer, group, member, settings):
    # A cache (or signed-cookie) session store: whose session it is is asked as session_owners asks any store,
    # then the person is read with the group and membership as for a database session.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    async with connected(member, group.slug) as socket:
        assert socket.ready["me"]["pseudonym"] == "Sam"
        assert socket.ready["can_post"] is True
