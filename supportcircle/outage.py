"""Pages while the database is unavailable: a calm 503 that says nothing was lost, at once.

A database that refuses or hangs (settings.py bounds how long connecting and each statement may
take) makes a page view raise ``OperationalError``; this middleware answers it with a page that needs
no database, instead of a server error, and logs one line a minute with how many it answered.
"""

from __future__ import annotations

import logging
import time

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30
LOG_EVERY_SECONDS = 60


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.logged_at = 0.0
        self.unlogged = 0

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        self.note(exception)
        # Rendered without the request: the page must not touch the session or the person (the database).
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    def note(self, exception: Exception) -> None:
        self.unlogged += 1
        now = time.monotonic()
        if now - self.logged_at >= LOG_EVERY_SECONDS:
            log.warning(
                "database unavailable: answered %s with 503 (%s)",
                f"{self.unlogged} page{'' if self.unlogged == 1 else 's'}",
                type(exception).__name__,
            )
            self.logged_at, self.unlogged = now, 0
