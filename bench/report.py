"""Turn a run's raw figures into the goals table, the ratios to B and R, and the plot."""

from __future__ import annotations

from pathlib import Path


def _get(results: dict, kind: str, *path):
    node = results.get("targets", {}).get(kind)
    for key in path:
        if node is None:
            return None
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _ratio(a, b):
    if a is None or b in (None, 0):
        return None
    return round(a / b, 2)


def _row(results: dict, name: str, goal: str, path: tuple, met, unit: str = "", lower_is_better=True) -> dict:
    values = {kind: _get(results, kind, *path) for kind in ("P", "B", "R")}
    invalid = [kind for kind in ("P", "B", "R") if _get(results, kind, path[0], "valid") is False]
    return {
        "invalid": invalid,
        "scenario": name,
        "goal": goal,
        "unit": unit,
        "P": values["P"],
        "B": values["B"],
        "R": values["R"],
        "P_to_B": _ratio(values["P"], values["B"]),
        "P_to_R": _ratio(values["P"], values["R"]),
        "lower_is_better": lower_is_better,
        "met": met(values["P"], results) if values["P"] is not None else None,
    }


def _idle_kb(results: dict, kind: str, index: int):
    points = _get(results, kind, "idle_memory", "points") or []
    return points[index]["kb_per_socket"] if len(points) > index else None


def summarize(results: dict) -> list[dict]:
    rows = []
    hp = ("human_pace",)
    rows.append(
        _row(
            results,
            "1 human pace p99",
            "<= 50 ms, none lost or duplicated",
            hp + ("p99_ms",),
            lambda v, r: (
                v <= 50 and _get(r, "P", "human_pace", "lost") == 0 and _get(r, "P", "human_pace", "duplicated") == 0
            ),
            "ms",
        )
    )
    rows.append(_row(results, "1 human pace lost", "0", hp + ("lost",), lambda v, r: v == 0))
    rows.append(_row(results, "1 human pace duplicated", "0", hp + ("duplicated",), lambda v, r: v == 0))
    rows.append(
        _row(
            results,
            "1 server CPU per delivery",
            "lower is better",
            hp + ("server_cpu_us_per_delivery",),
            lambda v, r: True,
            "µs",
        )
    )
    rows.append(_row(results, "1 Redis ops per message", "", hp + ("redis_ops_per_message",), lambda v, r: True))
    rows.append(
        _row(results, "1 DB statements per message", "", hp + ("db_statements_per_message",), lambda v, r: True)
    )
    b_best = _get(results, "B", "saturation", "highest_good_deliveries_per_s")
    rows.append(
        _row(
            results,
            "2 highest good rate",
            ">= 1.5x B (stretch 5,000/s)",
            ("saturation", "highest_good_deliveries_per_s"),
            lambda v, r: bool(b_best) and v >= 1.5 * b_best,
            "deliveries/s",
            lower_is_better=False,
        )
    )
    rows.append(
        _row(
            results,
            "2 lost past saturation",
            "0 (late is fine)",
            ("saturation", "lost_past_saturation"),
            lambda v, r: v == 0,
        )
    )
    rows.append(_row(results, "3 big room p99", "<= 150 ms", ("big_room", "p99_ms"), lambda v, r: v <= 150, "ms"))
    rows.append(
        _row(
            results,
            "4 slow reader: RSS growth",
            "bounded",
            ("slow_reader", "server_rss_growth_mb"),
            lambda v, r: v <= 32,
            "MB",
        )
    )
    rows.append(
        _row(
            results,
            "4 slow reader: close code",
            "4408",
            ("slow_reader", "slow_reader_close_code"),
            lambda v, r: v == 4408,
        )
    )
    rows.append(
        _row(
            results,
            "4 others' p99 with / without",
            "unchanged (<= 1.5x)",
            ("slow_reader", "others_p99_ratio"),
            lambda v, r: v <= 1.5,
        )
    )
    for index in range(2):
        values = {kind: _idle_kb(results, kind, index) for kind in ("P", "B", "R")}
        points = _get(results, "P", "idle_memory", "points") or []
        sockets = points[index]["sockets"] if len(points) > index else "?"
        rows.append(
            {
                "scenario": f"5 idle KB per socket at {sockets}",
                "goal": "<= 40 KB",
                "unit": "KB",
                **values,
                "P_to_B": _ratio(values["P"], values["B"]),
                "P_to_R": _ratio(values["P"], values["R"]),
                "lower_is_better": True,
                "met": None if values["P"] is None else values["P"] <= 40,
            }
        )
    rows.append(
        _row(
            results,
            "6 connect storm (P logs in)",
            "<= 15 s, no errors",
            ("connect_storm", "seconds_for_all"),
            lambda v, r: (
                v <= 15
                and _get(r, "P", "connect_storm", "errors") == 0
                and not _get(r, "P", "connect_storm", "extrapolated")
            ),
            "s",
        )
    )
    rows.append(
        _row(
            results,
            "7 first page large/small",
            "<= 2x",
            ("history", "first_page_ratio_large_to_small"),
            lambda v, r: v <= 2,
        )
    )
    rows.append(
        _row(
            results,
            "7 backfill large/small",
            "<= 2x",
            ("history", "backfill_ratio_large_to_small"),
            lambda v, r: v <= 2,
        )
    )
    rows.append(
        _row(
            results,
            "7 HTTP history p99 at 50/s",
            "<= 20 ms",
            ("human_pace", "http_history", "p99_ms"),
            lambda v, r: v <= 20,
            "ms",
        )
    )
    moderation = results.get("moderation") or {}
    typical = moderation.get("typical_message") or {}
    scaling = moderation.get("rule_scaling") or []
    p99_by_rules = {row["rules"]: row.get("all_rulesets_plus_synthetic_p99_us") for row in scaling}
    for label, value, goal, met in (
        ("8 moderation p99, typical message", typical.get("p99_us"), "<= 50 µs", moderation.get("passed")),
        (
            "8 moderation p99 at 1,000 rules / 10",
            _ratio(p99_by_rules.get(1000), p99_by_rules.get(10)),
            "flat (about 1x)",
            None if not p99_by_rules else (_ratio(p99_by_rules.get(1000), p99_by_rules.get(10)) or 9) <= 1.5,
        ),
    ):
        rows.append(
            {
                "scenario": label,
                "goal": goal,
                "unit": "µs" if "typical" in label else "",
                "P": value,
                "B": None,
                "R": None,
                "P_to_B": None,
                "P_to_R": None,
                "lower_is_better": True,
                "met": met,
            }
        )
    return rows


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
    header = ["scenario", "goal", "P", "B", "R", "P/B", "P/R", "met"]
    lines = []
    body = [
        [
            r["scenario"] + (f" ({r['unit']})" if r["unit"] else ""),
            r["goal"],
            *(_fmt(r[kind]) + ("†" if kind in r.get("invalid", ()) else "") for kind in ("P", "B", "R")),
            _fmt(r["P_to_B"]),
            _fmt(r["P_to_R"]),
            {True: "yes", False: "NO", None: "-"}[r["met"]],
        ]
        for r in rows
    ]
    footnote = "† measured while the load generator's core was more than 70% busy: treat as a bound, not a figure."
    speed = machine_speed(results)
    if speed:
        footnote += "\n" + speed
    if markdown:
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join("---" for _ in header) + "|")
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines) + "\n\n" + footnote
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(header)]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in body]
    return "\n".join(lines + [footnote])


