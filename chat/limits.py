"""When may a member post again? Pure rules for the rate limit and slow mode, no Django.

chat.actions.post_message feeds them the author's most recent message times
from the database, so the limits hold across reconnects, tabs and server processes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from .protocol import RATE_LIMIT_MESSAGES, RATE_LIMIT_WINDOW_SECONDS, ErrorCode


@dataclass(frozen=True)
class Wait:
    code: ErrorCode
    retry_after: int  # whole seconds, at least 1


@dataclass(frozen=True)
class RateLimit:
    messages: int = RATE_LIMIT_MESSAGES
    window_seconds: int = RATE_LIMIT_WINDOW_SECONDS

    def lookback(self, slow_mode_seconds: int) -> timedelta:
        """How far back post_message must look at the author's messages to decide."""
        return timedelta(seconds=max(self.window_seconds, slow_mode_seconds))


def wait_before_posting(
    recent: list[datetime], now: datetime, *, slow_mode_seconds: int = 0, limit: RateLimit = RateLimit()
) -> Wait | None:
    """``recent``: the author's latest message times, newest first (at least ``limit.messages`` if there are)."""

    def seconds_until(moment: datetime) -> int:
        return max(1, math.ceil((moment - now).total_seconds()))

    if slow_mode_seconds and recent:
        free_at = recent[0] + timedelta(seconds=slow_mode_seconds)
        if free_at > now:
            return Wait(ErrorCode.SLOW_MODE, seconds_until(free_at))
    window = timedelta(seconds=limit.window_seconds)
    in_window = [moment for moment in recent if moment > now - window]
    if len(in_window) >= limit.messages:
        # Free again once the oldest of the last ``limit.messages`` leaves the window.
        return Wait(ErrorCode.RATE_LIMITED, seconds_until(in_window[limit.messages - 1] + window))
    return None
