"""Django's ASGI handler, on request threads kept from one request to the next, closing the database
connections each request opened when it ends.

Under ASGI, Django runs a request's synchronous code (middleware, view) on a thread of its own: asgiref's
``ThreadSensitiveContext`` makes a one-thread executor per request and ends its thread afterwards. Making
and joining that thread (and the database wrapper Django makes for each new thread) was about 6% of an
HTTP history request's CPU, measured alternately in one process (6.87 against 6.41 ms on a slow hour).
Here each request still has a thread to itself for as long as it runs, given through asgiref's own
``ThreadSensitiveContext(executor=...)``, and the thread is kept for a later request (up to
``KEPT_REQUEST_THREADS`` idle ones), as a WSGI server keeps its worker threads.

Each request closes the connections it opened (with Django's pool: gives them back), in its own thread, so
an idle kept thread holds none. Before, a connection left open for its thread's next request
(``CONN_MAX_AGE``) was never used again, as that thread ended: on PostgreSQL a server process per page
view, until pages failed with a 500 once ``max_connections`` was reached (a third of 1,500 page views,
measured); on SQLite an open file per page view.

The request's middleware and view run in one call on its thread, as a WSGI server runs them: Django's
ASGI handler puts its own async core (URL resolution, the view middleware, a sync view's thread) inside
the middleware chain, and our innermost middleware (``FriendlyNotFoundMiddleware``, like
``LogRefusalsMiddleware`` and ``SecurityHeadersMiddleware``) is synchronous, so the chain went from the
request's thread back to the event loop (``async_to_sync``), resolved the URL there, and came back to
the thread for the view (``sync_to_async``), then back again: two more round trips between the loop and
the thread per request, each a wait for the interpreter on a busy server, and their own CPU. Here the
middleware is loaded in its synchronous mode and ``BaseHandler.get_response`` runs the whole chain on
the request's thread; the loop reads the request, sends the response and nothing between.

The sockets' database threads are not request threads and keep their connections as before.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.db import connections

# Idle request threads kept at most: a process serves a few requests at a time; a burst beyond this
# makes threads that end after their request, as every request's did before.
KEPT_REQUEST_THREADS = 8
THREAD_NAME_PREFIX = "request"


def close_this_threads_connections() -> None:
    for connection in connections.all(initialized_only=True):
        connection.close()


class ClosingASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []  # touched on the event loop only

    def load_middleware(self, is_async: bool = False) -> None:
        # Synchronous, whatever ASGIHandler asks: the chain runs on the request's thread (get_response_async).
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        # Django's own synchronous path (BaseHandler.get_response, as under WSGI), in one call on the
        # request's thread: ThreadSensitiveContext sends thread-sensitive calls there.
        return await sync_to_async(self.get_response)(request)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        thread = self._idle.pop() if self._idle else ThreadPoolExecutor(1, thread_name_prefix=THREAD_NAME_PREFIX)
        try:
            async with ThreadSensitiveContext(executor=thread):
                try:
                    await self.handle(scope, receive, send)
                finally:
                    # On the request's own thread, after everything the request ran there.
                    await sync_to_async(close_this_threads_connections)()
        except BaseException:
            thread.shutdown(wait=False)  # its thread ends once it is idle
            raise
        if len(self._idle) < KEPT_REQUEST_THREADS:
            self._idle.append(thread)
        else:
            thread.shutdown(wait=False)
