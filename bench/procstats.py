"""What the harness reads from /proc: process CPU and RSS, and how busy a core is."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int | str) -> float:
    """User + system CPU time of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def main_thread_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process's main thread (a daphne server's event loop), in seconds."""
    return process_cpu_seconds(f"{pid}/task/{pid}")


def cpu_seconds_of(pids) -> dict[int, float]:
    """CPU seconds of each process still there (one that has gone is left out)."""
    out = {}
    for pid in pids:
        try:
            out[pid] = process_cpu_seconds(pid)
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return out


def process_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def children_of(parents) -> list[int]:
    """The processes whose parent is one of ``parents`` (a server's second-opinion child, and the
    resource tracker that Python's multiprocessing starts beside it)."""
    parents = set(parents)
    children = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                if int(stat.read().rsplit(")", 1)[1].split()[1]) in parents:
                    children.append(int(entry))
        except (OSError, ValueError, IndexError):
            pass  # gone meanwhile
    return children


def _rss_or_zero(pid: int) -> int:
    try:
        return process_rss_kb(pid)
    except (FileNotFoundError, ProcessLookupError):
        return 0


def core_times(core: int) -> tuple[int, int]:
    """(busy, total) jiffies of one core since boot."""
    with open("/proc/stat") as stat:
        for line in stat:
            if line.startswith(f"cpu{core} "):
                values = [int(v) for v in line.split()[1:]]
                idle = values[3] + values[4]
                total = sum(values[:8])
                return total - idle, total
    raise ValueError(f"no core {core}")


@dataclass
class Window:
    """CPU use of the server, the load generator and both cores over one measured step.

    The server is ``server_pid`` and ``more_server_pids`` (the stack's other daphne processes):
    their CPU and memory are added up. Their child processes (the second opinion's model, which runs
    beside each server process at a lower priority) are counted apart, as ``worker_cpu_s`` and
    ``worker_rss_kb``: a child started during the step counts from zero.

    ``backing`` names the processes that serve the server (its redis-server, its PostgreSQL
    backends): their CPU is added up beside the server's own, for those there from start to end.
    ``helpers`` run on the load generator's core without being the load generator (the database
    proxy): their CPU is not counted in that core's busy figure.
    """

    server_pid: int
    loadgen_core: int
    server_core: int
    backing: Callable[[], list[int]] = list
    helpers: tuple[int, ...] = ()
    more_server_pids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        self.start()

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.server_cpu0 = self.server_cpu_seconds()
        self.loop_cpu0 = self.loop_cpu_seconds()
        self.worker_cpu0 = cpu_seconds_of(self.worker_pids())
        self.loadgen_cpu0 = process_cpu_seconds(os.getpid())
        self.core0 = core_times(self.loadgen_core)
        self.score0 = core_times(self.server_core)
        self.backing0 = cpu_seconds_of(self.backing())
        self.helpers0 = sum(cpu_seconds_of(self.helpers).values())

    def stop(self) -> dict:
        elapsed = max(time.monotonic() - self.t0, 1e-9)
        busy, total = core_times(self.loadgen_core)
        sbusy, stotal = core_times(self.server_core)
        backing1 = cpu_seconds_of(self.backing0)
        helpers_jiffies = (sum(cpu_seconds_of(self.helpers).values()) - self.helpers0) * TICKS
        workers = self.worker_pids()
        worker_cpu1 = cpu_seconds_of(workers)
        return {
            "elapsed_s": elapsed,
            "server_cpu_s": self.server_cpu_seconds() - self.server_cpu0,
            "server_loop_cpu_s": self.loop_cpu_seconds() - self.loop_cpu0,
            "backing_cpu_s": sum(backing1[pid] - self.backing0[pid] for pid in backing1),
            "loadgen_cpu_s": process_cpu_seconds(os.getpid()) - self.loadgen_cpu0,
            "loadgen_core_busy_pct": 100.0
            * max(busy - self.core0[0] - helpers_jiffies, 0)
            / max(total - self.core0[1], 1),
            "server_core_busy_pct": 100.0 * (sbusy - self.score0[0]) / max(stotal - self.score0[1], 1),
            "server_rss_kb": sum(process_rss_kb(pid) for pid in (self.server_pid, *self.more_server_pids)),
            "worker_cpu_s": sum(cpu - self.worker_cpu0.get(pid, 0.0) for pid, cpu in worker_cpu1.items()),
            "worker_rss_kb": sum(_rss_or_zero(pid) for pid in workers),
        }

    def worker_pids(self) -> list[int]:
        return children_of((self.server_pid, *self.more_server_pids))

    def loop_cpu_seconds(self) -> float:
        """The servers' main threads (daphne's event loop: the sockets, the consumers); the rest of
        ``server_cpu_s`` is their other threads (SupportCircle's database threads and the like)."""
        return sum(main_thread_cpu_seconds(pid) for pid in (self.server_pid, *self.more_server_pids))

    def server_cpu_seconds(self) -> float:
        return sum(cpu_seconds_of((self.server_pid, *self.more_server_pids)).values())
