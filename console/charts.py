"""The session summary's two charts, as SVG drawn from templates (templates/console/_chart.svg.html).

Python lays the chart out (every bar's and tick's coordinates); the template only writes them down, with a
<title> and <desc> that say in words what the chart shows. Nothing moves, so there is nothing for a
reduced-motion preference to stop; colours keep at least 4.5:1 against the white background."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.template.loader import render_to_string

from chat.protocol import FEELINGS, NEEDS
from groups.models import Role

from .summary import SessionSummary

# Calm, high-contrast colours (WCAG AA against white) for the charts.
INK = "#1f2d3a"
AXIS = "#5b6670"  # 5.9:1 on white: a line a reader must see
GRID = "#d5dbe1"  # decoration only
FEELING_COLOUR = "#2f6f73"
NEED_COLOUR = "#6a4c93"
MEMBER_COLOUR = "#2f6f73"
FACILITATOR_COLOUR = "#8a5a00"

WIDTH = 750
ROW = 30  # px from one bar to the next
BAR = 20  # px tall
TOP = 56  # room for the title
BOTTOM = 56  # room for the axis and its label
RIGHT = 48  # room for a count after the longest bar
CHAR = 7.4  # px a character of a 13px sans-serif label takes, near enough to size the label column


@dataclass(frozen=True)
class Bar:
    label: str
    y: float  # top of the bar
    x: float
    width: float
    colour: str
    value: str  # what the bar says, in words (its tooltip and the count printed beside it)
    height: int = BAR

    @property
    def text_y(self) -> float:
        return self.y + BAR / 2

    @property
    def count_x(self) -> float:
        return round(self.x + self.width + 6, 1)


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    """Everything a chart template needs: sizes, bars, ticks and the words for people who can't see it."""

    title: str
    description: str
    height: int
    left: float  # where the plot begins (after the label column)
    right: float
    bars: list[Bar]
    ticks: list[Tick]
    axis_label: str
    empty: str  # said in the chart when there is nothing to draw
    legend: list[tuple[str, str]]  # (what a colour means, the colour); the bars' labels say it in words too
    counts: bool  # print each bar's value beside it

    @property
    def width(self) -> int:
        return WIDTH

    @property
    def axis_y(self) -> int:
        return self.height - BOTTOM + 8

    @property
    def tick_label_y(self) -> int:
        return self.axis_y + 18

    @property
    def axis_label_y(self) -> int:
        return self.height - 10

    @property
    def middle(self) -> float:
        return _px((self.left + self.right) / 2)

    @property
    def centre(self) -> tuple[float, float]:
        return WIDTH / 2, self.height / 2

    @property
    def label_x(self) -> float:
        return _px(self.left - 8)

    @property
    def grid_top(self) -> int:
        return TOP - 4

    @property
    def legend_keys(self) -> list[tuple[str, str, int, int]]:
        """Each colour's swatch along the top right: (meaning, colour, swatch x, text x)."""
        keys = []
        for i, (label, colour) in enumerate(self.legend):
            x = WIDTH - 24 - 110 * (len(self.legend) - i)
            keys.append((label, colour, x, x + 18))
        return keys


def _px(value: float) -> float:
    """A coordinate to a tenth of a pixel: plenty for a screen, and short to read."""
    return round(value, 1)


def _height(rows: int) -> int:
    return TOP + max(rows, 2) * ROW + BOTTOM


def _left(labels: list[str]) -> float:
    return min(260.0, max(80.0, max((len(label) for label in labels), default=0) * CHAR + 16))


def _count_step(largest: int) -> int:
    """An integer step giving at most about six ticks: 1, 2, 5, 10, 20, 50..."""
    for power in range(0, 7):
        for base in (1, 2, 5):
            step = base * 10**power
            if largest / step <= 6:
                return step
    return 10**7


def _time_step(span: timedelta) -> timedelta:
    """A round step of seconds or minutes giving three to seven ticks across the session."""
    seconds = max(span.total_seconds(), 1)
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400):
        if seconds / step <= 7:
            return timedelta(seconds=step)
    return timedelta(days=math.ceil(seconds / 86400 / 7))


