"""The production stack (`make stack`) carries a conversation through the faults it is built for.

Members log in through nginx over TLS and chat over real WebSockets, spread over two daphne
processes. Mid-chat: (a) a daphne process is killed and supervisor restarts it, (b) the Redis master
is killed and Sentinel promotes the replica, (c) PgBouncer is restarted. Every message that got an
``ack`` ends up exactly once, in order, in every member's transcript after reconnect and backfill.
The time to recover from each fault is printed (run with -s to see it).
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import redis

from tests.support.chat_client import ChatClient
from tests.support.stack import Stack, require_the_stacks_packages
from tests.support.waiting import eventually

pytestmark = [pytest.mark.system]

PASSWORD = "circle-demo-2026"  # supportcircle/operations/management/commands/seed_demo.py
GROUP = "gentle-mornings"
PEOPLE = ("Robin", "Sam", "Alex", "Jo")  # its facilitator and three members
PACE = 1.4  # seconds between one person's messages: within the limit of 8 in 10 s
SECRET = "stacktest-secret-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def stack():
    require_the_stacks_packages()
    # Not under pytest's own temporary folder: run as root, PgBouncer and nginx's workers give up root
    # and must still reach their files, and pytest keeps its folder to its owner.
    stack = Stack(Path(tempfile.mkdtemp(prefix="supportcircle-stack-")), processes=2)
    try:
        took = stack.start()
        print(f"\nstack: up in {took:.1f} s (fresh database, 2 daphne processes)")
        yield stack
    finally:
        stack.destroy()


class Conversation:
    """Everyone writes, one message at a time each, at a person's pace, until told to stop."""

    def __init__(self, clients: dict[str, ChatClient]) -> None:
        self.clients = clients
        self.said: list[tuple[str, str, str]] = []  # (who, client_id, body), in the order written
        self.running = True
        self.tasks: list[asyncio.Task] = []

    def start(self) -> None:
        for offset, name in enumerate(self.clients):
            self.tasks.append(asyncio.create_task(self.speak(name, offset * PACE / len(self.clients))))

    async def speak(self, name: str, delay: float) -> None:
        client = self.clients[name]
        await asyncio.sleep(delay)
        number = 0
        while self.running:
            number += 1
            body = f"{name}, note {number}: thank you for being here"
            client_id = await client.say(body)
            self.said.append((name, client_id, body))
            while client_id not in client.acked:
                await asyncio.sleep(0.02)
            await asyncio.sleep(PACE)

    async def stop(self) -> None:
        self.running = False
        await asyncio.gather(*self.tasks)

    def everyone_holds_something_said_after(self, moment: float) -> float | None:
        """When every member first held a message written after ``moment`` (None: not yet)."""
        times = []
        for name, client_id, _ in self.said:
            author = self.clients[name]
            if author.sent_at[client_id] < moment or client_id not in author.acked:
                continue
            seq = author.acked[client_id]
            if all(seq in client.arrived_at for client in self.clients.values()):
                times.append(max(client.arrived_at[seq] for client in self.clients.values()))
        return min(times) if times else None

    async def recovered_from(self, moment: float, timeout: float = 45) -> float:
        deadline = time.monotonic() + timeout
        while (held := self.everyone_holds_something_said_after(moment)) is None:
            if time.monotonic() > deadline:
                summaries = {name: client.summary() for name, client in self.clients.items()}
                raise AssertionError(f"the conversation did not recover in {timeout} s: {summaries}")
            await asyncio.sleep(0.05)
        return held - moment


