"""`make bench`: SupportCircle as production runs it (P) and as development runs it (D), beside
bare Channels (B) and a raw websockets server (R); and the production stack scaled out (S1, S2).

    python bench/run.py [--quick] [--targets P,B,R,D,S1,S2] [--scenarios human_pace,crowd,...] [--output FILE]

- P, the headline: ``daphne supportcircle.asgi:application`` with the real settings module and
  environment variables only (bench/servers.app_environment): SUPPORTCIRCLE_ENV=production,
  PostgreSQL (BENCH_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/
  supportcircle_bench; the URL's options, such as ?pool=true&pool_max_size=40 for Django's
  connection pool, go to the server as they are, and the quick world's database is NAME_quick),
  channels-redis's pub/sub layer on a private redis-server, encrypted
  channel payloads, Argon2 password hashing. Pages are asked for as a TLS proxy hands them on
  (X-Forwarded-Proto: https). Bench-only: CHAT_RATE_LIMIT=10000/10, so 1,000 sockets can stand in
  for many more people in the saturation ramp, and LOG_LEVEL=WARNING.
- D, the development column: the same with the settings' defaults, SQLite (bench/.data/) and the
  in-memory channel layer, as ``make run`` serves it (without DEBUG).
- B: one Channels consumer with channels-redis's default RedisChannelLayer, no auth, no database.
- R: a plain websockets broadcast server, the floor of what Python does.
- S1, S2: scale-out. `make stack` itself (deploy/stack.py: nginx with TLS, daphne under supervisor,
  PgBouncer, Redis with Sentinel) with 1 and 2 daphne processes, serving P's world (P's database
  through PgBouncer, P's SECRET_KEY and bench settings), reached through nginx over TLS. Server CPU
  is summed over the daphne processes; nginx, PgBouncer, Redis and PostgreSQL count beside it. The
  stack runs on the server's core, and S2's second daphne process on the other core: on a two-core
  machine it competes with the load generator, so read S2 by its CPU per delivery, not its rate alone.
  Needs the stack's Debian packages (nginx, pgbouncer, supervisor, redis-sentinel); `make bench`
  adds S1 and S2 when they are there. The stack's run folders are bench/.data/stack-s1 and -s2.

``--targets P,B,R`` leaves out the development column. The scenarios, and for whom each runs
(S: S1 and S2):

  delivery_cost  (P D B R) server CPU per delivery at human pace, nothing else on the server
  human_pace     (P D B R) 1,000 sockets post every 10 s; P and D serve the HTTP history at 50/s beside
  saturation     (P D B R S) offered deliveries/s doubled until p99 > 250 ms or messages go missing
  big_room       (P D B R) one room of 500
  slow_reader    (P D B R) one socket stops reading in a busy room
  history        (P D)     first page and backfill with 1,000 and 1,000,000 messages
  login_storm    (P D)     300 logins through the real form, 30 at a time, while 1,000 chat
  idle_memory    (P D B R) server memory per idle socket at 2,000 and 10,000, from a baseline taken once
                           the warmed-up server has settled (P and D load the second opinion at the first socket)
  crowd          (P D)     all 10,000 signed in, 1,000 groups: ping every 20 s, post once a minute
  connect_storm  (P D B R S) 5,000 members with a session open the chat page and its socket, 200 at a time
  remote_db      (P)       human pace and the ramp with PostgreSQL 1 ms and 10 ms away (bench/db_proxy.py)
  moderation               the guideline engine alone (bench/bench_moderation.py)
  second_opinion           the second opinion's latency (bench/bench_second_opinion.py, when it is there)
  costs                    P's hot paths called directly (bench/costs.py)

Writes bench/results/latest.json (or quick.json) and a plot beside it, and prints the table
(bench/report.py). The server side (target and its redis-server) runs on core 0, this load
generator on core 1; a measurement taken while the load generator's core was above 70% busy is
marked invalid. PostgreSQL is shared and not pinned. The worlds (10,000 members in groups of
ten, a big room, two history groups of 1,000 and 1,000,000 messages) are built through the real
code on the first run, in the PostgreSQL database and in bench/.data/, and reused after.

BENCH_PROFILE=P (or D, B) samples that server's GIL holder with py-spy during each scenario (or
each step with BENCH_PROFILE_STEPS=1) into bench/results/profile-*.txt.tmp, collapsed stacks.
BENCH_RAMP_START sets the saturation ramp's first rate (deliveries/s, default 1,000).
BENCH_PLAIN_APP=1 serves supportcircle.asgi:application without bench/asgi_p.py's statement counter.
BENCH_CPROFILE=FILE profiles P's (or D's) event loop and database threads with cProfile on their CPU
clocks, written on SIGUSR2 (bench/asgi_p.py; profiling only, it slows the server several times).

bench/bench_second_opinion.py, when present, is run as ``python bench/bench_second_opinion.py
[--quick] --output FILE`` on the server's core and writes JSON with at least ``p99_ms``; the
report reads ``p50_ms``, ``p99_ms``, ``cpu_ms_per_message``, ``rss_added_mb`` and ``passed``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import calibrate, scenarios, servers, world  # noqa: E402
from bench.harness import LOADGEN_LIMIT_PCT, PHASE_MIN_SECONDS, Context, Plan  # noqa: E402

RESULTS = servers.RESULTS
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/supportcircle_bench"
TARGETS = ("P", "B", "R", "D", "S1", "S2")  # in this order: B and R measured next to P, the headline
DEFAULT_TARGETS = "P,B,R,D"  # S1 and S2 need the stack's Debian packages: `make bench` adds them when there
SCENARIOS = (
    "delivery_cost",
    "human_pace",
    "saturation",
    "big_room",
    "slow_reader",
    "history",
    "login_storm",
    "idle_memory",
    "crowd",
    "connect_storm",
    "remote_db",
)
EXTRAS = ("moderation", "second_opinion", "costs")

# Who runs each scenario (P and D are SupportCircle; B and R have no pages, logins or database; S is the
# stack, S1 and S2, measured for scale-out only).
WHO = {
    "delivery_cost": "PDBR",
    "human_pace": "PDBR",
    "saturation": "PDBRS",
    "big_room": "PDBR",
    "slow_reader": "PDBR",
    "history": "PD",
    "login_storm": "PD",
    "idle_memory": "PDBR",
    "crowd": "PD",
    "connect_storm": "PDBRS",
    "remote_db": "P",
}
# In this order: each phase's label, its key (harness.PHASE_MIN_SECONDS), what runs it, the scenarios it serves.
# A phase that serves several scenarios runs once for all of them and is handed which are wanted.
PHASES = (
    (
        "human pace, cost per delivery and the saturation ramp",
        "pace",
        scenarios.pace,
        ("delivery_cost", "human_pace", "saturation"),
    ),
    ("big room", "big_room", scenarios.big_room, ("big_room",)),
    ("slow reader", "slow_reader", scenarios.slow_reader, ("slow_reader",)),
    ("history depth", "history", scenarios.history, ("history",)),
    ("login storm", "login_storm", scenarios.login_storm, ("login_storm",)),
    # On a fresh process, so earlier scenarios' garbage does not blur the memory figure.
    ("idle memory and the crowd", "idle_memory", scenarios.idle_and_crowd, ("idle_memory", "crowd")),
    # Runs until it is done or the target's time is up, and then extends its pace to all.
    ("connect storm", "connect_storm", scenarios.connect_storm, ("connect_storm",)),
    # Last: it restarts P with its database through the proxy.
    ("database on another host", "remote_db", scenarios.remote_db, ("remote_db",)),
)


async def run_target(ctx: Context, wanted: set[str]) -> dict:
    out: dict = {}
    for label, key, run, serves in PHASES:
        names = {name for name in serves if name in wanted and ctx.kind[0] in WHO[name]}
        if not names:
            continue
        if ctx.time_left() < PHASE_MIN_SECONDS[key]:
            print(f"  {ctx.kind}: {label} skipped (time budget)", flush=True)
            for name in names:
                out[name] = {"skipped": "the run's time budget was spent before this scenario"}
            continue
        if key == "idle_memory" and out:
            ctx.restart()
        t0 = time.monotonic()
        print(f"  {ctx.kind}: {label}", flush=True)
        profiler = None if os.environ.get("BENCH_PROFILE_STEPS") else servers.start_profiler(ctx.proc, "phase-" + key)
        try:
            result = await (run(ctx, names) if len(serves) > 1 else run(ctx))
        finally:
            servers.stop_profiler(profiler)
        out.update(result if len(serves) > 1 else {serves[0]: result})
        out.setdefault("phase_seconds", {})[label] = round(time.monotonic() - t0, 1)
        print(f"    ({time.monotonic() - t0:.0f}s)", flush=True)
    return out


def run_script(name: str, quick: bool, output: Path, timeout: int) -> dict:
    """One of the bench's stand-alone scripts (moderation, second opinion) on the server's core."""
    script = ROOT / "bench" / name
    if not script.exists():
        return {"skipped": f"bench/{name} is not there yet"}
    output.unlink(missing_ok=True)
    argv = [sys.executable, str(script), *(["--quick"] if quick else []), "--output", str(output)]
    try:
        done = subprocess.run(
            servers.pinned(servers.SERVER_CORE, argv), cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"error": f"bench/{name} took more than {timeout} s"}
    if done.returncode != 0 or not output.exists():
        return {"error": (done.stderr or done.stdout)[-500:]}
    return json.loads(output.read_text())


def build_world(column: str, app_env: dict, quick: bool, costs: bool) -> dict:
    """Build (or reuse) a column's world in a process with that column's settings; return its description."""
    argv = [sys.executable, str(ROOT / "bench" / "world.py"), *(["--quick"] if quick else [])]
    argv += ["--costs"] if costs else []
    done = subprocess.run(argv, cwd=ROOT, env=app_env, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"building the {column} world failed (exit {done.returncode})")
    return json.loads(Path(done.stdout.strip().splitlines()[-1]).read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="everything scaled down, for CI-size checks")
    parser.add_argument(
        "--targets", default=DEFAULT_TARGETS, help="of P (production), D (development), B, R, S1 and S2 (the stack)"
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS + EXTRAS))
    parser.add_argument("--output", default="", help="results file (default latest.json, or quick.json)")
    args = parser.parse_args()
    plan = Plan(args.quick)
    wanted = set(args.scenarios.split(","))
    unknown = wanted - set(SCENARIOS + EXTRAS)
    kinds = [k for k in TARGETS if k in args.targets.split(",")]
    if unknown or not kinds:
        parser.error(f"unknown scenarios {sorted(unknown)}" if unknown else "no known target")
    missing = [tool for tool in servers.STACK_TOOLS if shutil.which(tool) is None]
    if missing and set(kinds) & set(servers.STACK_PROCESSES):
        parser.error(
            f"S1 and S2 need the stack's Debian packages; missing: {', '.join(missing)} (.ci/run installs them)"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    for log in RESULTS.glob("*.log.tmp"):
        log.unlink()  # each run's servers append to fresh logs
    started = time.monotonic()
    os.sched_setaffinity(0, {servers.LOADGEN_CORE})
    servers.raise_fd_limit()
    postgres = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES
    print(f"SupportCircle bench ({'quick' if args.quick else 'full'}): {', '.join(kinds)}", flush=True)

    redis_proc, redis_url = servers.start_redis()
    secret = world.secret_key()
    app_envs = {
        "P": servers.app_environment(
            servers.PRODUCTION,
            database=world.database_for(servers.PRODUCTION, postgres_url=postgres, quick=plan.quick),
            secret_key=secret,
            redis_url=redis_url,
        ),
        "D": servers.app_environment(
            servers.DEVELOPMENT,
            database=world.database_for(servers.DEVELOPMENT, postgres_url=postgres, quick=plan.quick),
            secret_key=secret,
            redis_url=None,
        ),
    }
    results: dict = {"meta": meta(plan, app_envs, kinds), "targets": {}}
    try:
        worlds = {}
        for kind in kinds:
            if kind in servers.COLUMN_OF:
                column = servers.COLUMN_OF[kind]
                print(f"  {kind}: the {column} world", flush=True)
                t0 = time.monotonic()
                worlds[kind] = build_world(column, app_envs[kind], plan.quick, costs=kind == "P" and "costs" in wanted)
                results["meta"]["world_seconds"][kind] = round(time.monotonic() - t0, 1)
                if "costs" in worlds[kind]:
                    results["p_costs"] = worlds[kind].pop("costs")
            elif kind in servers.STACK_PROCESSES:  # the stack serves P's world, in P's database
                if "P" not in worlds:
                    print(f"  {kind}: the production world", flush=True)
                    worlds["P"] = build_world(servers.PRODUCTION, app_envs["P"], plan.quick, costs=False)
                worlds[kind], app_envs[kind] = worlds["P"], app_envs["P"]
        speed = results["meta"]["machine_speed"]
        for kind in kinds:
            speed[f"before_{kind}"] = calibrate.on_core(servers.SERVER_CORE)
            print(
                f"  {kind}: machine speed {speed[f'before_{kind}']} (bench/calibrate.py, lower is faster)", flush=True
            )
            servers.reset_redis(redis_url)
            ctx = Context(kind, plan, redis_proc, redis_url, worlds.get(kind), app_envs.get(kind))
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
        results["moderation"] = run_script("bench_moderation.py", args.quick, RESULTS / "moderation.json.tmp", 180)
    if "second_opinion" in wanted:
        print("  second opinion (bench/bench_second_opinion.py)", flush=True)
        results["second_opinion"] = run_script(
            "bench_second_opinion.py", args.quick, RESULTS / "second_opinion.json.tmp", 600
        )
    results["meta"]["seconds"] = round(time.monotonic() - started, 1)
    results["meta"]["load_average"]["at_the_end"] = round(os.getloadavg()[0], 1)

    from bench import report

    results["summary"] = report.summarize(results)
    results["scale_out"] = report.scale_out(results)
    # A bare name goes in bench/results; a path is taken as given.
    output = RESULTS / (args.output or ("quick.json" if args.quick else "latest.json"))
    if "/" in args.output:
        output = Path(args.output).resolve()
    output.write_text(json.dumps(results, indent=1) + "\n")
    plot = report.plot(results, output.with_suffix(".png"))
    print(report.table(results))
    print(f"\nwrote {output} and {plot} in {results['meta']['seconds']:.0f}s")
    return 0


def meta(plan: Plan, app_envs: dict, kinds: list[str]) -> dict:
    shown = ("SUPPORTCIRCLE_ENV", "DATABASE_URL", "SQLITE_PATH", "REDIS_URL", "CHAT_RATE_LIMIT", "LOG_LEVEL")
    return {
        "mode": "quick" if plan.quick else "full",
        "quick_note": "counts and durations scaled down: figures show each scenario works, goals are for a full run"
        if plan.quick
        else "",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        # The machine's one-minute load average: others' work shares these cores (calibrate says how much it costs).
        "load_average": {"at_the_start": round(os.getloadavg()[0], 1)},
        "targets": kinds,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "server_core": servers.SERVER_CORE,
        "loadgen_core": servers.LOADGEN_CORE,
        "pinning": "target and its private redis-server on the server core, load generator on the other; "
        "PostgreSQL is shared and not pinned; the database proxy runs on the load generator's core",
        "loadgen_limit_pct": LOADGEN_LIMIT_PCT,
        "columns": {
            kind: {
                "what": servers.COLUMN_OF[kind],
                "daphne": "daphne -v 0 -b 127.0.0.1 -p PORT supportcircle.asgi:application"
                if os.environ.get("BENCH_PLAIN_APP")
                else "daphne -v 0 -b 127.0.0.1 -p PORT bench.asgi_p:application "
                "(supportcircle.asgi:application and a statement counter)",
                "environment": {k: v for k, v in app_envs[kind].items() if k in shown},
                "secret_values": "SECRET_KEY (bench/.data/secret-key) and, for P, CHANNEL_ENCRYPTION_KEY",
            }
            for kind in ("P", "D")
        }
        | {
            kind: {
                "what": f"the production stack (deploy/stack.py) with {count} daphne process"
                + ("es" if count > 1 else ""),
                "daphne": "under supervisor: daphne --verbosity 0 -b 127.0.0.1 -p PORT supportcircle.asgi:application",
                "front": "nginx over TLS (deploy/nginx/supportcircle.conf); the load generator speaks https and wss",
                "database": "P's database through PgBouncer in transaction pooling; Redis with Sentinel for the layer",
                "environment": "as `make stack` with STACK_APP_SECRET_KEY (P's), STACK_APP_CHAT_RATE_LIMIT, "
                "STACK_APP_LOG_LEVEL=WARNING",
                "pinning": "the stack on the server core; the second daphne process on the load generator's core",
                "server_cpu": "summed over the daphne processes; nginx, PgBouncer, Redis, Sentinels, the "
                "scheduler and PostgreSQL's backends are the backing CPU",
            }
            for kind, count in servers.STACK_PROCESSES.items()
            if kind in kinds
        },
        "b_layer": "channels_redis.core.RedisChannelLayer (defaults)",
        "password_hasher": "the settings' own (Argon2): every bench member has the same Argon2 hash, made once",
        "sessions": "every member has one, made as login() makes it; the login storm logs in through the form",
        "history_fill": "bulk_create for the two history groups; reads through the real code",
        "world_seconds": {},
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

    names = (
        "Django",
        "channels",
        "channels-redis",
        "redis",
        "daphne",
        "Twisted",
        "autobahn",
        "asgiref",
        "psycopg",
        "argon2-cffi",
    )
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


if __name__ == "__main__":
    sys.exit(main())
