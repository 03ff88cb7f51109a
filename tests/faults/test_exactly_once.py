"""Sequence numbers stay strictly increasing without gaps, and a retried send is stored once."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from chat.models import Message
from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)


async def acks_for(socket, count: int) -> list[int]:
    seqs = []
    while len(seqs) < count:
        frame = await socket.receive(timeout=10)
        assert frame["type"] != "error", frame
        if frame["type"] == "ack":
            seqs.append(frame["message"]["seq"])
    return seqs


async def test_two_tabs_sending_a_hundred_messages_each_get_gapless_increasing_numbers(
    channel_layer, group, member, settings
):
    """Each tab sends all hundred at once, as a client with a full outbox does after a reconnect: what
    the server cannot queue it answers with try_again, and the tab sends that one again, as documented."""
    settings.CHAT_RATE_LIMIT = (1_000, 10)  # one person writing 200 messages at once

    async def tab(socket, name: str) -> list[int]:
        frames = {
            f"{name}-{n}": {"type": "send", "client_id": f"{name}-{n}", "body": f"{name} says {n}"} for n in range(100)
        }
        for frame in frames.values():
            await socket.send(frame)
        acked: dict[str, int] = {}  # in the order the acks arrive
        while len(acked) < len(frames):
            frame = await socket.receive(timeout=10)
            if frame["type"] == "ack":
                acked[frame["client_id"]] = frame["message"]["seq"]
            elif frame["type"] == "error":
                assert frame["code"] == "try_again", frame
                await asyncio.sleep(frame["retry_after"] / 20)  # sooner than a client would: a test's patience
                await socket.send(frames[frame["ref"]])
        return list(acked.values())

    async with connected(member, group.slug) as first_tab, connected(member, group.slug) as second_tab:
        first, second = await asyncio.gather(tab(first_tab, "first"), tab(second_tab, "second"))

    assert first == sorted(first) and len(set(first)) == 100
    assert second == sorted(second) and len(set(second)) == 100
    assert sorted(first + second) == list(range(1, 201))
    stored = await database_sync_to_async(list)(Message.objects.filter(group=group).values_list("seq", flat=True))
    assert sorted(stored) == list(range(1, 201))


async def test_a_send_whose_ack_was_lost_is_stored_once_when_retried_after_reconnecting(
    channel_layer, group, member, second_member
):
    frame = {"type": "send", "client_id": "lost-ack-1", "body": "Did this go through?"}
    async with connected(member, group.slug) as sam:
        await sam.send(frame)
    # The connection dropped before the ack could be read; the client resends on reconnect.
    async with connected(member, group.slug, query="last_seq=0") as sam, connected(second_member, group.slug) as alex:
        await sam.send(frame)
        ack = await sam.receive_until("ack")
        assert ack["duplicate"] is True
        assert ack["message"]["seq"] == 1
        assert [m["body"] for m in alex.history["messages"]] == ["Did this go through?"]
    bodies = await database_sync_to_async(list)(Message.objects.filter(group=group).values_list("body", flat=True))
    assert bodies == ["Did this go through?"]
