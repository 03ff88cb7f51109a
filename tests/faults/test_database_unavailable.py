"""The database is briefly unavailable: the sender is told to retry, nothing is acknowledged or
broadcast, nobody is let in or served unauthorized, and the retry stores exactly once."""

import logging
import time
from contextlib import asynccontextmanager

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import OperationalError, transaction
from django.db.backends.utils import CursorWrapper

from chat.actions import post_message
from chat.models import Message
from chat.protocol import MAX_WAITING_FRAMES, CloseCode
from supportcircle.accounts import sessions
from supportcircle.realtime import group_channel
from tests.conftest import connected, socket_for
from tests.support.waiting import FRAME_PATIENCE

pytestmark = pytest.mark.django_db(transaction=True)


def refuse(self, *args, **kwargs):
    raise OperationalError("the database is unavailable")


async def settle(*sockets) -> None:
    """Read what arriving sockets announce to each other ("here now" lists), so only replies remain."""
    for socket in sockets:
        while not await socket.nothing_more():
            await socket.receive()


@asynccontextmanager
async def database_down():
    """Every statement fails at the driver boundary, in every thread, as during a failover."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CursorWrapper, "_execute", refuse)
        patch.setattr(CursorWrapper, "_executemany", refuse)
        yield


async def test_a_send_during_an_outage_is_not_acknowledged_and_its_retry_stores_once(
    channel_layer, group, member, second_member
):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        frame = {"type": "send", "client_id": "sam-1", "body": "Is anyone up?"}
        await settle(sam, alex)
        async with database_down():
            await sam.send(frame)
            error = await sam.receive()
            assert error["type"] == "error"
            assert error["code"] == "try_again"
            assert error["ref"] == "sam-1"
            assert error["retry_after"] >= 1
            assert await sam.nothing_more()
            assert await alex.nothing_more()

        await sam.send(frame)
        ack = await sam.receive_until("ack")
        assert ack["duplicate"] is False
        assert (await alex.receive_until("message"))["message"]["body"] == "Is anyone up?"
        await sam.send(frame)
        assert (await sam.receive_until("ack"))["duplicate"] is True
    assert await database_sync_to_async(Message.objects.filter(group=group).count)() == 1


@pytest.mark.parametrize("frame", [{"type": "ping"}, {"type": "backfill", "after_seq": 0}])
async def test_reads_during_an_outage_fail_closed(channel_layer, group, member, frame):
    async with connected(member, group.slug) as sam:
        await settle(sam)
        async with database_down():
            await sam.send(frame)
            error = await sam.receive()
            assert error["code"] == "try_again"
            assert await sam.nothing_more()


async def test_a_socket_opened_during_an_outage_is_refused_with_a_code_to_retry_later(channel_layer, group, member):
    communicator = await database_sync_to_async(socket_for)(member, group.slug)
    async with database_down():
        is_open, _ = await communicator.connect()
        assert is_open
        output = await communicator.receive_output(timeout=FRAME_PATIENCE)
    assert output == {"type": "websocket.close", "code": CloseCode.SERVER_RESTARTING}
    await communicator.wait()


async def test_a_message_that_cannot_be_authorized_in_an_outage_is_withheld_then_caught_up(
    channel_layer, group, member, second_member, monkeypatch, caplog
):
    """Alex's message is stored just as the database goes down. Sam's socket cannot re-check Sam's
    right to receive it, so it is not handed over (fail closed), and the operator is told once,
    without the words. When the database answers again, Sam's next ping shows it is there, and
    the backfill brings it."""
    monkeypatch.setattr(sessions, "RECHECK_SECONDS", 0)  # every delivery re-checks
    caplog.set_level(logging.WARNING, logger="chat.recheck")
    async with connected(member, group.slug) as sam:
        await settle(sam)
        with pytest.MonkeyPatch.context() as outage:

            def go_down() -> None:
                outage.setattr(CursorWrapper, "_execute", refuse)
                outage.setattr(CursorWrapper, "_executemany", refuse)

            def post_as_the_database_goes_down():
                with transaction.atomic():
                    # Registered first, so it runs first after the commit: the message is stored,
                    # and the broadcast post_message registers meets a database that is down.
                    transaction.on_commit(go_down)
                    return post_message(second_member.pk, group.pk, client_id="alex-1", body="Checking in before bed.")

            posted = await database_sync_to_async(post_as_the_database_goes_down)()
            assert await sam.nothing_more(timeout=0.5)
            withheld = [r.getMessage() for r in caplog.records if "live delivery withheld" in r.getMessage()]
            assert len(withheld) == 1
            assert "Checking in" not in caplog.text

        seq = posted.message.seq
        await sam.send({"type": "ping"})
        assert (await sam.receive_until("pong"))["latest_seq"] == seq
        await sam.send({"type": "backfill", "after_seq": seq - 1})
        history = await sam.receive_until("history")
        assert [m["body"] for m in history["messages"]] == ["Checking in before bed."]

        # Live delivery goes on, and the operator hears that it did.
        await database_sync_to_async(post_message)(second_member.pk, group.pk, client_id="alex-2", body="Goodnight.")
        assert (await sam.receive_until("message"))["message"]["body"] == "Goodnight."
        resumed = [r.getMessage() for r in caplog.records if "live delivery resumed" in r.getMessage()]
        assert len(resumed) == 1
        assert "(1 re-checks failed meanwhile)" in resumed[0]


async def test_the_catch_up_after_redis_returns_waits_for_the_database_then_arrives(channel_layer, group, member):
    """Redis came back while the database was unavailable: the unprompted pong that tells a quiet member
    what they missed is not lost, it arrives within seconds of the database's return."""
    async with connected(member, group.slug) as sam:
        await settle(sam)
        async with database_down():
            await get_channel_layer().group_send(group_channel(group.pk), {"type": "layer.reconnected"})
            assert await sam.nothing_more(timeout=1.5)
        pong = await sam.receive_until("pong", timeout=5)
    assert pong["latest_seq"] == 0


