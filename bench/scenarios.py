"""The scenarios: what each offers the target, what it measures, and for whom.

P and D are SupportCircle on its production and its development configuration; B is bare
Channels, R a raw websockets server (bench/run.py). Each scenario's goal is in bench/report.py.
"""

from __future__ import annotations

import asyncio
import json
import random
import time

from bench import db_proxy, load, servers
from bench.harness import (
    GOOD_P99_MS,
    LOADGEN_LIMIT_PCT,
    SETUP_CONCURRENCY,
    Context,
    brief,
    closed_codes,
    good_step,
    home_clients,
    measure,
    ms,
    opened,
    settle,
    wait_for_quiet,
)
from bench.procstats import process_rss_kb

# Tables whose statements are presence (who is here now) and the sockets' re-checks (session,
# person, membership). The send path may read the latter too: an upper bound for the re-checks.
PRESENCE_TABLES = ("chat_presence",)
RECHECK_TABLES = ("django_session", "accounts_user", "groups_membership")


async def open_senders(ctx: Context, gen: load.Generator, count: int) -> tuple[list, list, list[str], float]:
    """``count`` members in their home groups, opened and warmed up (every pool and path touched once)."""
    clients = home_clients(ctx, gen, count)
    t0 = time.monotonic()
    errors = await load.open_clients(clients, SETUP_CONCURRENCY)
    connect_s = time.monotonic() - t0
    senders = opened(clients)
    random.Random(7).shuffle(senders)
    warm = gen.new_step("warm-up")
    await load.run_schedule(gen, senders, rate=200, duration=1.0)
    await wait_for_quiet(gen, warm, limit=5)
    return clients, senders, errors, connect_s


# Human pace, cost per delivery and the saturation ramp share their sockets --------------------


async def pace(ctx: Context, wanted: set[str]) -> dict:
    plan = ctx.plan
    gen = load.Generator(ctx.target)
    clients, senders, errors, connect_s = await open_senders(ctx, gen, plan.human_sockets)
    rate = len(senders) / plan.human_interval
    out: dict = {}

    if "delivery_cost" in wanted:
        # The human pace's sockets and rate with nothing else on the server: its CPU per delivery.
        async def cost_body(step):
            await load.run_schedule(gen, senders, rate=rate, duration=plan.cost_seconds)
            await wait_for_quiet(gen, step, limit=10)

        out["delivery_cost"] = await measure(ctx, gen, "delivery_cost", cost_body, seconds=plan.cost_seconds)
        print(f"    cost {ctx.kind}: {brief(out['delivery_cost'])}", flush=True)

    if "human_pace" in wanted:
        result = await human_pace(ctx, gen, senders, seconds=plan.human_seconds[ctx.kind])
        result.update(connect_errors=len(errors), first_connect_errors=errors[:3], connect_seconds=round(connect_s, 2))
        result["sockets_closed_by_server"] = closed_codes(clients)
        out["human_pace"] = result
        await asyncio.sleep(1)

    if "saturation" in wanted:
        out["saturation"] = await ramp(ctx, gen, senders, clients, start=plan.ramp_start, max_steps=plan.ramp_max_steps)
    await load.close_clients(clients)
    return out


