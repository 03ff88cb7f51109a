"""The database trips a socket opens with (supportcircle.db_threads.trip) go where Channels' own
``database_sync_to_async`` would, and the code on the thread can broadcast as before."""

import asyncio
import contextvars
import threading

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.core.exceptions import SynchronousOnlyOperation
from django.db import connection, transaction

from chat.broadcast import _server_loop
from supportcircle.accounts.models import User
from supportcircle.db_threads import trip

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_trip_runs_on_the_sockets_database_thread(settings):
    settings.DATABASE_TRIPS_INLINE = False  # the default with PostgreSQL
    theirs = await database_sync_to_async(threading.get_ident)()
    assert await trip(threading.get_ident)() == theirs != threading.get_ident()


async def test_inline_a_trip_runs_on_the_event_loops_own_thread_and_leaves_the_loop_as_it_was(settings):
    settings.DATABASE_TRIPS_INLINE = True  # the default with SQLite
    loop = asyncio.get_running_loop()

    def count_people() -> int:
        return User.objects.count()  # Django's guard against blocking a loop would refuse this on it

    assert await trip(threading.get_ident)() == threading.get_ident()
    assert await trip(threading.get_ident, thread_sensitive=False)() == threading.get_ident()
    assert await trip(count_people)() == 0
    assert asyncio.get_running_loop() is loop
    with pytest.raises(SynchronousOnlyOperation):
        count_people()  # outside a trip the guard is back


async def test_inline_what_a_trip_sets_in_its_context_stays_there(settings):
    settings.DATABASE_TRIPS_INLINE = True
    mood = contextvars.ContextVar("mood", default="calm")
    await trip(mood.set)("rushed")
    assert mood.get() == "calm"


async def test_inline_the_loop_is_put_back_when_the_function_raises(settings):
    settings.DATABASE_TRIPS_INLINE = True
    loop = asyncio.get_running_loop()

    def refuse() -> None:
        raise PermissionError("not yours")

    with pytest.raises(PermissionError, match="not yours"):
        await trip(refuse)()
    assert asyncio.get_running_loop() is loop
    assert _server_loop() is None  # no trip is running inline any more


async def test_inline_a_trip_that_leaves_its_connection_in_a_bad_state_does_not_pass_it_on(settings):
    settings.DATABASE_TRIPS_INLINE = True

    def leave_a_transaction_open() -> int:
        transaction.set_autocommit(False)  # and never set back, by mistake
        User.objects.create_user(pseudonym="Half-written", password="a long enough pass phrase")
        return id(connection.connection)

    def on_its_connection() -> tuple[int, bool, int]:
        return id(connection.connection), connection.get_autocommit(), User.objects.count()

    broken = await trip(leave_a_transaction_open)()
    fresh, autocommit, people = await trip(on_its_connection)()
    assert fresh != broken  # closed after the trip that broke it, so the next one started anew
    assert autocommit is True
    assert people == 0  # the uncommitted write went with the closed connection


@pytest.mark.parametrize("inline", [True, False])
async def test_on_the_thread_the_event_loop_is_known_for_broadcasts(settings, inline):
    settings.DATABASE_TRIPS_INLINE = inline
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
