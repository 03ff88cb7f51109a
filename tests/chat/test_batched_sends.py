"""Plain messages sent at the same moment are stored together (chat.batch) and nobody can tell:
each sender is acknowledged once, each message is stored once, numbered without gaps, and
reaches every socket once, in order."""

import asyncio
from contextlib import AsyncExitStack

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.actions import Posted
from chat.batch import FULL_PATH, PlainSend, store_batch
from chat.models import Message
from groups.actions import create_group, join_group
from tests.chat.frames import sees_arrival
from tests.conftest import connected, make_person, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

SENDS_EACH = 5
MORE_PEOPLE = ["Jordan", "Taylor", "Morgan", "Riley", "Quinn", "Avery", "Jamie"]


@pytest.fixture
def table(db, facilitator, member, second_member):
    """ "Big Table": Robin facilitates; Sam, Alex and seven more are seated (ten people in all)."""
    group = create_group(
        name="Big Table",
        facilitators=[facilitator],
        agreements=["What is shared here stays here."],
        description="A larger group for the evening.",
        capacity=12,
    )
    people = [facilitator, member, second_member]
    for person in [member, second_member] + [make_person(name) for name in MORE_PEOPLE]:
        join_group(person, group, accepted_version=1)
        if person not in people:
            people.append(person)
    group.refresh_from_db()
    group.people = people
    return group


def send(client_id: str, body: str) -> dict:
    return {"type": "send", "client_id": client_id, "body": body}


async def read_until(socket, *, acks: int, messages: int, timeout: float = 10) -> tuple[list[dict], list[dict]]:
    """Every ack and message frame (in arrival order) until there are this many of each, skipping the rest."""
    got_acks, got_messages = [], []
    async with asyncio.timeout(timeout):
        while len(got_acks) < acks or len(got_messages) < messages:
            frame = await socket.receive(timeout)
            if frame["type"] == "ack":
                got_acks.append(frame)
            elif frame["type"] == "message":
                got_messages.append(frame["message"])
            elif frame["type"] in ("error", "nudge"):
                raise AssertionError(f"unexpected {frame}")
    return got_acks, got_messages


async def quiet_apart_from_presence(socket) -> list[dict]:
    """Frames other than presence that arrive before the socket goes quiet (empty when none)."""
    extra = []
    while not await socket.nothing_more(0.3):
        frame = await socket.receive()
        if frame["type"] != "presence":
            extra.append(frame)
    return extra


def stored(group) -> list[tuple[int, int, str, str]]:
    rows = Message.objects.filter(group=group).order_by("seq")
    return list(rows.values_list("seq", "author_id", "client_id", "body"))


async def test_ten_members_sending_five_messages_each_at_once_see_all_fifty_once_in_order(channel_layer, table):
    total = len(table.people) * SENDS_EACH
    async with AsyncExitStack() as stack:
        sockets = [await stack.enter_async_context(connected(person, table.slug)) for person in table.people]
        # Everyone has been told everyone else arrived, so what follows is only the conversation.
        for socket in sockets[:-1]:
            await sees_arrival(socket, table.people[-1].pseudonym)

        await asyncio.gather(
            *(
                socket.send(send(f"{person.pseudonym}-{number}", f"{person.pseudonym} shares thought {number}"))
                for person, socket in zip(table.people, sockets, strict=True)
                for number in range(SENDS_EACH)
            )
        )
        received = await asyncio.gather(*(read_until(s, acks=SENDS_EACH, messages=total) for s in sockets))

        for person, (acks, messages) in zip(table.people, received, strict=True):
            # Each sender: one ack per message, none a duplicate, each naming its own stored message.
            assert sorted(ack["client_id"] for ack in acks) == [f"{person.pseudonym}-{n}" for n in range(SENDS_EACH)]
            assert all(ack["duplicate"] is False for ack in acks)
            assert all(ack["message"]["author"]["id"] == person.pk for ack in acks)
            # Each socket: every message once, in seq order, with no gap.
            assert [message["seq"] for message in messages] == list(range(1, total + 1))
        for socket in sockets:
            assert await quiet_apart_from_presence(socket) == []

    rows = await database_sync_to_async(stored)(table)
    assert [seq for seq, *_ in rows] == list(range(1, total + 1))
    expected = {
        (person.pk, f"{person.pseudonym}-{n}", f"{person.pseudonym} shares thought {n}")
        for person in table.people
        for n in range(SENDS_EACH)
    }
    assert sorted((author, client_id, body) for _, author, client_id, body in rows) == sorted(expected)
    # What each socket was told matches what is stored, seq for seq.
    by_seq = {seq: (author, client_id, body) for seq, author, client_id, body in rows}
    for acks, _ in received:
        for ack in acks:
            assert by_seq[ack["message"]["seq"]][1:] == (ack["client_id"], ack["message"]["body"])