async def human_pace(ctx: Context, gen: load.Generator, senders: list, *, seconds: float, name="human_pace") -> dict:
    """Each socket posts every 10 s (groups of ten: 100 deliveries/s per 100 sockets); P and D also
    serve the HTTP history at 50 requests/s alongside."""
    plan = ctx.plan
    rate = len(senders) / plan.human_interval
    history_lat: list[float] = []
    failures: dict[str, int] = {}

    async def body(step):
        tasks = [load.run_schedule(gen, senders, rate=rate, duration=seconds)]
        if ctx.is_app:
            tasks.append(http_history_load(ctx, seconds, history_lat, failures))
        await asyncio.gather(*tasks)
        await wait_for_quiet(gen, step, limit=10)

    result = await measure(ctx, gen, name, body, seconds=seconds)
    result.update(sockets=len(senders), groups=len(senders) // plan.recipe.group_size)
    if ctx.is_app:
        result["http_history"] = {
            "requests": len(history_lat),
            "rate_per_s": plan.http_history_rate,
            "p50_ms": ms(load.percentile([v for v in history_lat if v >= 0], 50)),
            "p99_ms": ms(load.percentile([v for v in history_lat if v >= 0], 99)),
            "errors": sum(1 for v in history_lat if v < 0),
            "errors_by_status": failures,
        }
    print(f"    {name} {ctx.kind}: {brief(result)}", flush=True)
    return result


async def ramp(ctx: Context, gen: load.Generator, senders: list, clients: list, *, start: int, max_steps: int) -> dict:
    """Double the offered deliveries/s from ``start`` until p99 passes 250 ms or deliveries go missing,
    then offer once halfway between the last good step and the first bad one after it: on a doubling
    grid alone every ratio of two targets' rates is a power of two, and the goal (1.5x B) falls between."""
    plan = ctx.plan
    steps = []
    deliveries = start
    fanout = plan.recipe.group_size
    bad_seen = 0

    def time_left() -> bool:  # keep time for the other scenarios
        return time.monotonic() + plan.ramp_seconds + 5 <= ctx.deadline - (5 if plan.quick else 40)

    async def step_at(deliveries: int) -> dict:
        rate = deliveries / fanout

        async def body(step):
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
        return result

    for _ in range(max_steps):
        if not time_left():
            break
        result = await step_at(deliveries)
        if result["loadgen_process_cpu_pct"] > LOADGEN_LIMIT_PCT:
            break  # the load generator itself is the limit from here on
        # (A step whose core was busy with other work is kept but marked invalid.)
        if not result["good"]:
            bad_seen += 1
            if bad_seen >= (1 if plan.quick else 2):
                break
        deliveries *= 2
    last_good = max((s["target_deliveries_per_s"] for s in steps if s["good"]), default=0)
    first_bad = min((s["target_deliveries_per_s"] for s in steps if not s["good"]), default=0)
    if last_good and first_bad == 2 * last_good and time_left():
        await step_at((last_good + first_bad) // 2)
    steps.sort(key=lambda s: s["target_deliveries_per_s"])
    good = [s for s in steps if s["good"] and s["loadgen_process_cpu_pct"] <= LOADGEN_LIMIT_PCT]
    return {
        "steps": steps,
        "good_means": f"p99 <= {GOOD_P99_MS} ms and at least 99.9% delivered",
        # None when the ramp never ran (time budget); 0 when no step was good.
        "highest_good_deliveries_per_s": max((s["delivered_per_s"] for s in good), default=0) if steps else None,
        "highest_good_offered_per_s": max((s["target_deliveries_per_s"] for s in good), default=0) if steps else None,
        "limited_by_load_generator": any(s["loadgen_process_cpu_pct"] > LOADGEN_LIMIT_PCT for s in steps),
        "steps_with_busy_loadgen_core": sum(1 for s in steps if not s["valid"]),
        "lost_past_saturation": sum(s["lost"] for s in steps if not s["good"]) if steps else None,
    }


async def http_history_load(ctx: Context, seconds: float, latencies: list[float], failures: dict) -> None:
    """The JSON history (latest page, as on opening the chat) at 50 requests/s, open-loop; a failed
    request counts -1 in ``latencies`` and its HTTP status (or error) in ``failures``."""
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
            status, _, _ = await load.http(
                ctx.proc.port,
                "GET",
                f"/groups/{slug}/chat/history/",
                headers=headers,
                secure=ctx.target.secure,
                tls=ctx.target.tls,
            )
        except OSError as problem:
            status = type(problem).__name__
        latencies.append(time.monotonic() - scheduled if status == 200 else -1.0)
        if status != 200:
            failures[str(status)] = failures.get(str(status), 0) + 1

    for k in range(total):
        scheduled = t0 + k / rate
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(scheduled, rng.randrange(groups * size))))
    await asyncio.gather(*tasks)


