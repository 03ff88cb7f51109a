"""Turn a run's raw figures into the goals table, the ratios to B and R, and the plot.

python bench/report.py bench/results/latest.json [--readme README.md]
"""

from __future__ import annotations

from pathlib import Path

KINDS = ("P", "D", "B", "R")
LEGEND = (
    "P: production (PostgreSQL, Redis layer, Argon2, SUPPORTCIRCLE_ENV=production); D: development (SQLite, "
    "in-memory layer); B: bare Channels; R: raw websockets. Goals are judged on P; P/B and P/R are ratios."
)
STACK_KINDS = ("S1", "S2")
SCALE_LEGEND = (
    "Scale-out: S1, S2 = the production stack (deploy/stack.py) through nginx over TLS with 1 and 2 daphne "
    "processes; server CPU summed over the daphne processes (in brackets: with nginx, PgBouncer, Redis and "
    "PostgreSQL). "
    "On this machine S2's second process shares a core with the load generator: its rate is a floor, and "
    "its CPU per delivery says how the work scales."
)


def _get(results: dict, kind: str, *path):
    node = results.get("targets", {}).get(kind)
    for key in path:
        if node is None:
            return None
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _ratio(a, b):
    if not isinstance(a, int | float) or not isinstance(b, int | float) or b == 0:
        return None
    return round(a / b, 2)


def _row(results: dict, name: str, goal: str, path: tuple, met, unit: str = "", lower_is_better=True) -> dict:
    values = {kind: _get(results, kind, *path) for kind in KINDS}
    return _line(results, name, goal, values, met, unit, lower_is_better, invalid_at=path[:1])


def _line(results, name, goal, values, met, unit="", lower_is_better=True, invalid_at=(), marks=None) -> dict:
    """One row: a figure per target, its ratios to B and R, and whether P meets the goal (None: not judged)."""
    invalid = [kind for kind in KINDS if invalid_at and _get(results, kind, *invalid_at, "valid") is False]
    return {
        "invalid": invalid,
        "marks": marks or {},
        "scenario": name,
        "goal": goal,
        "unit": unit,
        **values,
        "P_to_B": _ratio(values.get("P"), values.get("B")),
        "P_to_R": _ratio(values.get("P"), values.get("R")),
        "lower_is_better": lower_is_better,
        "met": (met(values["P"], results) if values.get("P") is not None else None) if met else None,
    }


def _pair(results: dict, kind: str, first: tuple, second: tuple) -> str | None:
    a, b = _get(results, kind, *first), _get(results, kind, *second)
    return None if a is None and b is None else f"{_fmt(a)} / {_fmt(b)}"


def _idle_kb(results: dict, kind: str, index: int):
    points = _get(results, kind, "idle_memory", "points") or []
    if len(points) <= index or points[index].get("cut_short"):
        return None
    return points[index]["kb_per_socket"]


