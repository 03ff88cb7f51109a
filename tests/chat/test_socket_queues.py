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


class Connection:
    """A stand-in for daphne's protocol objects: what the checker calls on one."""

    def __init__(self) -> None:
        self.exceptions: list[BaseException] = []

    def handle_exception(self, exception: BaseException) -> None:
        self.exceptions.append(exception)


class LookedAt(dict):
    """daphne's ``connections``, noting which connections the checker looked up."""

    def __init__(self) -> None:
        super().__init__()
        self.looked_at: list = []

    def get(self, key, default=None):
        self.looked_at.append(key)
        return super().get(key, default)


@pytest.fixture
def checked_server(monkeypatch):
    """A daphne Server (never started) with lighter sockets, whose checker's next round is only noted."""
    import daphne.server

    assert lighten_daphne_sockets()
    rounds = []
    monkeypatch.setattr(daphne.server.reactor, "callLater", lambda delay, call: rounds.append(delay))

    async def application(scope, receive, send):
        message = await receive()
        if message["type"] == "fail":
            raise ValueError("something broke")

    server = Server(application=application, endpoints=["tcp:port=0:interface=127.0.0.1"])
    server.connections = LookedAt()
    server.rounds = rounds
    return server


def opened(server) -> tuple[Connection, SocketQueue]:
    connection = Connection()
    server.protocol_connected(connection)
    return connection, server.create_application(connection, {"type": "websocket", "path": "/ws/"})


async def test_daphne_reaps_what_ended_and_closed_without_walking_the_open_sockets(checked_server):
    server = checked_server
    open_ones = [opened(server)[0] for _ in range(50)]
    finished, queue = opened(server)
    queue.put_nowait({"type": "done"})
    gone, queue = opened(server)
    queue.put_nowait({"type": "done"})
    await asyncio.sleep(0.05)  # both applications return
    server.protocol_disconnected(gone)
    server.application_checker()
    assert set(server.connections.looked_at) == {finished, gone}
    assert gone not in server.connections  # ended and closed: forgotten
    assert "application_instance" not in server.connections[finished]  # ended, still connected
    assert all(not server.connections[one]["application_instance"].done() for one in open_ones)
    assert server.rounds == [1]  # and the next round is a second away, as daphne has it
    server.connections.looked_at.clear()
    server.protocol_disconnected(finished)
    server.application_checker()
    assert server.connections.looked_at == [finished] and finished not in server.connections
    assert len(server.connections) == 50


async def test_an_application_that_failed_is_logged_and_its_connection_told_as_daphne_does(checked_server, caplog):
    server = checked_server
    connection, queue = opened(server)
    queue.put_nowait({"type": "fail"})
    await asyncio.sleep(0.05)
    with caplog.at_level("ERROR", logger="daphne.server"):
        server.application_checker()
    assert [record.getMessage() for record in caplog.records] == ["Exception inside application: something broke"]
    assert [str(exception) for exception in connection.exceptions] == ["something broke"]


async def test_a_closed_socket_whose_application_lingers_is_cancelled_after_the_close_timeout(checked_server, caplog):
    server = checked_server
    server.application_close_timeout = 0
    connection, _ = opened(server)
    await asyncio.sleep(0.05)
    server.protocol_disconnected(connection)
    await asyncio.sleep(0.01)
    with caplog.at_level("WARNING", logger="daphne.server"):
        server.application_checker()  # past the timeout: cancelled, with daphne's warning
    assert "took too long to shut down and was killed" in caplog.text
    assert connection in server.connections  # until the cancellation has landed
    await asyncio.sleep(0.05)
    server.application_checker()
    assert connection not in server.connections
