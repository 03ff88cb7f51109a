"""The load generator: thousands of websockets clients in one asyncio process.

Every message carries its schedule stamp at the start of its body:
``<run>:<step>:<sender>:<n>:<scheduled monotonic time>``. A recipient computes latency as
arrival time minus *scheduled* send time, so a load generator that falls behind shows up
as latency instead of hiding it (no coordinated omission).

P and D clients (SupportCircle, production and development column) behave like static/js/chat.js:
they track the highest gap-free ``seq``, send ``backfill`` when a higher one arrives, resend a
``send`` after ``try_again`` with the same ``client_id``, and ask with ``ping`` at the end; a
message that arrives late by backfill counts as delivered (and its lateness counts in the
latency figures). The crowd also pings every 20 s, as chat.js does, and times the pongs.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import random
import re
import secrets
import socket
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import quote

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, WebSocketException

# Close codes after which chat.js stops instead of reconnecting (chat.protocol.CloseCode).
PERMANENT_CLOSE = {4401, 4403, 4404, 4409, 4410, 4429}
BODY_TAIL = " Checking in: today was heavy, but I went for a short walk and it helped a little."
RUN = secrets.token_hex(3)
MESSAGE_NUMBERS = itertools.count(1)  # n in each body and client_id: one number per message in the run


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


@dataclass
class Step:
    """One measured stretch of load: what was sent, what arrived, how late."""

    id: int
    name: str
    latencies: list[float] = field(default_factory=list)
    expected: int = 0
    delivered: int = 0
    backfilled: int = 0
    duplicates: int = 0
    sent: int = 0
    send_failures: int = 0
    resends: int = 0
    reconnects: int = 0
    errors: Counter = field(default_factory=Counter)
    closed: bool = False
    started: float = 0.0
    last_delivery: float = 0.0
    # Each message sent (its number, room) and, for a step that lost any, who missed which.
    sent_log: list[tuple[int, str]] = field(default_factory=list)
    missing: list[dict] = field(default_factory=list)
    # Round trips of the pings a schedule sent (the crowd's), from when each should have left.
    pong_latencies: list[float] = field(default_factory=list)
    pings: int = 0

    def summary(self, duration: float) -> dict:
        lat = self.latencies
        span = max(duration, self.last_delivery - self.started) if self.last_delivery else duration
        lost = max(self.expected - self.delivered, 0)

        def ms(q):
            value = percentile(lat, q)
            return None if value is None else round(value * 1000, 2)

        return {
            "messages_sent": self.sent,
            "deliveries_expected": self.expected,
            "delivered": self.delivered,
            "delivered_by_backfill": self.backfilled,
            "lost": lost,
            "duplicated": self.duplicates,
            "delivery_ratio": round(self.delivered / self.expected, 6) if self.expected else None,
            "delivered_per_s": round(self.delivered / span, 1) if span else None,
            "p50_ms": ms(50),
            "p95_ms": ms(95),
            "p99_ms": ms(99),
            "max_ms": round(max(lat) * 1000, 2) if lat else None,
            "send_failures": self.send_failures,
            "resends": self.resends,
            "reconnects": self.reconnects,
            "errors": dict(self.errors),
            **(
                {
                    "pings": self.pings,
                    "pongs": len(self.pong_latencies),
                    "pong_p50_ms": _ms(percentile(self.pong_latencies, 50)),
                    "pong_p99_ms": _ms(percentile(self.pong_latencies, 99)),
                }
                if self.pings
                else {}
            ),
            **({"missing_examples": self.missing[:10]} if self.missing else {}),
        }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


class Target:
    """A server under load: P or D (SupportCircle, production or development column), B or R, or
    the stack (S1, S2), reached through its nginx over TLS (``tls``: a context trusting its certificate)."""

    def __init__(
        self, kind: str, port: int, sessions: list[str] | None = None, tls: ssl.SSLContext | None = None
    ) -> None:
        self.kind = kind
        self.port = port
        self.sessions = sessions or []
        self.tls = tls

    @property
    def is_p(self) -> bool:
        """SupportCircle itself (either column, or the stack): it speaks the documented protocol."""
        return self.kind in ("P", "D", "S1", "S2")

    @property
    def secure(self) -> bool:
        """Production sits behind a TLS proxy: pages come as https (X-Forwarded-Proto), as a browser's would."""
        return self.kind == "P"

    @property
    def origin(self) -> str:
        return f"{'https' if self.secure or self.tls else 'http'}://127.0.0.1:{self.port}"

    def url(self, room: str) -> str:
        scheme = "wss" if self.tls else "ws"
        if self.is_p:
            return f"{scheme}://127.0.0.1:{self.port}/ws/groups/{room}/"
        return f"{scheme}://127.0.0.1:{self.port}/ws/{room}/"

    def headers(self, member: int, session: str | None = None) -> dict[str, str]:
        if not self.is_p:
            return {}
        return {"Cookie": f"sessionid={session or self.sessions[member]}", "Origin": self.origin}


