"""Waiting in a test: poll for the condition, never sleep a guessed length of time.

A guessed sleep is too short on a loaded machine and wasted on an idle one. Poll instead, with a
deadline far beyond anything a working system needs: the deadline only says when to give up on a
real failure, it is never a latency bound (latency is measured in bench/)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

# Seconds before a wait gives up: generous, so a loaded machine never trips it.
PATIENCE = 30.0
FRAME_PATIENCE = 10.0  # for one frame from a socket in this process (tests/conftest.py's Socket)
EVERY = 0.02  # seconds between looks


def _give_up(timeout: float, what: str | Callable[[], str] | None) -> AssertionError:
    said = what() if callable(what) else what
    return AssertionError(f"not within {timeout} s: {said or 'the condition never held'}")


def eventually(
    condition: Callable[[], Any], *, timeout: float = PATIENCE, what: str | Callable[[], str] | None = None
) -> Any:
    """Look at ``condition`` until it gives something true, and return that; fail after ``timeout``.
    ``what`` (a sentence, or a function giving one) says what did not happen in time."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise _give_up(timeout, what)
        time.sleep(EVERY)
    return result


async def eventually_async(
    condition: Callable[[], Any], *, timeout: float = PATIENCE, what: str | Callable[[], str] | None = None
) -> Any:
    """``eventually`` on an event loop, which keeps running meanwhile. ``condition`` may be a coroutine
    function."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise _give_up(timeout, what)
        await asyncio.sleep(EVERY)
