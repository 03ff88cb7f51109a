"""PostgreSQL ends the connections under the chat (a restart, a failover, an operator's pg_terminate_backend)
while two members are talking: they notice nothing. Each next message is acknowledged, stored once and heard
by the other; no socket closes (no 1011), nothing is refused or lost.

The sockets' database threads keep their connection between calls while busy; before each call a thread
looks at its kept connection's socket (the database's farewell arrives there) and drops one the database
ended, and when psycopg's pool holds only dead idle connections it checks them all at once
(supportcircle/db_threads.py). Tidying is Django's own ``close_old_connections`` (which Channels' test
communicators cannot swap for a no-op), and a connection whose call failed is closed.

Only the connections this test's sockets used are ended (each noted as a database thread takes it: while the
members say hello the threads give their connection back after every call), so the test waits for no thread
to be idle and touches no connection of its neighbours.
"""

from __future__ import annotations

import asyncio
import threading

import psycopg
import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.db.backends.signals import connection_created

from chat.models import Message
from supportcircle import db_threads
from supportcircle.db_threads import on_a_database_thread
from tests.conftest import Socket, connected
from tests.support.outages import on_postgresql
from tests.support.waiting import eventually

# PostgreSQL's own connections: the SQLite pass leaves it out, the PostgreSQL pass runs it (scripts/test.sh).
pytestmark = [pytest.mark.postgresql_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def connections_the_sockets_use():
    """The server process (backend pid) behind each connection the sockets' database threads open meanwhile."""
    pids: set[int] = set()

    def note(sender, connection, **kwargs) -> None:
        if on_a_database_thread():
            pids.add(connection.connection.info.backend_pid)

    connection_created.connect(note, weak=False, dispatch_uid="dead-connection-test")
    yield pids
    connection_created.disconnect(dispatch_uid="dead-connection-test")


def end_the_server_processes(pids: set[int]) -> list[int]:
    """What a database restart does to these connections: their server processes end, and each client is
    told so only when it next speaks. Which were still there, returned once they are gone."""
    params = connection.get_connection_params()
    params.pop("pool", None)  # a connection of our own, outside the pool
    with psycopg.connect(**params, autocommit=True) as admin:
        ended = [
            pid
            for pid, terminated in admin.execute(
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid = ANY(%s) AND datname = current_database()",
                [sorted(pids)],
            ).fetchall()
            if terminated
        ]

        def gone() -> bool:
            return not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", [ended]).fetchone()

        eventually(gone, what=lambda: f"the server processes {ended} did not end")
    return ended


def keep_idle_connections(count: int) -> None:
    """Django's pool as on a server that has been up a while: ``count`` connections idle in it (taken at once
    on threads of the test's own, then given back), which the sockets' calls then take in turn."""
    together = threading.Barrier(count, timeout=10)

    def take_one() -> None:
        connection.ensure_connection()
        together.wait()
        connection.close()

    takers = [threading.Thread(target=take_one) for _ in range(count)]
    for taker in takers:
        taker.start()
    for taker in takers:
        taker.join()


class Member:
    """A member's socket and what it has heard: each message's body by seq, and any error frame."""

    def __init__(self, socket: Socket) -> None:
        self.socket = socket
        self.heard: dict[int, str] = {}
        self.errors: list[dict] = []

    async def next_frame(self) -> dict:
        frame = await self.socket.receive()
        if frame["type"] == "message":
            self.heard[frame["message"]["seq"]] = frame["message"]["body"]
        elif frame["type"] == "error":
            self.errors.append(frame)
        return frame

    async def say(self, client_id: str, body: str) -> int:
        """Send a message; its seq once acknowledged (a refusal fails the test at once)."""
        await self.socket.send({"type": "send", "client_id": client_id, "body": body})
        while True:
            frame = await self.next_frame()
            if frame["type"] in {"ack", "error"} and client_id in {frame.get("client_id"), frame.get("ref")}:
                assert frame["type"] == "ack", frame
                assert frame["duplicate"] is False
                return frame["message"]["seq"]

    async def hears(self, seq: int) -> str:
        while seq not in self.heard:
            await self.next_frame()
        return self.heard[seq]


async def test_after_the_database_ended_the_chats_connections_the_next_messages_are_acknowledged_and_heard(
    channel_layer, group, member, second_member, settings, connections_the_sockets_use, monkeypatch
):
    assert on_postgresql(), "selected only in the PostgreSQL pass (scripts/test.sh)"
    settings.CHAT_RATE_LIMIT = (1_000, 10)
    threads = settings.DATABASE_THREADS
    said: dict[int, str] = {}
    async with connected(member, group.slug) as sam_socket, connected(second_member, group.slug) as alex_socket:
        sam, alex = Member(sam_socket), Member(alex_socket)

        async def talk(rounds: int, words: str) -> None:
            # One call after another takes the idle database threads in turn, so every thread takes part.
            for number in range(rounds):
                speaker, listener = (sam, alex) if number % 2 == 0 else (alex, sam)
                body = f"{words} ({number})"
                seq = await speaker.say(f"{words}-{number}", body)
                said[seq] = body
                assert await listener.hears(seq) == body

        await asyncio.to_thread(keep_idle_connections, threads)
        # Each call takes its connection afresh (noted), and keeps the last one it took.
        with monkeypatch.context() as hello:
            hello.setattr(db_threads, "KEEP_IDLE_SECONDS", -1.0)
            await talk(threads, "Evening, all")
        ended = await asyncio.to_thread(end_the_server_processes, connections_the_sockets_use)
        assert ended, "the sockets used no connection of their own"

        await talk(2 * threads, "Still here")
        for person in (sam, alex):
            for seq in said:
                await person.hears(seq)
            assert person.heard == said
            assert person.errors == []
        assert await sam.socket.nothing_more()  # still open: no close frame, nothing more
        assert await alex.socket.nothing_more()

    stored = await database_sync_to_async(list)(Message.objects.filter(group=group).values_list("seq", "body"))
    assert dict(stored) == said
    assert sorted(said) == list(range(1, 3 * threads + 1))
