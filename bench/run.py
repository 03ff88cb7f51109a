"""`make bench`: the live chat (P) against bare Channels (B) and a raw websockets server (R).

    python bench/run.py [--quick] [--targets P,B,R] [--scenarios human_pace,saturation,...]

Writes bench/results/latest.json (or quick.json), a plot next to it, and prints a table.
The server side (target + its private redis-server) runs on core 0, this load generator on
core 1; a measurement taken while the load generator's core was above 70% busy is marked
invalid. PostgreSQL (when DATABASE_URL is set) is shared and not pinned.

P's world (10,000 members in groups of 10, a big room, two history groups of 1,000 and
1,000,000 messages) is built through the real code on the first run and kept in
bench/.data/ (or the PostgreSQL database named by DATABASE_URL) for the next.

BENCH_PROFILE=P (or B) samples that server's GIL holder with py-spy during each scenario (or each step with
BENCH_PROFILE_STEPS=1) into bench/results/profile-*.txt.tmp, collapsed stacks.
BENCH_RAMP_START sets the saturation ramp's first rate (deliveries/s, default 1,000).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import calibrate, load, servers, world  # noqa: E402
from bench.procstats import Window, process_rss_kb  # noqa: E402

RESULTS = ROOT / "bench" / "results"
LOADGEN_LIMIT_PCT = 70.0
# Sockets opened to set a scenario up (not the connect storm) open at most this many at a time,
# so daphne's 5 s handshake timeout measures nothing but the storm itself.
SETUP_CONCURRENCY = 50
ALL_SCENARIOS = ("human_pace", "saturation", "big_room", "slow_reader", "idle_memory", "connect_storm", "history")


class Plan:
    """How big each scenario is; --quick scales everything down to fit in two minutes."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.recipe = world.QUICK if quick else world.FULL
        # The run's budget for the targets (set once the world is built), shared out between them.
        self.budget_seconds = 0.0
        self.budget_share = {"P": 0.47, "B": 0.27, "R": 0.26}
        self.human_sockets = 200 if quick else 1_000
        # P runs the full minute; B and R settle within seconds and have no HTTP part, so a third.
        self.human_seconds = {"P": 10, "B": 5, "R": 5} if quick else {"P": 60, "B": 20, "R": 20}
        self.human_interval = 10.0
        self.http_history_rate = 50
        self.ramp_start = int(os.environ.get("BENCH_RAMP_START", 1_000))  # deliveries/s
        self.ramp_seconds = 3 if quick else 5
        self.ramp_max_steps = 4 if quick else 8
        self.big_room = self.recipe.big_room
        self.big_rate = 4.0
        self.big_seconds = 5 if quick else 20
        self.slow_seconds = 3 if quick else 10
        # Messages a second in the slow reader's room: enough, with 3,900 characters each, to fill the
        # kernel's send buffer (up to 4 MB here) and then the server's 1 MiB cap within the phase.
        self.slow_room_rate = 60 if quick else 100
        self.slow_body = 3_900
        self.idle_counts = (300, 1_000) if quick else (2_000, 10_000)
        self.storm = 200 if quick else 5_000
        self.storm_concurrency = 200
        self.history_samples = 5 if quick else 30


# The least time each phase needs; a phase that no longer fits in its target's budget is
# skipped and says so in the results (it never silently shrinks).
PHASE_MIN_SECONDS = {
    "idle_memory": 10,
    "human_pace": 15,
    "big_room": 10,
    "slow_reader": 12,
    "connect_storm": 8,
    "history": 5,
}


