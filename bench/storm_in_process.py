"""The connect storm's work without daphne: CPU per login and socket, called in this process.

The connect storm (scenario 6) is bound by the server's one core, and a storm-only run takes a
minute or more on a slow hour. This drives ``supportcircle.asgi.application`` directly, as daphne
would: the login form's POST (with its CSRF cookie and token), then the group's WebSocket with the
new session cookie, until the ``ready`` frame and the history have arrived; the sockets stay open,
so the rooms fill and presence fans out as in the storm. What it measures is ours alone (Django,
Channels, the Redis layer, SQLite), without daphne, Twisted or the network. The ASGI messages are
handed over directly rather than through Channels' test communicators, whose queues and timeouts
would be counted in the same process's CPU.

    .venv/bin/python bench/storm_in_process.py [--count 1000] [--concurrency 50] [--login-only]

It needs the bench world (``make bench`` builds it into bench/.data/) and a Redis: REDIS_URL, or
redis://127.0.0.1:6379/7. The world's database is copied first (bench/.data/storm-in-process.sqlite3),
so the bench world is left as it was. ``--pause S`` waits S seconds after the warm-up (the process
id is printed), to attach a profiler such as ``py-spy record --gil --pid``. The machine's speed
changes from hour to hour, so compare two versions of the code by turns, several times each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / ".data"
HOST = b"127.0.0.1:8000"
ORIGIN = b"http://127.0.0.1:8000"


def prepare(copy_to: Path) -> dict:
    """A fresh copy of the bench world's database, and the world's description."""
    for suffix in ("-wal", "-shm"):  # a stale write-ahead log beside a fresh copy would corrupt it
        Path(f"{copy_to}{suffix}").unlink(missing_ok=True)
    shutil.copy(DATA / "bench.sqlite3", copy_to)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        SQLITE_PATH=str(copy_to),
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7"),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
    )
    return json.loads((DATA / "world-sqlite-bench.sqlite3.json").read_text())


async def http(app, method: str, path: str, headers=(), body: bytes = b"") -> tuple[int, dict, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", HOST), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict] = []

    async def receive():
        if pending:
            return pending.pop()
        await asyncio.Event().wait()  # no disconnect while the answer is written

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    cookies = {}
    for name, value in sent[0]["headers"]:
        if name.lower() == b"set-cookie":
            key, _, rest = value.decode().partition("=")
            cookies[key] = rest.split(";")[0]
    return sent[0]["status"], cookies, b"".join(m.get("body", b"") for m in sent[1:])


class Socket:
    """One chat socket driven through the ASGI application, kept open after its first two frames."""

    def __init__(self, app, slug: str, session: str) -> None:
        self.app, self.inbox, self.frames = app, asyncio.Queue(), 0
        self.opened = asyncio.Event()
        self.closed_with: int | None = None
        path = f"/ws/groups/{slug}/"
        self.scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "ws",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", HOST), (b"origin", ORIGIN), (b"cookie", f"sessionid={session}".encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "subprotocols": [],
        }

    async def send(self, message: dict) -> None:
        if message["type"] == "websocket.send":
            self.frames += 1
            if self.frames == 2:  # ready, then the history
                self.opened.set()
        elif message["type"] == "websocket.close":
            self.closed_with = message.get("code")
            self.opened.set()

    async def open(self) -> None:
        await self.inbox.put({"type": "websocket.connect"})
        self.task = asyncio.ensure_future(self.app(self.scope, self.inbox.get, self.send))
        await asyncio.wait_for(self.opened.wait(), 60)
        if self.closed_with is not None:
            raise RuntimeError(f"socket closed with {self.closed_with}")


async def storm(args, world: dict) -> None:
    from bench.asgi_p import application as app

    status, cookies, page = await http(app, "GET", "/accounts/login/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    csrf = cookies["csrftoken"]
    gate = asyncio.Semaphore(args.concurrency)
    sockets: list[Socket] = []

    async def one(member: int) -> None:
        async with gate:
            form = (
                f"username={quote(world['members'][member])}&password={quote(world['password'])}"
                f"&csrfmiddlewaretoken={quote(token)}"
            )
            headers = [
                (b"cookie", f"csrftoken={csrf}".encode()),
                (b"origin", ORIGIN),
                (b"content-type", b"application/x-www-form-urlencoded"),
            ]
            status, cookies, _ = await http(app, "POST", "/accounts/login/", headers, form.encode())
            if status != 302 or "sessionid" not in cookies:
                raise RuntimeError(f"login failed with HTTP {status}")
            if args.login_only:
                return
            socket = Socket(app, world["home_slugs"][member // world["group_size"]], cookies["sessionid"])
            sockets.append(socket)
            await socket.open()

    warm = 20
    await asyncio.gather(*(one(m) for m in range(warm)))
    if args.pause:
        print(f"pid {os.getpid()}: measuring in {args.pause} s", flush=True)
        await asyncio.sleep(args.pause)
    cpu, wall = time.process_time(), time.monotonic()
    await asyncio.gather(*(one(m) for m in range(warm, warm + args.count)))
    await asyncio.sleep(0.5)  # the last arrivals' presence reaches the room
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall - 0.5
    result = {
        "count": args.count,
        "concurrency": args.concurrency,
        "login_only": args.login_only,
        "cpu_ms_per_op": round(cpu * 1000 / args.count, 3),
        "wall_ms_per_op": round(wall * 1000 / args.count, 3),
        "frames_per_socket": round(sum(s.frames for s in sockets) / max(len(sockets), 1), 2),
    }
    print(json.dumps(result), flush=True)
    # The sockets are left open: the process ends here, as a stopped daphne's would, without the
    # event loop cancelling every consumer on its way out.
    os._exit(0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--login-only", action="store_true")
    parser.add_argument("--pause", type=float, default=0.0)
    parser.add_argument("--copy-to", default=str(DATA / "storm-in-process.sqlite3"))
    args = parser.parse_args()
    if args.count + 20 > 10_000:
        parser.error("the bench world has 10,000 members")
    world = prepare(Path(args.copy_to))
    sys.path.insert(0, str(ROOT))
    asyncio.run(storm(args, world))


if __name__ == "__main__":
    main()
