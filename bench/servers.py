"""Start and stop what the benchmark measures: a private redis-server and the targets.

Every process listens on 127.0.0.1 only. The server side (target and its redis-server) is
pinned to SERVER_CORE and the load generator to LOADGEN_CORE with taskset. The stack targets
(S1, S2) are `make stack` itself (deploy/stack.py), started on SERVER_CORE; S2's second daphne
process is moved to LOADGEN_CORE, the only other core there is.
"""

from __future__ import annotations

import hashlib
import os
import re
import resource
import shutil
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import redis

from bench.procstats import children_of
from deploy.stack import PORTS as STACK_PORTS
from tests.support.servers import free_port, free_port_block, wait_for_port  # the system tests' helpers, shared

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
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
        self.log_path = RESULTS / f"{name}.log.tmp"
        # Appended to: a target restarted (idle memory, the database proxy) keeps its earlier log.
        self.log = open(self.log_path, "a")  # noqa: SIM115 (closed in stop)
        self.log.write(f"--- {time.strftime('%H:%M:%S')} {' '.join(argv)}\n")
        self.log.flush()
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

    @property
    def pids(self) -> tuple[int, ...]:
        """The server's processes (one here; the stack's daphne processes in StackTarget)."""
        return (self.pid,)

    # Only the stack has these: its TLS front, its helper processes, a process on the load generator's core.
    tls = None
    on_loadgen_core: tuple[int, ...] = ()

    def backing_pids(self) -> list[int]:
        return []

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
    # -v 0: no access log line per connection, for P, D and B alike (behind a proxy, it logs there).
    return [sys.executable, "-m", "daphne", "-v", "0", "-b", "127.0.0.1", "-p", str(port), app]


# SupportCircle's two configurations. Everything is an environment variable that
# supportcircle/settings.py reads, as an operator would set it; nothing else differs from `make run`.
PRODUCTION = "production"  # P: PostgreSQL, channels-redis's pub/sub layer, SUPPORTCIRCLE_ENV=production
DEVELOPMENT = "development"  # D: SQLite, the in-memory layer, the settings' development defaults
COLUMN_OF = {"P": PRODUCTION, "D": DEVELOPMENT}
# The one bench-only knob: the saturation ramp makes 1,000 sockets stand in for many more people, so
# each bench member posts faster than the per-member limit allows (the limit is still checked on every send).
BENCH_RATE_LIMIT = "10000/10"


def app_environment(column: str, *, database: str, secret_key: str, redis_url: str | None) -> dict[str, str]:
    """The environment a P or D server (and the process that builds its world) runs with.

    ``database`` is a postgres:// URL for production and a file path for development.
    """
    env = {k: v for k, v in os.environ.items() if k not in APP_VARIABLES}
    env.update(
        DJANGO_SETTINGS_MODULE="supportcircle.settings",
        SECRET_KEY=secret_key,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        CHAT_RATE_LIMIT=BENCH_RATE_LIMIT,
        PYTHONUNBUFFERED="1",
    )
    if column == PRODUCTION:
        if not redis_url:
            raise ValueError("the production column needs a Redis URL")
        env.update(
            SUPPORTCIRCLE_ENV="production",
            DATABASE_URL=database,
            REDIS_URL=redis_url,
            # Required in production with Redis: chat payloads cross Redis encrypted.
            CHANNEL_ENCRYPTION_KEY=hashlib.sha256(f"channels {secret_key}".encode()).hexdigest(),
        )
    elif column == DEVELOPMENT:
        env.update(SUPPORTCIRCLE_ENV="development", SQLITE_PATH=database)
    else:
        raise ValueError(column)
    return env


# Variables of the shell that would change what P or D measures; each server gets exactly the above.
APP_VARIABLES = {
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "SQLITE_PATH",
    "REDIS_URL",
    "SUPPORTCIRCLE_ENV",
    "DEBUG",
    "SECRET_KEY",
    "CHANNEL_ENCRYPTION_KEY",
    "FAST_PASSWORD_HASHER",
    "CHAT_RATE_LIMIT",
    "DATABASE_TRIPS_INLINE",
    "CHAT_OPENING_THREADS",
    "DATABASE_THREADS",
    "REDIS_SENTINELS",
    "REDIS_SENTINEL_MASTER",
    "REDIS_PASSWORD",
    "LOG_FORMAT",
}


