"""Two-step floating catchment supply against plain-Python oracles and hand-worked cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from circle15 import Study
from circle15.analysis.assessment import assess
from circle15.analysis.index import IndexSettings
from circle15.analysis.supply import (
    SupplySettings,
    district_supply,
    floating_catchment,
    gaussian_weights,
    step_weights,
)
from circle15.standards import load_standards

from ..factories.studies import write_small_study

# ---------------------------------------------------------------- plain-Python oracle


def oracle_2sfca(
    times: dict[tuple[int, int], float], capacity: list[float], demand: list[float], weight
) -> list[float]:
    """Luo & Wang's two steps written out with loops over (facility, cell) pairs."""
    ratio = {}
    for j, s in enumerate(capacity):
        reached = sum(weight(t) * demand[i] for (jj, i), t in times.items() if jj == j)
        ratio[j] = s / reached if reached > 0 else 0.0
    return [
        sum(weight(t) * ratio[j] for (j, ii), t in times.items() if ii == i)
        for i in range(len(demand))
    ]


def oracle_step(t: float) -> float:
    if t <= 5:
        return 1.0
    if t <= 10:
        return 0.68
    return 0.22 if t <= 15 else 0.0


def oracle_gaussian(t: float, limit: float = 15.0) -> float:
    if t >= limit:
        return 0.0
    return (math.exp(-0.5 * (t / limit) ** 2) - math.exp(-0.5)) / (1 - math.exp(-0.5))


# Three facilities, six cells; walking minutes within the 15-minute catchment.
TIMES = {
    (0, 0): 0.0,
    (0, 1): 4.0,
    (0, 2): 9.5,
    (0, 3): 14.0,
    (1, 2): 3.0,
    (1, 3): 6.0,
    (1, 4): 10.0,
    (2, 4): 15.0,
    (2, 5): 7.5,
}
CAPACITY = [50.0, 30.0, 20.0]
DEMAND = [10.0, 40.0, 25.0, 5.0, 60.0, 0.0]


def _matrix(times: dict[tuple[int, int], float], shape: tuple[int, int]) -> sp.csr_array:
    rows, cols = zip(*times, strict=True)
    coo = sp.coo_array((list(times.values()), (rows, cols)), shape=shape)
    out = sp.csr_array((coo.data, (coo.row, coo.col)), shape=shape)
    # Keep the explicit zero (a cell on a facility's doorstep), as the engine does.
    assert out.nnz == len(times)
    return out


@pytest.mark.parametrize("variant", ["2sfca", "step", "gaussian"])
def test_each_variant_equals_the_plain_python_oracle(variant):
    weight = {"2sfca": lambda t: 1.0, "step": oracle_step, "gaussian": oracle_gaussian}[variant]
    decay = {
        "2sfca": None,
        "step": lambda t: step_weights(t, (5, 10, 15), (1.0, 0.68, 0.22)),
        "gaussian": lambda t: gaussian_weights(t, 15.0),
    }[variant]
    got = floating_catchment(_matrix(TIMES, (3, 6)), np.array(CAPACITY), np.array(DEMAND), decay)
    expected = oracle_2sfca(TIMES, CAPACITY, DEMAND, weight)
    np.testing.assert_allclose(got.cell_supply, expected, rtol=1e-12)
    # Capacity is shared out in full, sum_i P_i A_i = sum_j S_j, over the facilities with
    # anyone in reach at a weight above 0 (under the Gaussian, facility 2 reaches cell 4 at
    # exactly 15 minutes, weight 0, and the empty cell 5: idle).
    active = [
        s
        for j, s in enumerate(CAPACITY)
        if sum(weight(t) * DEMAND[i] for (jj, i), t in TIMES.items() if jj == j) > 0
    ]
    assert (np.array(DEMAND) * got.cell_supply).sum() == pytest.approx(sum(active))
    assert len(active) == (2 if variant == "gaussian" else 3)


