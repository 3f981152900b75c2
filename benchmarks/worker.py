"""One benchmark task in its own process, so that its peak memory is its own.

``python -m benchmarks.worker TASK SIZE [--map]`` where TASK is ``circle15`` or a peer name
(``pandana``, ``pandana-15min``, ``networkx``, ``osmnx-recipe``); ``--map`` also opens
circle15's ``map.html`` in Chromium. It prints ``READY``
when the inputs are built (the orchestrator starts a peer's time cap there) and one
``RESULT {json}`` line. Everything else a library prints goes to stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import scipy.sparse as sp

from .peers import PEERS
from .workload import best_of, circle15_core, load_workload

#: Category for the what-if and the site selection when the study has it.
WHATIF_CATEGORY = "elderly_canteen"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


#: Our channel to the orchestrator: a copy of stdout taken before libraries can write to it.
_CHANNEL = None


def _emit(tag: str, payload: dict | None = None) -> None:
    line = tag if payload is None else f"{tag} {json.dumps(payload)}"
    out = _CHANNEL or sys.__stdout__
    out.write(line + "\n")
    out.flush()


def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _whatif(result, category: str, site) -> dict:
    """One what-if: open one new facility, three ways.

    - ``whatif_s``: ``result.add_facilities`` (a new result: coverage, gaps, supply,
      equity and index of the category redone), warm (the first call also builds the
      cell adjacency that later what-ifs reuse: ``whatif_first_s``);
    - ``whatif_coverage_s``: the same without supply, equity and index
      (``whatif.edit_facilities(..., assess=False)``), when available;
    - ``whatif_engine_s``: the engine alone: snap the site, one bounded search from it,
      element-wise minimum with the current walking times.
    """
    out = {"whatif_engine_s": _best(lambda: _whatif_engine(result, category, site))}
    if not hasattr(result, "add_facilities"):  # pragma: no cover - before issue 5 landed
        return out
    out["whatif_first_s"], _ = _timed(lambda: result.add_facilities(category, [site], crs="study"))
    out["whatif_s"] = _best(lambda: result.add_facilities(category, [site], crs="study"))
    try:
        from circle15.planning import edit_facilities, site_frame

        frame = site_frame([site], result.cells.crs, crs="study")
        out["whatif_coverage_s"] = _best(
            lambda: edit_facilities(result, category, add=frame, assess=False)
        )
    except (ImportError, TypeError):  # pragma: no cover - older what-if API
        pass
    return out


def _best(fn, repeat: int = 5) -> float:
    return min(_timed(fn)[0] for _ in range(repeat))


def _whatif_engine(result, category: str, site) -> np.ndarray:
    """New walking minutes of the category's cells with one more facility at ``site``."""
    from circle15.engine import point_catchments

    state = result.session.state
    cat = result.categories[category]
    now = state.nearest[category].distance_m
    _, attachment = state.attach(np.array([site], dtype=object))
    # Only cells on the site's network piece can gain, and none farther from the site
    # than from their facility today: search as far as the farthest of them (no limit
    # when one of them has no facility at all).
    piece = state.node_piece
    cells = state.cell_nodes
    on = (cells >= 0) & (piece[np.maximum(cells, 0)] == piece[max(attachment.node_a[0], 0)])
    limit = float(now[on].max()) if on.any() and attachment.node_a[0] >= 0 else 0.0
    reach = point_catchments(state.graph, attachment, state.cell_nodes, limit)
    new = now.copy()
    cols = reach.indices
    new[cols] = np.minimum(now[cols], reach.data)
    return new / cat.metres_per_minute


def _siting(result, category: str, candidates: np.ndarray) -> dict:
    """Choose 3 sites among the candidates (greedy, exact solver off)."""
    frame = gpd.GeoDataFrame(geometry=candidates, crs=result.cells.crs)
    try:
        from circle15.planning.sites import select_sites
    except ImportError:  # pragma: no cover - fallback before issue 5 landed
        return _siting_primitive(result, category, candidates)
    seconds, choice = _timed(
        lambda: select_sites(result, category, 3, candidates=frame, exact=False)
    )
    gain = float(choice.sites["marginal_gain"].sum()) if len(choice.sites) else 0.0
    return {"siting_s": seconds, "siting_gain": gain, "siting_how": "select_sites (greedy)"}


