"""A server process hands the interpreter to a waiting thread within a millisecond, not Python's five
(supportcircle/asgi.py): the event loop waits that long at most to have it back from a page view's thread."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def switch_interval_of_a_server_process(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import sys, supportcircle.asgi; print(sys.getswitchinterval())"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "supportcircle.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_server_process_switches_threads_every_millisecond():
    result = switch_interval_of_a_server_process()
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == 0.001


def test_an_operator_can_choose_another_interval():
    result = switch_interval_of_a_server_process(INTERPRETER_SWITCH_MICROSECONDS="5000")
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == 0.005


def test_no_interval_at_all_stops_the_start():
    result = switch_interval_of_a_server_process(INTERPRETER_SWITCH_MICROSECONDS="0")
    assert result.returncode != 0
    assert "INTERPRETER_SWITCH_MICROSECONDS must be above 0" in result.stderr
