"""One member's bad frame, or a failure while handling it, reaches only that member.

Text that cannot be stored or sent on as UTF-8 (a lone surrogate, NUL) is refused at the edge as the
documented ``invalid_field`` naming the field; an error frame never echoes what it refused; a write
that fails for one sender fails for that sender alone, and everyone else's message is stored and
acknowledged; a socket whose consumer fails no longer counts against its owner's limit.
"""

import json
import logging

import pytest
from channels.db import database_sync_to_async

from chat import consumers
from chat.models import Message
from chat.protocol import ErrorCode
from tests.conftest import connected, socket_for
from tests.support.waiting import FRAME_PATIENCE

pytestmark = pytest.mark.django_db(transaction=True)


# Raw text frames: valid JSON and valid UTF-8 on the wire, holding a JSON-escaped lone surrogate or NUL.
UNSTORABLE_FRAMES = [
    ('{"type":"send","client_id":"x1","body":"a\\ud800b"}', "body"),
    ('{"type":"send","client_id":"x1","body":"a\\u0000b"}', "body"),
    ('{"type":"send","client_id":"x1","body":"fine","content_warning":"\\udfff"}', "content_warning"),
    ('{"type":"send","client_id":"x\\ud800","body":"fine"}', "client_id"),
    ('{"type":"edit","seq":1,"body":"sorry \\ud83d"}', "body"),
    ('{"type":"report","seq":1,"reason":"other","note":"\\ud800 worried"}', "note"),
    ('{"type":"round_answer","round_id":1,"note":"\\u0000"}', "note"),
    ('{"type":"moderate","action":"warn","member":1,"agreement":1,"note":"\\udc00"}', "note"),
    ('{"type":"breathe","seconds":30,"prompt":"breathe \\ud800"}', "prompt"),
    ('{"type":"check_in_with","member":1,"message":"hi \\ud800"}', "message"),
]


@pytest.mark.parametrize(
    ("text", "field"), UNSTORABLE_FRAMES, ids=[f"{t.split(',')[0][9:-1]}-{f}" for t, f in UNSTORABLE_FRAMES]
)
async def test_text_that_cannot_be_stored_is_refused_naming_the_field(channel_layer, group, member, text, field):
    async with connected(member, group.slug) as sam:
        await sam.send_text(text)
        error = await sam.receive_until("error")
        assert (error["code"], error["detail"]) == (ErrorCode.INVALID_FIELD.value, field)
        assert error["frame"] == json.loads(text)["type"]
        # Nothing was stored, and the socket goes on.
        await sam.send({"type": "send", "client_id": "after", "body": "Still here"})
        assert (await sam.receive_until("ack"))["message"]["body"] == "Still here"
    assert await database_sync_to_async(list)(Message.objects.values_list("body", flat=True)) == ["Still here"]


async def test_an_unknown_type_is_refused_without_echoing_it(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        await sam.send_text('{"type":"\\ud83d"}')
        output = await sam.communicator.receive_output(3)
        assert output["type"] == "websocket.send"
        output["text"].encode("utf-8")  # what the server sends is always UTF-8
        error = json.loads(output["text"])
        assert (error["code"], error["detail"]) == (ErrorCode.UNKNOWN_TYPE.value, "type")
        assert await sam.nothing_more()


def sends(prefix: str, count: int) -> list[dict]:
    return [{"type": "send", "client_id": f"{prefix}-{n}", "body": f"{prefix} says hello {n}"} for n in range(count)]


async def test_a_failing_send_fails_for_its_sender_alone(
    channel_layer, group, member, second_member, another_group, monkeypatch, settings
):
    """Kai's message fails while being written (here: the edge check is switched off, so a lone surrogate
    reaches the database); Alex, Jo and Sam, sending at the same moment in two groups, are all stored."""
    settings.CHAT_RATE_LIMIT = (1_000, 10)
    monkeypatch.setattr("chat.protocol.storable_text", lambda text: True)
    jo, kai = another_group.jo, another_group.kai
    async with (
        connected(kai, another_group.slug) as kai_socket,
        connected(jo, another_group.slug) as jo_socket,
        connected(member, group.slug) as sam_socket,
        connected(second_member, group.slug) as alex_socket,
    ):
        others = {jo_socket: sends("jo", 5), sam_socket: sends("sam", 5), alex_socket: sends("alex", 5)}
        # Everything is on its way before anything is answered, so the writes share batches.
        for index in range(5):
            await kai_socket.send_text(f'{{"type":"send","client_id":"poison-{index}","body":"a\\ud800b"}}')
            for socket, frames in others.items():
                await socket.send(frames[index])

        for socket, frames in others.items():
            acked = []
            while len(acked) < len(frames):
                frame = await socket.receive_until("ack", timeout=10)
                acked.append(frame["client_id"])
            assert sorted(acked) == sorted(f["client_id"] for f in frames)
        errors = [await kai_socket.receive_until("error", timeout=10) for _ in range(5)]
        assert {(e["code"], e["frame"]) for e in errors} == {(ErrorCode.SERVER_ERROR.value, "send")}
        assert sorted(e["ref"] for e in errors) == [f"poison-{n}" for n in range(5)]
        # Kai's socket is still open and still works.
        await kai_socket.send({"type": "send", "client_id": "kai-ok", "body": "sorry, trying again"})
        assert (await kai_socket.receive_until("ack"))["client_id"] == "kai-ok"

    stored = await database_sync_to_async(set)(Message.objects.values_list("client_id", flat=True))
    assert stored == {f["client_id"] for frames in others.values() for f in frames} | {"kai-ok"}


async def test_a_consumer_that_fails_frees_its_socket_at_once(channel_layer, group, member, monkeypatch, settings):
    """However a consumer stops, its socket stops counting toward the person's limit of open sockets."""
    settings.MAX_SOCKETS_PER_PERSON = 2

    async def fails(self, text_data=None, bytes_data=None):
        raise RuntimeError("a fault nobody foresaw")

    monkeypatch.setattr(consumers.GroupChatConsumer, "receive", fails)
    for _ in range(3):  # more times than the limit allows open sockets
        communicator = await database_sync_to_async(socket_for)(member, group.slug)
        assert (await communicator.connect())[0]
        await communicator.receive_json_from()  # ready
        await communicator.send_json_to({"type": "ping"})
        with pytest.raises(RuntimeError):
            await communicator.wait(FRAME_PATIENCE)
    monkeypatch.undo()
    async with connected(member, group.slug) as sam:
        assert sam.ready["type"] == "ready"  # not 4429: the failed sockets were let go of


async def test_an_outage_is_logged_once_per_socket_with_a_count(channel_layer, group, member, monkeypatch, caplog):
    """A database that fails every frame leaves one warning for the socket, then a count when it closes."""
    from django.db import OperationalError

    def unavailable(*args, **kwargs):
        raise OperationalError("the database is unavailable")

    monkeypatch.setattr("chat.actions.latest_seqs", unavailable)
    with caplog.at_level(logging.WARNING, logger="chat.failures"):
        async with connected(member, group.slug) as sam:
            for _ in range(4):
                await sam.send({"type": "ping"})
                error = await sam.receive_until("error")
                assert (error["code"], error["frame"]) == (ErrorCode.TRY_AGAIN.value, "ping")
    lines = [record for record in caplog.records if record.name == "chat.failures"]
    assert [record.exc_info for record in lines] == [None, None]
    assert "4 times" in lines[-1].getMessage()
