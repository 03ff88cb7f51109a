"""What every scenario shares: how big the run is, the target under load, and one measured step.

A step (``measure``) waits for the server to settle, runs its load, drains (late is counted,
never lost), and adds the server's CPU (and, beside it, its redis-server's and PostgreSQL
backends'), the load generator's, Redis commands and database statements to the latency figures.
"""

from __future__ import annotations

import asyncio
import os
import time

from bench import load, servers, world
from bench.procstats import Window, children_of, cpu_seconds_of

LOADGEN_LIMIT_PCT = 70.0
# Sockets opened to set a scenario up (not the connect storm) open at most this many at a time,
# so daphne's 5 s handshake timeout measures nothing but the storm itself.
SETUP_CONCURRENCY = 50
# A step is good while its p99 stays under this and (almost) everything arrives.
GOOD_P99_MS = 250


class Plan:
    """How big each scenario is; --quick scales everything down (a few minutes, for CI-size checks)."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.recipe = world.QUICK if quick else world.FULL
        # Each target's time, in seconds; a phase that no longer fits is skipped and says so.
        self.budget_seconds = (
            {"P": 350, "D": 260, "B": 120, "R": 100, "S1": 240, "S2": 240}
            if quick
            else {"P": 1500, "D": 900, "B": 360, "R": 240, "S1": 420, "S2": 420}
        )
        self.human_sockets = 200 if quick else 1_000
        # P and D run the full minute; B and R settle within seconds and have no HTTP part, so a third.
        self.human_seconds = {"P": 8, "D": 8, "B": 5, "R": 5} if quick else {"P": 60, "D": 60, "B": 20, "R": 20}
        self.human_interval = 10.0
        self.http_history_rate = 50
        # Server CPU per delivery: the human pace's sockets and rate, nothing else on the server.
        self.cost_seconds = 5 if quick else 20
        self.ramp_start = int(os.environ.get("BENCH_RAMP_START", 1_000))  # deliveries/s
        self.ramp_seconds = 3 if quick else 5
        self.ramp_max_steps = 4 if quick else 8
        self.big_room = self.recipe.big_room
        self.big_rate = 4.0
        self.big_seconds = 5 if quick else 20
        # Messages a second in the slow reader's room, for as long: enough, with 3,900 characters each,
        # to fill the kernel's send buffer (up to 4 MB here) and then the server's 1 MiB cap within the
        # phase. Quick runs too: in 3 s at 60 a second nothing was ever full enough to close it.
        self.slow_seconds = 10
        self.slow_room_rate = 100
        self.slow_body = 3_900
        # The last count is also the crowd: in a full run every member of the world, in its home group.
        self.idle_counts = (300, 1_000) if quick else (2_000, self.recipe.members)
        self.crowd_seconds = 15 if quick else 60
        self.crowd_ping_every = 20.0  # as static/js/chat.js
        self.crowd_post_every = 60.0
        self.storm = 300 if quick else 5_000
        self.storm_goal_count = 5_000  # the goal: 5,000 in 15 s
        self.storm_concurrency = 200
        self.logins = 30 if quick else 300
        self.login_concurrency = 30
        self.history_samples = 5 if quick else 30
        # A database this many ms away (round trip), through bench/db_proxy.py.
        self.db_round_trips_ms = (1.0, 10.0)
        self.remote_human_seconds = 6 if quick else 30
        self.remote_ramp_start = self.ramp_start // 4  # on the same doubling grid as the localhost ramp
        # Four quick steps (250 to 2,000) reach what the quick localhost ramp reaches, so the goal can be judged.
        self.remote_ramp_max_steps = 4 if quick else 8


# The least time each phase needs; a phase that no longer fits in its target's budget is
# skipped and says so in the results (it never silently shrinks).
PHASE_MIN_SECONDS = {
    "pace": 15,
    "big_room": 10,
    "slow_reader": 12,
    "history": 5,
    "login_storm": 20,
    "idle_memory": 10,
    "connect_storm": 8,
    "remote_db": 30,
}


class Context:
    """One target under load: its process, its world, its time budget."""

    def __init__(
        self,
        kind: str,
        plan: Plan,
        redis: servers.Process | None,
        redis_url: str,
        world_info: dict | None,
        app_env: dict | None,
    ) -> None:
        self.kind = kind
        self.plan = plan
        self.redis = redis
        self.redis_url = redis_url
        self.world = world_info
        self.app_env = app_env
        self.counters_path = servers.RESULTS / f"counters-{kind}.json.tmp"
        self.proc = self.start()
        self.target = load.Target(kind, self.proc.port, world_info["sessions"] if world_info else None, self.proc.tls)
        self.deadline = time.monotonic() + plan.budget_seconds[kind]
        self.helpers: tuple[int, ...] = ()  # processes on the load generator's core that are not it

    @property
    def is_app(self) -> bool:
        """SupportCircle (P, D, and the stack S1, S2), not B or R."""
        return self.kind in servers.COLUMN_OF or self.kind in servers.STACK_PROCESSES

    def start(self, app_env: dict | None = None) -> servers.Process:
        return servers.start_target(self.kind, self.redis_url, app_env or self.app_env, self.counters_path)

    def restart(self, app_env: dict | None = None) -> None:
        """A fresh server process (with ``app_env``, e.g. its database through the proxy, or as it was)."""
        self.proc.stop()
        self.proc = self.start(app_env)
        self.target.port = self.proc.port

    def room(self, group: int) -> str:
        return self.world["home_slugs"][group] if self.is_app else f"home-{group}"

    def db_counts(self) -> dict | None:
        """The server's statement counts so far (None without bench/asgi_p.py's counter: B, R, BENCH_PLAIN_APP)."""
        if self.kind not in servers.COLUMN_OF or os.environ.get("BENCH_PLAIN_APP"):
            return None  # SIGUSR1 would end a process that has no handler for it (the stack's are plain)
        return servers.read_counters(self.proc, self.counters_path)

    def backing_pids(self) -> list[int]:
        """The processes that work for this server: its redis-server and its PostgreSQL backends."""
        pids = [self.redis.pid] if self.redis is not None and self.kind in ("P", "B") else []
        if self.kind == "P":
            pids += servers.postgres_backends(self.app_env["DATABASE_URL"])
        return pids + self.proc.backing_pids()  # the stack's nginx, PgBouncer, Redis and PostgreSQL

    def window(self) -> Window:
        # A server process on the load generator's core (S2's second daphne) is not the load generator.
        return Window(
            self.proc.pid,
            servers.LOADGEN_CORE,
            servers.SERVER_CORE,
            backing=self.backing_pids,
            helpers=(*self.helpers, *self.proc.on_loadgen_core),
            more_server_pids=self.proc.pids[1:],
        )

    def time_left(self) -> float:
        return self.deadline - time.monotonic()


async def settle(ctx: Context, limit: float = 20.0) -> float:
    """Wait until the server (and its second opinion's child) has worked off any backlog (under 20% of a
    core for half a second)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        pids = [*ctx.proc.pids, *children_of(ctx.proc.pids)]
        before = sum(cpu_seconds_of(pids).values())
        await asyncio.sleep(0.5)
        if sum(cpu_seconds_of(pids).values()) - before < 0.1:
            break
    return round(time.monotonic() - started, 1)


