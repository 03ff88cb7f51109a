"""The bench's table judges each goal on the production column, from a run's raw figures."""

from bench import report


def _run(**targets) -> dict:
    return {"meta": {}, "targets": targets}


def _row(results: dict, starts: str) -> dict:
    return next(row for row in report.summarize(results) if row["scenario"].startswith(starts))


def test_cost_per_delivery_is_met_at_three_quarters_of_bare_channels_or_less():
    cheap = _run(
        P={"delivery_cost": {"server_cpu_us_per_delivery": 240.0}},
        B={"delivery_cost": {"server_cpu_us_per_delivery": 320.0}},
    )
    dear = _run(
        P={"delivery_cost": {"server_cpu_us_per_delivery": 415.0}},
        B={"delivery_cost": {"server_cpu_us_per_delivery": 320.0}},
    )
    assert _row(cheap, "server CPU per delivery")["met"] is True
    assert _row(cheap, "server CPU per delivery")["P_to_B"] == 0.75
    assert _row(dear, "server CPU per delivery")["met"] is False


def test_a_database_1_ms_away_keeps_half_the_localhost_rate():
    def run(remote: float) -> dict:
        return _run(
            P={
                "saturation": {"highest_good_deliveries_per_s": 8000.0},
                "remote_db": {"1ms": {"saturation": {"highest_good_deliveries_per_s": remote}}},
            }
        )

    assert _row(run(4000.0), "PostgreSQL 1 ms away")["met"] is True
    assert _row(run(3900.0), "PostgreSQL 1 ms away")["met"] is False


def test_the_development_column_is_shown_but_never_judged():
    results = _run(P={"human_pace": {"p99_ms": 80.0, "lost": 0, "duplicated": 0}}, D={"human_pace": {"p99_ms": 10.0}})
    row = _row(results, "human pace p99")
    assert row["D"] == 10.0
    assert row["met"] is False


def test_a_storm_measured_with_fewer_than_5000_is_marked_as_extrapolated():
    storm = {"connect_storm": {"seconds_for_5000": 12.0, "errors": 0, "extrapolated": True}}
    results = _run(P=storm)
    assert _row(results, "connect storm")["marks"] == {"P": "‡"}
    assert "‡ extrapolated" in report.table(results)


def test_the_second_opinion_row_reads_its_json_when_there():
    absent = {"meta": {}, "targets": {}, "second_opinion": {"skipped": "bench/bench_second_opinion.py is not there"}}
    assert not any(row["scenario"].startswith("second opinion") for row in report.summarize(absent))
    results = {"meta": {}, "targets": {}, "second_opinion": {"p50_ms": 300.0, "p99_ms": 1500.0}}
    row = _row(results, "second opinion")
    assert row["P"] == 1500.0 and row["met"] is True


def test_login_storm_shows_the_logins_beside_the_chatters_and_judges_the_chatters():
    storm = {"login_storm": {"p99_ms": 31.0, "login_post_p99_ms": 2400.0, "lost": 0}}
    row = _row(_run(P=storm), "login storm")
    assert row["P"] == "31.0 / 2,400.0"
    assert row["met"] is True


def test_crowd_statements_show_presence_beside_the_rechecks():
    results = _run(P={"crowd": {"presence_statements_per_s": 120.0, "recheck_statements_per_s": 773.3}})
    assert _row(results, "crowd DB statements")["P"] == "120.0 / 773.3"


def test_a_ramp_too_much_from_its_first_step_shows_below_that_step():
    ramp = {"highest_good_deliveries_per_s": 0, "steps": [{"target_deliveries_per_s": 1000}]}
    row = _row(
        _run(P={"saturation": ramp}, B={"saturation": {"highest_good_deliveries_per_s": 1980.0}}), "highest good"
    )
    assert row["P"] == "< 1,000"
    assert row["met"] is False
