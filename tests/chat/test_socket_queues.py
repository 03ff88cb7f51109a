"""Each open socket's two queues, and what daphne keeps for it, stay small and behave as asyncio.Queue did.

The queues: daphne's frames from the client (``SocketQueue``) and the socket's inbox in the pub/sub
channel layer (``BoundedInbox``). Both are tested here by side, as the consumer and daphne use them.
"""

import asyncio
import sys
from types import SimpleNamespace

import pytest
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.web.http import HTTPChannel

from chat.layers import BoundedInbox, SocketQueue, lighten_daphne_sockets

MARKER = b"overflow"


async def test_frames_come_out_in_the_order_they_went_in():
    queue = SocketQueue()
    for frame in ("one", "two", "three"):
        queue.put_nowait(frame)
    assert queue.qsize() == 3
    assert [await queue.get() for _ in range(3)] == ["one", "two", "three"]
    assert queue.empty()


async def test_a_waiting_reader_gets_the_next_frame():
    queue = SocketQueue()
    reader = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert not reader.done()
    queue.put_nowait("hello")
    assert await asyncio.wait_for(reader, 1) == "hello"


async def test_a_reader_cancelled_after_being_woken_hands_the_frame_to_the_next_reader():
    queue = SocketQueue()
    first = asyncio.ensure_future(queue.get())
    second = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("hello")  # wakes the first reader...
    first.cancel()  # ...which is cancelled before it runs
    assert await asyncio.wait_for(second, 1) == "hello"
    assert first.cancelled()


async def test_an_empty_queue_refuses_get_nowait_as_asyncio_does():
    with pytest.raises(asyncio.QueueEmpty):
        SocketQueue().get_nowait()


async def test_a_queue_is_true_even_when_empty_as_daphne_expects():
    assert SocketQueue()  # daphne tests ``if self.application_queue:``


async def test_a_full_inbox_keeps_only_the_overflow_marker_then_fills_again():
    inbox = BoundedInbox(3, MARKER)
    for number in range(4):
        inbox.put_nowait(number)
    assert inbox.qsize() == 1
    inbox.put_nowait("after")
    assert [await inbox.get(), await inbox.get()] == [MARKER, "after"]


def test_a_socket_queue_is_a_small_fraction_of_an_asyncio_queue():
    light = SocketQueue()
    light_size = sys.getsizeof(light) + sys.getsizeof(light._items) + sys.getsizeof(light._getters)
    stock = asyncio.Queue()
    stock_parts = (stock, stock._queue, stock._getters, stock._putters, stock._finished, stock._finished._waiters)
    assert light_size * 10 < sum(sys.getsizeof(part) for part in stock_parts)


# What daphne keeps ----------------------------------------------------------------------


async def test_daphne_gives_each_socket_a_socket_queue_that_reaches_the_application():
    assert lighten_daphne_sockets()
    received = asyncio.get_running_loop().create_future()

    async def application(scope, receive, send):
        received.set_result((scope, await receive()))

    server = Server(application=application, endpoints=["tcp:port=0:interface=127.0.0.1"])  # never started
    protocol = object()
    server.connections = {protocol: {}}
    queue = server.create_application(protocol, {"type": "websocket", "path": "/ws/"})
    assert isinstance(queue, SocketQueue)
    queue.put_nowait({"type": "websocket.connect"})
    scope, message = await asyncio.wait_for(received, 1)
    assert message == {"type": "websocket.connect"}
    assert scope["asgi"] == {"version": "3.0"}
    assert server.connections[protocol]["application_instance"].done()


def test_an_open_socket_lets_go_of_the_http_request_it_was_upgraded_from():
    assert lighten_daphne_sockets()
    channel = HTTPChannel()
    channel.requests = [object()]  # the upgraded request, nothing reads it again
    protocol = WebSocketProtocol()
    protocol.transport = SimpleNamespace(producer=channel)
    protocol.server = SimpleNamespace(log_action=lambda *args: None)
    protocol.request = SimpleNamespace(path="/ws/groups/circle/")
    protocol.client_addr = None
    protocol.onOpen()
    assert channel.requests == []
    # The channel itself stays the connection's producer: it pauses reading when the send buffer is full.
    assert protocol.transport.producer is channel


def test_autobahns_settings_are_written_out_only_when_its_debug_line_is_logged():
    import pprint

    import autobahn.websocket.protocol as autobahn_protocol

    assert lighten_daphne_sockets()
    settings = [("autoPingInterval", 0, "WebSocketServerFactory"), ("maxFramePayloadSize", 0, "Factory")]
    later = autobahn_protocol.pformat(settings)
    # Nothing is written until the text is asked for; then it is exactly pprint's.
    assert "\n{attrs}".format(attrs=later) == "\n" + pprint.pformat(settings)  # noqa: UP032 (as txaio formats)
    assert str(later) == repr(later) == pprint.pformat(settings)