async def until(predicate, timeout: float = 30, what: str = "") -> float:
    began = time.monotonic()
    while not predicate():
        if time.monotonic() - began > timeout:
            raise AssertionError(f"not reached in {timeout} s: {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - began


def listening(port: int) -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def master_port(stack: Stack) -> int | None:
    try:
        answer = redis.Redis(port=stack.sentinel_port, socket_timeout=1).sentinel_get_master_addr_by_name(
            "supportcircle"
        )
    except redis.RedisError:
        return None
    return int(answer[1]) if answer else None


def replicas_of(port: int) -> int:
    try:
        return int(redis.Redis(port=port, socket_timeout=1).info("replication")["connected_slaves"])
    except redis.RedisError:
        return -1


async def test_a_conversation_through_nginx_survives_a_daphne_crash_a_redis_failover_and_a_pgbouncer_restart(
    stack,
):
    with stack.database_connection() as db:
        group_id = db.execute("SELECT id FROM groups_group WHERE slug = %s", [GROUP]).fetchone()[0]
    headers = {name: {"Cookie": f"sessionid={stack.log_in(name, PASSWORD)}", "Origin": stack.https} for name in PEOPLE}
    url = lambda: f"{stack.wss}/ws/groups/{GROUP}/"  # noqa: E731
    clients = {}
    for name in PEOPLE:  # one after the other: nginx gives each new socket to the emptier process
        clients[name] = ChatClient(url, headers[name], connect_options={"ssl": stack.tls()}).start()
        await clients[name].until(lambda client=clients[name]: client.connections == 1)
    master = master_port(stack)
    channel = f"sc__group__group.{group_id}"
    subscribed = dict(redis.Redis(port=master).pubsub_numsub(channel))[channel.encode()]
    assert subscribed == 2, "the members' sockets are spread over both daphne processes"

    conversation = Conversation(clients)
    conversation.start()
    await until(lambda: all(client.acked for client in clients.values()), what="everyone's first message acknowledged")
    recovery = {}

    # (a) A daphne process dies; supervisor starts it again; its members reconnect through nginx.
    killed = stack.kill("daphne:daphne-1")
    crashed = time.monotonic()
    restarted = await until(
        lambda: stack.pid("daphne:daphne-1") not in (0, killed) and listening(stack.daphne_port(1)),
        what="supervisor restarting daphne-1",
    )
    recovery["daphne killed"] = await conversation.recovered_from(crashed)
    print(f"\n(a) daphne-1 killed: supervisor had it listening again in {restarted:.1f} s; ", end="")
    print(f"everyone held a message written after the crash {recovery['daphne killed']:.2f} s after it")
    await conversation.recovered_from(time.monotonic())  # the conversation goes on before the next fault

    # (b) The Redis master dies; Sentinel promotes the replica; the old master rejoins as a replica.
    old_master = "redis-a" if master == stack.redis_ports["redis-a"] else "redis-b"
    stack.kill(old_master)
    crashed = time.monotonic()
    promoted = await until(
        lambda: master_port(stack) not in (None, master), timeout=30, what="Sentinel promoting the replica"
    )
    recovery["redis master killed"] = await conversation.recovered_from(crashed)
    print(f"(b) Redis master killed: Sentinel promoted the replica after {promoted:.1f} s; ", end="")
    print(f"everyone held a message written after the crash {recovery['redis master killed']:.2f} s after it")
    stack.ctl("start", old_master)
    rejoined = await until(
        lambda: replicas_of(master_port(stack)) == 1, timeout=30, what="the old master rejoining as a replica"
    )
    print(f"    the old master, started again, was the new master's replica {rejoined:.1f} s later")
    live_after_failover = await conversation.recovered_from(time.monotonic())
    print(f"    and a new message reached everyone in {live_after_failover:.2f} s")

    # (c) PgBouncer restarts: connections through it drop; sends get try_again and are sent again.
    restarted_at = time.monotonic()
    stack.ctl("restart", "pgbouncer")
    await until(lambda: listening(stack.pgbouncer_port), what="PgBouncer listening again")
    back = time.monotonic() - restarted_at
    recovery["pgbouncer restarted"] = await conversation.recovered_from(restarted_at)
    print(f"(c) PgBouncer restarted (supervisorctl restart): listening again after {back:.1f} s; ", end="")
    print(f"everyone held a message written after it {recovery['pgbouncer restarted']:.2f} s after the restart")
    await conversation.recovered_from(time.monotonic())  # and goes on after the last one

    await conversation.stop()
    with stack.database_connection() as db:
        stored = db.execute(
            "SELECT seq, body FROM chat_message WHERE group_id = %s ORDER BY seq", [group_id]
        ).fetchall()
        jobs = dict(db.execute("SELECT name, last_outcome FROM operations_scheduledjob").fetchall())
    latest = stored[-1][0]
    for client in clients.values():
        await client.until(lambda client=client: not client.outbox and client.contiguous >= latest, timeout=30)
    metrics = stack_metrics(stack)
    for client in clients.values():
        await client.stop()

    # Every message acked was stored exactly once, in order, and every member holds the same transcript.
    assert [seq for seq, _ in stored] == list(range(1, latest + 1))
    bodies = [body for _, body in stored]
    written = [body for _, _, body in conversation.said]
    assert len(set(bodies)) == len(bodies), "no message stored twice"
    assert sorted(b for b in bodies if "note" in b) == sorted(written), "every message written was stored"
    for name, client in clients.items():
        assert [client.transcript[seq]["body"] for seq in range(1, latest + 1)] == bodies, name
        mine = [client.acked[client_id] for who, client_id, _ in conversation.said if who == name]
        assert mine == sorted(mine), f"{name}'s messages are in the order {name} wrote them"
    for who, client_id, body in conversation.said:
        assert bodies[clients[who].acked[client_id] - 1] == body, "each ack named the seq its message has"
    assert len(written) >= 20, f"a real conversation: {len(written)} messages"

    # Counted by every process, the killed one included (prometheus_client's multiprocess mode).
    assert metrics["supportcircle_chat_messages_stored_total"] == len(written)
    assert metrics["supportcircle_open_sockets"] == len(PEOPLE)
    assert jobs == {"safeguarding_escalate": "ok", "purge_expired": "ok", "clearsessions": "ok"}  # the scheduler ran
    print("recovery (s): " + ", ".join(f"{fault} {seconds:.2f}" for fault, seconds in recovery.items()))
    print(f"{len(written)} messages written, {latest} in the transcript, the same for all {len(PEOPLE)} members")


def stack_metrics(stack: Stack) -> dict[str, float]:
    """/metrics from one daphne process, straight (loopback): the whole machine's sums."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{stack.daphne_port(2)}/metrics", timeout=5) as answer:  # noqa: S310
        text = answer.read().decode()
    return {
        line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines() if line and not line.startswith("#")
    }


def test_the_stack_serves_hashed_static_files_and_keeps_metrics_from_the_outside(stack):
    status, _, page = stack.get("/accounts/login/")
    assert status == 200
    stylesheet = re.search(rb'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page).group(1).decode()
    status, headers, _ = stack.get(stylesheet, **{"Accept-Encoding": "gzip"})
    assert status == 200
    assert "immutable" in headers["Cache-Control"] and headers["Content-Encoding"] == "gzip"
    assert stack.get("/metrics")[0] == 404  # through nginx: not without the token
    assert stack.get("/readyz")[0] == 200


def test_no_log_of_the_stack_holds_an_invite_or_reset_secret(stack):
    access_log = stack.folder / "log" / "access.log"
    lines_before = len(access_log.read_text().splitlines()) if access_log.exists() else 0
    paths = (
        f"/groups/{GROUP}/invite/{SECRET}/",
        f"/accounts/reset/MQ/{SECRET}/",
        f"/accounts/reset/{SECRET}/",
        f"/accounts/login/?next=/groups/{GROUP}/invite/{SECRET}/",
    )
    for path in paths:
        stack.get(path)
    # nginx writes each access log line as it sends the answer: wait for all four.
    eventually(
        lambda: access_log.exists() and len(access_log.read_text().splitlines()) >= lines_before + len(paths),
        what="nginx logging the four requests",
    )
    access = access_log.read_text()
    assert f"/groups/{GROUP}/invite/[hidden]/" in access and "/accounts/reset/[hidden]/" in access
    leaks = [path.name for path in (stack.folder / "log").glob("*.log") if SECRET in path.read_text()]
    assert leaks == []
