"""One socket's failures, logged once per kind and then counted, so an outage is a few lines, not a
traceback for every frame of every socket."""

from __future__ import annotations

import logging
from collections import Counter

log = logging.getLogger("chat.failures")


class FailureLog:
    __slots__ = ("counts", "user_id")

    def __init__(self) -> None:
        # Made at the first failure: every open socket keeps a log, and most never note anything.
        self.counts: Counter[tuple[str, str]] | None = None
        self.user_id: int | None = None

    def note(self, what: str, problem: BaseException, *, expected: bool) -> None:
        """``what`` failed with ``problem``. Expected failures (the database unavailable) are one line;
        anything else is a bug, and its traceback is logged the first time on this socket."""
        kind = (what, type(problem).__name__)
        if self.counts is None:
            self.counts = Counter()
        self.counts[kind] += 1
        if self.counts[kind] > 1:
            return
        if expected:
            log.warning(
                "%s failed: %s (user %s); further failures of this kind on this socket are counted",
                what,
                kind[1],
                self.user_id,
            )
        else:
            log.error(
                "%s failed unexpectedly (user %s); the member was told, the socket stays open; "
                "further failures of this kind on this socket are counted",
                what,
                self.user_id,
                exc_info=problem,
            )

    def summarize(self) -> None:
        """When the socket closes: how often each kind happened, where it happened more than once."""
        for (what, problem), times in sorted((self.counts or {}).items()):
            if times > 1:
                log.warning("%s failed with %s %d times on one socket (user %s)", what, problem, times, self.user_id)
        self.counts = None