def _per(value: float, count: int, scale: float) -> float | None:
    return round(value * scale / count, 1) if count else None


async def measure(ctx: Context, gen: load.Generator, name: str, body, *, seconds: float | None) -> dict:
    """Run ``body(step)`` as one measured step and add server, load generator, Redis and DB figures.

    ``seconds`` is how long the load was offered; None: ``body`` returns it (it ends when its work does).
    """
    settled = await settle(ctx, limit=5.0 if ctx.plan.quick else 20.0)
    redis0 = servers.redis_commandstats(ctx.redis_url) if ctx.kind in ("P", "B") else {}
    db0 = ctx.db_counts()
    step = gen.new_step(name)
    profiler = servers.start_profiler(ctx.proc, name) if os.environ.get("BENCH_PROFILE_STEPS") else None
    window = ctx.window()
    offered = await body(step)
    stats = window.stop()
    servers.stop_profiler(profiler)
    gen.close_step()
    seconds = seconds if seconds is not None else offered
    redis1 = servers.redis_commandstats(ctx.redis_url) if ctx.kind in ("P", "B") else {}
    db1 = ctx.db_counts()
    summary = step.summary(seconds)
    messages = max(step.sent, 1)
    redis_calls = {k: v - redis0.get(k, 0) for k, v in redis1.items() if v - redis0.get(k, 0) > 0}
    redis_calls.pop("info", None)
    delivered = summary["delivered"]
    summary.update(
        {
            "seconds": round(seconds, 2),
            "offered_messages_per_s": round(step.sent / seconds, 1) if seconds else None,
            "offered_deliveries_per_s": round(step.expected / seconds, 1) if seconds else None,
            "server_cpu_us_per_delivery": _per(stats["server_cpu_s"], delivered, 1e6),
            # Of which the event loop's thread (daphne, the consumers) and the server's other threads.
            "server_loop_cpu_us_per_delivery": _per(stats["server_loop_cpu_s"], delivered, 1e6),
            "server_other_threads_cpu_us_per_delivery": _per(
                stats["server_cpu_s"] - stats["server_loop_cpu_s"], delivered, 1e6
            ),
            # The same with what its redis-server and PostgreSQL backends spent meanwhile.
            "server_and_backing_cpu_us_per_delivery": _per(
                stats["server_cpu_s"] + stats["backing_cpu_s"], delivered, 1e6
            ),
            "server_cpu_pct": round(100 * stats["server_cpu_s"] / stats["elapsed_s"], 1),
            "server_rss_mb": round(stats["server_rss_kb"] / 1024, 1),
            # The server's child processes apart (SupportCircle's second opinion: the model reads every
            # message in a child beside the server, at a lower priority): not in the server's figures above.
            "worker_cpu_ms_per_message": _per(stats["worker_cpu_s"], step.sent, 1e3),
            "worker_cpu_us_per_delivery": _per(stats["worker_cpu_s"], delivered, 1e6),
            "server_and_worker_cpu_us_per_delivery": _per(
                stats["server_cpu_s"] + stats["worker_cpu_s"], delivered, 1e6
            ),
            "worker_cpu_pct": round(100 * stats["worker_cpu_s"] / stats["elapsed_s"], 1),
            "worker_rss_mb": round(stats["worker_rss_kb"] / 1024, 1),
            "server_core_busy_pct": round(stats["server_core_busy_pct"], 1),
            "loadgen_core_busy_pct": round(stats["loadgen_core_busy_pct"], 1),
            "loadgen_process_cpu_pct": round(100 * stats["loadgen_cpu_s"] / stats["elapsed_s"], 1),
            "valid": stats["loadgen_core_busy_pct"] <= LOADGEN_LIMIT_PCT,
            "redis_ops_per_message": round(sum(redis_calls.values()) / messages, 2) if ctx.kind in ("P", "B") else None,
            "redis_commands": redis_calls,
            "waited_for_server_to_settle_s": settled,
        }
    )
    if db0 is not None and db1 is not None and "thread_cpu_s" in db1:
        # Where the server's CPU went, by kind of thread (bench/asgi_p.py): MainThread is the event loop.
        spent = {
            kind: seconds - db0.get("thread_cpu_s", {}).get(kind, 0.0) for kind, seconds in db1["thread_cpu_s"].items()
        }
        summary["server_cpu_us_per_delivery_by_thread"] = {
            kind: _per(seconds, delivered, 1e6)
            for kind, seconds in sorted(spent.items(), key=lambda kv: -kv[1])
            if seconds > 0
        }
    if db0 is not None and db1 is not None:
        statements = db1["statements"] - db0["statements"]
        by_table = {
            table: count - db0["by_table"].get(table, 0)
            for table, count in db1["by_table"].items()
            if count - db0["by_table"].get(table, 0) > 0
        }
        summary["db_statements_per_message"] = round(statements / messages, 2)
        summary["db_statements_per_s"] = round(statements / stats["elapsed_s"], 1)
        summary["db_statements_by_table"] = dict(sorted(by_table.items(), key=lambda item: -item[1]))
    return summary


