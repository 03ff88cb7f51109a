"""Django's ASGI handler, on request threads kept from one request to the next, as a WSGI server keeps
its worker threads.

Under ASGI, Django runs a request's synchronous code (middleware, view) on a thread of its own: asgiref's
``ThreadSensitiveContext`` makes a one-thread executor per request and ends its thread afterwards. Making
and joining that thread (and the database wrapper Django makes for each new thread) was about 6% of an
HTTP history request's CPU, measured alternately in one process (6.87 against 6.41 ms on a slow hour).
Here each request still has a thread to itself for as long as it runs, given through asgiref's own
``ThreadSensitiveContext(executor=...)``, and the thread is kept for a later request (up to
``KEPT_REQUEST_THREADS`` idle ones).

Each request closes the connections it opened (with Django's pool: gives them back), on its own thread,
so an idle kept thread holds none. A connection belongs to the request's context (Django's connections are
asgiref ``Local``s), not to the thread: left open for a later request, it was never used again, on
PostgreSQL a server process per page view, until pages failed with a 500 once ``max_connections`` was
reached (a third of 1,500 page views, measured); on SQLite an open file per page view. The close is a
receiver of Django's own ``request_finished``, which the handler sends on the request's thread with the
response's ``close``: a call of its own was one more hand-off from the event loop to the request's thread
and back for every request (on a busy server each is a wait for the interpreter; the event loop's CPU for
an HTTP history request went from 0.61 to 0.57 ms without it, medians of four alternated in-process runs).
A request the handler could not finish closes them in a call of its own.

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
from contextvars import ContextVar

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_finished
from django.db import connections

# Idle request threads kept at most: a process serves a few requests at a time; a burst beyond this
# makes threads that end after their request, as every request's did before.
KEPT_REQUEST_THREADS = 8
THREAD_NAME_PREFIX = "request"


def close_this_threads_connections() -> None:
    for connection in connections.all(initialized_only=True):
        connection.close()


# Set for the requests this handler serves (and seen on their threads, which run in a copy of their context).
_serving_a_request: ContextVar[bool] = ContextVar("serving_a_request", default=False)


def _close_when_the_request_finishes(**kwargs) -> None:
    # Django's own receiver closes only what CONN_MAX_AGE says; this request's connections are never used again.
    if _serving_a_request.get():
        close_this_threads_connections()


request_finished.connect(_close_when_the_request_finishes, dispatch_uid="supportcircle.http.close_connections")


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
        _serving_a_request.set(True)  # this request's own context (its task's)
        thread = self._idle.pop() if self._idle else ThreadPoolExecutor(1, thread_name_prefix=THREAD_NAME_PREFIX)
        try:
            async with ThreadSensitiveContext(executor=thread):
                try:
                    await self.handle(scope, receive, send)
                except BaseException:
                    # Django may not have sent request_finished: close what the request opened, on its thread.
                    await sync_to_async(close_this_threads_connections)()
                    raise
        except BaseException:
            thread.shutdown(wait=False)  # its thread ends once it is idle
            raise
        if len(self._idle) < KEPT_REQUEST_THREADS:
            self._idle.append(thread)
        else:
            thread.shutdown(wait=False)