def summarize(results: dict) -> list[dict]:
    """The goals table: one row per figure the README shows (the JSON holds every other)."""
    rows = []
    hp = ("human_pace",)
    rows.append(
        _row(
            results,
            "human pace p99",
            "<= 50 ms, none lost or duplicated",
            hp + ("p99_ms",),
            lambda v, r: v <= 50 and _get(r, "P", *hp, "lost") == 0 and _get(r, "P", *hp, "duplicated") == 0,
            "ms",
        )
    )
    b_cost = _get(results, "B", "delivery_cost", "server_cpu_us_per_delivery")
    rows.append(
        _row(
            results,
            "server CPU per delivery",
            "<= 0.75x B",
            ("delivery_cost", "server_cpu_us_per_delivery"),
            lambda v, r: bool(b_cost) and v <= 0.75 * b_cost,
            "µs",
        )
    )
    if _get(results, "P", "delivery_cost", "worker_cpu_ms_per_message") is not None:
        # The second opinion reads every message in a child process beside the server (its figures are
        # not in the row above): said apart, and added to the server's, never left out.
        cost = ("delivery_cost",)
        rows.append(
            _row(
                results,
                "model CPU per message (the server's child)",
                "reported",
                cost + ("worker_cpu_ms_per_message",),
                None,
                "ms",
            )
        )
        rows.append(
            _row(
                results,
                "server + model CPU per delivery",
                "reported",
                cost + ("server_and_worker_cpu_us_per_delivery",),
                None,
                "µs",
            )
        )
    b_best = _get(results, "B", "saturation", "highest_good_deliveries_per_s")
    rows.append(
        _rate_row(
            results,
            "highest good rate",
            ">= 1.5x B, none lost past it",
            ("saturation",),
            lambda v, r: bool(b_best) and v >= 1.5 * b_best and _get(r, "P", "saturation", "lost_past_saturation") == 0,
        )
    )
    rows.append(_row(results, "big room p99", "<= 150 ms", ("big_room", "p99_ms"), lambda v, r: v <= 150, "ms"))
    rows.append(
        _row(
            results,
            "slow reader: others' p99 with / without",
            "<= 1.5x; it gets 4408, memory bounded",
            ("slow_reader", "others_p99_ratio"),
            lambda v, r: (
                v <= 1.5
                and _get(r, "P", "slow_reader", "slow_reader_close_code") == 4408
                and (_get(r, "P", "slow_reader", "server_rss_growth_mb") or 99) <= 32
            ),
        )
    )
    rows.append(
        _line(
            results,
            f"idle memory per socket at {_idle_sockets(results)}",
            "<= 40 KB",
            {kind: _idle_kb(results, kind, 1) for kind in KINDS},
            lambda v, r: v <= 40,
            "KB",
        )
    )
    storm = ("connect_storm",)
    rows.append(
        _row(
            results,
            "connect storm: 5,000 with a session open page and socket",
            "<= 15 s, no errors",
            storm + ("seconds_for_5000",),
            lambda v, r: v <= 15 and _get(r, "P", *storm, "errors") == 0,
            "s",
        )
        | {"marks": {kind: "‡" for kind in KINDS if _get(results, kind, *storm, "extrapolated")}}
    )
    login = ("login_storm",)
    rows.append(
        _line(
            results,
            "login storm p99: chatters / logins",
            "chatters <= 50 ms",
            {kind: _pair(results, kind, login + ("p99_ms",), login + ("login_post_p99_ms",)) for kind in KINDS},
            lambda v, r: (_get(r, "P", *login, "p99_ms") or 1e9) <= 50 and _get(r, "P", *login, "lost") == 0,
            "ms",
            invalid_at=login,
        )
    )
    rows.append(
        _row(
            results,
            "crowd p99",
            "<= 50 ms, none lost",
            ("crowd", "p99_ms"),
            lambda v, r: v <= 50 and _get(r, "P", "crowd", "lost") == 0,
            "ms",
        )
    )
    rows.append(
        _line(
            results,
            "crowd DB statements/s: presence / re-checks",
            "reported",
            {
                kind: _pair(
                    results, kind, ("crowd", "presence_statements_per_s"), ("crowd", "recheck_statements_per_s")
                )
                for kind in KINDS
            },
            None,
        )
    )
    local_best = _get(results, "P", "saturation", "highest_good_deliveries_per_s")
    rows.append(
        _rate_row(
            results,
            "PostgreSQL 1 ms away: highest good rate",
            ">= 0.5x on localhost",
            ("remote_db", "1ms", "saturation"),
            lambda v, r: bool(local_best) and v >= 0.5 * local_best,
        )
    )
    rows.append(
        _row(
            results,
            "PostgreSQL 10 ms away: human pace p99",
            "<= 50 ms",
            ("remote_db", "10ms", "human_pace", "p99_ms"),
            lambda v, r: v <= 50,
            "ms",
        )
    )
    history = ("history",)
    rows.append(
        _line(
            results,
            "history depth, large/small: first page / backfill",
            "<= 2x",
            {
                kind: _pair(
                    results,
                    kind,
                    history + ("first_page_ratio_large_to_small",),
                    history + ("backfill_ratio_large_to_small",),
                )
                for kind in KINDS
            },
            lambda v, r: (
                max(
                    _get(r, "P", *history, "first_page_ratio_large_to_small") or 9,
                    _get(r, "P", *history, "backfill_ratio_large_to_small") or 9,
                )
                <= 2
            ),
        )
    )
    rows.append(
        _row(
            results,
            "HTTP history p99 at 50/s",
            "<= 20 ms",
            ("human_pace", "http_history", "p99_ms"),
            lambda v, r: v <= 20,
            "ms",
        )
    )
    rows.append(_moderation_row(results))
    if (results.get("second_opinion") or {}).get("p99_ms") is not None:
        rows.append(_second_opinion_row(results))  # once bench/bench_second_opinion.py is there
    return rows