# One big room ---------------------------------------------------------------------------------


async def big_room(ctx: Context) -> dict:
    plan = ctx.plan
    gen = load.Generator(ctx.target)
    room = ctx.world["big_slug"] if ctx.is_app else "big"
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


# A slow reader --------------------------------------------------------------------------------


async def slow_reader(ctx: Context) -> dict:
    plan = ctx.plan
    size = plan.recipe.group_size
    gen = load.Generator(ctx.target)
    others = home_clients(ctx, gen, 10 * size)
    slow_room = ctx.world["slow_slug"] if ctx.is_app else "slow"
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


# Idle memory, then the crowd on the same sockets ----------------------------------------------


async def idle_and_crowd(ctx: Context, wanted: set[str]) -> dict:
    """Idle memory at two counts on a fresh process; then (P and D) everyone of the last count at once."""
    plan = ctx.plan
    gen = load.Generator(ctx.target)
    out: dict = {}
    clients: list[load.Client] = []
    if "idle_memory" in wanted:
        out["idle_memory"], clients = await idle_memory(ctx, gen)
    if "crowd" in wanted and ctx.is_app:
        if not clients:
            clients = home_clients(ctx, gen, plan.idle_counts[-1])
            for start in range(0, len(clients), 500):
                await load.open_clients(clients[start : start + 500], SETUP_CONCURRENCY)
        out["crowd"] = await crowd(ctx, gen, clients)
    await load.close_clients(clients)
    return out


