"""The figures operators read: alerts in a period, time to acknowledgement, how far they climbed, what is open."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import datetime

from .models import AlertCase, CaseState, Step


@dataclass
class Figures:
    since: datetime
    until: datetime
    alerts: int = 0
    taken: int = 0
    median_seconds: float | None = None
    p95_seconds: float | None = None
    worst_seconds: float | None = None
    climbed: int = 0
    # How far each alert went: Step -> count (0: taken by the group's facilitators who were there).
    reached: dict[int, int] = field(default_factory=dict)
    still_open: int = 0

    def lines(self) -> list[str]:
        reached = ", ".join(f"{Step(step).label}: {count}" for step, count in sorted(self.reached.items()))
        return [
            f"Alerts from {self.since:%Y-%m-%d %H:%M} to {self.until:%Y-%m-%d %H:%M} UTC: {self.alerts}",
            f"Taken by a person: {self.taken}",
            f"Time to acknowledgement: median {minutes(self.median_seconds)}, "
            f"p95 {minutes(self.p95_seconds)}, worst {minutes(self.worst_seconds)}",
            f"Climbed beyond the facilitators who were there: {self.climbed}",
            f"Furthest step reached: {reached or 'none'}",
            f"Still open: {self.still_open}",
        ]


def minutes(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds / 60:.1f} min"


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value at least ``fraction`` of the values are at or below."""
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def figures(since: datetime, until: datetime) -> Figures:
    cases = list(
        AlertCase.objects.filter(raised_at__gte=since, raised_at__lt=until).values_list(
            "raised_at", "acknowledged_at", "step", "state"
        )
    )
    result = Figures(since, until, alerts=len(cases))
    waits = sorted((ack - raised).total_seconds() for raised, ack, _, _ in cases if ack is not None)
    result.taken = len(waits)
    if waits:
        result.median_seconds = statistics.median(waits)
        result.p95_seconds = percentile(waits, 0.95)
        result.worst_seconds = waits[-1]
    for _, _, step, state in cases:
        result.reached[step] = result.reached.get(step, 0) + 1
        if step > Step.FACILITATORS_HERE:
            result.climbed += 1
        if state == CaseState.OPEN:
            result.still_open += 1
    return result
