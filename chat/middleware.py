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
        state = {"connect_read": False, "accepted": False}

        async def tracked_receive():
            message = await receive()
            if message["type"] == "websocket.connect":
                state["connect_read"] = True
            return message

        async def tracked_send(message):
            kind = message["type"]
            if kind == "websocket.accept":
                state["accepted"] = True
                metrics.socket_opened()
            elif kind == "websocket.close":
                metrics.socket_closed_with(message.get("code", 1000))
            await send(message)

        try:
            await self.app(scope, tracked_receive, tracked_send)
        except Exception as problem:
            if state["accepted"]:
                raise
            # Before the socket opens nothing anyone wrote is in play, so the traceback is safe to log;
            # a channel layer too slow to answer is a known state, not a bug, and under load a
            # traceback per refused socket cost the server more than the refusal itself.
            stalled = isinstance(problem, LayerStalled)
            what = problem if stalled else type(problem).__name__
            log.warning("socket refused before it opened: %s", what, exc_info=not stalled)
            if not state["connect_read"]:
                await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": int(CloseCode.SERVER_RESTARTING)})
            metrics.socket_closed_with(int(CloseCode.SERVER_RESTARTING))
        finally:
            if state["accepted"]:
                metrics.socket_gone()
