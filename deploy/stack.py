"""`make stack` and `make stack-stop`: the production shape on one machine, all on loopback.

nginx (TLS, static files, WebSockets) in front of N daphne processes under supervisor, PostgreSQL
through PgBouncer in transaction pooling, Redis with Sentinel (a master, a replica, three Sentinels)
for the channel layer, and the scheduler. Built from Debian's packages and the files in deploy/,
which are the ones docs/operations.md installs on real machines: here their @@...@@ values are
filled in and written to the run folder (.stack/ unless STACK_DIR says otherwise).

    python deploy/stack.py start     # or: make stack
    python deploy/stack.py stop      # or: make stack-stop; stops exactly what start started
    python deploy/stack.py status
    python deploy/stack.py ctl ARGS  # supervisorctl for this stack (e.g. `ctl restart pgbouncer`)
    python deploy/stack.py destroy   # stop, then drop the stack's database and its run folder

Environment: STACK_DIR, STACK_PORT_BASE (a multiple of 100, default 8400: see PORTS),
STACK_PROCESSES (daphne processes, default one per core), STACK_POSTGRES (the machine's PostgreSQL,
default postgres://postgres@127.0.0.1:5432), STACK_DATABASE (default supportcircle_stack),
STACK_DEMO (1, the default: load the demo world; 0: an empty site), and STACK_APP_<NAME> for any
setting of the app's own (STACK_APP_CHAT_RATE_LIMIT=1000/10 runs it with CHAT_RATE_LIMIT=1000/10).
It never touches the shared services on 5432 and 6379 beyond creating its own database.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
VENV = Path(sys.prefix)
TOOLS = {
    "nginx": "nginx-light (or nginx)",
    "pgbouncer": "pgbouncer",
    "supervisord": "supervisor",
    "supervisorctl": "supervisor",
    "redis-server": "redis-server",
    "redis-sentinel": "redis-sentinel",
    "openssl": "openssl",
}
# Offsets from STACK_PORT_BASE. Daphne process i (1..30) listens on base + i.
PORTS = {"pgbouncer": 32, "https": 43, "redis-a": 50, "redis-b": 51, "sentinel-1": 60, "sentinel-2": 61}
PORTS |= {"sentinel-3": 62, "http": 80}
SENTINEL_DOWN_AFTER_MS = 2000
APP_PREFIX = "STACK_APP_"
READY_TIMEOUT = 90


class Stack:
    def __init__(self) -> None:
        self.dir = Path(os.environ.get("STACK_DIR", ROOT / ".stack")).resolve()
        self.base = int(os.environ.get("STACK_PORT_BASE", "8400"))
        if self.base % 100 or not 1000 <= self.base <= 65400:
            sys.exit("STACK_PORT_BASE must be a multiple of 100 between 1000 and 65400.")
        self.processes = int(os.environ.get("STACK_PROCESSES") or os.cpu_count() or 1)
        if not 1 <= self.processes <= 30:
            sys.exit("STACK_PROCESSES must be between 1 and 30.")
        self.postgres = urlparse(os.environ.get("STACK_POSTGRES", "postgres://postgres@127.0.0.1:5432"))
        self.database = os.environ.get("STACK_DATABASE", "supportcircle_stack")
        self.demo = os.environ.get("STACK_DEMO", "1") not in ("0", "no", "false")
        self.conf, self.log, self.run = self.dir / "conf", self.dir / "log", self.dir / "run"
        self.pidfile = self.run / "supervisord.pid"

    # Addresses ------------------------------------------------------------------------------

    def port(self, name: str) -> int:
        return self.base + PORTS[name]

    def daphne_ports(self) -> list[int]:
        return [self.base + number for number in range(1, self.processes + 1)]

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port('https')}"

    def database_url(self, host: str, port: int, **query: str) -> str:
        user = self.postgres.username or "postgres"
        password = f":{self.postgres.password}" if self.postgres.password else ""
        tail = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
        return f"postgres://{user}{password}@{host}:{port}/{self.database}{tail}"

    def app_environment(self) -> dict[str, str]:
        """What the daphne processes and the scheduler run with (docs/operations.md, Configure)."""
        keys = self.secrets()
        pg_host, pg_port = self.postgres.hostname or "127.0.0.1", self.postgres.port or 5432
        sentinels = ",".join(f"127.0.0.1:{self.port(f'sentinel-{n}')}" for n in (1, 2, 3))
        return {
            "SUPPORTCIRCLE_ENV": "production",
            "SECRET_KEY": keys["SECRET_KEY"],
            "CHANNEL_ENCRYPTION_KEY": keys["CHANNEL_ENCRYPTION_KEY"],
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "TRUSTED_PROXIES": "127.0.0.1",
            "DATABASE_URL": self.database_url(
                "127.0.0.1", self.port("pgbouncer"), pgbouncer="transaction", application_name="supportcircle"
            ),
            "DATABASE_DIRECT_URL": self.database_url(pg_host, pg_port),
            "REDIS_SENTINELS": sentinels,
            "REDIS_SENTINEL_MASTER": "supportcircle",
            "PROMETHEUS_MULTIPROC_DIR": str(self.run / "metrics"),
            "BACKUP_DIR": str(self.dir / "backups"),
            # In the run folder, which nginx's workers can reach whoever owns the checkout.
            "STATIC_ROOT": str(self.dir / "static"),
            "LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
            # STACK_APP_CHAT_RATE_LIMIT=1000/10 sets CHAT_RATE_LIMIT for the processes (a bench, a test).
            **{name[len(APP_PREFIX) :]: value for name, value in os.environ.items() if name.startswith(APP_PREFIX)},
        }

    def secrets(self) -> dict[str, str]:
        """Made on the first start and kept, so sessions outlive a restart of the stack."""
        path = self.dir / "secrets.env"
        if not path.exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            values = {name: secrets.token_urlsafe(50) for name in ("SECRET_KEY", "CHANNEL_ENCRYPTION_KEY")}
            path.touch(mode=0o600)
            path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)

    # start ----------------------------------------------------------------------------------

    def start(self) -> None:
        began = time.monotonic()
        missing = sorted({package for tool, package in TOOLS.items() if shutil.which(tool) is None})
        if missing:
            sys.exit(f"Missing Debian packages. Install them with:\n  apt-get install {' '.join(missing)}")
        if self.running():
            print(f"The stack is running already: {self.url}/ (make stack-stop to stop it)")
            return
        busy = [port for port in self.all_ports() if not port_is_free(port)]
        if busy:
            sys.exit(f"Ports in use: {busy}. Stop what uses them, or choose another STACK_PORT_BASE.")
        for folder in (self.conf, self.log, self.run, self.run / "metrics", self.run / "nginx", self.dir / "tls"):
            folder.mkdir(parents=True, exist_ok=True)
        for old in (self.run / "metrics").iterdir():
            old.unlink()  # counters start again with the processes
        self.certificate()
        self.create_database()
        self.prepare_app()
        self.render()
        step("supervisord: redis, sentinels, pgbouncer, daphne, scheduler, nginx")
        subprocess.run(["supervisord", "-c", str(self.conf / "supervisord.conf")], check=True)
        self.wait_until_ready()
        if self.demo:
            step("the demo world (seed_demo)")
            self.manage("seed_demo")
        # What was started, by pid and command line, so `stop` ends exactly these.
        started = [int(pid) for pid in self.ctl("pid", "all", capture=True).split() if pid.isdigit() and pid != "0"]
        (self.run / "pids").write_text("".join(f"{pid}\t{command_line(pid)}\n" for pid in started))
        print(
            f"\nSupportCircle is up in {time.monotonic() - began:.0f} s: {self.url}/ "
            f"({self.processes} daphne process{'es' if self.processes > 1 else ''}; "
            f"the certificate is self-signed: {self.dir / 'tls' / 'cert.pem'})"
        )
        if self.demo:
            print("Log in as Sam, Alex, Jo or Robin with the password circle-demo-2026.")
        print(f"Logs: {self.log}/   Stop: make stack-stop")

    def all_ports(self) -> list[int]:
        return [self.port(name) for name in PORTS] + self.daphne_ports()

    def certificate(self) -> None:
        cert, key = self.dir / "tls" / "cert.pem", self.dir / "tls" / "key.pem"
        if cert.exists() and key.exists():
            return
        step("a self-signed certificate for 127.0.0.1")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
            + ["-days", "825", "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)]
            + ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True,
            capture_output=True,
        )
        key.chmod(0o640)

    def maintenance(self) -> psycopg.Connection:
        return psycopg.connect(
            host=self.postgres.hostname or "127.0.0.1",
            port=self.postgres.port or 5432,
            user=self.postgres.username or "postgres",
            password=self.postgres.password,
            dbname="postgres",
            autocommit=True,
            connect_timeout=5,
        )

    def create_database(self) -> None:
        with self.maintenance() as pg:
            exists = pg.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.database]).fetchone()
            if not exists:
                step(f"database {self.database}")
                pg.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
            # Through PgBouncer nothing may depend on a session's settings: the database carries them.
            for setting in ("timezone TO 'UTC'", "statement_timeout TO '5s'"):
                pg.execute(sql.SQL("ALTER DATABASE {} SET " + setting).format(sql.Identifier(self.database)))

    def prepare_app(self) -> None:
        """migrate (straight to PostgreSQL), and collectstatic at the same time; then the demo world."""
        env = {**os.environ, **self.app_environment()}
        env["DATABASE_URL"] = env["DATABASE_DIRECT_URL"]
        env.pop("PROMETHEUS_MULTIPROC_DIR")
        python = str(VENV / "bin" / "python")
        step("migrate and collectstatic")
        jobs = [
            subprocess.Popen([python, "manage.py", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
            for args in (["migrate", "--noinput"], ["collectstatic", "--noinput"])
        ]
        for job in jobs:
            output, _ = job.communicate()
            if job.returncode:
                sys.exit(f"{' '.join(job.args[1:])} failed:\n{output}")

    def manage(self, *args: str) -> None:
        """A management command as the stack's processes would run it (but straight to PostgreSQL)."""
        env = {**os.environ, **self.app_environment()}
        env["DATABASE_URL"] = env.pop("DATABASE_DIRECT_URL")
        env.pop("PROMETHEUS_MULTIPROC_DIR")
        subprocess.run([str(VENV / "bin" / "python"), "manage.py", *args], cwd=ROOT, env=env, check=True)

    def render(self) -> None:
        """Fill in deploy/'s files for this machine, into the run folder."""
        root_user = os.geteuid() == 0
        me = pwd.getpwuid(os.geteuid()).pw_name
        app_env = ",".join(f'{key}="{supervisor_escape(value)}"' for key, value in self.app_environment().items())
        values = {
            "RUN_DIR": str(self.run),
            "LOG_DIR": str(self.log),
            "CONF_DIR": str(self.conf),
            "APP_DIR": str(ROOT),
            "VENV": str(VENV),
            "APP_USER": me,
            "APP_ENVIRONMENT": app_env,
            "DAPHNE_PROCESSES": str(self.processes),
            "DAPHNE_PORT_PREFIX": str(self.base // 100),
            "UPSTREAM_SERVERS": "\n".join(
                f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;" for port in self.daphne_ports()
            ),
            "SERVER_NAME": "127.0.0.1 localhost",
            "HTTP_LISTEN": f"127.0.0.1:{self.port('http')}",
            "HTTPS_LISTEN": f"127.0.0.1:{self.port('https')}",
            "HTTPS_PORT_SUFFIX": f":{self.port('https')}",
            "TLS_CERTIFICATE": str(self.dir / "tls" / "cert.pem"),
            "TLS_CERTIFICATE_KEY": str(self.dir / "tls" / "key.pem"),
            "STATIC_ROOT": str(self.dir / "static"),
            # nginx's workers and PgBouncer give up root (PgBouncer refuses to run as root at all).
            "NGINX_USER": "user www-data;" if root_user else "",
            "PGBOUNCER_USER_LINE": "user = postgres" if root_user else "",
            "DATABASE": self.database,
            "POSTGRES_HOST": self.postgres.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(self.postgres.port or 5432),
            "PGBOUNCER_PORT": str(self.port("pgbouncer")),
            "PGBOUNCER_AUTH_TYPE": "trust",
            "PGBOUNCER_USERLIST": str(self.conf / "userlist.txt"),
            "PGBOUNCER_ADMIN": self.postgres.username or "postgres",
            "REDIS_MASTER_PORT": str(self.port("redis-a")),
            "SENTINEL_DOWN_AFTER_MS": str(SENTINEL_DOWN_AFTER_MS),
            "SENTINEL_FAILOVER_TIMEOUT_MS": "10000",
        }
        write(self.conf / "supervisord.conf", fill(DEPLOY / "stack" / "supervisord.conf", values))
        write(self.conf / "supportcircle-supervisor.conf", fill(DEPLOY / "supervisor" / "supportcircle.conf", values))
        write(self.conf / "nginx.conf", fill(DEPLOY / "stack" / "nginx.conf", values))
        write(self.conf / "supportcircle-nginx.conf", fill(DEPLOY / "nginx" / "supportcircle.conf", values))
        write(self.conf / "pgbouncer.ini", fill(DEPLOY / "pgbouncer" / "pgbouncer.ini", values))
        write(self.conf / "userlist.txt", f'"{values["PGBOUNCER_ADMIN"]}" ""\n')
        for name, replica_of in (("redis-a", ""), ("redis-b", f"replicaof 127.0.0.1 {self.port('redis-a')}")):
            folder = self.dir / name
            folder.mkdir(exist_ok=True)
            redis_values = {**values, "REDIS_PORT": str(self.port(name)), "REDIS_DIR": str(folder)}
            redis_values["REPLICAOF"] = replica_of
            write(self.conf / f"{name}.conf", fill(DEPLOY / "redis" / "redis.conf", redis_values))
        for number in (1, 2, 3):
            folder = self.dir / f"sentinel-{number}"
            folder.mkdir(exist_ok=True)
            sentinel_values = {**values, "SENTINEL_DIR": str(folder)}
            sentinel_values["SENTINEL_PORT"] = str(self.port(f"sentinel-{number}"))
            # Sentinel rewrites its file as the master changes: a fresh start begins from the template.
            write(self.conf / f"sentinel-{number}.conf", fill(DEPLOY / "redis" / "sentinel.conf", sentinel_values))
        if root_user:
            closed = [str(folder) for folder in self.dir.parents if not folder.stat().st_mode & 0o001]
            if closed:
                sys.exit(f"Run as root, PgBouncer and nginx's workers must reach {self.dir}: {closed[0]} is closed.")
            for path in [self.dir, self.conf, self.log, self.run, self.run / "nginx", self.dir / "static"]:
                path.chmod(0o755)
            for path in self.conf.iterdir():
                path.chmod(0o644)
            shutil.chown(self.run / "nginx", user="www-data")  # its temporary files (the master reads the key)

    def wait_until_ready(self) -> None:
        """Every program running, each daphne process ready (/readyz), and nginx answering over TLS."""
        deadline = time.monotonic() + READY_TIMEOUT
        waiting_for = "supervisor"
        while time.monotonic() < deadline:
            try:
                status = self.ctl("status", capture=True)
                if any(state in status for state in ("FATAL", "BACKOFF", "EXITED")):
                    sys.exit(f"A program of the stack failed to start:\n{status}\nLogs: {self.log}/")
                waiting_for = "programs"
                if status.count("RUNNING") < self.processes + 8:
                    raise ConnectionError(status)
                for port in self.daphne_ports():
                    waiting_for = f"daphne on {port}"
                    http_get(f"http://127.0.0.1:{port}/readyz")
                waiting_for = "nginx"
                http_get(f"{self.url}/readyz", cafile=self.dir / "tls" / "cert.pem")
                return
            except (OSError, ConnectionError, subprocess.CalledProcessError):
                time.sleep(0.3)
        self.stop()
        sys.exit(f"The stack was not ready after {READY_TIMEOUT} s (waiting for {waiting_for}). Logs: {self.log}/")

    # stop -----------------------------------------------------------------------------------

    def running(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text())
        except (OSError, ValueError):
            return None
        return pid if process_is(pid, "supervisord") else None

    def stop(self) -> None:
        pid = self.running()
        if pid is None:
            print("The stack is not running.")
            return
        children = [line.split("\t", 1) for line in self.read(self.run / "pids").splitlines() if "\t" in line]
        self.ctl("shutdown", capture=True)
        if not wait_for_exit(pid, 45):
            os.kill(pid, signal.SIGTERM)
            wait_for_exit(pid, 15)
        for child, command in children:  # only what this stack started, and only while it is still that program
            if command_line(int(child)) == command and not wait_for_exit(int(child), 5):
                os.kill(int(child), signal.SIGKILL)
        self.pidfile.unlink(missing_ok=True)
        print("The stack is stopped.")

    def destroy(self) -> None:
        self.stop()
        with self.maintenance() as pg:
            pg.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.database)))
        shutil.rmtree(self.dir, ignore_errors=True)
        print(f"Dropped {self.database} and removed {self.dir}.")

    def status(self) -> None:
        if self.running() is None:
            print("The stack is not running.")
            return
        print(self.ctl("status", capture=True), end="")
        print(f"{self.url}/")

    def ctl(self, *args: str, capture: bool = False) -> str:
        done = subprocess.run(
            ["supervisorctl", "-c", str(self.conf / "supervisord.conf"), *args],
            capture_output=capture,
            text=True,
            check=False,
        )
        if capture and done.returncode not in (0, 3):  # 3: some program is not running
            raise subprocess.CalledProcessError(done.returncode, done.args, done.stdout, done.stderr)
        return done.stdout if capture else ""

    @staticmethod
    def read(path: Path) -> str:
        try:
            return path.read_text()
        except OSError:
            return ""


