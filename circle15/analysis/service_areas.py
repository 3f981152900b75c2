"""Service areas: the residents each facility is the nearest one for, within the target time.

A facility's service area is the union of the populated cells whose nearest facility of the
category it is, reached within the category's target walking time. Cells are assigned to
exactly one facility (the nearest over the network), so the service areas of one category
never overlap; together they are the covered part of the study area.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from ..standards import Category

__all__ = ["SERVICE_AREA_COLUMNS", "facility_reach", "service_areas"]

SERVICE_AREA_COLUMNS = ["category", "facility_id", "population", "cells", "area_km2", "mean_min"]
_REACH_COLUMNS = ["served_population", "served_cells", "nearest_population", "mean_min"]


def _assignments(cells: pd.DataFrame, category: Category) -> pd.DataFrame:
    """Per cell: nearest facility id, minutes, cohort population, and within-target flag."""
    key = category.key
    minutes = pd.to_numeric(cells[f"t_{key}"], errors="coerce").to_numpy(dtype=float)
    frame = pd.DataFrame(
        {
            "facility_id": cells[f"nearest_{key}"].to_numpy(dtype=object),
            "minutes": minutes,
            "pop": pd.to_numeric(cells[f"pop_{key}"], errors="coerce").fillna(0.0).to_numpy(),
        },
        index=cells.index,
    )
    # NaN minutes (unreachable) compare False: never within the target.
    frame["served"] = frame["minutes"] <= category.target_min
    frame = frame[frame["facility_id"].notna()]
    frame["facility_id"] = frame["facility_id"].astype(str)
    return frame


def facility_reach(cells: pd.DataFrame, category: Category) -> pd.DataFrame:
    """Who each facility serves: its cohort population within and beyond the target time.

    Parameters
    ----------
    cells : DataFrame
        Per populated cell: ``pop_<key>``, ``t_<key>`` (minutes, NaN when unreachable) and
        ``nearest_<key>`` (facility id, None when unreachable).
    category : Category
        The category; its ``target_min`` decides who is served.

    Returns
    -------
    DataFrame
        Indexed by ``facility_id`` (str), one row per facility that is the nearest for at
        least one cell: ``served_population`` (cohort whose nearest facility it is, within
        the target time), ``served_cells``, ``nearest_population`` (cohort whose nearest
        facility it is at any walking time) and ``mean_min`` (population-weighted walking
        time of the served population, NaN when it is zero). Facilities that are nobody's
        nearest are absent.
    """
    a = _assignments(cells, category)
    if a.empty:
        return pd.DataFrame(columns=_REACH_COLUMNS, index=pd.Index([], name="facility_id"))
    served_pop = a["pop"].where(a["served"], 0.0)
    grouped = (
        pd.DataFrame(
            {
                "facility_id": a["facility_id"],
                "served_population": served_pop,
                "served_cells": a["served"].astype(int),
                "nearest_population": a["pop"],
                "t_pop": served_pop * a["minutes"].fillna(0.0),
            }
        )
        .groupby("facility_id", sort=True)
        .sum()
    )
    weight = grouped["served_population"]
    grouped["mean_min"] = (grouped["t_pop"] / weight.where(weight > 0)).astype(float)
    return grouped[_REACH_COLUMNS]


def service_areas(cells: gpd.GeoDataFrame, category: Category) -> gpd.GeoDataFrame:
    """Service area of each facility: its cells within the target time, merged.

    Parameters
    ----------
    cells : GeoDataFrame
        Cell polygons with ``pop_<key>``, ``t_<key>`` and ``nearest_<key>`` (see
        :func:`facility_reach`), in a projected CRS in metres.
    category : Category
        The category; its ``target_min`` bounds each service area.

    Returns
    -------
    GeoDataFrame
        One row per facility that serves at least one cell within the target time, largest
        ``population`` first: ``category``, ``facility_id``, ``population`` (cohort
        served), ``cells``, ``area_km2``, ``mean_min``, and the merged cells as geometry
        (a Polygon or MultiPolygon; cells of one facility that do not touch stay apart).
    """
    a = _assignments(cells, category)
    a = a[a["served"]]
    if a.empty:
        return gpd.GeoDataFrame(
            columns=[*SERVICE_AREA_COLUMNS, "geometry"], geometry="geometry", crs=cells.crs
        )
    parts = gpd.GeoDataFrame(
        {"facility_id": a["facility_id"]}, geometry=cells.geometry.loc[a.index], crs=cells.crs
    )
    # Grid cells never overlap, so the faster coverage union gives the same outline.
    merged = parts.dissolve(by="facility_id", method="coverage")
    reach = facility_reach(cells, category).loc[merged.index]
    out = gpd.GeoDataFrame(
        {
            "category": category.key,
            "facility_id": merged.index.to_numpy(dtype=object),
            "population": reach["served_population"].to_numpy(dtype=float),
            "cells": reach["served_cells"].to_numpy(dtype=int),
            "area_km2": merged.geometry.area.to_numpy() / 1e6,
            "mean_min": reach["mean_min"].to_numpy(dtype=float),
        },
        geometry=merged.geometry.to_numpy(),
        crs=cells.crs,
    )
    order = np.lexsort((out["facility_id"].to_numpy(dtype=str), -out["population"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)
