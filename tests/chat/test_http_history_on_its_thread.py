"""A page view runs Django's middleware and its view on its request thread in one call
(supportcircle/http.py): the event loop reads the request and sends the response, and hands work to
the request's thread a fixed number of times, never taking it back midway. On a busy server each
hand-off is a wait for the interpreter, for the request and for the chat's deliveries beside it.
"""

from unittest import mock

import pytest
from asgiref.sync import AsyncToSync, SyncToAsync
from channels.db import database_sync_to_async
from django.conf import settings
from django.urls import reverse

from tests.conftest import session_cookie
from tests.faults.test_page_views_close_their_connections import page_view

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_http_history_goes_to_its_thread_three_times_and_never_back_midway(group, member):
    cookie = f"{settings.SESSION_COOKIE_NAME}={await database_sync_to_async(session_cookie)(member)}".encode()
    url = reverse("chat:history", args=[group.slug])
    assert await page_view(url, cookie) == 200  # the first one may warm what the process keeps
    to_the_thread: list[str] = []
    back_to_the_loop: list[str] = []
    real_sync_to_async, real_async_to_sync = SyncToAsync.__call__, AsyncToSync.__call__

    async def noted_sync_to_async(self, *args, **kwargs):
        to_the_thread.append(self.func.__qualname__)
        return await real_sync_to_async(self, *args, **kwargs)

    def noted_async_to_sync(self, *args, **kwargs):
        back_to_the_loop.append(self.awaitable.__qualname__)
        return real_async_to_sync(self, *args, **kwargs)

    with (
        mock.patch.object(SyncToAsync, "__call__", noted_sync_to_async),
        mock.patch.object(AsyncToSync, "__call__", noted_async_to_sync),
    ):
        assert await page_view(url, cookie) == 200
    assert to_the_thread == [
        "Signal.asend.<locals>.sync_send",  # request_started's receivers
        "BaseHandler.get_response",  # every middleware and the view, as under WSGI
        "HttpResponseBase.close",  # request_finished's receivers (Django's closes what CONN_MAX_AGE says)
    ]
    assert back_to_the_loop == []