def machine_speed(results: dict) -> str:
    """One line: bench/calibrate.py's figures for this run (empty for a run from before it existed)."""
    speed = results.get("meta", {}).get("machine_speed") or {}
    figures = [(name, value) for name, value in speed.items() if name not in ("what", "unit")]
    if not figures:
        return ""
    shown = ", ".join(f"{name.replace('_', ' ')} {_fmt(value)}" for name, value in figures)
    return f"Machine speed (bench/calibrate.py, CPU ms on the server's core, lower is faster): {shown}."


def plot(results: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    styles = {
        "P": ("SupportCircle (P)", "#1b6e5a"),
        "B": ("bare Channels (B)", "#b5542b"),
        "R": ("raw websockets (R)", "#4a4a8a"),
    }
    for kind, (label, colour) in styles.items():
        steps = _get(results, kind, "saturation", "steps") or []
        if not steps:
            continue
        offered = [s["offered_deliveries_per_s"] for s in steps]
        for key, dash, suffix in (("p50_ms", ":", "p50"), ("p95_ms", "--", "p95"), ("p99_ms", "-", "p99")):
            left.plot(
                offered,
                [s[key] or float("nan") for s in steps],
                dash,
                color=colour,
                marker="o",
                markersize=3,
                label=f"{label} {suffix}",
            )
        right.plot(offered, [s["delivered_per_s"] for s in steps], "-", color=colour, marker="o", label=label)
    left.axhline(250, color="grey", linewidth=0.8)
    left.text(left.get_xlim()[0] if left.lines else 1000, 260, "250 ms: saturation", color="grey", fontsize=8)
    for axis, ylabel, title in (
        (left, "end-to-end latency (ms)", "Latency percentiles against offered load"),
        (right, "delivered/s", "Delivered rate against offered load"),
    ):
        axis.set(xscale="log", yscale="log", xlabel="offered deliveries/s", ylabel=ylabel, title=title)
    lims = [v for line in right.lines for v in line.get_xdata()]
    if lims:
        right.plot([min(lims), max(lims)], [min(lims), max(lims)], color="grey", linewidth=0.8, label="offered")
    if left.get_legend_handles_labels()[0]:
        left.legend(fontsize=7, ncol=3)
        right.legend(fontsize=8)
    for axis in (left, right):
        axis.grid(True, which="both", alpha=0.3)
    fig.suptitle(
        f"SupportCircle chat bench ({results['meta']['mode']}, {results['meta']['when']}, "
        f"{results['meta']['database']})",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def into_readme(results: dict, readme: Path) -> None:
    """Put the table (and when it was measured) between the README's bench-table markers."""
    start, end = "<!-- bench-table -->", "<!-- /bench-table -->"
    text = readme.read_text()
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    meta = results["meta"]
    stamp = (
        f"Measured {meta['when']} ({meta['mode']} run, {meta['database']}, {meta['cpus']} CPUs, "
        f"{meta['seconds']:.0f} s). P/B and P/R are ratios; for rates higher is better, for the rest lower."
    )
    readme.write_text(f"{head}{start}\n{stamp}\n\n{table(results, markdown=True)}\n{end}{tail}")


if __name__ == "__main__":
    import json
    import sys

    # python bench/report.py bench/results/latest.json [--readme README.md]: the table as Markdown.
    loaded = json.loads(Path(sys.argv[1]).read_text())
    if "--readme" in sys.argv:
        into_readme(loaded, Path(sys.argv[sys.argv.index("--readme") + 1]))
    else:
        print(table(loaded, markdown=True))
