"""What-if and site selection on the demo: time of one what-if, of picking sites, greedy's gap.

Run from the repository root::

    .venv/bin/python benchmarks/bench_whatif_sites.py

Every what-if answer is first checked equal to a full re-run (walking times of every
cell) before any time is printed. Times are the best of ``REPEAT`` runs (the machine is
shared); the greedy-vs-optimal gap is exact (the MILP solves to optimality on the demo).
"""

from __future__ import annotations

import time
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd

from circle15 import Study
from circle15.model import FacilityLayer
from circle15.planning.sites import gap_candidates, select_sites

REPEAT = 7


def best_of(fn, repeat: int = REPEAT) -> tuple[float, object]:
    """Fastest wall time of ``repeat`` calls, and the last answer."""
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    study = Study.demo()
    result = study.run()
    key = "elderly_canteen"
    spot = gap_candidates(result, key).geometry.iloc[0]
    xy = [(spot.x, spot.y)]
    result.add_facilities(key, xy, crs="study")  # first what-if: cell adjacency, catchments

    # Correctness first: the what-if equals a full re-run with the edited table.
    after = result.add_facilities(key, xy, crs="study", ids=["B1"])
    table = study.facilities[key].facilities
    table = pd.concat(
        [
            table,
            gpd.GeoDataFrame(
                {"facility_id": ["B1"], "name": ["B1"], "capacity": [np.nan], "provenance": ["b"]},
                geometry=[spot],
                crs=study.crs,
            ),
        ],
        ignore_index=True,
    )
    rerun = replace(study, facilities={**study.facilities, key: FacilityLayer(key, table)}).run()
    np.testing.assert_allclose(
        after.cells[f"t_{key}"], rerun.cells[f"t_{key}"], rtol=1e-9, equal_nan=True
    )

    rows = []
    for label, fn in [
        (
            "add 1 site, tables + gaps (assess=False)",
            lambda: result.add_facilities(key, xy, crs="study", assess=False),
        ),
        (
            "add 1 site, + supply, equity, index",
            lambda: result.add_facilities(key, xy, crs="study"),
        ),
        (
            "remove 1 site, tables + gaps (assess=False)",
            lambda: result.remove_facilities(key, "EC001", assess=False),
        ),
        ("remove 1 site, + supply, equity, index", lambda: result.remove_facilities(key, "EC001")),
        ("full re-run (Study.run)", study.run),
    ]:
        seconds, _ = best_of(fn, 3 if "re-run" in label else REPEAT)
        rows.append((label, seconds))
    print(
        f"demo: {len(result.cells):,} cells, {result.diagnostics['network_nodes']:,} nodes; "
        "what-if answers equal a full re-run"
    )
    print(f"{'what-if on elderly_canteen':<48} {'ms':>8}")
    for label, seconds in rows:
        print(f"{label:<48} {seconds * 1000:8.1f}")

    print()
    print(
        f"{'pick 3 sites':<16} {'cands':>6} {'reach s':>8} {'greedy ms':>10} "
        f"{'after s':>8} {'exact s':>8} {'greedy':>9} {'optimum':>9} {'gap':>7}"
    )
    for cat in result.categories:
        choice = select_sites(result, cat, 3, exact=True)
        t = choice.timings
        print(
            f"{cat:<16} {len(choice.candidates):>6,} {t['reach']:8.3f} "
            f"{t['greedy'] * 1000:10.2f} {t['after']:8.3f} {t['exact']:8.2f} "
            f"{choice.greedy.value:9.1f} {choice.exact.value:9.1f} "
            f"{choice.optimality_gap:7.2%}"
        )


if __name__ == "__main__":
    main()