def start_target(kind: str, redis_url: str, app_env: dict[str, str] | None, counters_path: Path) -> Process:
    """Start P or D (``app_env`` from app_environment), B or R on a free port, pinned to the server core.

    P and D are ``daphne supportcircle.asgi:application`` wrapped by bench/asgi_p.py, which only adds
    a statement counter; with BENCH_PLAIN_APP=1 daphne serves supportcircle.asgi:application itself
    (and no statements are counted).
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in APP_VARIABLES}
    env["PYTHONUNBUFFERED"] = "1"
    if kind in COLUMN_OF:
        env = dict(app_env or {})
        if os.environ.get("BENCH_PLAIN_APP"):
            argv = daphne_argv("supportcircle.asgi:application", port)
        else:
            env["BENCH_COUNTERS_PATH"] = str(counters_path)
            argv = daphne_argv("bench.asgi_p:application", port)
    elif kind == "B":
        env["BENCH_REDIS_URL"] = redis_url
        argv = daphne_argv("bench.targets.bare_channels:application", port)
    elif kind == "R":
        argv = [sys.executable, str(ROOT / "bench" / "targets" / "raw_websockets.py"), str(port)]
    elif kind in STACK_PROCESSES:
        return StackTarget(kind, app_env or {})
    else:
        raise ValueError(kind)
    return Process(f"target-{kind}", pinned(SERVER_CORE, argv), env, port)


# S1 and S2: the production stack (deploy/stack.py, what `make stack` starts) with one and two daphne
# processes, measured through its nginx over TLS, as members reach it.
STACK_PROCESSES = {"S1": 1, "S2": 2}
STACK_TOOLS = ("nginx", "pgbouncer", "supervisord", "redis-sentinel")  # as .ci/run checks them


class StackTarget:
    """`make stack` serving P's world: P's database (through its PgBouncer) and SECRET_KEY, so P's
    members and sessions are the stack's; its own Redis with Sentinel, nginx and supervisor, in
    bench/.data/stack-<kind>/ on a free block of ports. ``stop`` stops it and keeps the database.
    """

    def __init__(self, kind: str, app_env: dict[str, str]) -> None:
        self.name = f"target-{kind}"
        self.folder = ROOT / "bench" / ".data" / f"stack-{kind.lower()}"
        base = free_port_block()
        self.port = base + STACK_PORTS["https"]
        self.env = stack_environment(kind, app_env, folder=self.folder, port_base=base)
        self.log_path = RESULTS / f"{self.name}.log.tmp"
        self.stack("stop")  # one an interrupted run left behind (only what it started)
        self.stack("start", check=True)
        programs = self.programs()
        self.pids = tuple(pid for name, pid in sorted(programs.items()) if name.startswith("daphne:"))
        self.pid = self.pids[0]
        self.others = [pid for name, pid in programs.items() if not name.startswith("daphne:")]
        self.others += children_of([programs["nginx"]])  # its workers do the work
        self.database_url = app_env["DATABASE_URL"]
        # The second process has only the load generator's core left: it competes with it.
        self.on_loadgen_core = self.pids[1:]
        for pid in self.on_loadgen_core:
            for thread in os.listdir(f"/proc/{pid}/task"):
                os.sched_setaffinity(int(thread), {LOADGEN_CORE})
        self.tls = ssl.create_default_context(cafile=str(self.folder / "tls" / "cert.pem"))

    def stack(self, command: str, check: bool = False) -> None:
        with open(self.log_path, "a") as log:
            log.write(f"--- {time.strftime('%H:%M:%S')} deploy/stack.py {command}\n")
            log.flush()
            argv = pinned(SERVER_CORE, [sys.executable, str(ROOT / "deploy" / "stack.py"), command])
            done = subprocess.run(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, timeout=300)
        if check and done.returncode:
            raise RuntimeError(f"the stack did not start; see {self.log_path} and {self.folder / 'log'}/")

    def programs(self) -> dict[str, int]:
        """Each running program of the stack's supervisor, by name (daphne:daphne-1, nginx, ...): its pid."""
        argv = ["supervisorctl", "-c", str(self.folder / "conf" / "supervisord.conf"), "status"]
        status = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
        return {name: int(pid) for name, pid in re.findall(r"^(\S+)\s+RUNNING\s+pid (\d+)", status, re.MULTILINE)}

    def backing_pids(self) -> list[int]:
        """What works for the daphne processes: nginx, PgBouncer, Redis, Sentinels, the scheduler, PostgreSQL."""
        return self.others + postgres_backends(self.database_url)

    def signal(self, signum: int) -> None:
        raise RuntimeError("the stack's daphne processes serve supportcircle.asgi:application: no counters")

    def stop(self) -> None:
        self.stack("stop")


