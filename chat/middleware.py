"""The chat socket's outermost ASGI middleware: a failure before the socket is accepted closes it
cleanly with a code the client backs off from, and open sockets and close codes are counted."""

from __future__ import annotations

import logging

from supportcircle import metrics

from .protocol import CloseCode

log = logging.getLogger(__name__)


class LayerStalled(ConnectionError):
    """The channel layer (Redis) did not answer in time while a socket was opening."""


class CloseCleanlyOnFailure:
    """ASGI middleware for WebSockets: a failure before the socket is accepted (the session store
    or the database unavailable while authenticating) closes it with 4503, which the client
    backs off from, instead of an HTTP 500 during the handshake. Authorization fails closed.

    It also counts open sockets and the server's close codes (supportcircle.metrics)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        tracked = _Tracked(receive, send)
        try:
            await self.app(scope, tracked.receive, tracked.send)
        except Exception as problem:
            if tracked.accepted:
                raise
            # Before the socket opens nothing anyone wrote is in play, so the traceback is safe to log;
            # a channel layer too slow to answer is a known state, not a bug, and under load a
            # traceback per refused socket cost the server more than the refusal itself.
            stalled = isinstance(problem, LayerStalled)
            what = problem if stalled else type(problem).__name__
            log.warning("socket refused before it opened: %s", what, exc_info=not stalled)
            if not tracked.connect_read:
                await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": int(CloseCode.SERVER_RESTARTING)})
            metrics.socket_closed_with(int(CloseCode.SERVER_RESTARTING))
        finally:
            if tracked.accepted:
                metrics.socket_gone()


class _Tracked:
    """One socket's receive and send, noting whether its connect was read and whether it was accepted (every
    open socket keeps one for its life: slots, not two closures and a dict)."""

    __slots__ = ("_receive", "_send", "connect_read", "accepted")

    def __init__(self, receive, send) -> None:
        self._receive, self._send = receive, send
        self.connect_read = self.accepted = False

    async def receive(self):
        message = await self._receive()
        if message["type"] == "websocket.connect":
            self.connect_read = True
        return message

    async def send(self, message) -> None:
        kind = message["type"]
        if kind == "websocket.accept":
            self.accepted = True
            metrics.socket_opened()
        elif kind == "websocket.close":
            metrics.socket_closed_with(message.get("code", 1000))
        await self._send(message)
