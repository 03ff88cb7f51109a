"""Scale-out in the bench: S1 and S2 are `make stack` with one and two daphne processes, reported side by side.

Wiring only: which scenarios they run, what the stack is started with, and how the report reads them.
"""

from pathlib import Path

from bench import report, run, servers

P_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/supportcircle_bench_quick?pool=true",
    "SECRET_KEY": "the bench's own",
}


def _run(**targets) -> dict:
    return {"meta": {}, "targets": targets}


def test_the_stack_runs_the_highest_good_rate_and_the_connect_storm_and_nothing_else():
    for kind in ("S1", "S2"):
        assert {name for name, who in run.WHO.items() if kind[0] in who} == {"saturation", "connect_storm"}
    assert "S1" not in run.DEFAULT_TARGETS, "make bench adds the stack only when its packages are there"


def test_the_stack_is_started_with_the_process_count_on_p_s_world(monkeypatch):
    monkeypatch.setenv("STACK_PORT_BASE", "8400")  # a developer's own `make stack` settings never leak in
    monkeypatch.setenv("DATABASE_URL", "postgres://elsewhere/other")
    env = servers.stack_environment("S2", P_ENV, folder=Path("/tmp/stack-s2"), port_base=23400)
    assert env["STACK_PROCESSES"] == "2"
    assert env["STACK_PORT_BASE"] == "23400"
    assert env["STACK_POSTGRES"] == "postgres://postgres@127.0.0.1:5432"
    assert env["STACK_DATABASE"] == "supportcircle_bench_quick"
    assert env["STACK_APP_SECRET_KEY"] == "the bench's own", "P's members' sessions open on the stack"
    assert env["STACK_DEMO"] == "0"
    assert "DATABASE_URL" not in env
    assert servers.stack_environment("S1", P_ENV, folder=Path("/tmp/s1"), port_base=23500)["STACK_PROCESSES"] == "1"


def test_the_report_puts_two_processes_beside_one_with_cpu_per_delivery():
    def stack(rate: float, cpu: float, storm: float) -> dict:
        step = {"good": True, "delivered_per_s": rate, "server_cpu_us_per_delivery": cpu}
        step["server_and_backing_cpu_us_per_delivery"] = cpu * 2
        return {
            "saturation": {"highest_good_deliveries_per_s": rate, "steps": [step]},
            "connect_storm": {"seconds_for_5000": storm, "server_cpu_ms_per_connect": 3.0, "errors": 0},
        }

    results = _run(S1=stack(1000.0, 400.0, 60.0), S2=stack(1500.0, 420.0, 45.0))
    rows = {row["scenario"]: row for row in report.scale_out(results)}
    assert rows["highest good rate"]["S2_to_S1"] == 1.5
    cpu = rows["server CPU per delivery at that step"]
    assert (cpu["S2"], cpu["with_backing"]["S2"], cpu["S2_to_S1"]) == (420.0, 840.0, 1.05)
    assert rows["connect storm: 5,000 open page and socket"]["S2_to_S1"] == 0.75
    shown = report.table(results)
    assert "S2/S1" in shown and "420.0 (840.0)" in shown and "shares a core with the load generator" in shown
    assert "human pace" not in shown, "a run of the stack alone shows the scale-out table alone"


def test_a_run_without_the_stack_has_no_scale_out_table():
    results = _run(P={"human_pace": {"p99_ms": 20.0, "lost": 0, "duplicated": 0}})
    assert report.scale_out(results) == []
    assert "S2/S1" not in report.table(results)
