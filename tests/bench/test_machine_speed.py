"""The bench records how fast the machine was, so two runs' figures can be read side by side."""

import os

from bench import calibrate, report


def test_calibration_runs_pinned_to_a_core_and_gives_milliseconds():
    core = min(os.sched_getaffinity(0))
    figure = calibrate.on_core(core)
    assert figure is not None and figure > 0


def test_the_report_prints_the_machine_speed_under_the_table():
    results = {
        "meta": {"machine_speed": {"what": "x", "unit": "ms", "before_P": 41.26, "before_B": 80.0, "at_the_end": 9.5}},
        "targets": {},
    }
    line = report.machine_speed(results)
    assert line.startswith("Machine speed (bench/calibrate.py")
    assert "before P 41.3" in line and "before B 80.0" in line and "at the end 9.50" in line
    assert line in report.table(results)
    assert line in report.table(results, markdown=True)


def test_a_run_from_before_calibration_prints_no_speed_line():
    assert report.machine_speed({"meta": {}, "targets": {}}) == ""
