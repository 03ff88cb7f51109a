"""Whatever arrives on the socket, the answer is a documented frame or close code: never a 1011,
never a traceback, never half a change.

Generated frames (hypothesis) go through the real ASGI application; raw frames
(invalid UTF-8, oversize) go through a real daphne with the `websockets` client.
"""

import asyncio
import contextlib
import json

import pytest
import websockets
from asgiref.sync import async_to_sync, sync_to_async
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat.models import Message
from chat.protocol import CLIENT_FRAME_TYPES, MAX_FRAME_CHARS, SERVER_FRAME_TYPES, CloseCode, ErrorCode
from tests.conftest import connected
from tests.support.servers import Daphne, ws_headers

pytestmark = pytest.mark.django_db(transaction=True)

DOCUMENTED_ERRORS = {code.value for code in ErrorCode}
DOCUMENTED_CLOSES = {int(code) for code in CloseCode}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
field_names = st.sampled_from(
    ["client_id", "body", "after_seq", "seq", "reply_to", "content_warning", "post_anyway", "kind", "on", "pinned"]
)
# Frames shaped like ours, with any values: the likeliest to slip past a parser.
our_shaped_frames = st.builds(
    lambda frame_type, fields: json.dumps({"type": frame_type, **fields}),
    st.sampled_from(CLIENT_FRAME_TYPES) | st.text(max_size=20),
    st.dictionaries(field_names, json_values, max_size=5),
)
any_json = json_values.map(json.dumps)
garbage = st.text(max_size=200)
deep = st.integers(min_value=500, max_value=1_200).map(
    lambda depth: '{"type":"send","client_id":"d","body":' + "[" * depth + "]" * depth + "}"
)
oversize = st.integers(min_value=MAX_FRAME_CHARS + 1, max_value=MAX_FRAME_CHARS * 4).map(lambda n: "x" * n)


async def answer_to(socket, text: str | None = None, data: bytes | None = None) -> tuple[list[dict], int | None]:
    """Send one frame, then a ping; everything up to the pong is the answer (or the close code)."""
    frame = {"type": "websocket.receive"}
    frame.update({"text": text} if data is None else {"bytes": data})
    await socket.communicator.send_input(frame)
    await socket.send({"type": "ping"})
    frames = []
    while True:
        output = await socket.communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return frames, output.get("code")
        frame = json.loads(output["text"])
        if frame["type"] == "pong":
            return frames, None
        frames.append(frame)


def assert_documented(frames: list[dict], close_code: int | None) -> None:
    assert close_code is None or close_code in DOCUMENTED_CLOSES, close_code
    for frame in frames:
        assert frame["type"] in SERVER_FRAME_TYPES, frame
        if frame["type"] == "error":
            assert frame["code"] in DOCUMENTED_ERRORS, frame
            assert frame["message"] and "Traceback" not in frame["message"]


async def fuzz_once(user, slug: str, text: str | None, data: bytes | None = None) -> None:
    before = await sync_to_async(Message.objects.count)()
    async with connected(user, slug) as socket:
        frames, close_code = await answer_to(socket, text, data)
    assert_documented(frames, close_code)
    if any(frame["type"] == "error" for frame in frames) and not any(f["type"] == "ack" for f in frames):
        # A refused frame changed nothing.
        assert await sync_to_async(Message.objects.count)() == before


fuzz_settings = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@fuzz_settings
@given(text=our_shaped_frames | any_json | garbage)
def test_generated_frames_get_documented_answers(group, member, settings, text):
    settings.CHAT_RATE_LIMIT = (10_000, 10)
    async_to_sync(fuzz_once)(member, group.slug, text)


@fuzz_settings
@given(text=deep | oversize)
def test_deeply_nested_and_oversize_frames_get_documented_answers(group, member, text):
    async_to_sync(fuzz_once)(member, group.slug, text)


@pytest.mark.parametrize(
    "text, data, code",
    [
        ("[" * 1_000 + "]" * 1_000, None, "bad_json"),
        ('{"type": "send", "client_id": "n", "body": ' + "[" * 1_000 + "]" * 1_000 + "}", None, "bad_json"),
        ("y" * 1_000_000, None, "frame_too_large"),
        (None, b"\x00\xff binary", "binary_not_supported"),
        ('{"type": "teleport"}', None, "unknown_type"),
        ("not json at all", None, "bad_json"),
    ],
)
async def test_classic_bad_frames_get_their_documented_error(group, member, text, data, code):
    async with connected(member, group.slug) as socket:
        frames, close_code = await answer_to(socket, text, data)
    assert close_code is None
    assert [frame["code"] for frame in frames if frame["type"] == "error"] == [code]


async def raw_text_frame(ws, payload: bytes) -> None:
    """A text frame whose bytes are not UTF-8, which no well-behaved client library will send."""
    ws.protocol.send_text(payload)
    ws.send_data()


async def close_code_after(ws, timeout: float = 5) -> int | None:
    """Read (and check) frames until the server closes the socket; its close code."""
    try:
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            assert frame["type"] in SERVER_FRAME_TYPES
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


@pytest.mark.system
async def test_daphne_refuses_invalid_utf8_and_huge_frames_with_protocol_codes_not_1011(group, member):
    headers = await sync_to_async(ws_headers)(member)
    with Daphne() as server:
        url = f"{server.ws_url}/ws/groups/{group.slug}/"
        async with websockets.connect(url, additional_headers=headers) as ws:
            await raw_text_frame(ws, b'{"type": "ping", "x": "\xff\xfe"}')
            # Failed at the protocol level by daphne (autobahn drops the connection, or says 1007).
            assert await close_code_after(ws) in (None, 1007)

        async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
            with contextlib.suppress(websockets.ConnectionClosed):  # daphne may hang up mid-frame
                await ws.send("z" * (4 * 1024 * 1024))
            assert await close_code_after(ws) in (None, 1009)  # message too big: dropped, never 1011

        # The server is unharmed: the next person connects and talks.
        async with websockets.connect(url, additional_headers=headers) as ws:
            await ws.send(json.dumps({"type": "ping"}))
            for _ in range(10):
                if json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "pong":
                    break
            else:
                pytest.fail("no pong")
