"""Cohorts from census age bands: the uniform-within-band rule, worked by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from circle15.errors import InputError
from circle15.model import OPEN_AGE, PopulationGrid
from circle15.sources.population import age_bands


def _grid() -> PopulationGrid:
    cells = gpd.GeoDataFrame(
        {
            "pop_total": [531830.0],
            "age_0": [4122.0],
            "age_1_4": [21498.0],
            "age_5_9": [24148.0],
            "age_10_14": [19443.0],
            "age_15_59": [382038.0],
            "age_60_plus": [80581.0],
        },
        geometry=[Point(0, 0)],
        crs="EPSG:32651",
    )
    return PopulationGrid(cells=cells, bands=age_bands(list(cells.columns)))


def test_bands_are_read_from_column_names():
    bands = age_bands(["age_60_plus", "pop_total", "age_0", "age_1_4"])
    assert [(b.column, b.age_min, b.age_max) for b in bands] == [
        ("age_0", 0, 0),
        ("age_1_4", 1, 4),
        ("age_60_plus", 60, OPEN_AGE),
    ]


@pytest.mark.parametrize(
    ("ages", "expected"),
    [
        ((0, 2), 4122 + 21498 * 2 / 4),  # 0 + ages 1,2 of 1-4
        ((3, 5), 21498 * 2 / 4 + 24148 * 1 / 5),  # ages 3,4 of 1-4 + age 5 of 5-9
        ((6, 11), 24148 * 4 / 5 + 19443 * 2 / 5),  # ages 6-9 + ages 10,11 of 10-14
        ((12, 14), 19443 * 3 / 5),
        ((60, OPEN_AGE), 80581),
        ((0, OPEN_AGE), 531830),
    ],
)
def test_cohorts_by_hand(ages, expected):
    assert _grid().cohort(*ages)[0] == pytest.approx(expected)


def test_cohorts_partition_the_total():
    g = _grid()
    parts = [
        g.cohort(0, 2),
        g.cohort(3, 5),
        g.cohort(6, 11),
        g.cohort(12, 14),
        g.cohort(15, 59),
        g.cohort(60, OPEN_AGE),
    ]
    assert np.sum(parts) == pytest.approx(531830)


def test_a_cohort_inside_an_open_band_is_refused():
    with pytest.raises(InputError, match="open age band"):
        _grid().cohort(65, OPEN_AGE)
