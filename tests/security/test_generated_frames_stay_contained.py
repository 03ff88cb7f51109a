"""Frames of every documented type with any JSON values (the whole of Unicode with lone surrogates and
NUL, huge and negative numbers, nesting, wrong types) through the real consumer, while other members
talk at the same moment: the sender only ever gets documented frames and codes (never 1011), and
everyone else's messages are acknowledged and stored.

A member fuzzes beside a second member of the same group and Jo in another group; a facilitator
fuzzes beside Jo (their own room they may change at will, so nobody of it stands by).
"""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest
from channels.db import database_sync_to_async
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat.models import Message
from chat.protocol import SERVER_FRAME_TYPES, CloseCode, ErrorCode
from tests.conftest import Socket, socket_for
from tests.security.generated import frames

pytestmark = pytest.mark.django_db(transaction=True)

DOCUMENTED_ERRORS = {code.value for code in ErrorCode}
DOCUMENTED_CLOSES = {int(code) for code in CloseCode}
# How many generated frames each test tries: examples times frames per example (about half the maximum).
EXAMPLES, FRAMES_PER_EXAMPLE = 25, 8

serial = itertools.count()


async def open_socket(user, slug: str) -> Socket:
    communicator = await database_sync_to_async(socket_for)(user, slug)
    is_open, _ = await communicator.connect()
    assert is_open
    socket = Socket(communicator)
    assert (await socket.receive())["type"] == "ready"
    return socket


async def answer_to(socket: Socket, text: str) -> tuple[list[dict], int | None]:
    """Send one frame, then a ping; everything up to the pong is the answer (or the close code)."""
    await socket.send_text(text)
    await socket.send({"type": "ping"})
    answer = []
    while True:
        output = await socket.communicator.receive_output(timeout=10)
        if output["type"] == "websocket.close":
            return answer, output.get("code")
        output["text"].encode("utf-8")  # whatever the server sends is UTF-8
        frame = json.loads(output["text"])
        if frame["type"] == "pong":
            return answer, None
        answer.append(frame)


async def talk(socket: Socket, body: str) -> str:
    """Send one ordinary message and wait for its ack; its client id."""
    client_id = f"calm-{next(serial)}"
    await socket.send({"type": "send", "client_id": client_id, "body": body})
    while True:
        frame = await socket.receive(10)
        if frame["type"] == "ack" and frame["client_id"] == client_id:
            return client_id
        assert frame["type"] != "error", frame


async def fuzz_beside(fuzzer, slug: str, texts: list[str], bystanders: list[tuple]) -> None:
    sockets = [await open_socket(person, where) for person, where in bystanders]
    fuzzing = await open_socket(fuzzer, slug)
    acked = []
    try:
        for text in texts:
            (answer, close_code), *ids = await asyncio.gather(
                answer_to(fuzzing, text), *(talk(socket, "Still here with you all") for socket in sockets)
            )
            acked += ids
            assert close_code is None or close_code in DOCUMENTED_CLOSES, close_code
            for frame in answer:
                assert frame["type"] in SERVER_FRAME_TYPES, frame
                if frame["type"] == "error":
                    assert frame["code"] in DOCUMENTED_ERRORS, frame
            if close_code is not None:
                await fuzzing.communicator.wait(5)
                fuzzing = await open_socket(fuzzer, slug)
    finally:
        for socket in [fuzzing, *sockets]:
            await socket.communicator.disconnect(timeout=5)
    stored = await database_sync_to_async(set)(
        Message.objects.filter(client_id__in=acked).values_list("client_id", flat=True)
    )
    assert stored == set(acked)


fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@fuzz_settings
@given(texts=st.lists(frames(), min_size=1, max_size=FRAMES_PER_EXAMPLE))
async def test_a_members_generated_frames_reach_only_them(
    channel_layer, group, member, second_member, another_group, settings, texts
):
    settings.CHAT_RATE_LIMIT = (100_000, 10)
    await fuzz_beside(member, group.slug, texts, [(second_member, group.slug), (another_group.jo, another_group.slug)])


@fuzz_settings
@given(texts=st.lists(frames(), min_size=1, max_size=FRAMES_PER_EXAMPLE))
async def test_a_facilitators_generated_frames_reach_only_their_room(
    channel_layer, group, facilitator, another_group, settings, texts
):
    settings.CHAT_RATE_LIMIT = (100_000, 10)
    await fuzz_beside(facilitator, group.slug, texts, [(another_group.jo, another_group.slug)])