async def wait_for_quiet(gen: load.Generator, step: load.Step, *, limit: float) -> None:
    """Drain: wait while deliveries still arrive (a backlog is late, not lost), at most ``limit`` s."""
    deadline = time.monotonic() + limit
    last, last_change = -1, time.monotonic()
    while step.delivered < step.expected and time.monotonic() < deadline:
        if step.delivered != last:
            last, last_change = step.delivered, time.monotonic()
        elif time.monotonic() - last_change > 1.5:
            break
        await asyncio.sleep(0.1)
    await load.drain(gen, step, timeout=min(5.0, max(deadline - time.monotonic(), 1.0)))


def home_clients(ctx: Context, gen: load.Generator, sockets: int, *, first_group: int = 0) -> list[load.Client]:
    """``sockets`` members, each in its home group (groups of ten), from ``first_group`` on."""
    size = ctx.plan.recipe.group_size
    clients = []
    for index in range(sockets):
        group = first_group + index // size
        member = group * size + index % size
        clients.append(load.Client(gen, ctx.room(group), member))
    return clients


def closed_codes(clients: list[load.Client]) -> dict[str, int]:
    """How many sockets the server closed during the scenario, by close code."""
    codes: dict[str, int] = {}
    for client in clients:
        if client.gone:
            codes[str(client.close_code)] = codes.get(str(client.close_code), 0) + 1
    return codes


def opened(clients: list[load.Client]) -> list[load.Client]:
    return [c for c in clients if c.ws is not None and not c.gone]


def good_step(result: dict) -> bool:
    ratio = result["delivery_ratio"] or 0
    return result["p99_ms"] is not None and result["p99_ms"] <= GOOD_P99_MS and ratio >= 0.999


def brief(result: dict) -> str:
    return (
        f"p99 {result['p99_ms']} ms, delivered {result['delivered_per_s']}/s, ratio {result['delivery_ratio']}, "
        f"lost {result['lost']}, dup {result['duplicated']}, loadgen core {result['loadgen_core_busy_pct']}% "
        f"(own {result['loadgen_process_cpu_pct']}%), server {result['server_cpu_us_per_delivery']} µs/delivery"
        f" (loop {result.get('server_loop_cpu_us_per_delivery')}, "
        f"other threads {result.get('server_other_threads_cpu_us_per_delivery')})"
        + (
            " by thread: "
            + ", ".join(f"{kind} {us}" for kind, us in result["server_cpu_us_per_delivery_by_thread"].items())
            if result.get("server_cpu_us_per_delivery_by_thread")
            else ""
        )
        + (
            f" (+ model {result['worker_cpu_us_per_delivery']} µs/delivery, "
            f"{result['worker_cpu_ms_per_message']} ms/message)"
            if result.get("worker_cpu_us_per_delivery")
            else ""
        )
    )


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)
