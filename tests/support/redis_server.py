"""A private redis-server for fault tests: killed, paused and restarted at will.

Never the shared Redis on 6379: these tests kill theirs.
"""

from __future__ import annotations

import shutil
import signal
import subprocess

import pytest

from tests.conftest import IN_CI
from tests.support.servers import free_port, wait_for_port


def require_redis_server() -> str:
    path = shutil.which("redis-server")
    if path is None:
        if IN_CI:
            pytest.fail("redis-server must be installed under CI=true")
        pytest.skip("redis-server is not installed")
    return path


class RedisServer:
    def __init__(self) -> None:
        self.binary = require_redis_server()
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def kill(self) -> None:
        """Die at once, as a crashed Redis would (everything it held is gone)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def pause(self) -> None:
        """Stall: connections stay open but nothing is answered."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.resume()
            self.kill()
