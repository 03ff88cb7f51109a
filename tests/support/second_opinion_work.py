"""Work for a second-opinion worker's child process in tests: module-level, so the child can import it.

The child is another process: a test holds it back with a gate file (``held``), not a threading.Event,
and learns about it through what these functions return.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from tests.support.waiting import EVERY, PATIENCE


def _wait_for(gate: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(EVERY)


def read(text: str) -> str:
    return f"read: {text}"


def held(gate: str, text: str) -> str:
    """Answers once the file ``gate`` exists (use with functools.partial)."""
    _wait_for(gate)
    return read(text)


def held_then_failing(gate: str, text: str) -> str:
    _wait_for(gate)
    raise RuntimeError("released")


def failing_on_boom(text: str) -> str:
    if text == "boom":
        raise ValueError("no")
    return text


def process_id(text: str) -> int:
    return os.getpid()


def crashing_on_crash(text: str) -> int:
    """Ends its own process, as a crash in a native library would, when asked to read "crash"."""
    if text == "crash":
        os._exit(3)
    return os.getpid()


def priority(text: str) -> int:
    return os.getpriority(os.PRIO_PROCESS, 0)


def django_modules(text: str) -> list[str]:
    return sorted(name for name in sys.modules if name == "django" or name.startswith("django."))