class Generator:
    """Holds the clients and the step being measured."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.steps: dict[int, Step] = {}
        self.step: Step | None = None
        self.rooms: dict[str, list[Client]] = {}

    def new_step(self, name: str) -> Step:
        if self.step is not None:
            self.step.closed = True
        step = Step(id=len(self.steps) + 1, name=name, started=time.monotonic())
        self.steps[step.id] = step
        self.step = step
        for clients in self.rooms.values():
            for client in clients:
                client.seen.clear()
        return step

    def close_step(self) -> None:
        step = self.step
        if step is None:
            return
        step.closed = True
        if step.delivered < step.expected:
            # Which recipient missed which message, and what its socket knew: for finding out why.
            for n, room in step.sent_log:
                for client in self.rooms.get(room, ()):
                    if client.counted and n not in client.seen and len(step.missing) < 50:
                        step.missing.append(
                            {
                                "n": n,
                                "room": room,
                                "member": client.member,
                                "gone": client.gone,
                                "close_code": client.close_code,
                                "contiguous": client.contiguous,
                                "ahead": sorted(client.ahead)[:5],
                                "backfilling": client.backfilling,
                                "pending_sends": len(client.pending),
                                "trace": json.loads(json.dumps(client.trace)),
                            }
                        )

    def counted_in(self, room: str) -> int:
        return sum(1 for c in self.rooms.get(room, ()) if c.counted and not c.gone)

    def next_n(self) -> int:
        # Numbered across the whole run, not per generator: the server keeps one message per author,
        # group and client_id (a resend is acknowledged, not stored again), so a number used again by
        # a later scenario's generator was taken for a resend of the earlier message and never sent on.
        return next(MESSAGE_NUMBERS)


class Client:
    def __init__(self, gen: Generator, room: str, member: int, *, session: str | None = None) -> None:
        self.gen = gen
        self.room = room
        self.member = member
        self.session = session
        self.ws = None
        self.reader: asyncio.Task | None = None
        self.counted = True  # a deliberately slow reader is left out of the delivery figures
        self.gone = False
        self.close_code: int | None = None
        self.closed_at: float | None = None
        self.contiguous = 0
        self.ahead: set[int] = set()
        self.backfilling = False
        self.seen: dict[int, bool] = {}
        self.pending: dict[str, tuple[str, int]] = {}
        self.closing = False  # closed by the harness: never reconnect
        self.reconnects = 0
        self.awaiting_pongs = 0
        # When each unanswered ping should have left (None: a catch-up ping, not timed); pongs come in order.
        self.ping_times: collections.deque = collections.deque()
        # What this socket asked and heard about catching up (reported for a recipient that missed a message).
        self.trace = {"pings": 0, "pongs": [], "backfills": [], "histories": [], "live_seqs": []}

    async def open(self, *, rcvbuf: int | None = None, read: bool = True, last_seq: int | None = None) -> None:
        target = self.gen.target
        sock = None
        if rcvbuf:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", target.port))
        self.ws = await connect(
            target.url(self.room) + (f"?last_seq={last_seq}" if last_seq is not None else ""),
            additional_headers=target.headers(self.member, self.session),
            compression=None,
            ping_interval=None,
            open_timeout=60,
            close_timeout=1,
            max_size=2**23,
            max_queue=16,
            sock=sock,
            ssl=target.tls,
        )
        if target.is_p:
            ready = json.loads(await asyncio.wait_for(self.ws.recv(), 60))
            if ready.get("type") != "ready":
                raise RuntimeError(f"expected ready, got {ready}")
            self.contiguous = max(self.contiguous, ready["latest_seq"]) if last_seq is not None else ready["latest_seq"]
            self.backfilling = False
            self.on_frame(await asyncio.wait_for(self.ws.recv(), 60))
        if self not in self.gen.rooms.setdefault(self.room, []):
            self.gen.rooms[self.room].append(self)
        if read:
            self.reader = asyncio.create_task(self.read_loop())

    async def read_loop(self) -> None:
        try:
            async for raw in self.ws:
                self.on_frame(raw)
        except ConnectionClosed:
            pass
        finally:
            self.gone = True
            self.close_code = self.ws.close_code
            self.closed_at = time.monotonic()
        self.ping_times.clear()  # a new socket answers only its own pings
        if self.gen.target.is_p and not self.closing and self.close_code not in PERMANENT_CLOSE:
            await self.reconnect()

    async def reconnect(self) -> None:
        """As chat.js does: back off with jitter, reopen with ?last_seq=, and let history bring what was missed."""
        for attempt in range(5):
            await asyncio.sleep(min(8.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.5))
            if self.closing:
                return
            try:
                await self.open(last_seq=self.contiguous)
            except (OSError, WebSocketException, RuntimeError, TimeoutError):
                continue
            self.gone = False
            self.reconnects += 1
            if self.gen.step is not None:
                self.gen.step.reconnects += 1
            return

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 2)
            except (TimeoutError, ConnectionClosed, OSError):
                pass
        if self.reader is not None:
            self.reader.cancel()

    # Receiving -----------------------------------------------------------

    def on_frame(self, raw: str) -> None:
        now = time.monotonic()
        frame = json.loads(raw)
        kind = frame.get("type")
        if kind == "message":
            message = frame["message"]
            self.trace["live_seqs"] = (self.trace["live_seqs"] + [message["seq"]])[-4:]
            self.on_seq(message["seq"])
            self.deliver(message["body"], now, live=True)
        elif kind == "send":  # B and R forward the sender's frame as it is
            self.deliver(frame["body"], now, live=True)
        elif kind == "history":
            self.trace["histories"] = (
                self.trace["histories"] + [(frame["after_seq"], frame["through_seq"], len(frame["messages"]))]
            )[-4:]
            for message in frame["messages"]:
                self.deliver(message["body"], now, live=False)
            self.contiguous = max(self.contiguous, frame["through_seq"])
            self.ahead = {seq for seq in self.ahead if seq > self.contiguous}
            self.backfilling = False
            if frame["more"] or self.ahead:
                self.request_backfill()
        elif kind == "ack":
            sent = self.pending.pop(frame["client_id"], None)
            if frame.get("duplicate") and sent is not None and frame["message"]["body"] != json.loads(sent[0])["body"]:
                # Acknowledged as a resend of another message with this client_id: this one is not stored.
                self.on_error({"code": "acked_as_another_message"})
        elif kind == "pong":
            self.awaiting_pongs = max(self.awaiting_pongs - 1, 0)
            scheduled = self.ping_times.popleft() if self.ping_times else None
            step = self.gen.step
            if scheduled is not None and step is not None and not step.closed:
                step.pong_latencies.append(now - scheduled)
            self.trace["pongs"] = (self.trace["pongs"] + [(frame["latest_seq"], self.contiguous, self.backfilling)])[
                -4:
            ]
            if frame["latest_seq"] > self.contiguous:
                self.request_backfill()
        elif kind == "error":
            self.on_error(frame)

    def on_seq(self, seq: int) -> None:
        if seq <= self.contiguous:
            return
        self.ahead.add(seq)
        while self.contiguous + 1 in self.ahead:
            self.contiguous += 1
            self.ahead.discard(self.contiguous)
        if self.ahead and not self.backfilling:
            self.request_backfill()

    def request_backfill(self) -> None:
        if self.backfilling or self.gone:
            return
        self.backfilling = True
        self.trace["backfills"] = (self.trace["backfills"] + [self.contiguous])[-4:]
        asyncio.ensure_future(self._send_quietly(json.dumps({"type": "backfill", "after_seq": self.contiguous})))

    def deliver(self, body: str, now: float, *, live: bool) -> None:
        head = body.split(" ", 1)[0].split(":")
        if len(head) != 5 or head[0] != RUN or not self.counted:
            return
        step = self.gen.steps.get(int(head[1]))
        if step is None or step.closed:
            return
        n = int(head[3])
        earlier = self.seen.get(n)
        if earlier is not None:
            if live and earlier:
                step.duplicates += 1
            return
        self.seen[n] = live
        step.delivered += 1
        if not live:
            step.backfilled += 1
        step.latencies.append(now - float(head[4]))
        step.last_delivery = now

    def on_error(self, frame: dict) -> None:
        step = self.gen.step
        if step is not None:
            step.errors[frame.get("code", "?")] += 1
        ref = frame.get("ref")
        if frame.get("code") == "try_again" and ref in self.pending:
            text, attempts = self.pending[ref]
            if attempts < 5:
                self.pending[ref] = (text, attempts + 1)
                if step is not None:
                    step.resends += 1
                delay = float(frame.get("retry_after", 1))
                asyncio.get_running_loop().call_later(delay, lambda: asyncio.ensure_future(self._send_quietly(text)))

    # Sending -------------------------------------------------------------

    async def _send_quietly(self, text: str) -> None:
        try:
            await self.ws.send(text)
        except ConnectionClosed:
            pass

    async def post(self, step: Step, n: int, scheduled: float, body_tail: str = BODY_TAIL) -> None:
        body = f"{RUN}:{step.id}:{self.member}:{n}:{scheduled:.6f}{body_tail}"
        client_id = f"{RUN}-{n}"
        text = json.dumps({"type": "send", "client_id": client_id, "body": body})
        if self.gen.target.is_p:
            self.pending[client_id] = (text, 0)
        await self.ws.send(text)

    async def ping(self, scheduled: float | None = None) -> None:
        """Ask for the group's latest seq, as chat.js does every 20 s; ``scheduled``: time the round trip."""
        if self.gen.target.is_p and not self.gone:
            self.trace["pings"] += 1
            self.awaiting_pongs += 1
            self.ping_times.append(scheduled)
            await self._send_quietly('{"type":"ping"}')

    @property
    def caught_up(self) -> bool:
        """Heard the latest seq since the last ping, and has no backfill outstanding (or is gone)."""
        return self.gone or (self.awaiting_pongs == 0 and not self.backfilling)