async def test_a_member_sending_past_the_limit_from_several_tabs_at_once_gets_exactly_the_limit_through(
    channel_layer, group, member, second_member, settings
):
    limit, tabs, each = 2, 4, 2
    settings.CHAT_RATE_LIMIT = (limit, 10)
    async with AsyncExitStack() as stack:
        alex = await stack.enter_async_context(connected(second_member, group.slug))
        sams = [await stack.enter_async_context(connected(member, group.slug)) for _ in range(tabs)]
        await sees_arrival(alex, "Sam")
        await asyncio.gather(
            *(tab.send(send(f"tab{t}-{n}", f"Tab {t}, thought {n}")) for t, tab in enumerate(sams) for n in range(each))
        )
        answers = []
        for tab in sams:
            for _ in range(each):
                frame = await tab.receive()
                while frame["type"] not in ("ack", "error"):
                    frame = await tab.receive()
                answers.append(frame)

        acks = [frame for frame in answers if frame["type"] == "ack"]
        refusals = [frame for frame in answers if frame["type"] == "error"]
        assert len(acks) == limit
        assert all(ack["duplicate"] is False for ack in acks)
        assert len(refusals) == tabs * each - limit
        for refusal in refusals:
            assert refusal["code"] == "rate_limited"
            assert 1 <= refusal["retry_after"] <= 10
            assert refusal["ref"].startswith("tab")
        seen_by_alex = [(await alex.receive_until("message"))["message"]["seq"] for _ in range(limit)]
        assert seen_by_alex == [1, 2]
        assert await quiet_apart_from_presence(alex) == []

    rows = await database_sync_to_async(stored)(group)
    assert [seq for seq, *_ in rows] == [1, 2]
    assert sorted(client_id for _, _, client_id, _ in rows) == sorted(ack["client_id"] for ack in acks)


async def test_two_tabs_sending_the_same_client_id_at_once_store_one_message_and_both_are_acknowledged(
    channel_layer, group, member, second_member
):
    async with (
        connected(second_member, group.slug) as alex,
        connected(member, group.slug) as sam_laptop,
        connected(member, group.slug) as sam_phone,
    ):
        await sees_arrival(alex, "Sam")
        frame = send("same-draft-1", "Sent from two tabs at once")
        await asyncio.gather(sam_laptop.send(frame), sam_phone.send(frame))
        first, second = await sam_laptop.receive_until("ack"), await sam_phone.receive_until("ack")

        # One of the two stored it; the other was told it is already there.
        assert sorted([first["duplicate"], second["duplicate"]]) == [False, True]
        assert first["message"]["seq"] == second["message"]["seq"] == 1
        assert first["message"]["body"] == second["message"]["body"] == "Sent from two tabs at once"
        assert (await alex.receive_until("message"))["message"]["seq"] == 1
        assert await quiet_apart_from_presence(alex) == []

    rows = await database_sync_to_async(stored)(group)
    assert rows == [(1, member.pk, "same-draft-1", "Sent from two tabs at once")]


def session_key_of(socket) -> str:
    from django.conf import settings

    cookie = dict(socket.communicator.scope["headers"])[b"cookie"].decode()
    return cookie.removeprefix(f"{settings.SESSION_COOKIE_NAME}=")


async def test_a_socket_whose_session_was_logged_out_elsewhere_is_closed_and_its_message_not_stored(
    channel_layer, group, member, second_member
):
    async with connected(second_member, group.slug) as alex, connected(member, group.slug) as sam:
        await sees_arrival(alex, "Sam")
        # Logged out from another server process: the session row is gone, and no signal reached this one.
        await database_sync_to_async(Session.objects.filter(session_key=session_key_of(sam)).delete)()

        await sam.send(send("after-logout", "Is anyone still there?"))
        assert await sam.closed_with() == 4401
        assert [f["type"] for f in await quiet_apart_from_presence(alex)] == []
    assert await database_sync_to_async(stored)(group) == []


# The batch's queries, whatever its size and however many groups it spans:
# 1 the sessions (SessionGuard's re-check), 2 their people,
# 3 the memberships with group, room state, person and boundary settings,
# 4 client ids already used (a resend), 5 time-outs,
# 6 the authors' recent message times (rate limit and slow mode),
# 7 one UPDATE … CASE … RETURNING for every group's sequence numbers, 8 one INSERT of every message.
BATCH_QUERIES = 8


def table_queries(captured) -> list[str]:
    skip = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")
    return [q["sql"] for q in captured.captured_queries if not q["sql"].lstrip().upper().startswith(skip)]


@pytest.mark.django_db(transaction=False)
def test_a_batch_of_twenty_plain_sends_in_two_groups_takes_as_many_queries_as_one(
    group, member, second_member, facilitator
):
    evening = create_group(
        name="Evening Circle", facilitators=[facilitator], agreements=["We listen with curiosity, not judgment."]
    )
    join_group(member, evening, accepted_version=1)
    join_group(second_member, evening, accepted_version=1)
    sessions = {person.pk: session_cookie(person) for person in (member, second_member, facilitator)}
    seats = [(person, g) for g in (group, evening) for person in (member, second_member, facilitator)]

    def plain(number: int) -> PlainSend:
        person, g = seats[number % len(seats)]
        return PlainSend(sessions[person.pk], person.pk, g.pk, f"c-{number}", f"A quiet thought, number {number}")

    with CaptureQueriesContext(connection) as one:
        outcomes = store_batch([plain(0)])
    assert isinstance(outcomes[0], Posted), outcomes

    with CaptureQueriesContext(connection) as twenty:
        outcomes = store_batch([plain(number) for number in range(1, 21)])
    assert all(isinstance(outcome, Posted) for outcome in outcomes), outcomes
    assert FULL_PATH not in outcomes

    assert len(table_queries(one)) == BATCH_QUERIES, table_queries(one)
    assert len(table_queries(twenty)) == BATCH_QUERIES, table_queries(twenty)
    for g in (group, evening):
        sent_here = sum(1 for number in range(21) if seats[number % len(seats)][1] == g)
        assert sorted(Message.objects.filter(group=g).values_list("seq", flat=True)) == list(range(1, sent_here + 1))
