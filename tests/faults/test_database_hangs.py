"""A database that hangs (it takes the connection and never answers) is answered as one that refuses:
a page gets the calm 503 that says nothing was lost, and a socket closes with 4503, which the client
backs off from; neither waits for longer than the connect timeout allows."""

from __future__ import annotations

import asyncio
import socket
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager

import pytest
import websockets

from chat.protocol import CloseCode
from tests.support.servers import Daphne

pytestmark = pytest.mark.system

# Far beyond the 2 s connect timeout below, far below "forever": a hang fails the test, not the suite.
PATIENCE_SECONDS = 20


@contextmanager
def black_hole():
    """A listener that accepts every connection and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    held, stop = [], threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for connection in held:
            connection.close()
        listener.close()


@pytest.fixture
def server_on_a_hanging_database():
    with black_hole() as port:
        env = {"DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/supportcircle", "DATABASE_CONNECT_TIMEOUT": "2"}
        with Daphne(extra_env=env) as server:
            yield server


def test_a_page_says_nothing_was_lost_instead_of_hanging(server_on_a_hanging_database):
    request = urllib.request.Request(server_on_a_hanging_database.http_url + "/", headers={"Host": "127.0.0.1"})
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=PATIENCE_SECONDS)  # noqa: S310 (loopback)
    assert answer.value.code == 503
    assert answer.value.headers["Retry-After"] == "30"
    assert "Nothing you wrote has been lost" in answer.value.read().decode()


def test_a_socket_is_closed_with_a_code_to_come_back_later(server_on_a_hanging_database):
    async def knock() -> int:
        url = f"{server_on_a_hanging_database.ws_url}/ws/groups/quiet-harbour/"
        headers = {"Cookie": "sessionid=someone-signed-in", "Origin": "http://127.0.0.1"}
        async with websockets.connect(url, additional_headers=headers, open_timeout=PATIENCE_SECONDS) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), PATIENCE_SECONDS)
        return closed.value.rcvd.code

    assert asyncio.run(knock()) == CloseCode.SERVER_RESTARTING