class Context:
    def __init__(self, kind: str, plan: Plan, proc: servers.Process, redis_url: str, world_info: dict | None):
        self.start = lambda: servers.start_target(kind, redis_url, self.db_env, self.counters_path)
        self.kind = kind
        self.plan = plan
        self.proc = proc
        self.redis_url = redis_url
        self.world = world_info
        self.counters_path = RESULTS / f"counters-{kind}.json.tmp"
        self.target = load.Target(kind, proc.port, world_info["sessions"] if (world_info and kind == "P") else None)
        self.deadline = time.monotonic() + plan.budget_seconds * plan.budget_share[kind]

    db_env: dict = {}

    def restart(self) -> None:
        self.proc.stop()
        self.proc = self.start()
        self.target.port = self.proc.port

    def room(self, group: int) -> str:
        return self.world["home_slugs"][group] if self.kind == "P" else f"home-{group}"

    def db_statements(self) -> int | None:
        if self.kind != "P":
            return None
        counts = servers.read_counters(self.proc, self.counters_path)
        return None if counts is None else counts["statements"]


async def settle(ctx: Context, limit: float = 20.0) -> float:
    """Wait until the server has worked off any backlog (under 20% of a core for half a second)."""
    from bench.procstats import process_cpu_seconds

    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = process_cpu_seconds(ctx.proc.pid)
        await asyncio.sleep(0.5)
        if process_cpu_seconds(ctx.proc.pid) - before < 0.1:
            break
    return round(time.monotonic() - started, 1)


async def measure(ctx: Context, gen: load.Generator, name: str, body, *, seconds: float) -> dict:
    """Run ``body(step)`` as one measured step and add server, load generator, Redis and DB figures."""
    settled = await settle(ctx, limit=5.0 if ctx.plan.quick else 20.0)
    redis0 = servers.redis_commandstats(ctx.redis_url)
    db0 = ctx.db_statements()
    step = gen.new_step(name)
    profiler = servers.start_profiler(ctx.proc, name) if os.environ.get("BENCH_PROFILE_STEPS") else None
    window = Window(ctx.proc.pid, servers.LOADGEN_CORE, servers.SERVER_CORE)
    await body(step)
    stats = window.stop()
    servers.stop_profiler(profiler)
    gen.close_step()
    redis1 = servers.redis_commandstats(ctx.redis_url)
    db1 = ctx.db_statements()
    summary = step.summary(seconds)
    messages = max(step.sent, 1)
    redis_calls = {k: v - redis0.get(k, 0) for k, v in redis1.items() if v - redis0.get(k, 0) > 0}
    redis_calls.pop("info", None)
    summary.update(
        {
            "offered_messages_per_s": round(step.sent / seconds, 1) if seconds else None,
            "offered_deliveries_per_s": round(step.expected / seconds, 1) if seconds else None,
            "server_cpu_us_per_delivery": round(stats["server_cpu_s"] * 1e6 / summary["delivered"], 1)
            if summary["delivered"]
            else None,
            "server_rss_mb": round(stats["server_rss_kb"] / 1024, 1),
            "server_core_busy_pct": round(stats["server_core_busy_pct"], 1),
            "loadgen_core_busy_pct": round(stats["loadgen_core_busy_pct"], 1),
            "loadgen_process_cpu_pct": round(100 * stats["loadgen_cpu_s"] / stats["elapsed_s"], 1),
            "valid": stats["loadgen_core_busy_pct"] <= LOADGEN_LIMIT_PCT,
            "redis_ops_per_message": round(sum(redis_calls.values()) / messages, 2),
            "redis_commands": redis_calls,
            "db_statements_per_message": round((db1 - db0) / messages, 2) if db0 is not None and db1 else None,
            "waited_for_server_to_settle_s": settled,
        }
    )
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
    size = ctx.plan.recipe.group_size
    clients = []
    for index in range(sockets):
        group = first_group + index // size
        member = group * size + index % size
        clients.append(load.Client(gen, ctx.room(group), member))
    return clients


# Scenario 1 and 2 share their sockets ------------------------------------------------------


