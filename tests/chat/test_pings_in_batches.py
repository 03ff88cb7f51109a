"""A ping tells the client the group's newest seq, so a member who missed a live delivery backfills it. The
pings of a process that arrive in the same moments are answered by one statement (chat.pongs), each with
the answer it would have had alone, and never with less than was stored when it arrived.
"""

import asyncio
import gc
import threading

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from chat import actions, broadcast, pongs
from chat.actions import latest_seqs, post_message
from chat.errors import ChatAccessDenied
from chat.protocol import CloseCode
from groups.models import Membership, MembershipState, Role
from supportcircle.http import close_this_threads_connections
from tests.conftest import connected, make_person, on_every_database_thread
from tests.support.waiting import PATIENCE

pytestmark = pytest.mark.django_db(transaction=True)


async def post(author, group, body: str) -> None:
    await database_sync_to_async(post_message)(author.pk, group.pk, client_id=body, body=body)


async def test_a_member_who_missed_a_message_hears_of_it_at_the_next_ping_and_backfills_it(
    channel_layer, group, member, second_member, monkeypatch
):
    async with connected(member, group.slug) as sam:
        # Alex's message is stored, but the channel layer loses it on its way to Sam's socket.
        with monkeypatch.context() as lost:
            lost.setattr(broadcast, "on_commit_message", lambda *args, **kwargs: None)
            await post(second_member, group, "Is anyone else awake?")
        assert await sam.nothing_more()
        await sam.send({"type": "ping"})
        assert (await sam.receive_until("pong"))["latest_seq"] == 1
        await sam.send({"type": "backfill", "after_seq": 0})  # what chat.js does with a higher latest_seq
        history = await sam.receive_until("history")
        assert [m["body"] for m in history["messages"]] == ["Is anyone else awake?"]


def counting_statements(seen: list[str]):
    def note(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    return note


async def test_many_sockets_pinging_at_once_cost_one_statement_and_each_hears_its_own_group(
    channel_layer, group, another_group, member, second_member, facilitator, monkeypatch
):
    monkeypatch.setattr(pongs, "PING_WINDOW_SECONDS", 0.5)  # a slow test machine still sends them all in time
    drew = await database_sync_to_async(make_person)("Drew")
    await database_sync_to_async(Membership.objects.create)(
        user=drew, group=group, state=MembershipState.ACTIVE, accepted_version=1
    )
    lee = await database_sync_to_async(Membership.objects.select_related("user").get)(
        group=another_group, role=Role.FACILITATOR
    )
    await post(second_member, group, "Morning, all.")
    await post(member, group, "Morning, Alex.")
    await post(another_group.jo, another_group, "Slow start today.")
    people = [(member, group), (second_member, group), (facilitator, group), (drew, group)]
    people += [(another_group.jo, another_group), (another_group.kai, another_group), (lee.user, another_group)]
    opened = [connected(person, chosen.slug) for person, chosen in people]
    sockets = [await each.__aenter__() for each in opened]
    try:
        # Drew's membership ends with no signal at all (a raw UPDATE): the ping still decides it.
        await database_sync_to_async(Membership.objects.filter(user=drew).update)(state=MembershipState.LEFT)
        seen: list[str] = []
        note = counting_statements(seen)
        await on_every_database_thread(lambda: connection.execute_wrappers.append(note))
        try:
            for socket in sockets:
                await socket.send({"type": "ping"})
            answers = [await socket.receive_until("pong") for socket in sockets[:3] + sockets[4:]]
            assert await sockets[3].closed_with() == CloseCode.MEMBERSHIP_ENDED
        finally:
            await on_every_database_thread(lambda: connection.execute_wrappers.remove(note))
        # One statement for seven sockets in two groups: each group's newest seq and each person's standing.
        assert len(seen) == 1, "\n".join(seen)
        assert [pong["latest_seq"] for pong in answers] == [2, 2, 2, 1, 1, 1]
    finally:
        for each in reversed(opened):
            await each.__aexit__(None, None, None)


def test_each_reader_gets_the_answer_it_would_get_alone(group, another_group, member, second_member, outsider):
    Membership.objects.filter(user=second_member, group=group).update(state=MembershipState.LEFT)
    banned = make_person("Jamie")
    Membership.objects.create(user=banned, group=group, state=MembershipState.BANNED)
    post_message(member.pk, group.pk, client_id="one", body="A first note.")
    readers = [
        (member.pk, group.pk),
        (member.pk, another_group.pk),  # not a member there
        (another_group.jo.pk, another_group.pk),
        (second_member.pk, group.pk),
        (banned.pk, group.pk),
        (outsider.pk, group.pk),
        (member.pk, 999_999),  # no such group
    ]
    answers = latest_seqs(readers)
    refusals = {reader: answer.code for reader, answer in answers.items() if isinstance(answer, ChatAccessDenied)}
    assert {reader: answer for reader, answer in answers.items() if reader not in refusals} == {
        readers[0]: 1,
        readers[2]: 0,
    }
    assert refusals == {
        readers[1]: CloseCode.NOT_A_MEMBER,
        readers[3]: CloseCode.MEMBERSHIP_ENDED,
        readers[4]: CloseCode.BANNED,
        readers[5]: CloseCode.NOT_A_MEMBER,
        readers[6]: CloseCode.GROUP_NOT_FOUND,
    }


class HeldFirstRead:
    """The real ``latest_seqs``, with the first batch held in its worker thread after it has read: a ping
    that arrives meanwhile must not be answered with that older read."""

    def __init__(self) -> None:
        self.read, self.release, self.calls = threading.Event(), threading.Event(), 0
        self.real = actions.latest_seqs

    def __call__(self, readers):
        self.calls += 1
        answers = self.real(readers)
        if self.calls == 1:
            self.read.set()
            self.release.wait(PATIENCE)
        return answers


async def test_a_ping_that_arrives_while_a_batch_is_read_is_never_answered_with_that_older_read(
    channel_layer, group, member, second_member, monkeypatch
):
    held = HeldFirstRead()
    monkeypatch.setattr(actions, "latest_seqs", held)
    batches = pongs.Pongs()
    sams = asyncio.ensure_future(batches.answer((member.pk, group.pk), within=pongs.PING_WINDOW_SECONDS))
    assert await asyncio.get_running_loop().run_in_executor(None, held.read.wait, PATIENCE)
    await post(second_member, group, "Just made tea.")  # stored after Sam's batch read, before Alex pings
    alexs = asyncio.ensure_future(batches.answer((second_member.pk, group.pk), within=pongs.PING_WINDOW_SECONDS))
    await asyncio.sleep(pongs.PING_WINDOW_SECONDS * 4)
    held.release.set()
    assert await asyncio.wait_for(sams, PATIENCE) == 0
    assert await asyncio.wait_for(alexs, PATIENCE) == 1  # read anew, after Alex asked: it names the tea
    assert held.calls == 2
    # The worker threads' connections go with their threads, so PostgreSQL can drop the test database.
    await asyncio.get_running_loop().shutdown_default_executor()
    gc.collect()
    await database_sync_to_async(close_this_threads_connections)()
