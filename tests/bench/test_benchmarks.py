"""The benchmark suite: its synthetic city, its answer checks, and the command itself.

The command test runs the whole suite at a tiny size so that it never rots; the peers'
timings are not asserted (a shared machine makes them noisy), their checked answers are.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely

from benchmarks.peers import check_covered, check_distances, routing_node_xy, run_networkx
from benchmarks.synthetic import NOTICE, synthetic_city
from benchmarks.workload import circle15_core

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def city():
    return synthetic_city(3_000)


def test_synthetic_city_is_seeded_and_sized(city):
    again = synthetic_city(3_000)
    assert shapely.equals_exact(
        city.network.edges.geometry.to_numpy(), again.network.edges.geometry.to_numpy()
    ).all()
    np.testing.assert_array_equal(
        city.population.cells["pop_total"], again.population.cells["pop_total"]
    )
    other = synthetic_city(3_000, seed=16)
    assert not np.allclose(other.population.cells["pop_total"], city.population.cells["pop_total"])
    # About the size asked for: street nodes within 10 %, one populated cell per 5 nodes.
    assert abs(city.network.n_nodes - 3_000) < 300
    assert len(city.population.cells) == 600
    assert len(city.candidates) == 600  # capped by the populated cells
    # Every street node is used by a street; every edge's length is its drawn length.
    e = city.network.edges
    used = np.zeros(city.network.n_nodes, bool)
    used[e["u"]] = used[e["v"]] = True
    assert used.all()
    np.testing.assert_allclose(e["length_m"], shapely.length(e.geometry.to_numpy()))


def test_synthetic_city_is_labelled_synthetic(city):
    study = city.study()
    assert study.config.config.study.synthetic is True
    assert "SYNTHETIC" in NOTICE and study.config.config.study.notice == NOTICE
    assert city.population.source == "synthetic" and all(
        f.source == "synthetic" for f in city.facilities.values()
    )
    assert all((f.facilities["provenance"] == "synthetic").all() for f in city.facilities.values())


def test_synthetic_cohorts_add_up(city):
    cells = city.population.cells
    bands = [b.column for b in city.population.bands]
    np.testing.assert_allclose(cells[bands].sum(axis=1), cells["pop_total"])
    # Residents per facility as set: e.g. one kindergarten per 8,000 residents.
    total = cells["pop_total"].sum()
    assert len(city.facilities["kindergarten"]) == max(2, round(total / 8_000))


def test_networkx_peer_agrees_and_the_check_is_not_vacuous(city):
    study = city.study()
    _, core = circle15_core(study)
    _timings, answers = run_networkx(core, study)
    assert "equal" in check_distances(core, answers, 1e-9)
    key = next(iter(answers))
    wrong = dict(answers)
    wrong[key] = answers[key].copy()
    i = int(np.flatnonzero(np.isfinite(wrong[key]))[0])
    wrong[key][i] += 1.0
    with pytest.raises(AssertionError):
        check_distances(core, wrong, 1e-9)
    covered = {
        k: core.nearest[k].distance_m / study.categories[k].metres_per_minute
        <= study.categories[k].target_min
        for k in answers
    }
    assert "equal" in check_covered(core, study, covered)
    covered[key] = ~covered[key]
    with pytest.raises(AssertionError):
        check_covered(core, study, covered)


def test_routing_node_coordinates_put_points_at_their_places(city):
    study = city.study()
    _, core = circle15_core(study)
    xy = routing_node_xy(core, study.network)
    assert np.isfinite(xy).all()
    ok = core.cell_nodes >= 0
    np.testing.assert_allclose(
        xy[core.cell_nodes[ok]], shapely.get_coordinates(core.cell_points[ok])
    )
    # A foot on the street is as far from its point as the snap leg.
    feet = core.graph.csr[core.cell_nodes[ok]]  # the pendant's one edge leads to its foot
    foot = feet.indices[feet.indptr[:-1]]
    legs = np.linalg.norm(xy[foot] - xy[core.cell_nodes[ok]], axis=1)
    np.testing.assert_allclose(legs, core.cell_snap.leg_m[ok], atol=1e-6)


@pytest.mark.slow
def test_benchmark_command_runs_at_a_tiny_size():
    peers = ["networkx", "osmnx-recipe"]
    if importlib.util.find_spec("pandana") is not None:
        peers.insert(0, "pandana")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--sizes",
            "2k",
            "--peers",
            ",".join(peers),
            "--cap-seconds",
            "300",
            "--ingest",
            "none",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "End to end" in out and "circle15 steps" in out
    row = next(line for line in out.splitlines() if line.startswith("2k "))
    assert row.count("x") >= len(peers), row  # one ratio per peer
    for peer in peers:
        assert f"2k    {peer}" in out and "equal" in out.split(f"2k    {peer}")[1].splitlines()[0]


@pytest.mark.slow
def test_ingestion_table_on_a_small_synthetic_extract():
    pytest.importorskip("pyrosm")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.ingest",
            "--datasets",
            "synthetic-40k",
            "--rounds",
            "1",
            "--cap-seconds",
            "300",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    row = next(line for line in out.splitlines() if line.startswith("synthetic-40k "))
    assert row.count(" / ") == 3 and "x" in row, row  # cold, cached, pyrosm; osmnx ratio
    assert "SYNTHETIC" in out
    assert "as osmnx, lengths within" in out  # circle15's graph checked against osmnx's
