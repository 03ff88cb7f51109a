"""Start and stop what the benchmark measures: a private redis-server and the three targets.

Every process listens on 127.0.0.1 only. The server side (target and its redis-server) is
pinned to SERVER_CORE and the load generator to LOADGEN_CORE with taskset.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from tests.support.servers import free_port, wait_for_port  # the system tests' helpers, shared

ROOT = Path(__file__).resolve().parent.parent
SERVER_CORE = 0
LOADGEN_CORE = 1
FD_LIMIT = 20_000


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(FD_LIMIT, hard) if hard != resource.RLIM_INFINITY else FD_LIMIT
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def pinned(core: int, argv: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *argv] if shutil.which("taskset") else argv


class Process:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int) -> None:
        self.name = name
        self.port = port
        self.log_path = ROOT / "bench" / "results" / f"{name}.log.tmp"
        self.log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop)
        self.popen = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=raise_fd_limit
        )
        try:
            wait_for_port(port, timeout=30)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"{name} did not start; see {self.log_path}") from None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def signal(self, signum: int) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signum)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self.log.close()


def start_redis() -> tuple[Process, str]:
    """A private, memory-only redis-server, so INFO commandstats counts only this run."""
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    argv += ["--maxclients", "20000", "--protected-mode", "yes"]
    process = Process("redis", pinned(SERVER_CORE, argv), dict(os.environ), port)
    return process, f"redis://127.0.0.1:{port}/0"


def redis_commandstats(url: str) -> dict[str, int]:
    info = redis.Redis.from_url(url).info("commandstats")
    return {name.removeprefix("cmdstat_"): int(stats["calls"]) for name, stats in info.items()}


def reset_redis(url: str) -> None:
    client = redis.Redis.from_url(url)
    client.flushall()
    client.config_resetstat()


def daphne_argv(app: str, port: int) -> list[str]:
    # -v 0: no access log line per connection, for P and B alike.
    return [sys.executable, "-m", "daphne", "-v", "0", "-b", "127.0.0.1", "-p", str(port), app]


def start_target(kind: str, redis_url: str, db_env: dict[str, str], counters_path: Path) -> Process:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SQLITE_PATH", "REDIS_URL"}}
    env["PYTHONUNBUFFERED"] = "1"
    if kind == "P":
        env.update(db_env)
        env.update(
            DJANGO_SETTINGS_MODULE="bench.settings",
            REDIS_URL=redis_url,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            BENCH_COUNTERS_PATH=str(counters_path),
            LOG_LEVEL="WARNING",
        )
        argv = daphne_argv("bench.asgi_p:application", port)
    elif kind == "B":
        env["BENCH_REDIS_URL"] = redis_url
        argv = daphne_argv("bench.targets.bare_channels:application", port)
    elif kind == "R":
        argv = [sys.executable, str(ROOT / "bench" / "targets" / "raw_websockets.py"), str(port)]
    else:
        raise ValueError(kind)
    return Process(f"target-{kind}", pinned(SERVER_CORE, argv), env, port)


def start_profiler(process: Process, name: str) -> subprocess.Popen | None:
    """With BENCH_PROFILE=<kind>, sample that server during each step (py-spy, collapsed stacks).

    Only the thread holding the GIL is sampled (``--gil``): where the CPU goes. Without it, threads
    waiting for the GIL or for SQLite's write lock showed up as if they were working.
    """
    spy = Path(sys.executable).parent / "py-spy"
    if os.environ.get("BENCH_PROFILE") != process.name.removeprefix("target-") or not spy.exists():
        return None
    out = ROOT / "bench" / "results" / f"profile-{process.name}-{name}.txt.tmp"
    argv = [str(spy), "record", "--nonblocking", "--gil", "-r", "200", "-f", "raw", "-o", str(out)]
    argv += ["--pid", str(process.pid)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profiler(profiler: subprocess.Popen | None) -> None:
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(30)


def read_counters(process: Process, path: Path, timeout: float = 2.0) -> dict | None:
    """Ask the P server for its database statement count (SIGUSR1 makes it write the file)."""
    import json

    before = path.stat().st_mtime_ns if path.exists() else 0
    process.signal(signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_mtime_ns != before:
            try:
                return json.loads(path.read_text())
            except ValueError:
                pass
        time.sleep(0.02)
    return None