async def human_pace_and_saturation(ctx: Context, wanted: set[str]) -> dict:
    plan = ctx.plan
    gen = load.Generator(ctx.target)
    clients = home_clients(ctx, gen, plan.human_sockets)
    t0 = time.monotonic()
    errors = await load.open_clients(clients, SETUP_CONCURRENCY)
    connect_s = time.monotonic() - t0
    out: dict = {}
    senders = opened(clients)
    random.Random(7).shuffle(senders)
    # Warm up (not measured): every code path and connection pool touched once.
    warm = gen.new_step("warm-up")
    await load.run_schedule(gen, senders, rate=200, duration=1.0)
    await wait_for_quiet(gen, warm, limit=5)

    if "human_pace" in wanted:
        rate = len(senders) / plan.human_interval
        seconds = plan.human_seconds[ctx.kind]
        history_lat: list[float] = []

        async def body(step):
            tasks = [load.run_schedule(gen, senders, rate=rate, duration=seconds)]
            if ctx.kind == "P":
                tasks.append(http_history_load(ctx, seconds, history_lat))
            await asyncio.gather(*tasks)
            await wait_for_quiet(gen, step, limit=10)

        result = await measure(ctx, gen, "human_pace", body, seconds=seconds)
        result.update(sockets=len(senders), groups=len(senders) // plan.recipe.group_size)
        result.update(connect_errors=len(errors), first_connect_errors=errors[:3])
        result["sockets_closed_by_server"] = closed_codes(clients)
        result["connect_seconds"] = round(connect_s, 2)
        if ctx.kind == "P":
            result["http_history"] = {
                "requests": len(history_lat),
                "rate_per_s": plan.http_history_rate,
                "p50_ms": ms(load.percentile(history_lat, 50)),
                "p99_ms": ms(load.percentile(history_lat, 99)),
                "errors": sum(1 for v in history_lat if v < 0),
            }
        out["human_pace"] = result
        await asyncio.sleep(1)

    if "saturation" in wanted:
        steps = []
        deliveries = plan.ramp_start
        fanout = plan.recipe.group_size
        bad_seen = 0
        for _ in range(plan.ramp_max_steps):
            if time.monotonic() + plan.ramp_seconds + 5 > ctx.deadline - (5 if plan.quick else 40):
                break  # keep time for the other scenarios
            rate = deliveries / fanout

            async def body(step, rate=rate):
                await load.run_schedule(gen, senders, rate=rate, duration=plan.ramp_seconds)
                await wait_for_quiet(gen, step, limit=15)

            result = await measure(ctx, gen, f"ramp-{deliveries}", body, seconds=plan.ramp_seconds)
            result["target_deliveries_per_s"] = deliveries
            result["sockets_closed_by_server"] = closed_codes(clients)
            result["good"] = good_step(result)
            steps.append(result)
            print(
                f"    ramp {ctx.kind} {deliveries:>7,}/s: {brief(result)} closed {result['sockets_closed_by_server']}",
                flush=True,
            )
            if result["loadgen_process_cpu_pct"] > LOADGEN_LIMIT_PCT:
                break  # the load generator itself is the limit from here on
            # (A step whose core was busy with other work is kept but marked invalid.)
            if not result["good"]:
                bad_seen += 1
                if bad_seen >= (1 if plan.quick else 2):
                    break
            deliveries *= 2
        good = [s for s in steps if s["good"] and s["loadgen_process_cpu_pct"] <= LOADGEN_LIMIT_PCT]
        out["saturation"] = {
            "steps": steps,
            # None when the ramp never ran (time budget); 0 when no step was good.
            "highest_good_deliveries_per_s": max((s["delivered_per_s"] for s in good), default=0) if steps else None,
            "highest_good_offered_per_s": max((s["target_deliveries_per_s"] for s in good), default=0)
            if steps
            else None,
            "limited_by_load_generator": any(s["loadgen_process_cpu_pct"] > LOADGEN_LIMIT_PCT for s in steps),
            "steps_with_busy_loadgen_core": sum(1 for s in steps if not s["valid"]),
            "lost_past_saturation": sum(s["lost"] for s in steps if not s["good"]) if steps else None,
        }
    await load.close_clients(clients)
    return out


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
    return result["p99_ms"] is not None and result["p99_ms"] <= 250 and ratio >= 0.999


def brief(result: dict) -> str:
    return (
        f"p99 {result['p99_ms']} ms, delivered {result['delivered_per_s']}/s, ratio {result['delivery_ratio']}, "
        f"lost {result['lost']}, dup {result['duplicated']}, loadgen core {result['loadgen_core_busy_pct']}% "
        f"(own {result['loadgen_process_cpu_pct']}%), server {result['server_cpu_us_per_delivery']} µs/delivery"
    )


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


async def http_history_load(ctx: Context, seconds: float, latencies: list[float]) -> None:
    """Scenario 7, HTTP part: the JSON history (latest page, as on opening the chat) at 50 requests/s."""
    rate = ctx.plan.http_history_rate
    total = int(rate * seconds)
    size = ctx.plan.recipe.group_size
    groups = ctx.plan.human_sockets // size
    rng = random.Random(11)
    tasks = []
    t0 = time.monotonic()

    async def one(scheduled: float, member: int) -> None:
        slug = ctx.world["home_slugs"][member // size]
        headers = {"Cookie": f"sessionid={ctx.world['sessions'][member]}"}
        try:
            status, _, _ = await load.http(ctx.proc.port, "GET", f"/groups/{slug}/chat/history/", headers=headers)
            latencies.append(time.monotonic() - scheduled if status == 200 else -1.0)
        except OSError:
            latencies.append(-1.0)

    for k in range(total):
        scheduled = t0 + k / rate
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(scheduled, rng.randrange(groups * size))))
    await asyncio.gather(*tasks)


