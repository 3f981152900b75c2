"""What-if equals a full re-run with the edited facility tables (the oracle)."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from circle15 import InputError, Study
from circle15.model import FacilityLayer, WalkingNetwork
from circle15.planning.sites import gap_candidates

from ..factories.studies import ORIGIN, write_small_study

X0, Y0 = ORIGIN


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Study:
    """The small grid with uneven street lengths and a detached eastern strip."""
    toml = write_small_study(
        tmp_path_factory.mktemp("whatif"),
        facilities={
            "kindergarten": [(X0 + 200, Y0 + 230), (X0 + 610, Y0 + 700)],
            "elderly_canteen": [(X0 + 800, Y0 + 810), (X0 + 100, Y0 + 900)],
        },
    )
    study = Study.from_config(toml)
    net = study.network
    x = net.nodes.geometry.x.to_numpy()
    u, v = net.edges["u"].to_numpy(), net.edges["v"].to_numpy()
    # No street crosses from x = 800 to x = 900: cells east of it have a piece of their own,
    # with no facility yet (unreachable until a what-if puts one there).
    keep = ~(np.minimum(x[u], x[v]) < X0 + 850) | ~(np.maximum(x[u], x[v]) > X0 + 850)
    edges = net.edges[keep].reset_index(drop=True)
    edges["length_m"] = edges["length_m"] * np.random.default_rng(3).uniform(1, 1.4, len(edges))
    return replace(study, network=WalkingNetwork(net.nodes, edges))


@pytest.fixture(scope="module")
def small_steps(small) -> Study:
    """The same grid with a fifth of its streets made flights of steps: elderly canteens
    are walked step-free (the default), kindergartens over every way."""
    edges = small.network.edges.copy()
    steps = np.random.default_rng(17).random(len(edges)) < 0.2
    edges["highway"] = np.where(steps, "steps", "residential")
    edges["steps"] = steps
    study = replace(small, network=WalkingNetwork(small.network.nodes, edges))
    assert study.categories["elderly_canteen"].step_free
    assert not study.categories["kindergarten"].step_free
    return study


def _rerun(study: Study, tables: dict[str, gpd.GeoDataFrame]) -> object:
    layers = {k: FacilityLayer(k, t.reset_index(drop=True)) for k, t in tables.items()}
    return replace(study, facilities=layers).run()


def _tables(study: Study) -> dict[str, gpd.GeoDataFrame]:
    return {k: f.facilities.copy() for k, f in study.facilities.items()}


def _text(values: pd.Series) -> np.ndarray:
    return np.array(["" if pd.isna(v) else str(v) for v in values], dtype=object)


def assert_same(got, want) -> None:
    """Every table of two results agrees (walking times to rounding, gaps as sets)."""
    for key in want.categories:
        t_got, t_want = got.cells[f"t_{key}"].to_numpy(), want.cells[f"t_{key}"].to_numpy()
        np.testing.assert_allclose(t_got, t_want, rtol=1e-9, atol=1e-9, equal_nan=True)
        assert (_text(got.cells[f"nearest_{key}"]) == _text(want.cells[f"nearest_{key}"])).all()
        assert (_text(got.cells[f"tier_{key}"]) == _text(want.cells[f"tier_{key}"])).all()
        if f"t_with_steps_{key}" in want.cells:  # walked step-free: with steps too
            np.testing.assert_allclose(
                got.cells[f"t_with_steps_{key}"].to_numpy(),
                want.cells[f"t_with_steps_{key}"].to_numpy(),
                rtol=1e-9,
                atol=1e-9,
                equal_nan=True,
            )
            assert (
                got.cells[f"barrier_{key}"].to_numpy() == want.cells[f"barrier_{key}"].to_numpy()
            ).all()
        if f"supply_{key}" in want.cells:
            np.testing.assert_allclose(
                got.cells[f"supply_{key}"].to_numpy(dtype=float),
                want.cells[f"supply_{key}"].to_numpy(dtype=float),
                rtol=1e-9,
                atol=1e-12,
                equal_nan=True,
            )
    pd.testing.assert_frame_equal(
        got.districts.reset_index(drop=True),
        want.districts.reset_index(drop=True),
        check_exact=False,
        rtol=1e-9,
        check_dtype=False,
    )
    if want.index is not None:
        pd.testing.assert_frame_equal(
            got.index.reset_index(drop=True),
            want.index.reset_index(drop=True),
            check_exact=False,
            rtol=1e-9,
            check_dtype=False,
        )
    gap_cols = [
        "category",
        "population",
        "cells",
        "area_km2",
        "mean_min",
        "unreachable_population",
        "nearest_min",
    ]

    def gaps(r):
        g = r.gaps.copy()
        g["cx"] = g.geometry.centroid.x.round(3)
        g["cy"] = g.geometry.centroid.y.round(3)
        return g.sort_values(["category", "cx", "cy"]).reset_index(drop=True)

    a, b = gaps(got), gaps(want)
    pd.testing.assert_frame_equal(
        a[gap_cols], b[gap_cols], check_exact=False, rtol=1e-9, check_dtype=False
    )
    assert (a.geometry.symmetric_difference(b.geometry).area < 1e-3).all()
    if want.barriers is not None:
        pd.testing.assert_frame_equal(
            got.barriers.reset_index(drop=True),
            want.barriers.reset_index(drop=True),
            check_exact=False,
            rtol=1e-9,
            check_dtype=False,
        )
        for name, by in (
            ("barrier_areas", ["category", "population", "area_km2"]),
            ("barrier_steps", ["category", "street", "population"]),
        ):
            a = getattr(got, name).sort_values(by).reset_index(drop=True)
            b = getattr(want, name).sort_values(by).reset_index(drop=True)
            pd.testing.assert_frame_equal(
                a[by], b[by], check_exact=False, rtol=1e-9, check_dtype=False
            )
    fa = got.facilities.set_index(["category", "facility_id"]).sort_index()
    fb = want.facilities.set_index(["category", "facility_id"]).sort_index()
    assert list(fa.index) == list(fb.index)
    assert (fa.geometry.distance(fb.geometry) < 1e-6).all()
    np.testing.assert_allclose(
        fa["capacity"].to_numpy(dtype=float), fb["capacity"].to_numpy(dtype=float), equal_nan=True
    )


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("grid", ["small", "small_steps"])
def test_random_add_remove_move_sequences_equal_a_full_rerun(request, grid, seed):
    small = request.getfixturevalue(grid)
    rng = np.random.default_rng(seed)
    tables = _tables(small)
    result = small.run()
    for step in range(3):
        key = str(rng.choice(list(tables)))
        table = tables[key]
        action = rng.choice(["add", "remove", "move"] if len(table) > 1 else ["add", "move"])
        if action == "add":
            xy = np.column_stack(
                [rng.uniform(X0 - 40, X0 + 1040, 2), rng.uniform(Y0 - 40, Y0 + 1040, 2)]
            )
            ids = [f"S{seed}-{step}-{i}" for i in range(2)]
            result = result.add_facilities(key, xy, crs="study", ids=ids, capacity=[30, 50])
            new = gpd.GeoDataFrame(
                {"facility_id": ids, "name": ids, "capacity": [30.0, 50.0], "provenance": "test"},
                geometry=shapely.points(xy),
                crs=table.crs,
            )
            tables[key] = pd.concat([table, new], ignore_index=True)
        elif action == "remove":
            gone = str(rng.choice(table["facility_id"]))
            result = result.remove_facilities(key, gone)
            tables[key] = table[table["facility_id"] != gone]
        else:
            which = str(rng.choice(table["facility_id"]))
            xy = (rng.uniform(X0 - 40, X0 + 1040), rng.uniform(Y0 - 40, Y0 + 1040))
            result = result.move_facilities(key, {which: xy}, crs="study")
            moved = table["facility_id"] == which
            table = table.copy()
            table.loc[moved, "geometry"] = shapely.points([xy])[0]
            tables[key] = table
        assert_same(result, _rerun(small, tables))
    assert len(result.parameters["what_if"]) == 3


def test_a_site_on_a_piece_without_facilities_reaches_its_cells(small):
    before = small.run()
    east = before.cells.geometry.centroid.x.to_numpy() > X0 + 850
    assert before.cells.loc[east, "t_kindergarten"].isna().all()
    after = before.add_facilities("kindergarten", [(X0 + 950, Y0 + 500)], crs="study")
    assert after.cells.loc[east, "t_kindergarten"].notna().all()
    tables = _tables(small)
    tables["kindergarten"] = pd.concat(
        [
            tables["kindergarten"],
            gpd.GeoDataFrame(
                {
                    "facility_id": ["new-kindergarten-01"],
                    "name": ["new-kindergarten-01"],
                    "capacity": [np.nan],
                    "provenance": ["test"],
                },
                geometry=shapely.points([[X0 + 950, Y0 + 500]]),
                crs=small.crs,
            ),
        ],
        ignore_index=True,
    )
    assert_same(after, _rerun(small, tables))


def test_closing_every_facility_of_a_category_equals_a_rerun(small):
    before = small.run()
    tables = _tables(small)
    after = before.remove_facilities("kindergarten", list(tables["kindergarten"]["facility_id"]))
    assert after.cells["t_kindergarten"].isna().all()
    tables["kindergarten"] = tables["kindergarten"].iloc[:0]
    assert_same(after, _rerun(small, tables))


def test_the_delta_counts_who_crossed_the_target(small):
    before = small.run()
    after = before.add_facilities("elderly_canteen", [(X0 + 450, Y0 + 300)], crs="study")
    delta = after.compare(before)
    assert set(delta["category"]) == {"elderly_canteen"}
    target = before.categories["elderly_canteen"].target_min
    t0 = before.cells["t_elderly_canteen"].fillna(np.inf).to_numpy()
    t1 = after.cells["t_elderly_canteen"].fillna(np.inf).to_numpy()
    pop = before.cells["pop_elderly_canteen"].to_numpy()
    whole = delta[delta["district"] == "ALL"].iloc[0]
    assert whole["gained"] == pytest.approx(pop[(t1 <= target) & (t0 > target)].sum())
    assert whole["lost"] == 0
    # Gap area: 100 m cells, 0.01 km² each.
    assert whole["gap_km2_change"] == pytest.approx(
        -0.01 * ((t1 <= target) & (t0 > target) & (pop > 0)).sum()
    )
    # Closing it again gives the same cohort back as lost.
    undo = after.remove_facilities("elderly_canteen", "new-elderly_canteen-01")
    back = undo.compare(after)
    assert back.loc[back["district"] == "ALL", "lost"].iloc[0] == pytest.approx(whole["gained"])


def test_a_fast_what_if_leaves_supply_out_rather_than_stale(small):
    before = small.run()
    after = before.add_facilities("kindergarten", [(X0 + 450, Y0 + 450)], crs="study", assess=False)
    assert after.cells["supply_kindergarten"].isna().all()
    assert "not recomputed" in after.diagnostics["supply"]
    np.testing.assert_array_equal(
        after.cells["supply_elderly_canteen"].to_numpy(),
        before.cells["supply_elderly_canteen"].to_numpy(),
    )


def test_wgs84_input_and_errors_name_the_problem(small):
    result = small.run()
    lonlat = gpd.GeoSeries(shapely.points([[X0 + 430, Y0 + 460]]), crs=small.crs).to_crs(4326)
    a = result.add_facilities("kindergarten", [(lonlat.x[0], lonlat.y[0])])
    b = result.add_facilities("kindergarten", [(X0 + 430, Y0 + 460)], crs="study")
    np.testing.assert_allclose(a.cells["t_kindergarten"], b.cells["t_kindergarten"], rtol=1e-7)
    with pytest.raises(InputError, match="unknown category 'school'"):
        result.add_facilities("school", [(X0, Y0)], crs="study")
    with pytest.raises(InputError, match="no kindergarten facility with id 'KX9'"):
        result.remove_facilities("kindergarten", "KX9")
    with pytest.raises(InputError, match=r"farther than .* from every street"):
        result.add_facilities("kindergarten", [(X0 + 5000, Y0)], crs="study")
    with pytest.raises(InputError, match="already used"):
        result.add_facilities("kindergarten", [(X0, Y0)], crs="study", ids=["KI0"])
    with pytest.raises(InputError, match="lon/lat"):
        result.add_facilities("kindergarten", pd.DataFrame({"a": [1.0]}))


@pytest.mark.slow
def test_demo_what_if_equals_a_rerun():
    study = Study.demo()
    before = study.run()
    street_points = gap_candidates(before, "elderly_canteen").geometry.to_numpy()
    spots = shapely.get_coordinates(street_points[[0, len(street_points) // 2, -1]])
    after = before.add_facilities("elderly_canteen", spots, crs="study", capacity=60)
    after = after.remove_facilities("elderly_canteen", ["EC001", "EC005"])
    school = before.facilities.query("category == 'primary_school'").iloc[3]
    to = (school.geometry.x + 900.0, school.geometry.y - 400.0)
    after = after.move_facilities("primary_school", {school["facility_id"]: to}, crs="study")
    tables = _tables(study)
    canteens = tables["elderly_canteen"]
    canteens = canteens[~canteens["facility_id"].isin(["EC001", "EC005"])]
    ids = [f"new-elderly_canteen-{i:02d}" for i in (1, 2, 3)]
    tables["elderly_canteen"] = pd.concat(
        [
            canteens,
            gpd.GeoDataFrame(
                {"facility_id": ids, "name": ids, "capacity": 60.0, "provenance": "test"},
                geometry=shapely.points(spots),
                crs=study.crs,
            ),
        ],
        ignore_index=True,
    )
    schools = tables["primary_school"].copy()
    schools.loc[schools["facility_id"] == school["facility_id"], "geometry"] = shapely.points([to])[
        0
    ]
    tables["primary_school"] = schools
    assert_same(after, _rerun(study, tables))


# ---------------------------------------------------------------------------- sessions


def test_session_undo_redo_and_its_scenario_file_reproduce_the_figures(small, tmp_path):
    from circle15 import WhatIfSession
    from circle15.planning.scenario import apply_scenario, load_scenario

    baseline = small.run()
    session = WhatIfSession(baseline)
    one = session.add(
        "kindergarten", [(X0 + 950, Y0 + 500)], crs="study", names=["东园"], capacity=40
    )
    two = session.move("elderly_canteen", {"EL0": (X0 + 450, Y0 + 300)}, crs="study")
    three = session.remove("kindergarten", "KI0")
    assert [e.category for e in session.edits] == [
        "kindergarten",
        "elderly_canteen",
        "kindergarten",
    ]
    assert_same(session.undo(), two)
    assert_same(session.undo(), one)
    assert_same(session.redo(), two)
    assert_same(session.redo(), three)
    with pytest.raises(InputError, match="nothing to redo"):
        session.redo()

    # The oracle: a full re-run with the edited facility tables.
    tables = _tables(small)
    kg = tables["kindergarten"]
    tables["kindergarten"] = pd.concat(
        [
            kg[kg["facility_id"] != "KI0"],
            gpd.GeoDataFrame(
                {
                    "facility_id": ["new-kindergarten-01"],
                    "name": ["东园"],
                    "capacity": [40.0],
                    "provenance": ["test"],
                },
                geometry=shapely.points([[X0 + 950, Y0 + 500]]),
                crs=small.crs,
            ),
        ],
        ignore_index=True,
    )
    ec = tables["elderly_canteen"].copy()
    ec.loc[ec["facility_id"] == "EL0", "geometry"] = shapely.points([[X0 + 450, Y0 + 300]])
    tables["elderly_canteen"] = ec
    assert_same(session.current, _rerun(small, tables))

    # The scenario the session writes gives the same result through `run --scenario`'s path.
    path = session.write_scenario(tmp_path / "plan.toml", "plan", title="东园")
    scenario = load_scenario(path)
    assert {(e.category, e.id) for e in scenario.add} == {("kindergarten", "new-kindergarten-01")}
    assert [(e.category, e.id) for e in scenario.remove] == [("kindergarten", "KI0")]
    assert [(e.category, e.id) for e in scenario.move] == [("elderly_canteen", "EL0")]
    assert_same(apply_scenario(baseline, scenario), session.current)
    assert session.reset() is baseline and not session.can_undo


def test_session_serves_threads_one_edit_at_a_time(small):
    from concurrent.futures import ThreadPoolExecutor

    from circle15 import WhatIfSession

    session = WhatIfSession(small.run(), assess=False)
    points = [(X0 + 100 + 80 * i, Y0 + 450) for i in range(8)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda xy: session.add("kindergarten", [xy], crs="study"), points))
    assert len(session.edits) == 8
    ids = set(session.current.facilities["facility_id"])
    assert {f"new-kindergarten-{i:02d}" for i in range(1, 9)} <= ids
    # Undoing every edit walks back to the baseline's figures.
    for _ in range(8):
        session.undo()
    np.testing.assert_array_equal(
        session.current.cells["t_kindergarten"].to_numpy(),
        session.baseline.cells["t_kindergarten"].to_numpy(),
    )


def test_the_grid_with_steps_cuts_some_residents_off(small_steps):
    result = small_steps.run()
    cells = result.cells
    target = result.categories["elderly_canteen"].target_min
    t, steps = cells["t_elderly_canteen"], cells["t_with_steps_elderly_canteen"]
    assert (steps.fillna(np.inf) <= t.fillna(np.inf) + 1e-9).all()  # steps only help
    cut = (steps <= target) & ~(t <= target)
    assert cut.any() and (cells["barrier_elderly_canteen"] == cut).all()
    whole = result.barriers.query("district == 'ALL' and category == 'elderly_canteen'")
    assert whole["barrier_population"].iloc[0] == pytest.approx(
        cells.loc[cut, "pop_elderly_canteen"].sum()
    )
    assert "t_with_steps_kindergarten" not in cells  # walked over every way
    assert result.barrier_steps["population"].max() > 0
