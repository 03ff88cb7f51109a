"""The production stack (deploy/stack.py) started for a test: its own run folder, ports and database.

Never the shared services' ports, and never the stack a developer may have up with `make stack`.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.conftest import IN_CI
from tests.support.servers import free_port_block

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("nginx", "pgbouncer", "supervisord", "redis-server", "redis-sentinel", "openssl")
POSTGRES = os.environ.get("STACK_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432")
SUITE_ONLY = {"FAST_PASSWORD_HASHER", "DATABASE_URL", "REDIS_URL", "SQLITE_PATH", "DEBUG"}


def require_the_stacks_packages() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        message = f"the stack's Debian packages are missing ({', '.join(missing)}): .ci/run installs them"
        if IN_CI:
            pytest.fail(message + " (required under CI=true)")
        pytest.skip(message)
    try:
        psycopg.connect(POSTGRES + "/postgres", connect_timeout=3).close()
    except psycopg.OperationalError:
        if IN_CI:
            pytest.fail(f"PostgreSQL must be reachable at {POSTGRES} under CI=true")
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES}")


class Stack:
    def __init__(self, folder: Path, processes: int = 2) -> None:
        self.base = free_port_block()
        self.database = f"supportcircle_stacktest_{uuid.uuid4().hex[:8]}"
        self.env = {
            # Not the suite's own settings for the servers it starts (a fast password hasher, say):
            # the stack runs as production does, which refuses them.
            **{k: v for k, v in os.environ.items() if k not in SUITE_ONLY},
            "STACK_DIR": str(folder),
            "STACK_PORT_BASE": str(self.base),
            "STACK_PROCESSES": str(processes),
            "STACK_POSTGRES": POSTGRES,
            "STACK_DATABASE": self.database,
            "STACK_DEMO": "1",
        }
        self.folder = folder
        self.processes = processes

    # Running it -------------------------------------------------------------------------------

    def command(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "deploy/stack.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=check,
        )

    def start(self) -> float:
        began = time.monotonic()
        done = self.command("start", check=False)
        assert done.returncode == 0, done.stdout + done.stderr + self.logs()
        return time.monotonic() - began

    def destroy(self) -> None:
        self.command("destroy", check=False)

    def logs(self) -> str:
        return "".join(f"\n--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted((self.folder / "log").glob("*.log")))

    def ctl(self, *args: str) -> str:
        return self.command("ctl", *args, check=False).stdout

    def pid(self, program: str) -> int:
        return int(self.ctl("pid", program).strip())

    def kill(self, program: str) -> int:
        pid = self.pid(program)
        os.kill(pid, signal.SIGKILL)
        return pid

    # Addresses --------------------------------------------------------------------------------

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.base + 43}"

    @property
    def wss(self) -> str:
        return f"wss://127.0.0.1:{self.base + 43}"

    def daphne_port(self, number: int) -> int:
        return self.base + number

    @property
    def pgbouncer_port(self) -> int:
        return self.base + 32

    @property
    def redis_ports(self) -> dict[str, int]:
        return {"redis-a": self.base + 50, "redis-b": self.base + 51}

    @property
    def sentinel_port(self) -> int:
        return self.base + 60

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.folder / "tls" / "cert.pem"))

    def database_connection(self) -> psycopg.Connection:
        return psycopg.connect(f"{POSTGRES}/{self.database}", autocommit=True)

    # A person's way in -------------------------------------------------------------------------

    def log_in(self, pseudonym: str, password: str) -> str:
        """Log in through nginx with the login form, as a browser does; the session cookie's value."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=self.tls()), urllib.request.HTTPCookieProcessor(jar)
        )
        page = opener.open(f"{self.https}/accounts/login/", timeout=10).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"username": pseudonym, "password": password, "csrfmiddlewaretoken": token})
        request = urllib.request.Request(
            f"{self.https}/accounts/login/", data=form.encode(), headers={"Origin": self.https}, method="POST"
        )
        opener.open(request, timeout=10).read()
        sessions = [cookie for cookie in jar if cookie.name == "sessionid"]
        assert sessions and sessions[0].secure, "a secure session cookie"
        return sessions[0].value

    def get(self, path: str, **headers: str) -> tuple[int, dict, bytes]:
        request = urllib.request.Request(self.https + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10, context=self.tls()) as answer:  # noqa: S310
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as refused:
            return refused.code, dict(refused.headers), refused.read()