# Helpers ------------------------------------------------------------------------------------


def step(what: str) -> None:
    print(f"stack: {what}", flush=True)


def fill(template: Path, values: dict[str, str]) -> str:
    text = template.read_text()
    text = re.sub(r"@@([A-Z_]+)@@", lambda m: values[m.group(1)] if m.group(1) in values else m.group(0), text)
    left = sorted(set(re.findall(r"@@[A-Z_]+@@", text)))
    if left:
        raise SystemExit(f"{template}: no value for {', '.join(left)}")
    return text


def write(path: Path, text: str) -> None:
    path.write_text(text)


def supervisor_escape(value: str) -> str:
    """supervisor reads % as the start of an expansion, and the value sits between double quotes."""
    if '"' in value or "\n" in value:
        raise SystemExit(f"A setting holds a quote or a line break, which supervisor cannot carry: {value[:20]}...")
    return value.replace("%", "%%")


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def http_get(url: str, cafile: Path | None = None) -> bytes:
    context = ssl.create_default_context(cafile=str(cafile)) if cafile else None
    request = urllib.request.Request(url, headers={"Host": "127.0.0.1"})
    with urllib.request.urlopen(request, timeout=5, context=context) as answer:  # nosec B310
        return answer.read()


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def process_is(pid: int, name: str) -> bool:
    return name in command_line(pid) if command_line(pid) else False


def wait_for_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or "zombie" in Stack.read(Path(f"/proc/{pid}/status")).lower():
            return True
        time.sleep(0.1)
    return False


def main(argv: list[str]) -> None:
    stack = Stack()
    command = argv[0] if argv else "start"
    if command == "ctl":
        sys.exit(subprocess.call(["supervisorctl", "-c", str(stack.conf / "supervisord.conf"), *argv[1:]]))
    actions = {"start": stack.start, "stop": stack.stop, "status": stack.status, "destroy": stack.destroy}
    if command not in actions:
        sys.exit(__doc__)
    actions[command]()


if __name__ == "__main__":
    main(sys.argv[1:])
