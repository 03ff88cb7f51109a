"""Response headers Django does not set itself (the CSP comes from django-csp).

What each header promises, and the test that proves it, is in docs/security.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from chat.protocol import CloseCode

log = logging.getLogger(__name__)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Pages about a signed-in person (their groups, their words) are never kept
            # by a shared computer's browser cache or an intermediary.
            response.headers.setdefault("Cache-Control", "no-store, private")
        return response


class CloseCleanlyOnFailure:
    """ASGI middleware for WebSockets: a failure before the socket is accepted (the session store
    or the database unavailable while authenticating) closes it with 4503, which the client
    backs off from, instead of an HTTP 500 during the handshake. Authorization fails closed."""

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
            if message["type"] == "websocket.accept":
                state["accepted"] = True
            await send(message)

        try:
            await self.app(scope, tracked_receive, tracked_send)
        except Exception as problem:
            if state["accepted"]:
                raise
            # Before the socket opens nothing anyone wrote is in play, so the traceback is safe to log.
            log.warning("socket refused before it opened: %s", type(problem).__name__, exc_info=True)
            if not state["connect_read"]:
                await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": int(CloseCode.SERVER_RESTARTING)})
