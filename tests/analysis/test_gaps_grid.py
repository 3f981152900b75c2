"""Gap merging on grids: the coverage-union shortcut against the general union."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from circle15.analysis.gaps import cells_form_coverage, gap_areas
from circle15.standards import load_standards


def _grid(n: int, size: float = 100.0) -> np.ndarray:
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    x, y = jj.ravel() * size, ii.ravel() * size
    return shapely.box(x, y, x + size, y + size)


def test_cells_form_coverage():
    grid = _grid(5)
    assert cells_form_coverage(grid)
    assert cells_form_coverage(grid[::2])  # any subset of a tiling still tiles
    overlapping = np.append(grid, shapely.box(50, 50, 150, 150))
    assert not cells_form_coverage(overlapping)
    assert not cells_form_coverage(shapely.centroid(grid))  # points are no tiling
    assert not cells_form_coverage(np.empty(0, dtype=object))


def test_gap_areas_by_coverage_union_equal_the_general_union():
    rng = np.random.default_rng(3)
    cells = _grid(30)
    cat = load_standards().categories["kindergarten"]
    t = rng.uniform(0, 30, len(cells))
    t[rng.random(len(cells)) < 0.05] = np.nan  # some cells reach no kindergarten
    frame = gpd.GeoDataFrame(
        {
            "district": np.where(np.arange(len(cells)) % 30 < 15, "west", "east"),
            "pop_kindergarten": rng.integers(0, 5, len(cells)).astype(float),
            "t_kindergarten": t,
            "nearest_kindergarten": np.where(np.isnan(t), None, "K1"),
        },
        geometry=cells,
        crs="EPSG:32651",
    )
    general = gap_areas(frame, cat, {"K1": "one"})
    fast = gap_areas(frame, cat, {"K1": "one"}, cells_form_coverage=True)
    assert len(general) == len(fast) > 10

    def key(g):  # order-free comparison: ties in (population, area) may swap ranks
        c = shapely.centroid(g.geometry.to_numpy())
        return (
            g.assign(cx=shapely.get_x(c).round(6), cy=shapely.get_y(c).round(6))
            .sort_values(["cx", "cy"])
            .reset_index(drop=True)
        )

    a, b = key(general), key(fast)
    assert shapely.equals(a.geometry.to_numpy(), b.geometry.to_numpy()).all()
    for col in [
        "population",
        "cells",
        "area_km2",
        "mean_min",
        "unreachable_population",
        "district",
    ]:
        assert a[col].equals(b[col]) or np.allclose(a[col], b[col], equal_nan=True), col


def _two_zone_grid() -> gpd.GeoDataFrame:
    """Six columns by three rows of 100 m cells; columns 0-2 are 西, columns 3-5 are 东.

    Kindergarten times (target 15 min), by column (rows 0, 1, 2 from the bottom):
    column 0: 5, 20, 20 -- column 1: 20, 20, 20 -- column 2: 30, NaN, 25 (west, gap but
    the bottom-left cell); column 3: 18, 16, 40 -- column 4: 10, 10, 10 (covered) --
    column 5: NaN, NaN, 17. The west gap and column 3 touch along the boundary: one
    blob before splitting, two gaps after; column 5 is a third gap.
    """
    times = {
        0: (5, 20, 20),
        1: (20, 20, 20),
        2: (30, np.nan, 25),
        3: (18, 16, 40),
        4: (10, 10, 10),
        5: (np.nan, np.nan, 17),
    }
    rows = []
    for col, ts in times.items():
        for row, t in enumerate(ts):
            rows.append(
                {
                    "district": "西" if col < 3 else "东",
                    "pop_kindergarten": float(10 * col + row + 1),
                    "t_kindergarten": float(t),
                    "nearest_kindergarten": None if np.isnan(t) else ("KW" if col < 3 else "KE"),
                    "geometry": shapely.box(col * 100, row * 100, col * 100 + 100, row * 100 + 100),
                }
            )
    return gpd.GeoDataFrame(rows, crs="EPSG:32651")


def test_gaps_split_at_sub_district_boundaries_by_hand():
    from circle15.analysis.gap_parts import cell_adjacency, quick_gap_areas

    cells = _two_zone_grid()
    cat = load_standards().categories["kindergarten"]
    names = {"KW": "west school", "KE": "east school"}
    for gaps in (
        gap_areas(cells, cat, names),
        gap_areas(cells, cat, names, cells_form_coverage=True),
        quick_gap_areas(cells, cat, names, cell_adjacency(cells.geometry.to_numpy())),
    ):
        assert len(gaps) == 3
        west = next(g for g in gaps.itertuples() if g.district == "西")
        east = gaps[gaps["district"] == "东"].sort_values("population")
        east3, east5 = east.iloc[0], east.iloc[1]
        # West: every west cell but (0, 0): populations 2, 3 (column 0), 11, 12, 13,
        # 21, 22, 23 -> 107; the unreachable cell (2, 1) holds 22.
        assert west.population == 107 and west.unreachable_population == 22
        assert west.area_km2 == pytest.approx(0.08)
        # Reachable: (2*20 + 3*20 + 11*20 + 12*20 + 13*20 + 21*30 + 23*25) / 85.
        assert west.mean_min == pytest.approx((40 + 60 + 220 + 240 + 260 + 630 + 575) / 85)
        assert (west.nearest_facility, west.nearest_name, west.nearest_min) == (
            "KW",
            "west school",
            20.0,
        )
        # Column 3: 31 + 32 + 33 = 96, closest 16 min; column 5: 51 + 52 + 53 = 156,
        # only the top cell (17 min) reaches a school.
        assert east3["population"] == 96 and east3["nearest_min"] == 16.0
        assert east3["area_km2"] == pytest.approx(0.03)
        assert east5["population"] == 156 and east5["unreachable_population"] == 103
        assert east5["nearest_min"] == 17.0 and east5["nearest_facility"] == "KE"
        # Ranked by population; the west gap does not reach into the east.
        assert gaps["rank"].tolist() == [1, 2, 3]
        assert gaps["population"].tolist() == [156, 107, 96]
        assert shapely.equals(
            west.geometry, shapely.box(0, 0, 300, 300).difference(shapely.box(0, 0, 100, 100))
        )


def test_gap_population_per_sub_district_is_the_uncovered_cohort():
    """Oracle: the district table's ``population - covered_population``."""
    from circle15.analysis.coverage import district_table
    from circle15.analysis.gap_parts import cell_adjacency, quick_gap_areas

    rng = np.random.default_rng(11)
    cells = _grid(24)
    cat = load_standards().categories["kindergarten"]
    t = rng.uniform(0, 30, len(cells))
    t[rng.random(len(cells)) < 0.05] = np.nan
    centre = shapely.centroid(cells)
    # Three zones cut diagonally and by a circle: the boundaries cross the gaps.
    x, y = shapely.get_x(centre), shapely.get_y(centre)
    zone = np.where(np.hypot(x - 1200, y - 1200) < 700, "圆", np.where(x > y, "东", "西"))
    frame = gpd.GeoDataFrame(
        {
            "district": zone,
            "snapped": True,
            "pop_kindergarten": rng.integers(0, 5, len(cells)).astype(float),
            "t_kindergarten": t,
            "nearest_kindergarten": np.where(np.isnan(t), None, "K1"),
        },
        geometry=cells,
        crs="EPSG:32651",
    )
    table = district_table(frame, {cat.key: cat}, ["东", "西", "圆"]).set_index("district")
    general = gap_areas(frame, cat, {"K1": "one"})
    quick = quick_gap_areas(frame, cat, {"K1": "one"}, cell_adjacency(cells))
    for gaps in (general, quick):
        per = gaps.groupby("district")["population"].sum()
        for d in ("东", "西", "圆"):
            assert per[d] == pytest.approx(
                table.loc[d, "population"] - table.loc[d, "covered_population"]
            )
        # No gap polygon crosses into a cell of another sub-district.
        hit_cell, hit_gap = shapely.STRtree(gaps.geometry.to_numpy()).query(
            shapely.point_on_surface(cells), predicate="within"
        )
        assert (zone[hit_cell] == gaps["district"].to_numpy()[hit_gap]).all()
    assert len(general) == len(quick)
    assert sorted(general["population"]) == sorted(quick["population"])