def stack_environment(kind: str, app_env: dict[str, str], *, folder: Path, port_base: int) -> dict[str, str]:
    """What deploy/stack.py is started with for S1 or S2 (its variables: deploy/stack.py's docstring)."""
    database = urlsplit(app_env["DATABASE_URL"])  # P's, which may carry options for P's own pool: not used
    env = {k: v for k, v in os.environ.items() if k not in APP_VARIABLES and not k.startswith("STACK_")}
    env.update(
        STACK_DIR=str(folder),
        STACK_PORT_BASE=str(port_base),
        STACK_PROCESSES=str(STACK_PROCESSES[kind]),
        STACK_POSTGRES=database._replace(path="", query="").geturl(),
        STACK_DATABASE=database_name(app_env["DATABASE_URL"]),
        STACK_DEMO="0",
        # P's SECRET_KEY signs the world's sessions; the stack keeps its own CHANNEL_ENCRYPTION_KEY.
        STACK_APP_SECRET_KEY=app_env["SECRET_KEY"],
        STACK_APP_CHAT_RATE_LIMIT=BENCH_RATE_LIMIT,
        STACK_APP_LOG_LEVEL="WARNING",
    )
    return env


# A DATABASE_URL may carry SupportCircle's own options (supportcircle/settings.py: ``pool=true``,
# ``pgbouncer=transaction``) beside libpq's; the harness's own connections pass libpq's only.
APP_DATABASE_OPTIONS = {"pool", "pool_min_size", "pool_max_size", "pool_timeout", "pgbouncer"}


def database_name(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


def with_database(url: str, name: str) -> str:
    """The same URL (address, options) naming another database."""
    return urlsplit(url)._replace(path="/" + name).geturl()


def with_address(url: str, host_port: str) -> str:
    """The same URL (database, options) at another ``host:port``."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    return parts._replace(netloc=f"{credentials}@{host_port}" if credentials else host_port).geturl()


def address(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or '127.0.0.1'}:{parts.port or 5432}"


def for_libpq(url: str) -> str:
    """``url`` without SupportCircle's own options, as psycopg (libpq) takes it."""
    parts = urlsplit(url)
    kept = [(key, value) for key, value in parse_qsl(parts.query) if key not in APP_DATABASE_OPTIONS]
    return parts._replace(query=urlencode(kept)).geturl()


def postgres_backends(database_url: str) -> list[int]:
    """The process ids of PostgreSQL's backends serving ``database_url``'s database now."""
    import psycopg

    try:
        with psycopg.connect(for_libpq(with_database(database_url, "postgres")), autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", [database_name(database_url)]
            ).fetchall()
    except psycopg.Error:
        return []
    return [pid for (pid,) in rows]


def start_db_proxy(round_trip_ms: float, upstream: str) -> Process:
    """bench/db_proxy.py on the load generator's core: PostgreSQL (``host:port``) ``round_trip_ms`` away."""
    port = free_port()
    argv = [sys.executable, str(ROOT / "bench" / "db_proxy.py"), "--listen", str(port)]
    argv += ["--upstream", upstream, "--round-trip-ms", str(round_trip_ms)]
    return Process(f"db-proxy-{round_trip_ms:g}ms", pinned(LOADGEN_CORE, argv), dict(os.environ), port)


def start_profiler(process: Process, name: str) -> subprocess.Popen | None:
    """With BENCH_PROFILE=<kind>, sample that server during each step (py-spy, collapsed stacks).

    Only the thread holding the GIL is sampled (``--gil``): where the CPU goes. Without it, threads
    waiting for the GIL or for SQLite's write lock showed up as if they were working.
    """
    spy = Path(sys.executable).parent / "py-spy"
    if os.environ.get("BENCH_PROFILE") != process.name.removeprefix("target-") or not spy.exists():
        return None
    out = RESULTS / f"profile-{process.name}-{name}.txt.tmp"
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
