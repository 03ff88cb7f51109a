"""A database connection that died while it sat idle (PostgreSQL restarted, a network dropped it) fails
at most the one call that finds it, and is never used again: every message sent meanwhile is stored once.

Connections are health-checked when taken from the pool (CONN_HEALTH_CHECKS), and the sockets' database
threads close a connection whose call failed with it (supportcircle/db_threads.py), so the pool discards
it; a call that meets a dead one fails as in an outage (the socket answers try_again, the client resends).
"""

from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import psycopg
import pytest
from asgiref.sync import SyncToAsync, async_to_sync
from django.db import DatabaseError, connection

from chat.actions import post_message
from chat.models import Message
from supportcircle import db_threads
from supportcircle.db_threads import close_connections, db, run_on_each_thread
from supportcircle.http import close_this_threads_connections
from tests.support.outages import on_postgresql

# PostgreSQL's connections: the SQLite pass leaves it out, the PostgreSQL pass runs it (scripts/test.sh).
pytestmark = [pytest.mark.postgresql_only, pytest.mark.django_db(transaction=True)]


def _kill_the_servers_connections() -> int:
    """What a PostgreSQL restart does to every connection the database threads and the pool kept (the
    test's own, which empties the database afterwards, is spared): how many were ended."""
    connection.ensure_connection()
    spared = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    params.pop("pool", None)  # a connection of our own, outside the pool
    with psycopg.connect(**params, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s",
            [spared],
        ).fetchone()[0]
    return ended


def _connect() -> None:
    connection.ensure_connection()


@pytest.fixture
def database_threads_of_its_own(monkeypatch, settings):
    """The sockets' database threads, fresh for this test: a thread an earlier test in this worker left
    busy (a socket's goodbye still waiting on a database a fault test took away) must not hold up this
    test's start, which needs every thread at once."""
    fresh = ThreadPoolExecutor(settings.DATABASE_THREADS, thread_name_prefix="chat-db-test")
    monkeypatch.setattr(db_threads, "_pool", fresh)
    yield
    close_connections()
    fresh.shutdown(wait=True)


@pytest.fixture
def connections_killed_here_go_with_the_test():
    """The kill reaches every thread's connection in this worker: none is left for the next test."""
    yield
    close_connections()
    SyncToAsync.single_thread_executor.submit(close_this_threads_connections).result(10)


def test_each_dead_connection_fails_at_most_one_send_and_every_resend_is_stored_once(
    group, member, settings, database_threads_of_its_own, connections_killed_here_go_with_the_test
):
    assert on_postgresql(), "selected only in the PostgreSQL pass (scripts/test.sh)"
    settings.CHAT_RATE_LIMIT = (1_000, 10)
    send = async_to_sync(db(post_message))  # as the socket calls it: on the sockets' database threads
    # Every database thread holds (or gave the pool) a live connection, as on a server that has been up a while.
    run_on_each_thread(_connect)
    send(member.pk, group.pk, client_id="before", body="Evening, all.")
    ended = _kill_the_servers_connections()
    assert ended >= 1

    failures = 0
    # Channels' test communicators swap its close_old_connections for a no-op while they wait, and in a
    # long run the swap outlived them: the threads must not depend on it (it let a dead connection be
    # used again and again).
    with mock.patch("channels.db.close_old_connections", lambda: None):
        for number in range(3 * (ended + settings.DATABASE_THREADS)):
            while True:
                try:
                    send(member.pk, group.pk, client_id=f"after-{number}", body=f"Still here ({number})")
                    break
                except DatabaseError:
                    failures += 1  # the socket answers try_again, and the client sends the same frame again
                    assert failures <= ended, "a dead connection was handed out twice"
    seqs = list(Message.objects.filter(group=group).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 2 + 3 * (ended + settings.DATABASE_THREADS)))
