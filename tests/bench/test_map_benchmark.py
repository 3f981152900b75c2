"""The benchmark's map step: opening map.html in Chromium, and how the suite reports it.

Timings are not asserted (a shared machine makes them noisy); what is checked is that the
step measures the page it was given, in order, and that the report shows it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.map_open import chromium, open_times
from benchmarks.run import format_tables
from circle15.outputs import map as cmap

from ..factories.results import make_result


@pytest.mark.browser
@pytest.mark.slow
def test_open_times_measure_the_page(tmp_path: Path) -> None:
    if chromium() is None:
        pytest.skip("no Chromium binary found (install Debian's `chromium`)")
    pytest.importorskip("playwright.sync_api")
    path = cmap.write_map(make_result(), tmp_path / "map.html")
    got = open_times(path, repeats=2)
    assert "error" not in got, got
    assert got["bytes"] == path.stat().st_size
    assert len(got["runs"]) == 2 and all(r["errors"] == [] for r in got["runs"])
    for run in got["runs"]:  # each figure from the start of navigation, in order
        assert 0 < run["drawn_s"] <= run["load_s"] <= run["open_s"] <= run["wall_s"] + 0.5
    assert got["chromium"]


def test_the_suite_reports_the_map_step() -> None:
    core = {"snap": 0.1, "graph": 0.1, "times": 0.1, "aggregate": 0.1, "total": 0.4}
    r = {
        "core": core,
        "full_run_s": 1.0,
        "siting_s": 0.2,
        "map_s": 0.66,
        "map_cpu_s": 0.27,
        "map_mb": 0.75,
        "peak_rss_mb": 230.0,
        "nodes": 10,
        "cells": 5,
        "facilities": 2,
        "categories": 6,
        "map_open": {"load_s": 0.47, "drawn_s": 0.34, "open_s": 0.58, "chromium": "156.0"},
    }
    text = format_tables({"demo": {"circle15": r}}, [])
    steps = text[text.index("circle15 steps") :]
    head = next(line for line in steps.splitlines() if line.startswith("size"))
    assert head.split()[-5:] == ["map", "MB", "open", "peak", "MB"]
    row = next(line for line in steps.splitlines() if line.startswith("demo  "))
    assert row.split()[-4:] == ["0.66", "0.8", "0.58", "230"]
    assert "map 0.8 MB written in 0.66 s (0.27 s CPU)" in text
    assert "load event 0.47 s, cells drawn 0.34 s, first frame after load 0.58 s" in text
    del r["map_open"]
    steps = format_tables({"demo": {"circle15": r}}, [])
    head = next(
        line
        for line in steps[steps.index("circle15 steps") :].splitlines()
        if line.startswith("size")
    )
    assert "open" not in head
