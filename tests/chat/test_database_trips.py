"""The database trips a socket opens with (supportcircle.db_threads.trip) go where Channels' own
``database_sync_to_async`` would, and the code on the thread can broadcast as before."""

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from chat.broadcast import _server_loop
from supportcircle.db_threads import trip

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_trip_runs_on_the_sockets_database_thread():
    theirs = await database_sync_to_async(threading.get_ident)()
    assert await trip(threading.get_ident)() == theirs != threading.get_ident()


async def test_on_the_thread_the_event_loop_is_known_for_broadcasts():
    assert await trip(_server_loop)() is asyncio.get_running_loop()
    assert await trip(_server_loop, thread_sensitive=False)() is asyncio.get_running_loop()


async def test_what_the_function_raises_reaches_the_caller():
    def refuse() -> None:
        raise PermissionError("not yours")

    with pytest.raises(PermissionError, match="not yours"):
        await trip(refuse)()


def test_called_from_sync_code_it_runs_where_asgiref_would():
    # Under async_to_sync, thread-sensitive code runs on the calling thread (the test's own, with its
    # database connection): asgiref chooses, as for database_sync_to_async.
    assert async_to_sync(trip(threading.get_ident))() == threading.get_ident()


def test_an_executor_is_for_trips_that_are_not_thread_sensitive():
    with pytest.raises(TypeError):
        trip(threading.get_ident, executor=object())