# Scenario 3: one big room ----------------------------------------------------------------


async def big_room(ctx: Context) -> dict:
    plan = ctx.plan
    gen = load.Generator(ctx.target)
    room = ctx.world["big_slug"] if ctx.kind == "P" else "big"
    clients = [load.Client(gen, room, member) for member in range(plan.big_room)]
    errors = await load.open_clients(clients, SETUP_CONCURRENCY)
    senders = opened(clients)

    async def body(step):
        await load.run_schedule(gen, senders, rate=plan.big_rate, duration=plan.big_seconds)
        await wait_for_quiet(gen, step, limit=10)

    result = await measure(ctx, gen, "big_room", body, seconds=plan.big_seconds)
    result.update(sockets=len(senders), connect_errors=len(errors), first_connect_errors=errors[:3])
    await load.close_clients(clients)
    return result


# Scenario 4: a slow reader -----------------------------------------------------------------


async def slow_reader(ctx: Context) -> dict:
    plan = ctx.plan
    size = plan.recipe.group_size
    gen = load.Generator(ctx.target)
    others = home_clients(ctx, gen, 10 * size)
    slow_room = ctx.world["slow_slug"] if ctx.kind == "P" else "slow"
    room_clients = [load.Client(gen, slow_room, member) for member in range(size - 1)]
    slow = load.Client(gen, slow_room, size - 1)
    errors = await load.open_clients(others + room_clients, SETUP_CONCURRENCY)
    errors += await load.open_clients([slow], 1, rcvbuf=4096)
    if slow.ws is None:
        await load.close_clients(others + room_clients)
        return {"error": "the slow reader could not connect", "connect_errors": errors}
    tail = " " + ("I hear you. " * (plan.slow_body // 12))
    others, room_clients = opened(others), opened(room_clients)

    async def traffic(step):
        await asyncio.gather(
            load.run_schedule(gen, others, rate=len(others) / 2, duration=plan.slow_seconds),
            load.run_schedule(gen, room_clients, rate=plan.slow_room_rate, duration=plan.slow_seconds, body_tail=tail),
        )
        await wait_for_quiet(gen, step, limit=10)

    baseline = await measure(ctx, gen, "slow_reader_baseline", traffic, seconds=plan.slow_seconds)
    # Now one member stops reading: its socket still receives, nobody reads it.
    slow.counted = False
    slow.reader.cancel()
    rss_samples: list[int] = []

    async def sample_rss():
        while True:
            rss_samples.append(process_rss_kb(ctx.proc.pid))
            await asyncio.sleep(0.25)

    sampler = asyncio.ensure_future(sample_rss())
    rss_before = process_rss_kb(ctx.proc.pid)
    with_slow = await measure(ctx, gen, "slow_reader", traffic, seconds=plan.slow_seconds)
    sampler.cancel()
    # Read what is left on the slow socket, to see how the server ended it.
    code = await read_until_closed(slow, timeout=3 if plan.quick else 5)
    await load.close_clients(others + room_clients + [slow])
    return {
        "baseline_others": baseline,
        "with_slow_reader_others": with_slow,
        "others_p99_ratio": round(with_slow["p99_ms"] / baseline["p99_ms"], 2)
        if with_slow["p99_ms"] and baseline["p99_ms"]
        else None,
        "server_rss_before_mb": round(rss_before / 1024, 1),
        "server_rss_peak_mb": round(max(rss_samples, default=rss_before) / 1024, 1),
        "server_rss_growth_mb": round((max(rss_samples, default=rss_before) - rss_before) / 1024, 1),
        "slow_reader_close_code": code,
        "slow_body_chars": plan.slow_body,
        "connect_errors": len(errors),
        "first_connect_errors": errors[:3],
    }


async def read_until_closed(client: load.Client, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            await asyncio.wait_for(client.ws.recv(), max(deadline - time.monotonic(), 0.01))
    except load.ConnectionClosed:
        return client.ws.close_code
    except TimeoutError:
        return None
    return None


# Scenario 5: idle memory -------------------------------------------------------------------


async def idle_memory(ctx: Context) -> dict:
    plan = ctx.plan
    gen = load.Generator(ctx.target)
    # Touch every code path once (imports, pools, caches), so the baseline below is warm.
    warm = home_clients(ctx, gen, 20)
    await load.open_clients(warm, 20)
    await load.close_clients(warm)
    await asyncio.sleep(1)
    base = process_rss_kb(ctx.proc.pid)
    opened: list[load.Client] = []
    points = []
    for count in plan.idle_counts:
        more = home_clients(ctx, gen, count - len(opened), first_group=len(opened) // plan.recipe.group_size)
        t0 = time.monotonic()
        errors = []
        for start in range(0, len(more), 500):  # in chunks, so a slow server ends the scenario in time
            if time.monotonic() + 5 > ctx.deadline:
                break
            errors += await load.open_clients(more[start : start + 500], SETUP_CONCURRENCY)
        seconds = time.monotonic() - t0
        opened += more
        await asyncio.sleep(3)
        rss = process_rss_kb(ctx.proc.pid)
        alive = sum(1 for c in opened if c.ws is not None and not c.gone)
        points.append(
            {
                "sockets": alive,
                "server_rss_mb": round(rss / 1024, 1),
                "kb_per_socket": round((rss - base) / max(alive, 1), 1),
                "connect_seconds": round(seconds, 2),
                "connect_errors": len(errors),
                "first_errors": errors[:3],
            }
        )
        print(f"    idle {ctx.kind} {alive:>6,} sockets: {points[-1]['kb_per_socket']} KB each", flush=True)
    await load.close_clients(opened)
    return {"baseline_rss_mb": round(base / 1024, 1), "points": points}


# Scenario 6: connect storm -----------------------------------------------------------------


async def connect_storm(ctx: Context) -> dict:
    plan = ctx.plan
    # The phase before closed thousands of sockets: the storm starts once that goodbye is worked off.
    settled = await settle(ctx, limit=30.0)
    gen = load.Generator(ctx.target)
    size = plan.recipe.group_size
    gate = asyncio.Semaphore(plan.storm_concurrency)
    errors: list[str] = []
    clients: list[load.Client] = []
    csrf = await load.csrf_pair(ctx.proc.port) if ctx.kind == "P" else None

    attempted = 0

    async def one(member: int) -> None:
        nonlocal attempted
        async with gate:
            if time.monotonic() > ctx.deadline:
                return  # out of time: counted as not attempted, never as done
            attempted += 1
            try:
                session = None
                if ctx.kind == "P":
                    session = await load.log_in(
                        ctx.proc.port, ctx.world["members"][member], ctx.world["password"], csrf
                    )
                client = load.Client(gen, ctx.room(member // size), member, session=session)
                clients.append(client)
                await client.open()
            except (OSError, load.WebSocketException, RuntimeError, TimeoutError) as problem:
                errors.append(f"{type(problem).__name__}: {problem}"[:200])

    window = Window(ctx.proc.pid, servers.LOADGEN_CORE, servers.SERVER_CORE)
    t0 = time.monotonic()
    await asyncio.gather(*(one(m) for m in range(plan.storm)))
    seconds = time.monotonic() - t0
    stats = window.stop()
    await load.close_clients(clients)
    return {
        "connects": plan.storm,
        "attempted": attempted,
        # All of them, or (when the time budget ran out first) the pace so far extended to all;
        # nothing when the budget was gone before the first connect (no pace to extend).
        "seconds_for_all": round(seconds * plan.storm / attempted, 2) if attempted else None,
        "extrapolated": attempted < plan.storm,
        "concurrency": plan.storm_concurrency,
        "with_login": ctx.kind == "P",
        "seconds": round(seconds, 2),
        "per_s": round(attempted / seconds, 1),
        "errors": len(errors),
        "first_errors": errors[:3],
        # Per connect attempted: when the time ran out first, the CPU went to fewer than plan.storm.
        "server_cpu_ms_per_connect": round(stats["server_cpu_s"] * 1000 / max(attempted, 1), 2),
        "loadgen_core_busy_pct": round(stats["loadgen_core_busy_pct"], 1),
        "valid": stats["loadgen_core_busy_pct"] <= LOADGEN_LIMIT_PCT,
        "waited_for_server_to_settle_s": settled,
    }


# Scenario 7: history depth (P only) --------------------------------------------------------


async def history(ctx: Context) -> dict:
    plan = ctx.plan
    gen = load.Generator(ctx.target)
    out = {}
    for label in ("small", "large"):
        slug = ctx.world["history_slugs"][label]
        size = ctx.world["history_sizes"][label]
        first_page, backfill = [], []
        for _ in range(plan.history_samples):
            client = load.Client(gen, slug, 0)
            t0 = time.monotonic()
            await client.open(read=False)  # returns after ready and the first history page
            first_page.append(time.monotonic() - t0)
            t0 = time.monotonic()
            await client.ws.send(json.dumps({"type": "backfill", "after_seq": size - 300}))
            while True:
                frame = json.loads(await asyncio.wait_for(client.ws.recv(), 30))
                if frame["type"] == "history":
                    break
            backfill.append(time.monotonic() - t0)
            assert len(frame["messages"]) == 200, "a 300-message gap is answered with a 200-message page"
            await client.close()
        out[label] = {
            "messages": size,
            "first_page_p50_ms": ms(load.percentile(first_page, 50)),
            "first_page_p99_ms": ms(load.percentile(first_page, 99)),
            "backfill_p50_ms": ms(load.percentile(backfill, 50)),
            "backfill_p99_ms": ms(load.percentile(backfill, 99)),
        }
    small, large = out["small"], out["large"]
    out["first_page_ratio_large_to_small"] = round(large["first_page_p50_ms"] / small["first_page_p50_ms"], 2)
    out["backfill_ratio_large_to_small"] = round(large["backfill_p50_ms"] / small["backfill_p50_ms"], 2)
    return out


# One target, all its scenarios --------------------------------------------------------------


async def run_target(ctx: Context, wanted: set[str]) -> dict:
    out: dict = {}
    phases = [
        ("human pace and saturation ramp", {"human_pace", "saturation"}, human_pace_and_saturation),
        ("big room", {"big_room"}, big_room),
        ("slow reader", {"slow_reader"}, slow_reader),
        ("history depth", {"history"}, history),
        ("idle memory", {"idle_memory"}, idle_memory),
        # Last: it runs until it is done or the target's time is up, and then extends its pace to all.
        ("connect storm", {"connect_storm"}, connect_storm),
    ]
    for label, names, run in phases:
        if not names & wanted or (run is history and ctx.kind != "P"):
            continue
        first = next(iter(sorted(names)))
        if time.monotonic() + PHASE_MIN_SECONDS[first] > ctx.deadline:
            print(f"  {ctx.kind}: {label} skipped (time budget)", flush=True)
            for name in names:
                out[name] = {"skipped": "the run's time budget was spent before this scenario"}
            continue
        if run is idle_memory and out:
            ctx.restart()  # a fresh process, so earlier scenarios' garbage does not blur the figure
        t0 = time.monotonic()
        print(f"  {ctx.kind}: {label}", flush=True)
        profiler = None if os.environ.get("BENCH_PROFILE_STEPS") else servers.start_profiler(ctx.proc, "phase-" + label)
        result = await (run(ctx, wanted) if run is human_pace_and_saturation else run(ctx))
        servers.stop_profiler(profiler)
        if run is human_pace_and_saturation:
            out.update(result)
        else:
            out[next(iter(names))] = result
        out.setdefault("phase_seconds", {})[label] = round(time.monotonic() - t0, 1)
        print(f"    ({time.monotonic() - t0:.0f}s)", flush=True)
    return out


def run_moderation(quick: bool) -> dict:
    script = ROOT / "bench" / "bench_moderation.py"
    if not script.exists():
        return {"skipped": "bench/bench_moderation.py is not there yet"}
    argv = servers.pinned(servers.SERVER_CORE, [sys.executable, str(script)] + (["--quick"] if quick else []))
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=180)
    path = RESULTS / "moderation.json"
    if done.returncode != 0 or not path.exists():
        return {"error": (done.stderr or done.stdout)[-500:]}
    return json.loads(path.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller run that fits in two minutes")
    parser.add_argument("--targets", default="P,B,R")
    parser.add_argument("--scenarios", default=",".join(ALL_SCENARIOS + ("moderation", "costs")))
    parser.add_argument("--output", default="", help="results file (default latest.json, or quick.json)")
    args = parser.parse_args()
    plan = Plan(args.quick)
    wanted = set(args.scenarios.split(","))
    kinds = [k for k in args.targets.split(",") if k]
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    os.sched_setaffinity(0, {servers.LOADGEN_CORE})
    servers.raise_fd_limit()

    database_url = os.environ.get("DATABASE_URL", "")
    print(
        f"SupportCircle bench ({'quick' if args.quick else 'full'}), database: "
        f"{'PostgreSQL' if database_url else 'SQLite'}",
        flush=True,
    )
    redis_proc, redis_url = servers.start_redis()
    os.environ["REDIS_URL"] = redis_url  # so the settings below describe P's real channel layer
    try:
        db_env = world.configure_django(database_url or None, quick=plan.quick)
        world_info = world.build(plan.recipe) if "P" in kinds else None
        from django.conf import settings as django_settings

        results: dict = {"meta": meta(plan, database_url, world_info, django_settings), "targets": {}}
        if "P" in kinds and "costs" in wanted:
            from bench import costs

            print("  P: cost of the hot paths, called directly", flush=True)
            results["p_costs"] = costs.measure(world_info, plan.quick)
        # What is left of the ten (or two) minutes after building the world, less the moderation bench.
        total = 100 if plan.quick else 590
        plan.budget_seconds = max(45.0, total - (time.monotonic() - started) - (10 if plan.quick else 25))
        speed = results["meta"]["machine_speed"]
        for kind in kinds:
            speed[f"before_{kind}"] = calibrate.on_core(servers.SERVER_CORE)
            servers.reset_redis(redis_url)
            Context.db_env = db_env
            proc = servers.start_target(kind, redis_url, db_env, RESULTS / f"counters-{kind}.json.tmp")
            ctx = Context(kind, plan, proc, redis_url, world_info)
            try:
                t0 = time.monotonic()
                results["targets"][kind] = asyncio.run(run_target(ctx, wanted))
                results["targets"][kind]["seconds"] = round(time.monotonic() - t0, 1)
            finally:
                ctx.proc.stop()
        speed["at_the_end"] = calibrate.on_core(servers.SERVER_CORE)
    finally:
        redis_proc.stop()
    if "moderation" in wanted:
        print("  moderation engine (bench/bench_moderation.py)", flush=True)
        results["moderation"] = run_moderation(args.quick)
    results["meta"]["seconds"] = round(time.monotonic() - started, 1)

    from bench import report

    results["summary"] = report.summarize(results)
    # A bare name goes in bench/results; a path is taken as given.
    output = RESULTS / (args.output or ("quick.json" if args.quick else "latest.json"))
    if "/" in args.output:
        output = Path(args.output).resolve()
    output.write_text(json.dumps(results, indent=1) + "\n")
    plot = report.plot(results, output.with_suffix(".png"))
    print(report.table(results))
    print(f"\nwrote {output} and {plot} in {results['meta']['seconds']:.0f}s")
    return 0


def meta(plan: Plan, database_url: str, world_info: dict | None, django_settings) -> dict:
    return {
        "mode": "quick" if plan.quick else "full",
        "quick_note": "counts and durations scaled down to fit in two minutes" if plan.quick else "",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "server_core": servers.SERVER_CORE,
        "loadgen_core": servers.LOADGEN_CORE,
        "pinning": "target and its private redis-server on the server core, load generator on the other; "
        "PostgreSQL (when used) is shared and not pinned",
        "loadgen_limit_pct": LOADGEN_LIMIT_PCT,
        "database": "postgresql" if database_url else "sqlite",
        "p_layer": django_settings.CHANNEL_LAYERS["default"]["BACKEND"],
        "b_layer": "channels_redis.core.RedisChannelLayer (defaults)",
        "password_hasher": "MD5 for bench members only (bench/settings.py); production uses Argon2",
        "sessions": "scenarios 1-5 and 7: Django session store rows made as login() makes them; "
        "scenario 6: real POST /accounts/login/ with CSRF",
        "history_fill": "bulk_create for the two history groups; reads through the real code",
        "world_build_seconds": (world_info or {}).get("build_seconds"),
        "plan": {k: v for k, v in vars(plan).items() if k != "recipe"},
        "packages": package_versions(),
        # bench/calibrate.py on the server's core, in CPU ms (lower is faster), before each target and at
        # the end: these virtual machines have run the same code two to four times slower in one hour
        # than in another, so figures from two runs compare only next to these.
        "machine_speed": {"what": calibrate.__doc__.splitlines()[0], "unit": "CPU ms for one round, lower is faster"},
    }


def package_versions() -> dict[str, str]:
    """The versions of what the figures depend on most, as installed for this run."""
    from importlib import metadata

    names = ("Django", "channels", "channels-redis", "redis", "daphne", "Twisted", "autobahn", "asgiref", "psycopg")
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


if __name__ == "__main__":
    sys.exit(main())
