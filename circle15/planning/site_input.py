"""New sites as planners give them: coordinate pairs, points, tables or GIS layers.

Every what-if entry point (``add_facilities``, ``move_facilities``, scenarios, site
selection, the studio) turns its sites into one facility frame in the study CRS here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import InputError
from ..sources.chinese_crs import geometries_to_wgs84, parse_crs, to_wgs84

__all__ = ["STUDY_CRS", "WGS84", "SiteInput", "blank", "site_frame"]

#: Coordinates given without a CRS are longitude/latitude in WGS84.
WGS84 = "EPSG:4326"
#: Pass ``crs=STUDY_CRS`` for coordinates already in the study's projected CRS.
STUDY_CRS = "study"

#: What the what-if functions accept as sites.
SiteInput: TypeAlias = (
    gpd.GeoDataFrame
    | gpd.GeoSeries
    | pd.DataFrame
    | Sequence[Any]
    | tuple[float, float]
    | shapely.Point
    | np.ndarray
)


# ---------------------------------------------------------------------------- inputs


def _crs(crs: str | CRS | None, study: CRS) -> CRS | str:
    """A pyproj CRS, or ``"GCJ-02"``/``"BD-09"`` for Amap/Baidu longitude/latitude."""
    if crs is None:
        return CRS.from_user_input(WGS84)
    if isinstance(crs, str) and crs == STUDY_CRS:
        return study
    if isinstance(crs, CRS):
        return crs
    try:
        return parse_crs(crs)
    except Exception:  # pyproj raises several types for unknown input
        raise InputError(
            f"unknown coordinate system {crs!r}; use e.g. 'EPSG:4326' for "
            "longitude/latitude, 'GCJ-02' (Amap/Tencent), 'BD-09' (Baidu) or "
            "'study' for the study's projected CRS"
        ) from None


def site_frame(
    sites: SiteInput,
    study_crs: CRS,
    *,
    crs: str | CRS | None = None,
    ids: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    capacity: float | Sequence[float] | None = None,
    provenance: str = "what-if",
) -> gpd.GeoDataFrame:
    """New sites as a facility frame in the study CRS.

    Parameters
    ----------
    sites : GeoDataFrame, GeoSeries, DataFrame, point or sequence of points
        A GeoDataFrame/GeoSeries in any CRS (its own); a DataFrame with ``lon``/``lat``
        (WGS84) or ``x``/``y`` (study CRS) columns; or coordinate pairs / shapely points in
        ``crs``. Optional columns ``facility_id`` (or ``id``), ``name``, ``capacity``,
        ``provenance``.
    study_crs : CRS
        The study's projected CRS.
    crs : str or CRS, optional
        CRS of bare coordinates: WGS84 longitude/latitude unless told (``"study"`` for the
        study CRS, ``"GCJ-02"`` for Amap/Tencent, ``"BD-09"`` for Baidu, an EPSG code).
        Overrides what the columns of a DataFrame imply (and a GeoDataFrame's own CRS).
    ids, names, capacity : optional
        Override or fill the columns; ``capacity`` may be one number for every site.
    provenance : str
        Recorded with each new site (shown in the facilities layer).

    Returns
    -------
    GeoDataFrame
        ``facility_id`` (None where not given), ``name``, ``capacity``, ``provenance``,
        Point geometry in ``study_crs``.
    """
    table: pd.DataFrame
    if isinstance(sites, gpd.GeoSeries):
        sites = gpd.GeoDataFrame(geometry=sites)
    if isinstance(sites, gpd.GeoDataFrame):
        if sites.crs is None and crs is None:
            raise InputError(
                "the new sites have no CRS: set one (e.g. gdf.set_crs(4326)) or pass crs="
            )
        system = None if crs is None else _crs(crs, study_crs)
        if isinstance(system, str):  # GCJ-02/BD-09 numbers: move them to WGS84
            frame = gpd.GeoDataFrame(
                sites.drop(columns=sites.geometry.name),
                crs=WGS84,
                geometry=geometries_to_wgs84(sites.geometry.to_numpy(), system),
            )
        else:
            frame = sites if system is None else sites.set_crs(system, allow_override=True)
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        geometry = frame.geometry.representative_point().to_crs(study_crs).to_numpy()
    elif isinstance(sites, pd.DataFrame):
        table = sites
        if {"lon", "lat"} <= set(sites.columns):
            xy, implied = sites[["lon", "lat"]], WGS84
        elif {"x", "y"} <= set(sites.columns):
            xy, implied = sites[["x", "y"]], STUDY_CRS
        else:
            raise InputError(
                "a table of new sites needs lon/lat (WGS84) or x/y (study CRS) "
                f"columns; it has {', '.join(map(str, sites.columns))}"
            )
        geometry = _points(xy.to_numpy(dtype=float), _crs(crs or implied, study_crs), study_crs)
    else:
        geometry = _points(_coordinates(sites), _crs(crs, study_crs), study_crs)
        table = pd.DataFrame(index=range(len(geometry)))
    n = len(geometry)
    if n == 0:
        raise InputError("no new sites given")
    table = table.reset_index(drop=True)
    id_col = next((c for c in ("facility_id", "id") if c in table.columns), None)
    out = gpd.GeoDataFrame(
        {
            "facility_id": _values(ids, table, id_col, n, None),
            "name": _values(names, table, "name", n, None),
            "capacity": np.asarray(_values(capacity, table, "capacity", n, np.nan), dtype=float),
            "provenance": _values(None, table, "provenance", n, provenance),
        },
        geometry=geometry,
        crs=study_crs,
    )
    out["facility_id"] = [None if blank(v) else str(v).strip() for v in out["facility_id"]]
    if (out["capacity"] < 0).any():
        raise InputError(
            f"site {int(np.flatnonzero(out['capacity'] < 0)[0]) + 1}: capacity is negative"
        )
    return out


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value) == ""


def _values(given: Any, table: pd.DataFrame, column: str | None, n: int, default: Any) -> list[Any]:
    if given is not None:
        values = [given] * n if np.isscalar(given) else list(given)
        if len(values) != n:
            raise InputError(f"{len(values)} values given for {n} new sites")
        return values
    if column is not None and column in table.columns:
        return table[column].tolist()
    return [default] * n


def _coordinates(sites: Any) -> np.ndarray:
    if isinstance(sites, shapely.Point):
        sites = [sites]
    items = list(sites) if not isinstance(sites, np.ndarray) else sites
    if len(items) and isinstance(items[0], (int, float, np.floating, np.integer)):
        items = [items]  # one (x, y) pair
    try:
        if len(items) and isinstance(items[0], shapely.Geometry):
            return shapely.get_coordinates(np.asarray(items, dtype=object))
        xy = np.asarray(items, dtype=float).reshape(-1, 2)
    except (TypeError, ValueError):
        raise InputError(
            "new sites must be (x, y) pairs, shapely points, a DataFrame with "
            "lon/lat or x/y columns, or a GeoDataFrame"
        ) from None
    return xy


def _points(xy: np.ndarray, crs: CRS | str, study_crs: CRS) -> np.ndarray:
    if not np.isfinite(xy).all():
        raise InputError("a new site has a missing or non-numeric coordinate")
    if isinstance(crs, str):  # GCJ-02/BD-09 longitude/latitude
        xy = np.column_stack(to_wgs84(xy[:, 0], xy[:, 1], crs))
        crs = CRS.from_user_input(WGS84)
    pts = gpd.GeoSeries(shapely.points(xy), crs=crs)
    return pts.to_crs(study_crs).to_numpy()
