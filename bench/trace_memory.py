"""What an idle socket holds in P's server process, by who allocated it (tracemalloc).

    python bench/trace_memory.py [--counts 300,1000] [--frames 30] [--top 30] [--keep]

The production column as the bench serves it (P: bench/asgi_p.py on the real settings, PostgreSQL, the
Redis layer; the quick world), started with BENCH_TRACEMALLOC, opened to each count of idle sockets in
the home groups as the idle_memory scenario opens them (bench/scenarios.py), and asked for a snapshot of
its live Python allocations at each count (after a full collection). The difference between the first
and the last count, divided by the sockets opened in between, is what one more idle socket costs in
Python objects, grouped three ways (four, with the package of the first):

- by who asked for it: the innermost frame outside the standard library (a Channels, daphne or
  channels-redis line, or ours), the allocation itself if every frame is the standard library's;
- by our line: the innermost frame in SupportCircle's own code (chat/, groups/, supportcircle/, ...),
  "(none)" where no frame of ours is on the stack (daphne's and Twisted's per-connection objects);
- by the innermost frame of all (where the bytes were asked for).

Then the same for the garbage the collector had not reached at the last count (the snapshot taken just
before the collection, less the one after): the server collects its oldest objects rarely
(supportcircle/asgi.py), so cycles left by opening a socket stay in its memory.

What tracemalloc does not see (the C allocations of OpenSSL, psycopg or the kernel's buffers, and
the allocator's own overhead and fragmentation) is the rest of the RSS figure; the RSS growth is
printed beside it but is inflated by tracing itself. Uses BENCH_DATABASE_URL as bench/run.py does.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import signal
import sys
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import load, servers, world  # noqa: E402
from bench.harness import SETUP_CONCURRENCY, Context, Plan, home_clients, opened  # noqa: E402
from bench.procstats import process_rss_kb  # noqa: E402
from bench.run import DEFAULT_POSTGRES, build_world  # noqa: E402
from bench.scenarios import settle_memory  # noqa: E402

OURS = ("chat", "groups", "moderation", "console", "safeguarding", "supportcircle")
STDLIB = os.path.dirname(os.__file__)


@functools.cache
def _relative(filename: str) -> str:
    for marker in ("/site-packages/", "/.venv/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    if filename.startswith(STDLIB):
        return "stdlib/" + filename[len(STDLIB) + 1 :]
    try:
        return str(Path(filename).resolve().relative_to(ROOT))
    except ValueError:
        return filename


@functools.cache
def _is_ours(filename: str) -> bool:
    if filename.startswith(STDLIB) or "site-packages" in filename or "/.venv/" in filename:
        return False
    return _relative(filename).split("/", 1)[0] in OURS


def _where(frame) -> str:
    return f"{_relative(frame.filename)}:{frame.lineno}" if frame is not None else "(none)"


def attribute(first: tracemalloc.Snapshot, last: tracemalloc.Snapshot, sockets: int) -> dict:
    """Bytes per socket (``last`` less ``first``), grouped by who asked, by our line and by the innermost frame."""
    by_asker: dict[str, int] = defaultdict(int)
    by_ours: dict[str, int] = defaultdict(int)
    by_inner: dict[str, int] = defaultdict(int)
    by_package: dict[str, int] = defaultdict(int)
    total = 0
    for stat in last.compare_to(first, "traceback"):
        size = stat.size_diff
        if not size:
            continue
        frames = list(stat.traceback)  # oldest first: the last frame asked for the bytes
        total += size
        inner = frames[-1]
        asker = next((f for f in reversed(frames) if not f.filename.startswith(STDLIB)), inner)
        ours = next((f for f in reversed(frames) if _is_ours(f.filename)), None)
        by_asker[_where(asker)] += size
        by_ours[_where(ours)] += size
        by_inner[_where(inner)] += size
        by_package[_relative(asker.filename).split("/", 1)[0]] += size

    def per_socket(groups: dict[str, int]) -> list[tuple[str, float]]:
        return sorted(((key, size / sockets) for key, size in groups.items()), key=lambda kv: -abs(kv[1]))

    return {
        "total": total / sockets,
        "by_package": per_socket(by_package),
        "by_asker": per_socket(by_asker),
        "by_ours": per_socket(by_ours),
        "by_inner": per_socket(by_inner),
    }


async def open_and_snapshot(ctx: Context, counts: list[int], snapshot_path: str) -> list[dict]:
    gen = load.Generator(ctx.target)
    warm = home_clients(ctx, gen, 20)
    await load.open_clients(warm, 20)
    await load.close_clients(warm)
    await settle_memory(ctx)
    points = []
    clients: list[load.Client] = []
    size = ctx.plan.recipe.group_size
    for number, count in enumerate(counts, start=1):
        more = home_clients(ctx, gen, count - len(clients), first_group=len(clients) // size)
        for start in range(0, len(more), 500):
            errors = await load.open_clients(more[start : start + 500], SETUP_CONCURRENCY)
            if errors:
                print(f"  {len(errors)} errors, first: {errors[0]}", flush=True)
        clients += more
        await asyncio.sleep(3)
        await settle_memory(ctx, limit=20)
        rss = process_rss_kb(ctx.proc.pid)
        ctx.proc.signal(signal.SIGUSR2)
        path = Path(f"{snapshot_path}.{number}")
        deadline = time.monotonic() + 300
        while not path.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        gc_note = json.loads(Path(f"{path}.gc").read_text())
        points.append({"sockets": len(opened(clients)), "rss_kb": rss, "path": str(path), **gc_note})
        print(f"  {points[-1]['sockets']} sockets: RSS {rss / 1024:.1f} MB, snapshot {path} {gc_note}", flush=True)
    await load.close_clients(clients)
    return points


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", default="300,1000")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the snapshots (bench/results/tracemalloc.*)")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    plan = Plan(quick=True)
    os.sched_setaffinity(0, {servers.LOADGEN_CORE})
    servers.raise_fd_limit()
    postgres = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES
    snapshot_path = str(servers.RESULTS / "tracemalloc")
    for old in servers.RESULTS.glob("tracemalloc.*"):
        old.unlink()
    redis_proc, redis_url = servers.start_redis()
    try:
        env = servers.app_environment(
            servers.PRODUCTION,
            database=world.database_for(servers.PRODUCTION, postgres_url=postgres, quick=True),
            secret_key=world.secret_key(),
            redis_url=redis_url,
        )
        info = build_world(servers.PRODUCTION, env, quick=True, costs=False)
        env.update(BENCH_TRACEMALLOC=snapshot_path, BENCH_TRACEMALLOC_FRAMES=str(args.frames))
        ctx = Context("P", plan, redis_proc, redis_url, info, env)
        try:
            points = asyncio.run(open_and_snapshot(ctx, counts, snapshot_path))
        finally:
            ctx.proc.stop()
    finally:
        redis_proc.stop()
    first, last = points[0], points[-1]
    sockets = max(last["sockets"] - first["sockets"], 1)
    live = tracemalloc.Snapshot.load(last["path"])
    found = attribute(tracemalloc.Snapshot.load(first["path"]), live, sockets)
    garbage = attribute(live, tracemalloc.Snapshot.load(last["path"] + ".raw"), sockets)
    print(
        f"\n{first['sockets']} -> {last['sockets']} sockets: RSS {(last['rss_kb'] - first['rss_kb']) / sockets:.1f} KB "
        f"a socket (inflated by tracing); live Python allocations {found['total'] / 1024:.2f} KB a socket, "
        f"and {garbage['total'] / 1024:.2f} KB of garbage not yet collected"
    )
    for name, figures in (("live", found), ("garbage", garbage)):
        for title, key in (
            ("by package (who asked)", "by_package"),
            ("by who asked (innermost frame outside the standard library)", "by_asker"),
            ("by our line (innermost frame of SupportCircle's)", "by_ours"),
            ("by where (innermost frame)", "by_inner"),
        ):
            print(f"\n{name}, {title}, bytes a socket:")
            for where, size in figures[key][: args.top]:
                print(f"  {size:9.1f}  {where}")
    if not args.keep:
        for path in servers.RESULTS.glob("tracemalloc.*"):
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
