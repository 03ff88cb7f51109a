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