def test_plain_2sfca_by_hand():
    # One 60-place facility reached by cells of 10 and 20 children; a third cell (30
    # children) is out of reach: 60 / (10 + 20) = 2 places per child, 0 beyond reach.
    got = floating_catchment(
        _matrix({(0, 0): 2.0, (0, 1): 14.0}, (1, 3)), np.array([60.0]), np.array([10.0, 20.0, 30.0])
    )
    np.testing.assert_allclose(got.cell_supply, [2.0, 2.0, 0.0])
    np.testing.assert_allclose(got.facility_ratio, [2.0])


def test_step_e2sfca_by_hand():
    # Weights 1 (3 min) and 0.22 (12 min): R = 10 / (2 x 1 + 3 x 0.22) = 10 / 2.66.
    got = floating_catchment(
        _matrix({(0, 0): 3.0, (0, 1): 12.0}, (1, 2)),
        np.array([10.0]),
        np.array([2.0, 3.0]),
        lambda t: step_weights(t, (5, 10, 15), (1.0, 0.68, 0.22)),
    )
    r = 10 / 2.66
    np.testing.assert_allclose(got.cell_supply, [r, 0.22 * r])


def test_step_limit_belongs_to_the_lower_tier():
    np.testing.assert_allclose(
        step_weights(np.array([0.0, 5.0, 5.01, 10.0, 15.0, 15.01]), (5, 10, 15), (1.0, 0.68, 0.22)),
        [1.0, 1.0, 0.68, 0.68, 0.22, 0.0],
    )
    np.testing.assert_allclose(gaussian_weights(np.array([0.0, 15.0, 20.0]), 15.0), [1.0, 0.0, 0.0])


def test_idle_facility_and_unknown_capacity():
    times = {(0, 0): 1.0, (1, 1): 1.0, (2, 0): 2.0}
    capacity = np.array([10.0, 99.0, np.nan])
    demand = np.array([5.0, 0.0])  # facility 1 reaches only an empty cell: idle
    got = floating_catchment(_matrix(times, (3, 2)), capacity, demand)
    np.testing.assert_allclose(got.cell_supply, [2.0, 0.0])
    assert np.isnan(got.facility_ratio[1]) and np.isnan(got.facility_ratio[2])
    # "median": the unknown capacity becomes the median of 10 and 99 = 54.5.
    got = floating_catchment(_matrix(times, (3, 2)), capacity, demand, missing_capacity="median")
    np.testing.assert_allclose(got.cell_supply, [(10 + 54.5) / 5, 0.0])
    # No known capacity at all: supply cannot be said, NaN rather than 0.
    got = floating_catchment(_matrix(times, (3, 2)), np.full(3, np.nan), demand)
    assert np.isnan(got.cell_supply).all()


# ---------------------------------------------- district values, documented edge cases


def _frames():
    """Three sub-districts: A has residents and a facility, B residents but nothing
    within reach, C no residents at all."""
    cells = pd.DataFrame(
        {
            "district": ["A", "A", "B"],
            "pop_total": [1000.0, 1000.0, 500.0],
            "pop_childcare": [20.0, 30.0, 10.0],
            "snapped": [True] * 3,
            "t_childcare": [2.0, 12.0, np.nan],
        }
    )
    return cells, {"childcare": load_standards().categories["childcare"]}


def test_facility_less_and_population_less_districts_have_defined_values():
    cells, cats = _frames()
    from circle15.analysis import district_table

    table = district_table(cells, cats, ["A", "B", "C"])
    catchment = _matrix({(0, 0): 2.0, (0, 1): 12.0}, (1, 3))
    zones = pd.DataFrame({"district": ["A", "B", "C"], "name_en": ["A", "B", "C"]})
    found = assess(
        cells,
        table,
        cats,
        zones,
        {"childcare": catchment},
        {"childcare": np.array([9.0])},
        {"childcare": np.array(["A"], object)},
        SupplySettings(),
        IndexSettings(),
    )
    d = found.districts.set_index("district")
    # A: 9 places for the 50 children in reach -> 0.18 a child; 9 per 2,000 residents
    # = 4.5 per 1,000, the Zhejiang norm exactly: met.
    assert d.loc["A", "supply_ratio"] == pytest.approx(0.18)
    assert d.loc["A", "accessible_provision"] == pytest.approx(4.5)
    assert d.loc["A", "norm_ratio"] == pytest.approx(1.0) and d.loc["A", "norm_met"]
    # B: residents, nothing in reach -> supply 0, norm not met (a value, not a crash).
    assert d.loc["B", "supply_ratio"] == 0.0 and d.loc["B", "norm_ratio"] == 0.0
    assert not d.loc["B", "norm_met"]
    assert d.loc["B", "score_quality"] == 0.0
    # C: nobody lives there -> no ratio (NaN), norm_met unknown (NA), no index (NaN).
    assert np.isnan(d.loc["C", "supply_ratio"]) and np.isnan(d.loc["C", "norm_ratio"])
    assert pd.isna(d.loc["C", "norm_met"])
    index = found.index.table.set_index("district")
    assert np.isnan(index.loc["C", "composite"]) and pd.isna(index.loc["C", "rank"])
    assert index.loc["A", "rank"] == 1 and index.loc["B", "rank"] == 2
    # ALL: 9 places for 60 children and 2,500 residents.
    assert d.loc["ALL", "supply_ratio"] == pytest.approx(9 / 60)
    assert d.loc["ALL", "accessible_provision"] == pytest.approx(9 / 2500 * 1000)