async def open_clients(clients: list[Client], concurrency: int = 200, **kwargs) -> list[str]:
    """Open every client, at most ``concurrency`` at a time; return the errors seen."""
    gate = asyncio.Semaphore(concurrency)
    errors: list[str] = []

    async def one(client: Client) -> None:
        async with gate:
            try:
                await client.open(**kwargs)
            except (OSError, WebSocketException, RuntimeError, TimeoutError) as problem:
                errors.append(f"{type(problem).__name__}: {problem}"[:200])

    await asyncio.gather(*(one(c) for c in clients))
    return errors


async def close_clients(clients: list[Client]) -> None:
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    for room in {c.room for c in clients}:
        remaining = [c for c in clients if c.room == room]
        gen_rooms = clients[0].gen.rooms if clients else {}
        gen_rooms[room] = [c for c in gen_rooms.get(room, []) if c not in remaining]


async def run_schedule(
    gen: Generator,
    senders: list[Client],
    *,
    rate: float,
    duration: float,
    body_tail: str = BODY_TAIL,
    until: asyncio.Event | None = None,
) -> Step:
    """Open-loop load: message k goes out at t0 + k/rate from senders[k % len(senders)].

    It stops after ``duration`` seconds, or earlier once ``until`` is set.
    """
    step = gen.step
    total = int(rate * duration)
    t0 = time.monotonic() + 0.05
    for k in range(total):
        if until is not None and until.is_set():
            break
        scheduled = t0 + k / rate
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif k % 32 == 0:
            await asyncio.sleep(0)  # behind schedule: still let receivers run
        await _post_on_time(gen, step, senders[k % len(senders)], scheduled, body_tail)
    return step