def checkin_chart(summary: SessionSummary) -> Chart:
    """How people checked in: one bar per feeling and per need named, counted across the session's check-ins."""
    rows = [(FEELINGS[k], n, FEELING_COLOUR) for k, n in summary.feelings.items()]
    rows += [(f"Need: {NEEDS[k]}", n, NEED_COLOUR) for k, n in summary.needs.items()]
    left = _left([label for label, _, _ in rows])
    right = WIDTH - RIGHT
    largest = max((n for _, n, _ in rows), default=0)
    step = _count_step(largest)
    top_value = max(step, math.ceil(largest / step) * step)
    unit = (right - left) / top_value
    bars = [
        Bar(label, _px(TOP + row * ROW + (ROW - BAR) / 2), _px(left), _px(n * unit), colour, str(n))
        for row, (label, n, colour) in enumerate(rows)
    ]
    ticks = [Tick(_px(left + value * unit), str(value)) for value in range(0, top_value + 1, step)] if rows else []
    words = [f"{label}: {n}" for label, n, _ in rows]
    return Chart(
        title="Feelings and needs at check-in",
        description=(
            "How many people named each feeling and need: " + "; ".join(words) + "."
            if rows
            else "Nobody checked in during this session."
        ),
        height=_height(len(rows)),
        left=_px(left),
        right=_px(right),
        bars=bars,
        ticks=ticks,
        axis_label="How many people named it",
        empty="Nobody checked in during this session.",
        legend=[("Feeling", FEELING_COLOUR), ("Need", NEED_COLOUR)] if rows else [],
        counts=True,
    )


def _clock(moment: datetime, short: bool) -> str:
    return moment.astimezone(UTC).strftime("%H:%M:%S" if short else "%H:%M")


def attendance_chart(summary: SessionSummary) -> Chart:
    """When each person was here: one bar per person from arrival to leaving, across the session."""
    start, end = summary.session.started_at, summary.ended_at
    span = max(end - start, timedelta(seconds=1))
    short = span < timedelta(minutes=10)
    people = summary.attendees
    labels = [f"{p.pseudonym} (facilitator)" if p.role == Role.FACILITATOR else p.pseudonym for p in people]
    left = _left(labels)
    right = WIDTH - 24
    scale = (right - left) / span.total_seconds()

    def x(moment: datetime) -> float:
        return left + (min(max(moment, start), end) - start).total_seconds() * scale

    bars = []
    for row, (person, label) in enumerate(zip(people, labels, strict=True)):
        arrived, left_at = x(person.arrived_at), x(person.left_at or end)
        until = _clock(person.left_at, short) if person.left_at else "the end"
        bars.append(
            Bar(
                label,
                _px(TOP + row * ROW + (ROW - BAR) / 2),
                _px(arrived),
                _px(max(left_at - arrived, 1.0)),  # someone who came and went at once is still a sliver
                FACILITATOR_COLOUR if person.role == Role.FACILITATOR else MEMBER_COLOUR,
                f"from {_clock(person.arrived_at, short)} until {until}",
            )
        )
    ticks = []
    if people:
        step = _time_step(span)
        # The first round moment at or after the start, then every step to the end.
        since_midnight = start - start.replace(hour=0, minute=0, second=0, microsecond=0)
        moment = start + (-since_midnight) % step
        while moment <= end:
            ticks.append(Tick(_px(x(moment)), _clock(moment, short)))
            moment += step
    words = [f"{bar.label}, {bar.value}" for bar in bars]
    return Chart(
        title="Who was here, and when",
        description=(
            f"From {_clock(start, short)} to {_clock(end, short)} UTC: " + "; ".join(words) + "."
            if people
            else "Nobody was counted as here."
        ),
        height=_height(len(people)),
        left=_px(left),
        right=_px(right),
        bars=bars,
        ticks=ticks,
        axis_label="Time (UTC)",
        empty="Nobody was counted as here.",
        legend=[("Member", MEMBER_COLOUR), ("Facilitator", FACILITATOR_COLOUR)] if people else [],
        counts=False,
    )


def render_chart(chart: Chart) -> str:
    return render_to_string("console/_chart.svg.html", {"chart": chart, "ink": INK, "axis": AXIS, "grid": GRID})


def checkin_chart_svg(summary: SessionSummary) -> str:
    return render_chart(checkin_chart(summary))


def attendance_chart_svg(summary: SessionSummary) -> str:
    return render_chart(attendance_chart(summary))


CHARTS = {"checkins": checkin_chart_svg, "attendance": attendance_chart_svg}
