"""Real server processes for system tests: daphne (and redis-server) as subprocesses.

The daphne processes share the test database with pytest (use
``@pytest.mark.django_db(transaction=True)`` so what a test writes is committed
and visible to them) and, when given a Redis URL, share one channel layer.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 120.0, process: subprocess.Popen | None = None) -> None:
    """Wait until something listens on ``port``. A failure timeout, not a speed bound: a server starts
    in a second or two on a quiet machine and took over 15 s under CI's load; one that exited fails at once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise TimeoutError(f"the server for 127.0.0.1:{port} exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def test_database_env() -> dict[str, str]:
    """Environment that points a subprocess at the database pytest is using right now."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return {"SQLITE_PATH": str(db["NAME"])}
    user = db["USER"] or "postgres"
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or "5432"
    return {"DATABASE_URL": f"postgres://{user}@{host}:{port}/{db['NAME']}"}


class Daphne:
    """One daphne process serving supportcircle.asgi on a free loopback port."""

    def __init__(
        self,
        *,
        redis_url: str | None = None,
        port: int | None = None,
        extra_env: dict | None = None,
        log_path: Path | None = None,
    ):
        self.port = port or free_port()
        self.redis_url = redis_url
        self.extra_env = extra_env or {}
        # Where the server's log goes (a file, so a chatty DEBUG log never fills a pipe and stalls it).
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SQLITE_PATH"}}
        env.update(test_database_env())
        env["ALLOWED_HOSTS"] = "127.0.0.1,localhost"
        env["SECRET_KEY"] = settings.SECRET_KEY
        env.setdefault("LOG_LEVEL", "WARNING")
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        env.update(self.extra_env)
        return env

    def start(self) -> Daphne:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "supportcircle.asgi:application"],
            cwd=ROOT,
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=self.log_path.open("ab") if self.log_path else subprocess.PIPE,
        )
        try:
            wait_for_port(self.port, process=self.process)
        except TimeoutError:
            self.stop()
            raise
        return self

    def kill(self) -> None:
        """Die at once, as a crashed server would."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> Daphne:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def ws_headers(user, origin: str = "http://127.0.0.1") -> dict[str, str]:
    """Headers for a real WebSocket client (the `websockets` package) logged in as ``user``."""
    from tests.conftest import session_cookie

    return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_cookie(user)}", "Origin": origin}