def test_provision_counts_capacity_where_facilities_stand():
    cells, cats = _frames()
    cells["supply_childcare"] = [0.18, 0.18, 0.0]
    table = district_supply(
        cells,
        cats,
        ["A", "B", "C"],
        {"childcare": np.array([9.0, 4.0, np.nan])},
        {"childcare": np.array(["A", "B", None], object)},
    )
    t = table.set_index("district")
    assert t.loc["B", "capacity"] == 4.0 and t.loc["B", "provision"] == pytest.approx(8.0)
    assert t.loc["ALL", "capacity"] == 13.0


# ---------------------------------------------------------- the pipeline on a small grid


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return Study.from_config(write_small_study(tmp_path_factory.mktemp("supply"))).run()


def test_pipeline_supply_equals_the_oracle_on_engine_times(small):
    # The small grid has one kindergarten (100 seats): with one facility its catchment
    # is every cell whose walking time (engine, tested against networkx) is within 15
    # minutes, and the 2SFCA is 100 / cohort in reach for those cells, 0 elsewhere.
    cells = small.cells
    t = cells["t_kindergarten"].to_numpy()
    pop = cells["pop_kindergarten"].to_numpy()
    times = {(0, i): float(t[i]) for i in range(len(t)) if t[i] <= 15}
    expected = oracle_2sfca(times, [100.0], list(pop), lambda _: 1.0)
    np.testing.assert_allclose(cells["supply_kindergarten"], expected, rtol=1e-9)
    fac = small.facilities.set_index("facility_id")
    assert fac.loc["KI0", "district"] == "西区"
    assert fac.loc["KI0", "capacity_per_resident"] == pytest.approx(
        100 / sum(pop[i] for (_, i) in times)
    )
    assert {"capacity", "supply_ratio", "norm", "norm_met", "score_quality"} <= set(
        small.districts.columns
    )


def test_e2sfca_setting_changes_supply_not_its_total(tmp_path):
    toml = write_small_study(tmp_path)
    toml.write_text(
        toml.read_text(encoding="utf-8") + '\n[supply]\nmethod = "e2sfca"\ndecay = "gaussian"\n',
        encoding="utf-8",
    )
    res = Study.from_config(toml).run()
    cells = res.cells
    total = (cells["pop_kindergarten"] * cells["supply_kindergarten"]).sum()
    assert total == pytest.approx(100.0)
    t = cells["t_kindergarten"].to_numpy()
    near, far = np.nanargmin(t), np.nanargmax(np.where(t <= 15, t, -1))
    assert cells["supply_kindergarten"].iloc[near] > cells["supply_kindergarten"].iloc[far]
    assert res.parameters["supply"]["decay"] == "gaussian"


def test_bad_supply_config_names_the_field(tmp_path):
    from circle15.errors import ConfigError

    toml = write_small_study(tmp_path)
    toml.write_text(
        toml.read_text(encoding="utf-8")
        + '\n[supply]\nmethod = "e2sfca"\nstep_weights = [1.0, 0.5]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="step_weights"):
        Study.from_config(toml)