def _rate_row(results: dict, name: str, goal: str, ramp: tuple, met) -> dict:
    """A ramp's highest good rate; a ramp whose first step was already too much shows "< that step"."""
    row = _row(results, name, goal, ramp + ("highest_good_deliveries_per_s",), met, "deliveries/s", False)
    for kind in KINDS:
        steps = _get(results, kind, *ramp, "steps") or []
        if row[kind] == 0 and steps:
            row[kind] = f"< {steps[0]['target_deliveries_per_s']:,}"
    if row["P"] is not None and not isinstance(row["P"], int | float):
        row["met"] = False
    row["P_to_B"], row["P_to_R"] = _ratio(row["P"], row["B"]), _ratio(row["P"], row["R"])
    return row


def _good_top_step(results: dict, kind: str) -> dict:
    """The ramp's highest good step (the first step when none was good): where CPU per delivery is read."""
    steps = _get(results, kind, "saturation", "steps") or [{}]
    good = [step for step in steps if step.get("good")]
    return max(good, key=lambda step: step["delivered_per_s"]) if good else steps[0]


def scale_out(results: dict) -> list[dict]:
    """S1 beside S2: the highest good rate and the connect storm, with the CPU that reads the scaling.

    A CPU row holds the daphne processes' figure per target and, under ``with_backing``, the same with
    nginx, PgBouncer, Redis and PostgreSQL added; S2/S1 compares the daphne figures.
    """
    if not any(_get(results, kind) for kind in STACK_KINDS):
        return []

    def storm(kind: str) -> dict:
        return _get(results, kind, "connect_storm") or {}

    # (name, unit, where a target's figure is, its key; a CPU key has its "server_and_backing_" twin)
    figures = (
        ("highest good rate", "deliveries/s", lambda k: _good_top_step(results, k), None),
        (
            "server CPU per delivery at that step",
            "µs",
            lambda k: _good_top_step(results, k),
            "server_cpu_us_per_delivery",
        ),
        ("connect storm: 5,000 open page and socket", "s", storm, "seconds_for_5000"),
        ("connect storm: server CPU per connect", "ms", storm, "server_cpu_ms_per_connect"),
        ("connect storm: connects tried", "", storm, "attempted"),
        ("connect storm errors", "", storm, "errors"),
    )
    rows = []
    for name, unit, node, key in figures:
        values = {kind: _rate(results, kind) if key is None else node(kind).get(key) for kind in STACK_KINDS}
        row = {"scenario": name, "unit": unit, **values, "S2_to_S1": _ratio(values["S2"], values["S1"])}
        if key and key.startswith("server_cpu"):
            twin = key.replace("server_", "server_and_backing_", 1)
            row["with_backing"] = {kind: node(kind).get(twin) for kind in STACK_KINDS}
        # Measured while the load generator's core was busy with more than the load generator.
        row["invalid"] = [
            kind for kind in STACK_KINDS if node(kind).get("valid") is False and key not in ("attempted", "errors")
        ]
        rows.append(row)
    return rows


def _rate(results: dict, kind: str):
    best = _get(results, kind, "saturation", "highest_good_deliveries_per_s")
    steps = _get(results, kind, "saturation", "steps") or []
    return f"< {steps[0]['target_deliveries_per_s']:,}" if best == 0 and steps else best


def scale_table(results: dict, markdown: bool = False) -> str:
    """The scale-out rows (S1 beside S2) as a table of their own; empty when the run had no stack."""
    rows = scale_out(results)
    if not rows:
        return ""

    def cell(row: dict, kind: str) -> str:
        if row[kind] is None:
            return "-"
        backing = row.get("with_backing", {}).get(kind)
        shown = _fmt(row[kind]) + ("" if backing is None else f" ({_fmt(backing)})")
        return shown + ("†" if kind in row["invalid"] else "")

    header = ["scale-out", "S1", "S2", "S2/S1"]
    body = [
        [
            r["scenario"] + (f" ({r['unit']})" if r["unit"] else ""),
            *(cell(r, k) for k in STACK_KINDS),
            _fmt(r["S2_to_S1"]),
        ]
        for r in rows
    ]
    return _layout(header, body, markdown) + "\n\n" + SCALE_LEGEND


