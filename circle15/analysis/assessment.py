"""Supply, equity and the index in one pass over a coverage run's cells and tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..schema import pop_col, supply_col, time_col
from ..standards import Category
from .equity import Equity, equity_tables
from .index import (
    DIMENSIONS,
    IndexResult,
    IndexSettings,
    achievement_ede,
    index_scores,
    indicator_values,
)
from .supply import SupplySettings, decay_function, district_supply, floating_catchment

#: Columns added to the district table, after the coverage columns.
SUPPLY_COLUMNS = [
    "capacity",
    "capacity_unknown",
    "supply_ratio",
    "norm_population",
    "provision",
    "accessible_provision",
    "norm",
    "norm_ratio",
    "norm_met",
]
SCORE_COLUMNS = [f"score_{d}" for d in DIMENSIONS]


@dataclass
class Assessment:
    """What :func:`assess` adds to a coverage run.

    Attributes
    ----------
    cells : DataFrame
        The cells with ``supply_<key>`` added per category (capacity per resident of the
        cohort within reach, 2SFCA).
    districts : DataFrame
        The district table with ``SUPPLY_COLUMNS`` and ``SCORE_COLUMNS`` added.
    facility_ratio : dict
        Per category, each facility's capacity per (weighted) resident in its catchment.
    equity : Equity
    index : IndexResult
    diagnostics : dict
        Facilities of unknown capacity and idle facilities (nobody of the cohort in reach).
    """

    cells: pd.DataFrame
    districts: pd.DataFrame
    facility_ratio: dict[str, np.ndarray]
    equity: Equity
    index: IndexResult
    diagnostics: dict[str, Any] = field(default_factory=dict)


@dataclass
class CategoryAssessment:
    """Supply and equity of one category: what :func:`assess` combines into the index.

    Every part depends only on the category's own cells and facilities, so a what-if that
    changes one category keeps the others' parts as they were.

    Attributes
    ----------
    cell_supply, facility_ratio : ndarray
        2SFCA supply per cell and capacity per weighted resident per facility.
    supply_rows : DataFrame
        The category's rows of :func:`~circle15.analysis.supply.district_supply`.
    equity : Equity
        The category's inequality tables.
    ede : DataFrame
        The category's rows of :func:`~circle15.analysis.index.achievement_ede`.
    unknown_capacity, idle_facilities : int
        Facilities without a known capacity, and with nobody of the cohort in reach.
    """

    cell_supply: np.ndarray
    facility_ratio: np.ndarray
    supply_rows: pd.DataFrame
    equity: Equity
    ede: pd.DataFrame
    unknown_capacity: int
    idle_facilities: int


def assess_category(
    cells: pd.DataFrame,
    district_table: pd.DataFrame,
    category: Category,
    districts: list[str],
    catchment: sp.csr_array,
    capacity: np.ndarray,
    facility_district: np.ndarray,
    supply: SupplySettings,
    index: IndexSettings,
) -> CategoryAssessment:
    """Supply and equity of one category (see :func:`assess` for the parameters)."""
    key = category.key
    demand = cells[pop_col(key)].to_numpy(dtype=float)
    fc = floating_catchment(
        catchment, capacity, demand, decay_function(supply, category), supply.missing_capacity
    )
    light = pd.DataFrame(
        {
            "district": cells["district"].to_numpy(),
            "pop_total": cells["pop_total"].to_numpy(),
            pop_col(key): demand,
            time_col(key): cells[time_col(key)].to_numpy(),
            supply_col(key): fc.cell_supply,
        }
    )
    one = {key: category}
    rows = district_table[district_table["category"].to_numpy() == key]
    supply_rows = district_supply(light, one, districts, {key: capacity}, {key: facility_district})
    return CategoryAssessment(
        cell_supply=fc.cell_supply,
        facility_ratio=fc.facility_ratio,
        supply_rows=supply_rows,
        equity=equity_tables(light, one, districts, rows),
        ede=achievement_ede(light, one, districts, supply_rows, index),
        unknown_capacity=int(np.isnan(capacity).sum()),
        idle_facilities=int((np.isnan(fc.facility_ratio) & ~np.isnan(fc.capacity_used)).sum()),
    )


def combine_assessment(
    cells: pd.DataFrame,
    district_table: pd.DataFrame,
    categories: dict[str, Category],
    zones: pd.DataFrame,
    parts: dict[str, CategoryAssessment],
    index: IndexSettings,
) -> Assessment:
    """The index and the full tables from every category's :class:`CategoryAssessment`."""
    cells = cells.copy()
    for key in categories:
        cells[supply_col(key)] = parts[key].cell_supply
    names = list(zones["district"])
    supply_table = pd.concat([parts[k].supply_rows for k in categories], ignore_index=True)
    equity = Equity(
        table=pd.concat([parts[k].equity.table for k in categories], ignore_index=True),
        coverage_balance=pd.concat(
            [parts[k].equity.coverage_balance for k in categories], ignore_index=True
        ),
        lorenz=pd.concat([parts[k].equity.lorenz for k in categories], ignore_index=True),
    )
    ede = pd.concat([parts[k].ede for k in categories], ignore_index=True)
    result = index_scores(
        indicator_values(district_table, supply_table, equity, names, ede), categories, zones, index
    )
    scores = result.by_category.rename(columns={d: f"score_{d}" for d in DIMENSIONS})
    table = district_table.merge(supply_table, on=["district", "category"], how="left").merge(
        scores, on=["district", "category"], how="left"
    )
    diagnostics: dict[str, Any] = {
        "unknown_capacity": {k: parts[k].unknown_capacity for k in categories},
        "idle_facilities": {k: parts[k].idle_facilities for k in categories},
    }
    return Assessment(
        cells=cells,
        districts=table,
        facility_ratio={k: parts[k].facility_ratio for k in categories},
        equity=equity,
        index=result,
        diagnostics=diagnostics,
    )