def _siting_primitive(result, category, candidates) -> dict:  # pragma: no cover - fallback
    from circle15.analysis.siting import greedy_sites
    from circle15.engine import point_catchments

    state = result.session.state
    cat = result.categories[category]

    def once():
        _, att = state.attach(candidates)
        reach = point_catchments(
            state.graph, att, state.cell_nodes, cat.target_min * cat.metres_per_minute
        )
        t = result.cells[f"t_{category}"].to_numpy(dtype=float)
        demand = np.where(
            np.isnan(t) | (t > cat.target_min),
            result.cells[f"pop_{category}"].to_numpy(dtype=float),
            0.0,
        )
        return greedy_sites(sp.csr_array(reach), demand, 3)

    seconds, sol = _timed(once)
    return {
        "siting_s": seconds,
        "siting_gain": float(sol.value),
        "siting_how": "point_catchments+greedy_sites",
    }


def run_circle15(size: str, open_map: bool = False) -> dict:
    """circle15 end to end on one workload, with what-if, site selection and the map.

    With ``open_map`` the written ``map.html`` is also opened in headless Chromium
    (:mod:`benchmarks.map_open`), after the process's peak memory has been taken.
    """
    from circle15.outputs.map import write_map
    from circle15.progress import Progress

    work = load_workload(size)
    study = work.study
    out: dict = {
        "size": size,
        "setup_s": work.setup_s,
        "nodes": study.network.n_nodes,
        "edges": study.network.n_edges,
        "cells": len(study.population.cells),
        "facilities": sum(len(f) for f in study.facilities.values()),
        "categories": len(study.categories),
    }
    _emit("READY")
    rss = {"inputs": peak_rss_mb()}
    core_t, core = best_of(3, lambda: circle15_core(study))
    out["core"] = core_t
    rss["core"] = peak_rss_mb()
    out["snapped_share"] = float(core.cell_snap.snapped.mean())
    study.progress = Progress(enabled=False)
    out["full_run_s"], result = _timed(study.run)
    out["full_run_steps"] = dict(study.progress.timings)
    rss["full_run"] = peak_rss_mb()
    category = (
        WHATIF_CATEGORY if WHATIF_CATEGORY in study.categories else next(iter(study.categories))
    )
    out["whatif_category"] = category
    site = work.candidates[0]
    out.update(_whatif(result, category, site))
    rss["whatif"] = peak_rss_mb()
    out.update(_siting(result, category, work.candidates))
    rss["siting"] = peak_rss_mb()
    out["candidates"] = len(work.candidates)
    out["coverage"] = {
        row.category: float(row.coverage)
        for row in result.districts[result.districts["district"] == "ALL"].itertuples()
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "map.html"
        cpu = time.process_time()
        out["map_s"], _ = _timed(lambda: write_map(result, path))
        # CPU time too: on a shared machine the wall time is mostly waiting for a core
        out["map_cpu_s"] = time.process_time() - cpu
        out["map_mb"] = path.stat().st_size / 1e6
        rss["map"] = out["peak_rss_mb"] = peak_rss_mb()
        out["peak_rss_after_mb"] = rss  # the peak so far at the end of each stage
        if open_map:
            from .map_open import open_times

            out["map_open"] = open_times(path)
    return out


def run_peer(peer: str, size: str) -> dict:
    """One peer on one workload, checked against circle15 before its time is reported."""
    run, check = PEERS[peer]
    work = load_workload(size)
    _, core = circle15_core(work.study)
    _emit("READY")
    timings, answers = run(core, work.study)
    summary = check(core, work.study, answers)
    return {
        "peer": peer,
        "size": size,
        "timings": timings,
        "check": summary,
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m benchmarks.worker TASK SIZE``."""
    global _CHANNEL
    args = argv if argv is not None else sys.argv[1:]
    task, size = args[:2]
    open_map = "--map" in args[2:]
    # Libraries' own progress output must not mix with ours: pandana's C++ code prints to
    # file descriptor 1 directly, so point that at stderr and keep a copy for ourselves.
    sys.stdout.flush()
    _CHANNEL = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    with contextlib.redirect_stdout(sys.stderr):
        try:
            payload = run_circle15(size, open_map) if task == "circle15" else run_peer(task, size)
        except AssertionError as exc:
            payload = {"peer": task, "size": size, "error": f"answers differ: {exc}"}
        except MemoryError:
            payload = {
                "peer": task,
                "size": size,
                "error": "ran out of memory",
                "peak_rss_mb": peak_rss_mb(),
            }
    _emit("RESULT", payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