def _layout(header: list[str], body: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in body])
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    return "\n".join(lines + ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in body])


def _zero(value, results) -> bool:
    return value == 0


def _idle_sockets(results: dict) -> str:
    points = _get(results, "P", "idle_memory", "points") or _get(results, "B", "idle_memory", "points") or []
    return f"{points[1].get('wanted', points[1]['sockets']):,}" if len(points) > 1 else "10,000"


def _moderation_row(results: dict) -> dict:
    moderation = results.get("moderation") or {}
    typical = (moderation.get("typical_message") or {}).get("p99_us")
    scaling = moderation.get("rule_scaling") or []
    p99_by_rules = {row["rules"]: row.get("all_rulesets_plus_synthetic_p99_us") for row in scaling}
    flat = _ratio(p99_by_rules.get(1000), p99_by_rules.get(10))
    met = moderation.get("passed") and flat is not None and flat <= 1.5
    value = None if typical is None else f"{_fmt(typical)} / {_fmt(flat)}"
    return _engine_row("moderation p99: typical message / 1,000 rules over 10", "<= 50 µs / flat", value, met)


def _second_opinion_row(results: dict) -> dict:
    """bench/bench_second_opinion.py's figure, when it ran (its JSON is in results["second_opinion"])."""
    opinion = results.get("second_opinion") or {}
    passed = opinion.get("passed")
    if passed is None and opinion.get("p99_ms") is not None:
        passed = opinion["p99_ms"] <= 2000
    return _engine_row("second opinion p99 at human pace", "<= 2 s", opinion.get("p99_ms"), passed, "ms")


def _engine_row(name: str, goal: str, value, met, unit: str = "") -> dict:
    """A figure measured for P's code alone, outside the socket scenarios."""
    return {
        "invalid": [],
        "marks": {},
        "scenario": name,
        "goal": goal,
        "unit": unit,
        "P": value,
        "D": None,
        "B": None,
        "R": None,
        "P_to_B": None,
        "P_to_R": None,
        "lower_is_better": True,
        "met": met if value is not None else None,
    }


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(results: dict, markdown: bool = False) -> str:
    rows = summarize(results)
    header = ["scenario", "goal", "P", "D", "B", "R", "P/B", "P/R", "met"]
    body = [
        [
            r["scenario"] + (f" ({r['unit']})" if r["unit"] else ""),
            r["goal"],
            *(
                _fmt(r.get(kind)) + ("†" if kind in r["invalid"] else "") + r["marks"].get(kind, "")
                if r.get(kind) is not None
                else "-"
                for kind in KINDS
            ),
            _fmt(r["P_to_B"]),
            _fmt(r["P_to_R"]),
            {True: "yes", False: "NO", None: "-"}[r["met"]],
        ]
        for r in rows
    ]
    notes = [] if markdown else [LEGEND]  # the README says it above the table
    marks = "† measured while the load generator's core was more than 70% busy: a bound, not a figure."
    if any(r["marks"] for r in rows):
        marks += " ‡ extrapolated to 5,000 at the pace measured with fewer."
    notes.append(marks)
    meta = results.get("meta") or {}
    stamp = (
        f"Measured {meta['when']} ({meta['mode']} run, {meta['cpus']} CPUs, {meta['seconds']:.0f} s)."
        if {"when", "mode", "cpus", "seconds"} <= meta.keys()
        else ""
    )
    speed = " ".join(part for part in (stamp, machine_speed(results)) if part)
    if speed:
        notes.append(speed)
    scale = scale_table(results, markdown)
    if not any(_get(results, kind) for kind in KINDS):
        return "\n\n".join(part for part in (scale, marks, speed) if part)  # a run of the stack alone
    if markdown:
        return _layout(header, body, True) + "\n\n" + "\n".join(notes) + (f"\n\n{scale}" if scale else "")
    return "\n".join([_layout(header, body, False), *notes]) + (f"\n\n{scale}" if scale else "")