def assess(
    cells: pd.DataFrame,
    district_table: pd.DataFrame,
    categories: dict[str, Category],
    zones: pd.DataFrame,
    catchments: dict[str, sp.csr_array],
    capacity: dict[str, np.ndarray],
    facility_district: dict[str, np.ndarray],
    supply: SupplySettings,
    index: IndexSettings,
) -> Assessment:
    """Capacity-aware supply, equity and the 可及/均衡/优质 index of a coverage run.

    Parameters
    ----------
    cells, district_table : DataFrame
        The run's cells and district table (see ``analysis.coverage``).
    categories : dict
        Categories by key.
    zones : DataFrame
        Sub-districts (``district``, ``name_en``) in report order.
    catchments : dict
        Per category, facilities x cells walking **minutes** within the catchment
        (sparse, absent = out of reach), e.g. from ``engine.node_catchments``.
    capacity, facility_district : dict
        Per category, each facility's capacity (NaN unknown) and sub-district.
    supply, index : SupplySettings, IndexSettings
        The ``[supply]`` and ``[index]`` settings.

    Returns
    -------
    Assessment
    """
    names = list(zones["district"])
    parts = {
        k: assess_category(
            cells,
            district_table,
            cat,
            names,
            catchments[k],
            capacity[k],
            facility_district[k],
            supply,
            index,
        )
        for k, cat in categories.items()
    }
    return combine_assessment(cells, district_table, categories, zones, parts, index)


def locate_in_districts(points: np.ndarray, zones: gpd.GeoDataFrame) -> np.ndarray:
    """The sub-district containing each point (None outside every zone).

    A point on the border of two zones goes to the first of them in report order.
    """
    names = np.full(len(points), None, dtype=object)
    if len(points) == 0 or len(zones) == 0:
        return names
    point_i, zone_i = zones.sindex.query(np.asarray(points), predicate="intersects")
    first = np.lexsort((zone_i, point_i))  # lowest zone index per point comes first
    point_i, zone_i = point_i[first], zone_i[first]
    keep = np.r_[True, point_i[1:] != point_i[:-1]] if len(point_i) else np.zeros(0, bool)
    names[point_i[keep]] = zones["district"].to_numpy(dtype=object)[zone_i[keep]]
    return names
