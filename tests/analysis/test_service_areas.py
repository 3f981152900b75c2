"""Service areas and who each facility serves, checked against hand-worked grids."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from circle15.analysis.service_areas import facility_reach, service_areas
from circle15.standards import load_standards

from ..factories.results import make_result

CAT = load_standards().categories["childcare"]  # target 15 min


def _grid(nearest: list[str | None], minutes: list[float], pop: list[float]) -> gpd.GeoDataFrame:
    """3 x 2 cells of 100 m, row by row from the south-west: (0,0) (1,0) (2,0) (0,1) ..."""
    geoms = [
        box(i * 100, j * 100, (i + 1) * 100, (j + 1) * 100) for j in range(2) for i in range(3)
    ]
    return gpd.GeoDataFrame(
        {"nearest_childcare": nearest, "t_childcare": minutes, "pop_childcare": pop},
        geometry=geoms,
        crs="EPSG:32651",
    )


@pytest.fixture
def cells() -> gpd.GeoDataFrame:
    # A serves the two west cells of the south row; its north-west cell is 16 min away
    # (beyond 15); B serves the east column, one cell exactly at 15 min (within); the
    # middle cell of the north row cannot reach anything.
    return _grid(
        ["A", "A", "B", "A", None, "B"],
        [2.0, 4.0, 3.0, 16.0, np.nan, 15.0],
        [10.0, 20.0, 5.0, 7.0, 3.0, 4.0],
    )


def test_facility_reach_by_hand(cells: gpd.GeoDataFrame) -> None:
    reach = facility_reach(cells, CAT)
    assert list(reach.index) == ["A", "B"]
    assert reach.loc["A", "served_population"] == 30.0
    assert reach.loc["A", "nearest_population"] == 37.0  # + the cell beyond 15 min
    assert reach.loc["A", "served_cells"] == 2
    assert reach.loc["A", "mean_min"] == pytest.approx((2 * 10 + 4 * 20) / 30)
    assert reach.loc["B", "served_population"] == 9.0
    assert reach.loc["B", "nearest_population"] == 9.0
    assert reach.loc["B", "mean_min"] == pytest.approx((3 * 5 + 15 * 4) / 9)


def test_service_areas_by_hand(cells: gpd.GeoDataFrame) -> None:
    areas = service_areas(cells, CAT)
    assert list(areas["facility_id"]) == ["A", "B"]  # largest population first
    a, b = areas.iloc[0], areas.iloc[1]
    assert a.geometry.equals(box(0, 0, 200, 100))
    assert b.geometry.equals(box(200, 0, 300, 200))
    assert list(areas["population"]) == [30.0, 9.0]
    assert list(areas["cells"]) == [2, 2]
    assert list(areas["area_km2"]) == pytest.approx([0.02, 0.02])
    assert (areas["category"] == "childcare").all()
    assert areas.crs == cells.crs


def test_cells_that_do_not_touch_stay_apart() -> None:
    cells = _grid(
        ["A", None, None, None, None, "A"],
        [1.0, np.nan, np.nan, np.nan, np.nan, 9.0],
        [1.0, 1.0, 1.0, 1.0, 1.0, 2.0],
    )
    (area,) = service_areas(cells, CAT).geometry
    assert area.geom_type == "MultiPolygon"
    assert area.equals(box(0, 0, 100, 100).union(box(200, 100, 300, 200)))


def test_nobody_served_gives_an_empty_frame() -> None:
    cells = _grid([None] * 6, [np.nan] * 6, [1.0] * 6)
    areas = service_areas(cells, CAT)
    assert areas.empty and "facility_id" in areas.columns and areas.crs == cells.crs
    assert facility_reach(cells, CAT).empty


def test_service_areas_add_up_to_the_covered_population() -> None:
    """The district table of the map fixture was computed independently with numpy."""
    result = make_result()
    for key, cat in result.categories.items():
        d = result.districts
        covered = d[(d["district"] == "ALL") & (d["category"] == key)]
        areas = service_areas(result.cells, cat)
        assert areas["population"].sum() == pytest.approx(covered["covered_population"].item())
        # service areas of one category never overlap
        total = areas.geometry.union_all().area
        assert total == pytest.approx(areas.geometry.area.sum())
