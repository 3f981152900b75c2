"""Coverage tiers, district aggregation and gap areas against hand-worked figures."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from circle15.analysis import ALL, district_table, gap_areas, tier_labels, weighted_quantile
from circle15.standards import load_standards

CAT = load_standards().categories["kindergarten"]  # tiers 5/10/15, target 15


def test_tier_labels_put_limits_in_the_lower_tier_and_nan_apart():
    minutes = np.array([0.0, 4.99, 5.0, 5.01, 10.0, 15.0, 15.01, 80.0, np.nan])
    assert list(tier_labels(minutes, (5, 10, 15))) == [
        "0-5",
        "0-5",
        "0-5",
        "5-10",
        "5-10",
        "10-15",
        ">15",
        ">15",
        "unreachable",
    ]


def test_weighted_quantile_by_hand():
    # 10 people: 5 at 2 min, 4 at 8 min, 1 at 30 min. The 90th percentile person (the 9th)
    # walks 8 min; the 50th percentile person (the 5th) walks 2 min.
    t = np.array([30.0, 2.0, 8.0])
    w = np.array([1.0, 5.0, 4.0])
    assert weighted_quantile(t, w, 0.9) == 8.0
    assert weighted_quantile(t, w, 0.5) == 2.0
    assert np.isnan(weighted_quantile(t, np.zeros(3), 0.9))


def _cells() -> pd.DataFrame:
    # Two districts, A and B. District A: 100 children at 3 min, 50 at 12 min, 10 at 20 min.
    # District B: 40 at 7 min, 30 unreachable (snapped, other network piece),
    # 20 unsnapped (no street within reach).
    return pd.DataFrame(
        {
            "district": ["A", "A", "A", "B", "B", "B"],
            "pop_kindergarten": [100.0, 50.0, 10.0, 40.0, 30.0, 20.0],
            "t_kindergarten": [3.0, 12.0, 20.0, 7.0, np.nan, np.nan],
            "snapped": [True, True, True, True, True, False],
        }
    )


def test_district_table_by_hand():
    table = district_table(_cells(), {"kindergarten": CAT}, ["A", "B", "C"])
    a = table.set_index("district").loc["A"]
    assert a["population"] == 160
    assert (a["pop_within_5"], a["pop_within_10"], a["pop_within_15"]) == (100, 100, 150)
    assert a["covered_population"] == 150 and a["coverage"] == pytest.approx(150 / 160)
    assert a["mean_min"] == pytest.approx((100 * 3 + 50 * 12 + 10 * 20) / 160)
    assert a["p90_min"] == 12.0  # the 144th of 160 residents walks 12 min
    assert a["unreachable_population"] == 0
    b = table.set_index("district").loc["B"]
    assert b["population"] == 90 and b["covered_population"] == 40
    assert b["unreachable_population"] == 50 and b["unsnapped_population"] == 20
    assert b["mean_min"] == 7.0  # over those who can reach a kindergarten
    c = table.set_index("district").loc["C"]  # no cells: defined zeros, coverage NaN
    assert c["population"] == 0 and np.isnan(c["coverage"]) and np.isnan(c["mean_min"])


def test_all_rows_are_the_sums_of_the_districts():
    table = district_table(_cells(), {"kindergarten": CAT}, ["A", "B", "C"])
    parts = table[table["district"] != ALL]
    whole = table[table["district"] == ALL].iloc[0]
    for col in [
        "population",
        "pop_within_5",
        "pop_within_10",
        "pop_within_15",
        "covered_population",
        "unreachable_population",
        "unsnapped_population",
    ]:
        assert whole[col] == pytest.approx(parts[col].sum())
    assert whole["coverage"] == pytest.approx(190 / 250)


def _grid_cells() -> gpd.GeoDataFrame:
    # A 4x1 strip of 100 m cells plus one cell far away; cells 0-1 beyond target,
    # cell 2 fine, cell 3 unreachable, cell 4 beyond target (a separate gap).
    geoms = [box(i * 100, 0, (i + 1) * 100, 100) for i in range(4)] + [box(1000, 0, 1100, 100)]
    return gpd.GeoDataFrame(
        {
            "district": ["A", "A", "B", "B", "B"],
            "pop_kindergarten": [10.0, 20.0, 5.0, 7.0, 3.0],
            "t_kindergarten": [16.0, 18.0, 4.0, np.nan, 25.0],
            "nearest_kindergarten": ["K1", "K2", "K1", None, "K2"],
        },
        geometry=geoms,
        crs="EPSG:32651",
    )


def test_gap_areas_merge_touching_cells_and_rank_by_population():
    gaps = gap_areas(_grid_cells(), CAT, {"K1": "one", "K2": "two"})
    assert len(gaps) == 3  # cells 0-1 together, cell 3 alone, cell 4 alone
    first = gaps.iloc[0]
    assert first["rank"] == 1 and first["population"] == 30 and first["cells"] == 2
    assert first["area_km2"] == pytest.approx(0.02)
    assert first["mean_min"] == pytest.approx((10 * 16 + 20 * 18) / 30)
    assert first["nearest_facility"] == "K1" and first["nearest_min"] == 16.0
    assert first["nearest_name"] == "one" and first["district"] == "A"
    unreachable = gaps[gaps["population"] == 7].iloc[0]
    assert np.isnan(unreachable["mean_min"]) and unreachable["unreachable_population"] == 7
    assert list(gaps["rank"]) == [1, 2, 3]
    assert gaps["population"].sum() == 40


def test_no_gap_gives_an_empty_frame_with_the_columns():
    cells = _grid_cells()
    cells["t_kindergarten"] = 1.0
    gaps = gap_areas(cells, CAT, {})
    assert gaps.empty and "population" in gaps.columns


def _district_table_by_masks(cells, categories, districts):
    """The plain oracle: one boolean mask and numpy reduction per (district, category)."""
    from circle15.analysis.coverage import weighted_quantile, within_column

    rows = []
    groups = [(d, cells["district"].to_numpy() == d) for d in districts]
    groups.append(("ALL", np.ones(len(cells), bool)))
    for key, cat in categories.items():
        pop = cells[f"pop_{key}"].to_numpy(dtype=float)
        t = cells[f"t_{key}"].to_numpy(dtype=float)
        snapped = cells["snapped"].to_numpy(dtype=bool)
        reach = ~np.isnan(t)
        for name, mask in groups:
            p, tt, r = pop[mask], t[mask], reach[mask]
            row = {"district": name, "category": key, "population": p.sum()}
            for tier in cat.tiers_min:
                row[within_column(tier)] = p[r & (tt <= tier)].sum()
            covered = p[r & (tt <= cat.target_min)].sum()
            row.update(
                target_min=cat.target_min,
                covered_population=covered,
                coverage=covered / row["population"] if row["population"] > 0 else np.nan,
                mean_min=np.average(tt[r], weights=p[r]) if p[r].sum() > 0 else np.nan,
                p90_min=weighted_quantile(tt[r], p[r], 0.9),
                unreachable_population=p[~r].sum(),
                unsnapped_population=p[~snapped[mask]].sum(),
            )
            rows.append(row)
    return pd.DataFrame(rows)


@pytest.mark.parametrize("seed", range(8))
def test_district_table_equals_one_mask_per_district(seed):
    from circle15.standards import load_standards

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    names = [f"街道{i}" for i in range(int(rng.integers(1, 6)))]
    t = rng.choice([np.nan, 3.0, 5.0, 7.5, 10.0, 15.0, 15.0001, 40.0], n) * rng.choice(
        [1.0, 1.0, rng.uniform(0.5, 2)], n
    )
    cells = pd.DataFrame(
        {
            # a few cells lie outside every named sub-district: they count in ALL only
            "district": rng.choice([*names, "elsewhere"], n),
            "snapped": rng.random(n) > 0.05,
            "pop_childcare": rng.choice([0.0, 0.5, 3.0, 12.0], n),
            "t_childcare": t,
        }
    )
    cats = {"childcare": load_standards().categories["childcare"]}
    got = district_table(cells, cats, names)
    want = _district_table_by_masks(cells, cats, names)
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-12, atol=1e-9)
