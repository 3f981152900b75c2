"""The outcome of a coverage run: cells, district table, gaps and facilities."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry

from .standards import Category

#: Tier label for residents who cannot reach any facility of the category over the network.
UNREACHABLE = "unreachable"


@dataclass
class CoverageResult:
    """Walking-time coverage of a study.

    Attributes
    ----------
    name, title : str
        Study key (``"zhenhai"``) and the title shown on maps.
    categories : dict
        ``Category`` by key, in report order.
    cells : GeoDataFrame
        One row per populated cell (study CRS): ``cell_id``, ``district``, ``pop_total``, and
        per category ``pop_<key>`` (target cohort), ``t_<key>`` (minutes; NaN when
        unreachable or unsnapped), ``nearest_<key>`` (facility id, None when unreachable),
        ``tier_<key>`` (``"0-5"``, ``"5-10"``, ``"10-15"``, ``">15"`` or ``"unreachable"``).
    districts : DataFrame
        One row per (district, category) plus ``ALL`` rows; see ``analysis.coverage``.
    gaps : GeoDataFrame
        Gap polygons: ``category``, ``gap_id``, ``rank``, ``district``, ``population``,
        ``cells``, ``area_km2``, ``mean_min`` (NaN if unreachable), ``nearest_facility``,
        ``nearest_name``, ``nearest_min``, geometry.
    facilities : GeoDataFrame
        All facilities: ``category``, ``facility_id``, ``name``, ``capacity``, ``snapped``,
        ``snap_m``, geometry (study CRS).
    zones : GeoDataFrame
        Sub-districts: ``district``, ``name_en``, geometry.
    area : shapely geometry
        The study area outline.
    synthetic : bool
        True when any input is synthetic; maps then carry a banner with ``notice``.
    notice : str
        The synthetic-data statement shown on maps.
    diagnostics : dict
        Counts the user should see: unsnapped cells/facilities, network pieces, etc.
    """

    name: str
    title: str
    categories: dict[str, Category]
    cells: gpd.GeoDataFrame
    districts: pd.DataFrame
    gaps: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    area: BaseGeometry
    synthetic: bool = False
    notice: str = ""
    diagnostics: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)

    def map(self, **kwargs: Any):
        """The interactive coverage map as a ``folium.Map`` (shows inline in notebooks)."""
        from .outputs.map import build_map

        return build_map(self, **kwargs)

    def coverage(self, category: str, district: str = "ALL") -> float:
        """Share of a category's cohort within its target time in ``district``."""
        row = self.districts[(self.districts["district"] == district)
                             & (self.districts["category"] == category)]
        if row.empty:
            raise KeyError(f"no row for district {district!r}, category {category!r}")
        return float(row["coverage"].iloc[0])