async def _post_on_time(gen: Generator, step: Step, client: Client, scheduled: float, body_tail: str) -> None:
    """One message from ``client``, stamped with when it should have left, counted for every recipient."""
    if client.gone:
        step.send_failures += 1
        return
    step.expected += gen.counted_in(client.room)
    step.sent += 1
    n = gen.next_n()
    step.sent_log.append((n, client.room))
    try:
        await client.post(step, n, scheduled, body_tail)
    except ConnectionClosed:
        step.send_failures += 1


async def run_crowd(
    gen: Generator, clients: list[Client], *, duration: float, ping_every: float, post_every: float
) -> Step:
    """Everyone at once, as chat.js is used: each client pings every ``ping_every`` seconds and posts
    every ``post_every`` seconds, each at its own random phase, open-loop (from when it should happen)."""
    step = gen.step
    rng = random.Random(20)
    t0 = time.monotonic() + 0.05
    events: list[tuple[float, int, Client]] = []  # (when, 0 ping / 1 post, who)
    for client in clients:
        for every, what in ((ping_every, 0), (post_every, 1)):
            at = rng.uniform(0, every)
            while at < duration:
                events.append((t0 + at, what, client))
                at += every
    events.sort(key=lambda event: (event[0], event[1]))
    for index, (scheduled, what, client) in enumerate(events):
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif index % 32 == 0:
            await asyncio.sleep(0)  # behind schedule: still let receivers run
        if what == 1:
            await _post_on_time(gen, step, client, scheduled, BODY_TAIL)
        elif not client.gone:
            step.pings += 1
            await client.ping(scheduled)
    return step


