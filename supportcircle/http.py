"""Django's ASGI handler, closing the database connections each request opened when it ends.

Under ASGI, Django runs a request's synchronous code (middleware, view) in a thread made for that
request (asgiref's ThreadSensitiveContext), and a database connection belongs to the thread that
opened it. ``CONN_MAX_AGE`` keeps a connection for its thread's next request, but these threads
never have one: each page view left its connection open until the garbage collector came across
it. On SQLite that was an open file per page view; on PostgreSQL a server process per page view,
and once ``max_connections`` was reached pages failed with a 500 (a third of 1,500 page views,
measured). Here each request closes what it opened, in its own thread.

The sockets' database thread is not a request thread and keeps its connection as before.
"""

from __future__ import annotations

import inspect

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.db import connections


def close_this_threads_connections() -> None:
    for connection in connections.all(initialized_only=True):
        connection.close()


class ClosingASGIHandler(ASGIHandler):
    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        async with ThreadSensitiveContext():
            try:
                await self.handle(scope, receive, send)
            finally:
                # Thread-sensitive in the same context: the request's own thread, before it goes.
                await sync_to_async(close_this_threads_connections)()


def leave_request_bodies_to_django() -> bool:
    """Stop Twisted parsing every POST body that daphne hands on to Django unread.

    Twisted's ``Request`` parses a form or multipart body into ``request.args`` (with the email
    package for its Content-Type), which daphne never reads: Django parses the body itself. That was
    3% of the event loop's time in a crowd logging in, all of a large upload's body parsed twice, and
    a multipart body Twisted cannot parse was answered by Twisted with a bare 400 before Django saw
    it. Twisted has the switch (``parsePOSTFormSubmission``); daphne does not pass it, so it is set
    on each of daphne's requests here. Returns False, changing nothing, when daphne is not here.
    """
    try:
        from daphne.http_protocol import WebRequest
        from twisted.web.http import Request
    except ImportError:
        return False
    if "parsePOSTFormSubmission" not in inspect.signature(Request.__init__).parameters:
        return False  # a Twisted without the switch (before 24.7)
    original = getattr(WebRequest, "_supportcircle_original_init", None) or WebRequest.__init__

    def __init__(self, *args, **kwargs):  # noqa: N807 (daphne's request, one attribute more)
        original(self, *args, **kwargs)
        self._parsePOSTFormSubmission = False

    WebRequest._supportcircle_original_init = original
    WebRequest.__init__ = __init__
    return True
