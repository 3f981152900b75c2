"""The benchmark's inputs (the demo or a synthetic city) and circle15's own pipeline on them.

``circle15_core`` is the part every peer is compared with: snap the cells and facilities
to the streets, walking times from every cell to the nearest facility of every category,
and the per-district coverage table. It calls the same functions as ``Study.run`` in the
same order; gaps, supply and the index are timed separately (``Study.run`` in full).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from circle15 import Study
from circle15.analysis import district_table
from circle15.engine import NearestFacility, RoutingGraph, build_routing_graph, nearest_facility
from circle15.engine.snapping import EdgeIndex, Snap
from circle15.pipeline import category_cells
from circle15.schema import pop_col

from .synthetic import synthetic_city

#: Sizes by name: street nodes of the synthetic city ("demo" is the embedded demo).
SIZES = {"2k": 2_000, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}
#: Candidate sites for the site-selection benchmark.
N_CANDIDATES = 1_000
SEED = 15


@dataclass
class Workload:
    """A study to benchmark on, and candidate sites for site selection."""

    name: str
    study: Study
    candidates: np.ndarray  # shapely Points, study CRS
    setup_s: float


def load_workload(size: str) -> Workload:
    """The demo (``"demo"``), a seeded synthetic city (``"10k"``, ``"100k"``, ``"1m"``) or
    the real streets of an extract in ``../shared/data/real`` (``"porto"``, ``"chengdu"``,
    ``"hangzhou"``) with synthetic residents and facilities."""
    from .real import EXTRACTS, real_city

    start = time.perf_counter()
    if size in EXTRACTS:
        city = real_city(size, n_candidates=N_CANDIDATES)
        study, candidates = city.study(), city.candidates
    elif size == "demo":
        study = Study.demo()
        centres = study.population.cells.geometry.centroid.to_numpy()
        rng = np.random.default_rng(SEED)
        pick = rng.choice(len(centres), min(N_CANDIDATES, len(centres)), replace=False)
        xy = shapely.get_coordinates(centres[pick]) + rng.uniform(-30, 30, (len(pick), 2))
        candidates = shapely.points(xy)
    else:
        if size not in SIZES:
            raise SystemExit(
                f"unknown size {size!r}; choose from demo, {', '.join(SIZES)}, "
                f"{', '.join(EXTRACTS)}"
            )
        city = synthetic_city(SIZES[size], n_candidates=N_CANDIDATES)
        study, candidates = city.study(), city.candidates
    return Workload(size, study, candidates, time.perf_counter() - start)


@dataclass
class Core:
    """What circle15's pipeline produced: kept to check the peers against."""

    edge_index: EdgeIndex
    cell_points: np.ndarray
    cell_snap: Snap
    facility_points: dict[str, np.ndarray]
    graph: RoutingGraph
    cell_nodes: np.ndarray
    facility_nodes: dict[str, np.ndarray]
    nearest: dict[str, NearestFacility]
    districts: object


def circle15_core(study: Study) -> tuple[dict[str, float], Core]:
    """Snap, walking times for every cell and category, district table; timed per step."""
    t: dict[str, float] = {}
    max_snap = study.config.max_snap_m
    start = time.perf_counter()
    index = EdgeIndex(study.network)
    cell_points = study.population.cells.geometry.centroid.to_numpy()
    cell_snap = index.snap(cell_points, max_snap)
    fac_points = {k: f.facilities.geometry.to_numpy() for k, f in study.facilities.items()}
    fac_snaps = {k: index.snap(p, max_snap) for k, p in fac_points.items()}
    t["snap"] = time.perf_counter() - start

    start = time.perf_counter()
    graph = build_routing_graph(study.network, [cell_snap, *fac_snaps.values()])
    cell_nodes = graph.point_nodes[0]
    fac_nodes = dict(zip(fac_snaps, graph.point_nodes[1:], strict=True))
    t["graph"] = time.perf_counter() - start

    start = time.perf_counter()
    nearest = {k: nearest_facility(graph, cell_nodes, fac_nodes[k]) for k in study.categories}
    t["times"] = time.perf_counter() - start

    start = time.perf_counter()
    # The cell columns exactly as Study.run builds them (circle15.pipeline).
    grid = study.population.cells
    cells = pd.DataFrame({"district": grid["district"].to_numpy(), "snapped": cell_snap.snapped})
    for key, cat in study.categories.items():
        cells[pop_col(key)] = study.population.cohort(cat.age_min, cat.age_max)
        ids = study.facilities[key].facilities["facility_id"].to_numpy()
        for name, values in category_cells(cat, nearest[key], ids).items():
            cells[name] = values
    table = district_table(cells, study.categories, list(study.districts.zones["district"]))
    t["aggregate"] = time.perf_counter() - start
    t["total"] = sum(t.values())
    core = Core(
        index, cell_points, cell_snap, fac_points, graph, cell_nodes, fac_nodes, nearest, table
    )
    return t, core


def best_of(repeat: int, fn):
    """Run ``fn`` ``repeat`` times; the timings of the fastest run and its value."""
    best, value = None, None
    for _ in range(repeat):
        timings, value = fn()
        if best is None or timings["total"] < best["total"]:
            best = timings
    return best, value


__all__ = ["SIZES", "Core", "Workload", "best_of", "circle15_core", "load_workload"]
