"""Every kind of bad frame gets its documented error frame, and the socket stays usable."""

import json

import pytest

from chat.protocol import MAX_BODY_CHARS, MAX_FRAME_CHARS, ErrorCode
from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)

BAD_FRAMES = [
    ("{not json", ErrorCode.BAD_JSON),
    ("[" * 1000 + "]" * 1000, ErrorCode.BAD_JSON),
    ('["send"]', ErrorCode.NOT_AN_OBJECT),
    ('"hello"', ErrorCode.NOT_AN_OBJECT),
    ("{}", ErrorCode.MISSING_FIELD),
    ('{"type": 7}', ErrorCode.MISSING_FIELD),
    ('{"type": "shout"}', ErrorCode.UNKNOWN_TYPE),
    ('{"type": "send", "body": "hi"}', ErrorCode.MISSING_FIELD),
    ('{"type": "send", "client_id": "a"}', ErrorCode.MISSING_FIELD),
    ('{"type": "send", "client_id": "a", "body": "   "}', ErrorCode.MISSING_FIELD),
    ('{"type": "send", "client_id": "a", "body": 42}', ErrorCode.INVALID_FIELD),
    ('{"type": "send", "client_id": "", "body": "hi"}', ErrorCode.INVALID_FIELD),
    (json.dumps({"type": "send", "client_id": "x" * 65, "body": "hi"}), ErrorCode.INVALID_FIELD),
    (json.dumps({"type": "send", "client_id": "a", "body": "x" * (MAX_BODY_CHARS + 1)}), ErrorCode.TOO_LONG),
    ('{"type": "backfill", "after_seq": -1}', ErrorCode.INVALID_FIELD),
    ('{"type": "backfill", "after_seq": "3"}', ErrorCode.INVALID_FIELD),
    ('{"type": "backfill", "after_seq": true}', ErrorCode.INVALID_FIELD),
    ('{"type": "backfill"}', ErrorCode.MISSING_FIELD),
    ('{"type": "backfill", "after_seq": 100000000000000000000}', ErrorCode.INVALID_FIELD),
    ('{"type": "react", "seq": 100000000000000000000, "kind": "sending_care", "on": true}', ErrorCode.INVALID_FIELD),
    ('{"type": "delete", "seq": 100000000000000000000}', ErrorCode.INVALID_FIELD),
    (json.dumps({"type": "send", "client_id": "a", "body": "x" * MAX_FRAME_CHARS}), ErrorCode.FRAME_TOO_LARGE),
]


@pytest.mark.parametrize(("text", "code"), BAD_FRAMES, ids=[code.value for _, code in BAD_FRAMES])
async def test_a_bad_frame_gets_its_error_and_the_socket_stays_usable(group, member, text, code):
    async with connected(member, group.slug) as sam:
        await sam.send_text(text)
        error = await sam.receive()
        assert error["type"] == "error"
        assert error["code"] == code.value
        assert error["message"]  # a sentence a person can read

        await sam.send({"type": "send", "client_id": "after-error", "body": "Still here"})
        assert (await sam.receive_until("ack"))["message"]["body"] == "Still here"


async def test_a_binary_frame_is_refused_kindly(group, member):
    async with connected(member, group.slug) as sam:
        await sam.communicator.send_to(bytes_data=b"\x00\xff")
        error = await sam.receive()
        assert error["code"] == ErrorCode.BINARY_NOT_SUPPORTED.value


async def test_a_too_long_message_names_the_client_id_so_the_draft_can_be_restored(group, member):
    async with connected(member, group.slug) as sam:
        await sam.send({"type": "send", "client_id": "long-one", "body": "x" * (MAX_BODY_CHARS + 1)})
        error = await sam.receive()
        assert error["ref"] == "long-one"
        assert "4,000" in error["message"]