# After the pings, how long at most to wait for every pong and the backfills they start. A server
# past saturation answers a ping behind seconds of queued deliveries; what arrives in this time is
# late (and counted so in the latencies), never lost.
CATCH_UP_LIMIT_SECONDS = 30.0


async def drain(gen: Generator, step: Step, *, timeout: float, catch_up: bool = True) -> None:
    """Wait for deliveries to stop; P clients then ask with ping and backfill like the real client.

    A message counts as lost only if it has not arrived once every socket has had its pong (the
    group's latest seq, read after the message was stored) and finished the backfill it asked for.
    """
    deadline = time.monotonic() + timeout
    while step.delivered < step.expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    if catch_up and gen.target.is_p and step.delivered < step.expected:
        clients = [c for room in gen.rooms.values() for c in room if c.counted and not c.gone]
        for client in clients:
            await client.ping()
        deadline = time.monotonic() + CATCH_UP_LIMIT_SECONDS
        while step.delivered < step.expected and time.monotonic() < deadline:
            if all(c.caught_up for c in clients):
                break
            await asyncio.sleep(0.05)


# Plain HTTP on asyncio streams (login and history pages) --------------------------------


async def http(
    port: int,
    method: str,
    path: str,
    *,
    headers: dict | None = None,
    body: bytes = b"",
    secure: bool = False,
    tls: ssl.SSLContext | None = None,
) -> tuple:
    """One request on a fresh connection; ``secure``: as it reaches a server behind a TLS proxy;
    ``tls``: over TLS, to the proxy itself (the stack's nginx)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=tls)
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
        if secure:
            lines.append("X-Forwarded-Proto: https")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body:
            lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 60)
    finally:
        writer.close()
    head, _, content = raw.partition(b"\r\n\r\n")
    head_lines = head.decode("latin1").split("\r\n")
    status_line = head_lines[0].split()
    if len(status_line) < 2 or not status_line[1].isdigit():
        # The connection closed without an answer (an overloaded proxy does): an error the scenario
        # counts, as a refused connection is, not the end of the run (it once ended a full run here).
        raise ConnectionResetError(f"no HTTP answer ({len(raw)} bytes)")
    status = int(status_line[1])
    cookies = {}
    for line in head_lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "set-cookie":
            key, _, rest = value.strip().partition("=")
            cookies[key] = rest.split(";", 1)[0]
    return status, cookies, content


async def csrf_pair(target: Target) -> tuple[str, str]:
    """A csrftoken cookie and the form token that goes with it, from the real login page."""
    status, cookies, content = await http(target.port, "GET", "/accounts/login/", secure=target.secure, tls=target.tls)
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', content)
    if status != 200 or not match or "csrftoken" not in cookies:
        raise RuntimeError(f"login page did not offer a CSRF token (HTTP {status})")
    return cookies["csrftoken"], match.group(1).decode()


async def log_in(target: Target, pseudonym: str, password: str, csrf: tuple[str, str]) -> str:
    """Log in through the real login form; return the new session key."""
    cookie, token = csrf
    form = f"username={quote(pseudonym)}&password={quote(password)}&csrfmiddlewaretoken={quote(token)}"
    status, cookies, _ = await http(
        target.port,
        "POST",
        "/accounts/login/",
        headers={"Cookie": f"csrftoken={cookie}", "Origin": target.origin},
        body=form.encode(),
        secure=target.secure,
        tls=target.tls,
    )
    if status != 302 or "sessionid" not in cookies:
        raise RuntimeError(f"login for {pseudonym} failed (HTTP {status})")
    return cookies["sessionid"]


async def chat_page(target: Target, room: str, session: str) -> int:
    """Open the group's chat page as a signed-in member; return the seq its socket starts from."""
    status, _, content = await http(
        target.port,
        "GET",
        f"/groups/{room}/chat/",
        headers={"Cookie": f"sessionid={session}"},
        secure=target.secure,
        tls=target.tls,
    )
    match = re.search(rb'data-last-seq="(\d+)"', content)
    if status != 200 or not match:
        raise RuntimeError(f"the chat page of {room} did not open (HTTP {status})")
    return int(match.group(1))