async def test_frames_beyond_the_bound_are_answered_at_once_while_the_database_hangs(channel_layer, group, member):
    """A client resending in a storm while each statement takes a while: what one socket can pile up
    is bounded; every frame still gets exactly one answer, the ones beyond the bound at once."""
    frames = MAX_WAITING_FRAMES * 3
    async with connected(member, group.slug) as sam:
        await settle(sam)
        with pytest.MonkeyPatch.context() as slow:
            real = CursorWrapper._execute

            def hanging(self, *args, **kwargs):
                time.sleep(0.05)
                return real(self, *args, **kwargs)

            slow.setattr(CursorWrapper, "_execute", hanging)
            for _ in range(frames):
                await sam.send({"type": "ping"})
            answers = [await sam.receive(timeout=30) for _ in range(frames)]
        assert await sam.nothing_more()
    told_to_wait = [a for a in answers if a["type"] == "error"]
    assert {(a["code"], a["frame"]) for a in told_to_wait} == {("try_again", "ping")}
    assert len(told_to_wait) >= frames - MAX_WAITING_FRAMES - 2  # the rest waited their turn
    assert len(answers) - len(told_to_wait) == sum(a["type"] == "pong" for a in answers)


async def test_a_delivery_withheld_in_an_outage_is_followed_by_a_pong_once_the_database_answers(
    channel_layer, group, member, second_member, monkeypatch
):
    """Nobody has to ping: the socket says what is newest as soon as it can, and the client backfills."""
    monkeypatch.setattr(sessions, "RECHECK_SECONDS", 0)  # every delivery re-checks
    async with connected(member, group.slug) as sam:
        await settle(sam)
        posted = await database_sync_to_async(post_message)(second_member.pk, group.pk, client_id="a1", body="Hi")
        await sam.receive_until("message")
        async with database_down():
            await get_channel_layer().group_send(
                group_channel(group.pk),
                {"type": "chat.message", "seq": 2, "author_id": second_member.pk, "frame": "{}", "quoted": None},
            )
            assert await sam.nothing_more(timeout=1)
        pong = await sam.receive_until("pong", timeout=10)
    assert pong["latest_seq"] == posted.message.seq
