"""Gap merging on grids: the coverage-union shortcut against the general union."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
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
    frame = gpd.GeoDataFrame({
        "district": np.where(np.arange(len(cells)) % 30 < 15, "west", "east"),
        "pop_kindergarten": rng.integers(0, 5, len(cells)).astype(float),
        "t_kindergarten": t,
        "nearest_kindergarten": np.where(np.isnan(t), None, "K1"),
    }, geometry=cells, crs="EPSG:32651")
    general = gap_areas(frame, cat, {"K1": "one"})
    fast = gap_areas(frame, cat, {"K1": "one"}, cells_form_coverage=True)
    assert len(general) == len(fast) > 10

    def key(g):  # order-free comparison: ties in (population, area) may swap ranks
        c = shapely.centroid(g.geometry.to_numpy())
        return g.assign(cx=shapely.get_x(c).round(6), cy=shapely.get_y(c).round(6)).sort_values(
            ["cx", "cy"]).reset_index(drop=True)

    a, b = key(general), key(fast)
    assert shapely.equals(a.geometry.to_numpy(), b.geometry.to_numpy()).all()
    for col in ["population", "cells", "area_km2", "mean_min", "unreachable_population",
                "district"]:
        assert a[col].equals(b[col]) or np.allclose(a[col], b[col], equal_nan=True), col
