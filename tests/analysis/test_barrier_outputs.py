"""Where steps cut people off, in every output: checked against networkx on the grid.

The oracle: walking metres with and without the steps from networkx (the independent
snapping and splitting of ``tests/engine/test_step_free.py``) on the small grid with a fifth of
its streets made flights of steps; a resident is cut off when the walk with steps is within
the target and the step-free one is not.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import openpyxl
import pyogrio
import pytest
import shapely

from circle15 import Study
from circle15.model import WalkingNetwork
from circle15.outputs import write_outputs
from circle15.outputs.spreadsheet import read_own_csv

from ..factories.oracles import oracle_metres
from ..factories.studies import ORIGIN, write_small_study

X0, Y0 = ORIGIN
CANTEENS = [(X0 + 800, Y0 + 810), (X0 + 100, Y0 + 900), (X0 + 450, Y0 + 120)]


@pytest.fixture(scope="module")
def stepped(tmp_path_factory):
    folder = tmp_path_factory.mktemp("steps")
    toml = write_small_study(
        folder / "s",
        facilities={"kindergarten": [(X0 + 200, Y0 + 230)], "elderly_canteen": CANTEENS},
    )
    study = Study.from_config(toml)
    edges = study.network.edges.copy()
    steps = np.random.default_rng(5).random(len(edges)) < 0.25
    edges["highway"] = np.where(steps, "steps", "residential")
    edges["steps"] = steps
    study = replace(study, network=WalkingNetwork(study.network.nodes, edges))
    result = study.run()
    write_outputs(
        result,
        folder / "out",
        config=toml,
        inputs=study.input_files(),
        started=datetime(2024, 6, 18, tzinfo=UTC),
    )
    return study, result, folder / "out"


def test_residents_cut_off_equal_the_oracle(stepped):
    study, result, out = stepped
    cat = study.categories["elderly_canteen"]
    network = WalkingNetwork(study.network.nodes, study.network.edges.assign(wheelchair=None))
    cells = study.population.cells.geometry.centroid.to_numpy()
    with_steps = oracle_metres(network, cells, shapely.points(CANTEENS), step_free=False)
    step_free = oracle_metres(network, cells, shapely.points(CANTEENS), step_free=True)
    target = cat.target_min * cat.metres_per_minute
    cut = (np.minimum(with_steps, step_free) <= target) & ~(step_free <= target)
    cohort = study.population.cohort(cat.age_min, cat.age_max)
    table = read_own_csv(out / "barriers.csv")
    whole = table.query("district == 'ALL' and category == 'elderly_canteen'").iloc[0]
    assert cut.any()
    assert whole["barrier_population"] == pytest.approx(cohort[cut].sum())
    assert whole["covered_step_free"] == pytest.approx(cohort[step_free <= target].sum())
    assert (result.cells["barrier_elderly_canteen"].to_numpy() == cut).all()
    # the areas add up to the residents cut off, district by district
    areas = result.barrier_areas.groupby("district")["population"].sum()
    per = table[table["district"] != "ALL"].set_index("district")["barrier_population"]
    assert areas.reindex(per.index, fill_value=0).to_dict() == pytest.approx(per.to_dict())


def test_every_output_shows_the_steps(stepped):
    _, result, out = stepped
    layers = {name for name, _ in pyogrio.list_layers(out / "results.gpkg")}
    assert {"barriers", "barrier_steps"} <= layers
    book = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
    assert {"barriers", "barrier_areas", "barrier_steps"} <= set(book.sheetnames)
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "id=barriers>" in report and "Where steps cut people off" in report
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "台阶阻隔 cut off by steps" in page
    steps = result.barrier_steps
    assert len(steps) and (steps["kind"] == "steps").all()
    assert steps["population"].max() > 0
