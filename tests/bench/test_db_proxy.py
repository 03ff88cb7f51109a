"""The bench's stand-in for a database on another host passes every byte on, in order, and holds
the replies back by the round trip asked for."""

import asyncio
import time

from bench import db_proxy
from tests.support.servers import free_port
from tests.support.waiting import eventually_async


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65_536):
        writer.write(data)
        await writer.drain()
    writer.close()


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    try:
        return await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return None


async def _through_proxy(round_trip_ms: float, messages: list[bytes]) -> tuple[bytes, list[float]]:
    echo = await asyncio.start_server(_echo, "127.0.0.1", 0)
    echo_port = echo.sockets[0].getsockname()[1]
    proxy_port = free_port()
    proxy = asyncio.ensure_future(db_proxy.serve(proxy_port, "127.0.0.1", echo_port, round_trip_ms))
    reader, writer = await eventually_async(lambda: connect(proxy_port), what="the proxy listening")
    received, waits = b"", []
    for message in messages:
        started = time.monotonic()
        writer.write(message)
        await writer.drain()
        answer = b""
        while len(answer) < len(message):
            answer += await reader.read(65_536)
        waits.append((time.monotonic() - started) * 1000)
        received += answer
    writer.close()
    proxy.cancel()
    echo.close()
    return received, waits


async def test_every_byte_comes_back_unchanged_and_in_order():
    messages = [bytes([n % 256]) * (1 + n * 700) for n in range(20)]
    received, _ = await _through_proxy(0.0, messages)
    assert received == b"".join(messages)


async def test_each_reply_is_held_back_by_the_round_trip():
    _, waits = await _through_proxy(20.0, [b"SELECT 1"] * 5)
    assert min(waits) >= 20.0  # a floor, which a loaded machine can only make longer
