"""Supply, equity and the index in one pass over a coverage run's cells and tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..standards import Category
from .equity import Equity, equity_tables, replace_category
from .index import DIMENSIONS, IndexResult, IndexSettings, index_scores, indicator_values
from .supply import SupplySettings, decay_function, district_supply, floating_catchment

#: Columns added to the district table, after the coverage columns.
SUPPLY_COLUMNS = ["capacity", "supply_ratio", "norm_population", "provision",
                  "accessible_provision", "norm", "norm_ratio", "norm_met"]
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


def assess(cells: pd.DataFrame, district_table: pd.DataFrame,
           categories: dict[str, Category], zones: pd.DataFrame,
           catchments: dict[str, sp.csr_array], capacity: dict[str, np.ndarray],
           facility_district: dict[str, np.ndarray], supply: SupplySettings,
           index: IndexSettings, *, previous: Equity | None = None,
           changed: str | None = None) -> Assessment:
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
    previous, changed : Equity and str, optional
        After a what-if on category ``changed``: the equity before it, whose rows of the
        other categories still hold (their walking times and supply are the same), so
        only the changed category's are computed again.

    Returns
    -------
    Assessment
    """
    cells = cells.copy()
    ratios: dict[str, np.ndarray] = {}
    diagnostics: dict[str, Any] = {"unknown_capacity": {}, "idle_facilities": {}}
    for key, cat in categories.items():
        demand = cells[f"pop_{key}"].to_numpy(dtype=float)
        fc = floating_catchment(catchments[key], capacity[key], demand,
                                decay_function(supply, cat), supply.missing_capacity)
        cells[f"supply_{key}"] = fc.cell_supply
        ratios[key] = fc.facility_ratio
        diagnostics["unknown_capacity"][key] = int(np.isnan(capacity[key]).sum())
        diagnostics["idle_facilities"][key] = int(
            (np.isnan(fc.facility_ratio) & ~np.isnan(fc.capacity_used)).sum())
    names = list(zones["district"])
    supply_table = district_supply(cells, categories, names, capacity, facility_district)
    if previous is not None and changed is not None:
        fresh = equity_tables(cells, {changed: categories[changed]}, names, district_table)
        equity = replace_category(previous, fresh, changed, list(categories))
    else:
        equity = equity_tables(cells, categories, names, district_table)
    result = index_scores(indicator_values(district_table, supply_table, equity, names),
                          categories, zones, index)
    scores = result.by_category.rename(columns={d: f"score_{d}" for d in DIMENSIONS})
    table = (district_table.merge(supply_table, on=["district", "category"], how="left")
             .merge(scores, on=["district", "category"], how="left"))
    return Assessment(cells=cells, districts=table, facility_ratio=ratios, equity=equity,
                      index=result, diagnostics=diagnostics)


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
