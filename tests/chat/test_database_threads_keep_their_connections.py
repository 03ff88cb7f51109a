"""The sockets' database threads keep their connections while busy (supportcircle/db_threads.py): taking one
from Django's pool runs its health check, a round trip with the database across a network."""

import pytest
from django.conf import settings
from django.db import connection

from supportcircle import db_threads
from supportcircle.db_threads import db

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.DATABASES["default"].get("OPTIONS", {}).get("pool"),
        reason="Django's psycopg pool is what hands connections out",
    ),
]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


async def test_busy_threads_take_a_connection_from_the_pool_once_each(settings):
    await db(backend_pid)()  # the pool is open
    taken_before = connection.pool.get_stats()["requests_num"]
    for _ in range(40):
        await db(backend_pid)()
    taken = connection.pool.get_stats()["requests_num"] - taken_before
    assert taken <= settings.DATABASE_THREADS  # at most the first call on each thread; not one per call


async def test_a_connection_unused_for_a_while_goes_back_to_the_pool(monkeypatch):
    await db(backend_pid)()
    monkeypatch.setattr(db_threads, "KEEP_IDLE_SECONDS", 0.0)
    taken_before = connection.pool.get_stats()["requests_num"]
    await db(backend_pid)()
    assert connection.pool.get_stats()["requests_num"] > taken_before  # given back, then taken (and checked)
