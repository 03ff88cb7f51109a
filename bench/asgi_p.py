"""P and D as served in the bench: ``supportcircle.asgi.application`` unchanged, plus a statement counter.

Nothing here changes a setting: the settings module is whatever DJANGO_SETTINGS_MODULE says
(``supportcircle.settings``, as ``supportcircle/asgi.py`` defaults to). When BENCH_COUNTERS_PATH is
set, every SQL statement is counted (Django's execute_wrapper, on each new connection) by the
first table it names (bench/statements.py), and SIGUSR1 makes the process write the counts to
that file, so the harness can report statements per message, and per second by table, on
PostgreSQL and SQLite alike. Counting costs a microsecond or two per statement. The file also says
how much CPU each kind of thread has used so far (the event loop's, the sockets' database threads,
the second opinion's courier...), so the harness can say where a step's server CPU went.

For finding where the event loop's time goes, BENCH_CPROFILE=FILE profiles the main thread (the event
loop's, daphne's and every consumer's) with cProfile on that thread's CPU clock; SIGUSR2 writes the
figures since the last SIGUSR2 (or the start) to FILE (pstats) and starts afresh; the sockets'
database threads (supportcircle/db_threads.py) are profiled from the first SIGUSR2 on, each into
FILE.<thread name>. Profiling only: it slows the server down several times.

For finding what each open socket holds, BENCH_TRACEMALLOC=FILE traces the process's Python allocations
(tracemalloc, BENCH_TRACEMALLOC_FRAMES deep, 30 by default), and SIGUSR2 writes a snapshot as it is to
FILE.1.raw (then FILE.2.raw, ...), then one of what is live after a full collection to FILE.1
(bench/trace_memory.py compares two counts). Not with BENCH_CPROFILE, which takes the same signal;
tracing doubles the process's memory and slows it down.
"""

import gc
import itertools
import json
import os
import signal
import threading
import time

from bench.statements import StatementCounter
from supportcircle.asgi import application  # noqa: F401  (what daphne serves)

COUNTERS_PATH = os.environ.get("BENCH_COUNTERS_PATH", "")
COUNTER = StatementCounter()


def _install_counter(sender, connection, **kwargs):
    COUNTER.counts["connections"] += 1
    if COUNTER not in connection.execute_wrappers:
        connection.execute_wrappers.append(COUNTER)


def _thread_cpu_seconds() -> dict[str, float]:
    """CPU seconds so far of this process's threads, by kind: their names less the number (chat-db_3: chat-db)."""
    spent: dict[str, float] = {}
    for thread in threading.enumerate():
        try:
            seconds = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except (OSError, TypeError):  # ended meanwhile
            continue
        kind = thread.name.rstrip("0123456789").rstrip("_-") or thread.name
        spent[kind] = spent.get(kind, 0.0) + seconds
    return spent


def _dump_counts(signum, frame):
    with open(COUNTERS_PATH + ".tmp", "w") as out:
        json.dump({**COUNTER.counts, "thread_cpu_s": _thread_cpu_seconds()}, out)
    os.replace(COUNTERS_PATH + ".tmp", COUNTERS_PATH)


PROFILE_PATH = os.environ.get("BENCH_CPROFILE", "")

if PROFILE_PATH:
    import cProfile
    import time

    PROFILERS = [cProfile.Profile(time.thread_time)]
    PROFILERS[0].enable()

    import threading

    from supportcircle import db_threads

    _each_thread = threading.local()

    def _restart_this_threads_profiler() -> None:
        profiler = getattr(_each_thread, "profiler", None)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(f"{PROFILE_PATH}.{threading.current_thread().name}")
        _each_thread.profiler = cProfile.Profile(time.thread_time)
        _each_thread.profiler.enable()

    def _dump_profile(signum, frame):
        PROFILERS[0].disable()
        PROFILERS[0].dump_stats(PROFILE_PATH)
        PROFILERS[0] = cProfile.Profile(time.thread_time)
        PROFILERS[0].enable()
        db_threads.run_on_each_thread(_restart_this_threads_profiler)

    signal.signal(signal.SIGUSR2, _dump_profile)

if COUNTERS_PATH:
    from django.db.backends.signals import connection_created

    connection_created.connect(_install_counter)
    signal.signal(signal.SIGUSR1, _dump_counts)

TRACEMALLOC_PATH = os.environ.get("BENCH_TRACEMALLOC", "")

if TRACEMALLOC_PATH:
    import tracemalloc

    if PROFILE_PATH:
        raise SystemExit("BENCH_TRACEMALLOC and BENCH_CPROFILE both answer SIGUSR2: set one")
    tracemalloc.start(int(os.environ.get("BENCH_TRACEMALLOC_FRAMES", "30")))
    _SNAPSHOTS = itertools.count(1)

    def _dump_snapshot(signum, frame):
        # First as it is (with the garbage the collector has not reached yet), then what is live.
        path = f"{TRACEMALLOC_PATH}.{next(_SNAPSHOTS)}"
        tracemalloc.take_snapshot().dump(path + ".raw")
        unreachable = gc.collect()
        tracemalloc.take_snapshot().dump(path + ".tmp")
        with open(path + ".gc.tmp", "w") as out:
            json.dump({"unreachable_collected": unreachable}, out)
        os.replace(path + ".gc.tmp", path + ".gc")
        os.replace(path + ".tmp", path)

    signal.signal(signal.SIGUSR2, _dump_snapshot)