async def idle_memory(ctx: Context, gen: load.Generator) -> tuple[dict, list[load.Client]]:
    plan = ctx.plan
    # Touch every code path once (imports, pools, caches), so the baseline below is warm.
    warm = home_clients(ctx, gen, 20)
    await load.open_clients(warm, 20)
    await load.close_clients(warm)
    # The first socket also starts what a process loads once (P and D: the second opinion's model, on
    # its own thread, for seconds and about a hundred MB): the baseline waits until that is done, or
    # its growth would be counted against the sockets opened meanwhile.
    settled_s = await settle_memory(ctx)
    base = process_rss_kb(ctx.proc.pid)
    clients: list[load.Client] = []
    points = []
    for count in plan.idle_counts:
        more = home_clients(ctx, gen, count - len(clients), first_group=len(clients) // plan.recipe.group_size)
        t0 = time.monotonic()
        errors = []
        cut_short = False
        for start in range(0, len(more), 500):  # in chunks, so a slow server ends the scenario in time
            if time.monotonic() + 5 > ctx.deadline:
                cut_short = True
                break
            errors += await load.open_clients(more[start : start + 500], SETUP_CONCURRENCY)
        seconds = time.monotonic() - t0
        clients += more
        await asyncio.sleep(3)
        rss = process_rss_kb(ctx.proc.pid)
        alive = len(opened(clients))
        points.append(
            {
                "sockets": alive,
                "wanted": count,
                # The time budget ran out before all were open: this point is not the count it is for.
                "cut_short": cut_short,
                "server_rss_mb": round(rss / 1024, 1),
                "kb_per_socket": round((rss - base) / max(alive, 1), 1),
                "connect_seconds": round(seconds, 2),
                "connect_errors": len(errors),
                "first_errors": errors[:3],
            }
        )
        print(f"    idle {ctx.kind} {alive:>6,} sockets: {points[-1]['kb_per_socket']} KB each", flush=True)
    return {"baseline_rss_mb": round(base / 1024, 1), "baseline_settled_s": settled_s, "points": points}, clients


async def settle_memory(ctx: Context, limit: float = 60.0) -> float:
    """Wait until the server is idle (harness.settle) and its memory has stopped growing: less than
    256 KB in two seconds. Returns the seconds waited (at most ``limit``)."""
    started = time.monotonic()
    rss = process_rss_kb(ctx.proc.pid)
    while time.monotonic() - started < limit:
        await settle(ctx, limit=max(limit - (time.monotonic() - started), 0.5))
        await asyncio.sleep(2)
        before, rss = rss, process_rss_kb(ctx.proc.pid)
        if rss - before < 256:
            break
    return round(time.monotonic() - started, 1)


async def crowd(ctx: Context, gen: load.Generator, clients: list[load.Client]) -> dict:
    """Every member signed in at once, in groups of ten: each pings every 20 s (as chat.js does) and
    posts once a minute, at its own phase. Latency, losses, the pongs' round trip, and the database
    statements a second that it costs, by table (presence and the sockets' re-checks among them)."""
    plan = ctx.plan
    alive = opened(clients)
    if time.monotonic() + plan.crowd_seconds + 20 > ctx.deadline:
        return {"skipped": "the run's time budget was spent before this scenario"}

    async def body(step):
        await load.run_crowd(
            gen, alive, duration=plan.crowd_seconds, ping_every=plan.crowd_ping_every, post_every=plan.crowd_post_every
        )
        await wait_for_quiet(gen, step, limit=15)

    result = await measure(ctx, gen, "crowd", body, seconds=plan.crowd_seconds)
    by_table = result.get("db_statements_by_table") or {}
    per_s = result["seconds"]
    result.update(
        members=len(alive),
        groups=len({c.room for c in alive}),
        ping_every_s=plan.crowd_ping_every,
        post_every_s=plan.crowd_post_every,
        sockets_closed_by_server=closed_codes(clients),
    )
    if by_table:
        result["presence_statements_per_s"] = round(sum(by_table.get(t, 0) for t in PRESENCE_TABLES) / per_s, 1)
        result["recheck_statements_per_s"] = round(sum(by_table.get(t, 0) for t in RECHECK_TABLES) / per_s, 1)
    print(
        f"    crowd {ctx.kind} {len(alive):,} members: {brief(result)}; pong p99 {result.get('pong_p99_ms')} ms, "
        f"{result.get('db_statements_per_s')} statements/s",
        flush=True,
    )
    return result


# The connect storm ---------------------------------------------------------------------------


async def connect_storm(ctx: Context) -> dict:
    """5,000 members who already have a session come back at once, 200 at a time: P and D open the
    chat page (with its session cookie) and then its socket from the page's seq, until ``ready`` and
    the history have arrived; B and R open the socket alone."""
    plan = ctx.plan
    gen = load.Generator(ctx.target)
    size = plan.recipe.group_size
    gate = asyncio.Semaphore(plan.storm_concurrency)
    errors: list[str] = []
    clients: list[load.Client] = []
    attempted = 0

    async def one(member: int, counted: bool = True) -> None:
        nonlocal attempted
        async with gate:
            if time.monotonic() > ctx.deadline:
                return  # out of time: counted as not attempted, never as done
            attempted += counted
            room = ctx.room(member // size)
            try:
                last_seq = None
                if ctx.is_app:
                    last_seq = await load.chat_page(ctx.target, room, ctx.world["sessions"][member])
                client = load.Client(gen, room, member)
                clients.append(client)
                await client.open(last_seq=last_seq)
            except (OSError, load.WebSocketException, RuntimeError, TimeoutError) as problem:
                if counted:
                    errors.append(f"{type(problem).__name__}: {problem}"[:200])

    # Not measured: a few members from the far end of the world touch every path once (a server
    # started for this scenario alone builds its moderation engine, pools and templates here).
    members = len(ctx.world["members"]) if ctx.is_app else plan.recipe.members
    await asyncio.gather(*(one(m, counted=False) for m in range(members - 10, members)))
    await load.close_clients(clients)
    clients.clear()
    # The phase before closed thousands of sockets: the storm starts once that goodbye is worked off.
    settled = await settle(ctx, limit=30.0)
    db0 = ctx.db_counts()
    window = ctx.window()
    t0 = time.monotonic()
    await asyncio.gather(*(one(m) for m in range(plan.storm)))
    seconds = time.monotonic() - t0
    stats = window.stop()
    db1 = ctx.db_counts()
    await load.close_clients(clients)
    per_connect_s = seconds / attempted if attempted else None
    # As the server's execute wrapper sees them (bench/statements.py): psycopg's own BEGIN and COMMIT are not counted.
    statements = db1["statements"] - db0["statements"] if db0 is not None and db1 is not None else None
    return {
        "db_statements_per_connect": round(statements / attempted, 2) if statements is not None and attempted else None,
        "connects": plan.storm,
        "attempted": attempted,
        "with_page": ctx.is_app,
        # At this pace, the goal's 5,000 (a quick run's few hundred, or a run whose time ran out first,
        # extended to 5,000); nothing when the budget was gone before the first connect.
        "seconds_for_5000": round(per_connect_s * plan.storm_goal_count, 2) if per_connect_s else None,
        "extrapolated": attempted != plan.storm_goal_count,
        "concurrency": plan.storm_concurrency,
        "seconds": round(seconds, 2),
        "per_s": round(attempted / seconds, 1) if seconds else None,
        "errors": len(errors),
        "first_errors": errors[:3],
        # Per connect attempted: when the time ran out first, the CPU went to fewer than plan.storm.
        "server_cpu_ms_per_connect": round(stats["server_cpu_s"] * 1000 / max(attempted, 1), 2),
        "server_and_backing_cpu_ms_per_connect": round(
            (stats["server_cpu_s"] + stats["backing_cpu_s"]) * 1000 / max(attempted, 1), 2
        ),
        "loadgen_core_busy_pct": round(stats["loadgen_core_busy_pct"], 1),
        "valid": stats["loadgen_core_busy_pct"] <= LOADGEN_LIMIT_PCT,
        "waited_for_server_to_settle_s": settled,
    }


# Logins during a session ---------------------------------------------------------------------


async def login_storm(ctx: Context) -> dict:
    """300 people log in through the real form (its page for the CSRF cookie and token, then the POST,
    Argon2 checking the password), 30 at a time, while 1,000 members chat at human pace. The chatters'
    latency says whether hashing starves the server; the logins' own latency is reported."""
    plan = ctx.plan
    gen = load.Generator(ctx.target)
    clients, senders, open_errors, _ = await open_senders(ctx, gen, plan.human_sockets)
    members = range(plan.human_sockets, plan.human_sockets + plan.logins)  # not among the chatters
    gate = asyncio.Semaphore(plan.login_concurrency)
    done = asyncio.Event()
    whole: list[float] = []  # from asking for the login page to the redirect after the POST
    posts: list[float] = []  # the POST alone: the password check, the session, the redirect
    errors: list[str] = []

    async def one(member: int) -> None:
        async with gate:
            t0 = time.monotonic()
            try:
                csrf = await load.csrf_pair(ctx.target)
                t1 = time.monotonic()
                await load.log_in(ctx.target, ctx.world["members"][member], ctx.world["password"], csrf)
            except (OSError, RuntimeError, TimeoutError) as problem:
                errors.append(f"{type(problem).__name__}: {problem}"[:200])
                return
            t2 = time.monotonic()
            whole.append(t2 - t0)
            posts.append(t2 - t1)

    async def logins() -> float:
        await asyncio.sleep(1.0)  # the chat is under way first
        t0 = time.monotonic()
        await asyncio.gather(*(one(m) for m in members))
        done.set()
        return time.monotonic() - t0

    took: dict[str, float] = {}

    async def body(step):
        started = time.monotonic()
        # The chat goes on until the logins are done.
        chat = load.run_schedule(gen, senders, rate=len(senders) / plan.human_interval, duration=600, until=done)
        _, took["logins"] = await asyncio.gather(chat, logins())
        chat_seconds = time.monotonic() - started
        await wait_for_quiet(gen, step, limit=10)
        return chat_seconds

    result = await measure(ctx, gen, "login_storm", body, seconds=None)
    result.update(
        chatters=len(senders),
        chatters_connect_errors=len(open_errors),
        sockets_closed_by_server=closed_codes(clients),
        logins=len(posts),
        login_errors=len(errors),
        first_login_errors=errors[:3],
        login_concurrency=plan.login_concurrency,
        login_seconds=round(took["logins"], 2),
        logins_per_s=round(len(posts) / took["logins"], 1) if took["logins"] else None,
        login_post_p50_ms=ms(load.percentile(posts, 50)),
        login_post_p99_ms=ms(load.percentile(posts, 99)),
        login_page_and_post_p99_ms=ms(load.percentile(whole, 99)),
    )
    print(
        f"    login storm {ctx.kind}: {len(posts)} logins in {took['logins']:.1f}s, POST p99 "
        f"{result['login_post_p99_ms']} ms; chatters: {brief(result)}",
        flush=True,
    )
    await load.close_clients(clients)
    return result


# History depth (P and D) ----------------------------------------------------------------------


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


# The database on another host (P) -------------------------------------------------------------


async def remote_db(ctx: Context) -> dict:
    """P again with its PostgreSQL a round trip away (bench/db_proxy.py): human pace (with the HTTP
    history alongside) and the saturation ramp, for each round trip in the plan."""
    plan = ctx.plan
    direct = ctx.app_env["DATABASE_URL"]
    upstream = servers.address(direct)
    out: dict = {}
    for asked in plan.db_round_trips_ms:
        key = f"{asked:g}ms"
        if time.monotonic() + 30 > ctx.deadline:
            out[key] = {"skipped": "the run's time budget was spent before this round trip"}
            continue
        proxy, added = _start_proxy(asked, upstream, direct)
        proxied = servers.with_address(direct, f"127.0.0.1:{proxy.port}")
        ctx.helpers = (proxy.pid,)
        try:
            ctx.restart({**ctx.app_env, "DATABASE_URL": proxied})
            print(f"  {ctx.kind}: PostgreSQL {added['added_round_trip_ms']} ms away (asked {asked:g})", flush=True)
            gen = load.Generator(ctx.target)
            clients, senders, errors, _ = await open_senders(ctx, gen, plan.human_sockets)
            result: dict = {"asked_round_trip_ms": asked, **added, "connect_errors": len(errors)}
            result["human_pace"] = await human_pace(ctx, gen, senders, seconds=plan.remote_human_seconds)
            result["saturation"] = await ramp(
                ctx, gen, senders, clients, start=plan.remote_ramp_start, max_steps=plan.remote_ramp_max_steps
            )
            await load.close_clients(clients)
            out[key] = result
        finally:
            ctx.helpers = ()
            proxy.stop()
    ctx.restart()
    return out


def _start_proxy(asked: float, upstream: str, direct: str) -> tuple[servers.Process, dict]:
    """The proxy, asked for less when forwarding itself adds too much; and what it really adds."""
    ask = asked
    for attempt in range(2):
        proxy = servers.start_db_proxy(ask, upstream)
        proxied = servers.with_address(direct, f"127.0.0.1:{proxy.port}")
        added = db_proxy.measure_round_trip(servers.for_libpq(direct), servers.for_libpq(proxied))
        over = added["added_round_trip_ms"] - asked
        if over <= 0.1 * asked or attempt == 1:
            break
        proxy.stop()
        ask = max(ask - over, 0.0)
    added["proxy_asked_for_ms"] = ask
    return proxy, added