def machine_speed(results: dict) -> str:
    """One line: bench/calibrate.py's figures for this run (empty for a run from before it existed)."""
    speed = results.get("meta", {}).get("machine_speed") or {}
    figures = [(name, value) for name, value in speed.items() if name not in ("what", "unit")]
    if not figures:
        return ""
    shown = ", ".join(f"{name.replace('_', ' ')} {_fmt(value)}" for name, value in figures)
    load = results["meta"].get("load_average") or {}
    loads = ", ".join(f"{name.replace('_', ' ')} {_fmt(value)}" for name, value in load.items())
    return f"Machine speed (bench/calibrate.py, CPU ms on the server's core, lower is faster): {shown}." + (
        f" Load average: {loads}." if loads else ""
    )


def _ramps(results: dict) -> list[tuple[str, str, str, list[dict]]]:
    """Each saturation ramp in the run: (label, colour, line style, steps)."""
    ramps = [
        ("SupportCircle, production (P)", "#1b6e5a", "-", _get(results, "P", "saturation", "steps")),
        ("SupportCircle, development (D)", "#7fb8a4", "-", _get(results, "D", "saturation", "steps")),
        ("bare Channels (B)", "#b5542b", "-", _get(results, "B", "saturation", "steps")),
        ("raw websockets (R)", "#4a4a8a", "-", _get(results, "R", "saturation", "steps")),
        ("the stack, 1 daphne process (S1)", "#a07a1f", "-", _get(results, "S1", "saturation", "steps")),
        ("the stack, 2 daphne processes (S2)", "#a07a1f", "--", _get(results, "S2", "saturation", "steps")),
    ]
    for key, style in (("1ms", "--"), ("10ms", ":")):
        ramp = _get(results, "P", "remote_db", key) or {}
        away = ramp.get("added_round_trip_ms")
        label = f"P, PostgreSQL {_fmt(away)} ms away" if away is not None else f"P, PostgreSQL {key} away"
        ramps.append((label, "#1b6e5a", style, (ramp.get("saturation") or {}).get("steps")))
    return [(label, colour, style, steps) for label, colour, style, steps in ramps if steps]


def plot(results: dict, path: Path) -> Path:
    """p50 and p99 latency, and the delivered rate, against offered load, for every ramp of the run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    for label, colour, style, steps in _ramps(results):
        offered = [s["offered_deliveries_per_s"] for s in steps]
        for key, width, suffix in (("p50_ms", 0.8, "p50"), ("p99_ms", 1.8, "p99")):
            left.plot(
                offered,
                [s[key] or float("nan") for s in steps],
                style,
                color=colour,
                linewidth=width,
                marker="o",
                markersize=3,
                label=f"{label} {suffix}",
            )
        right.plot(offered, [s["delivered_per_s"] for s in steps], style, color=colour, marker="o", label=label)
    left.axhline(250, color="grey", linewidth=0.8)
    left.text(0.01, 260, "250 ms: saturation", color="grey", fontsize=8, transform=left.get_yaxis_transform())
    for axis, ylabel, title in (
        (left, "end-to-end latency (ms)", "Latency (p50 thin, p99 thick) against offered load"),
        (right, "delivered/s", "Delivered rate against offered load"),
    ):
        axis.set(xscale="log", yscale="log", xlabel="offered deliveries/s", ylabel=ylabel, title=title)
    lims = [v for line in right.lines for v in line.get_xdata()]
    if lims:
        right.plot([min(lims), max(lims)], [min(lims), max(lims)], color="grey", linewidth=0.8, label="offered")
    if left.get_legend_handles_labels()[0]:
        left.legend(fontsize=6, ncol=2)
        right.legend(fontsize=7)
    for axis in (left, right):
        axis.grid(True, which="both", alpha=0.3)
    meta = results["meta"]
    fig.suptitle(f"SupportCircle chat bench ({meta['mode']} run, {meta['when']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def into_readme(results: dict, readme: Path) -> None:
    """Put the table (with when it was measured) between the README's bench-table markers."""
    start, end = "<!-- bench-table -->", "<!-- /bench-table -->"
    text = readme.read_text()
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{table(results, markdown=True)}\n{end}{tail}")


if __name__ == "__main__":
    import json
    import sys

    # python bench/report.py bench/results/latest.json [--readme README.md]: the table as Markdown.
    loaded = json.loads(Path(sys.argv[1]).read_text())
    if "--readme" in sys.argv:
        into_readme(loaded, Path(sys.argv[sys.argv.index("--readme") + 1]))
    else:
        print(table(loaded, markdown=True))
