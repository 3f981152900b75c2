"""Where the facilities are: points from a table's coordinate columns or a GIS file's features.

Coordinates in GCJ-02 or BD-09 are moved to WGS84 (see
:mod:`circle15.sources.chinese_crs`); polygons become a point inside them. Swapped
columns, latitude stored first and coordinates outside the declared system's area are
caught here, before they put facilities in the sea.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from ...errors import InputError
from ..chinese_crs import OffsetSystem, to_wgs84, with_declared_crs
from ..columns import find_column
from ..geometry_checks import check_geometries
from ..tables import Problems, Table, parse_numbers
from .headers import LAT_NAMES, LON_NAMES, LONLAT_NAMES

# --------------------------------------------------------------------------------------
# Tables


def _table_frame(
    table: Table,
    path: Path,
    what: str,
    lon_field: str | None,
    lat_field: str | None,
    declared: CRS | OffsetSystem | None,
):
    """Points (WGS84 or the declared CRS) with the table's columns.

    Returns the frame, each row's line, the coordinate columns, the coordinate problems
    (line, text, row) for :func:`_assemble` to report with the others, and the check of
    the coordinates against the CRS's area (run once the cells themselves are right).
    """
    frame, lines = table.frame, table.lines
    columns = list(frame.columns)
    lon_col = find_column(columns, lon_field, LON_NAMES)
    lat_col = find_column(columns, lat_field, LAT_NAMES)
    found: list[tuple[int, str, int]] = []
    collect = Problems(what, path)
    if lon_field is None and lat_field is None and (lon_col is None or lat_col is None):
        both = find_column(columns, None, LONLAT_NAMES)
        if both is not None:
            parts = (
                frame[both]
                .astype(str)
                .str.replace("，", ",")
                .str.split(",", n=1, expand=True)
                .reindex(columns=[0, 1])
            )
            lon, _ = parse_numbers(parts[0].fillna(""), both, collect, lines)
            lat, _ = parse_numbers(parts[1].fillna(""), both, collect, lines)
            lon_col = lat_col = both
        else:
            lon = lat = None
    elif lon_col is None or lat_col is None:
        lon = lat = None
    else:
        lon, _ = parse_numbers(frame[lon_col], lon_col, collect, lines)
        lat, _ = parse_numbers(frame[lat_col], lat_col, collect, lines)
    if lon is None:
        missing = (
            (lon_field or "lon/lng/经度/x") if lon_col is None else (lat_field or "lat/纬度/y")
        )
        present = ", ".join(str(c) for c in columns)
        raise InputError(
            f"{what} {path}: no coordinate column {missing!r} found; columns are: {present}. "
            "Name the columns with lon_field/lat_field in the study file"
        )
    position = {int(n): i for i, n in enumerate(lines)}
    flagged = {line for line, _ in collect.items}
    pair = lon_col if lon_col == lat_col else f"{lon_col}/{lat_col}"
    for i in np.flatnonzero(np.isnan(lon) | np.isnan(lat)):
        if int(lines[i]) not in flagged:
            collect.add(int(lines[i]), f"has no {pair}; fill in the coordinates or delete the row")
    for line, text in collect.items:
        found.append(
            (line, text.split(": ", 1)[1] if ": " in text else text, position.get(line, 0))
        )
    ok = np.isfinite(lon) & np.isfinite(lat)
    system = declared or CRS.from_epsg(4326)
    geo_lon, geo_lat = lon.copy(), lat.copy()
    if isinstance(system, str):  # GCJ-02 or BD-09: geographic, moved to WGS84
        label, target = system, CRS.from_epsg(4326)
        if ok.any():
            geo_lon[ok], geo_lat[ok] = to_wgs84(lon[ok], lat[ok], system)
        check_crs = CRS.from_epsg(4326)
    else:
        label, target, check_crs = system.name, system, system
    points = gpd.points_from_xy(np.where(ok, geo_lon, 0.0), np.where(ok, geo_lat, 0.0))
    out = gpd.GeoDataFrame(frame.reset_index(drop=True), geometry=points, crs=target)
    cols = (lon_col, lat_col)

    def check() -> None:
        _check_inside(lon[ok], lat[ok], check_crs, path, what, cols, label)

    used = {c for c in (lon_col, lat_col) if c}
    return out, lines, used, found, check


def _check_inside(
    x: np.ndarray, y: np.ndarray, crs: CRS, path: Path, what: str, cols: tuple[str, str], label: str
) -> None:
    """Catch swapped columns and a wrong CRS before they put facilities in the sea.

    Chinese survey tables often call northing ``X`` and easting ``Y``; a swapped pair
    lands far outside the CRS's area of use, while the right pair lands inside.
    """
    area = crs.area_of_use
    if area is None:
        return
    margin = 1.0  # degrees: areas of use are drawn generously but not exactly
    box = (area.west - margin, area.south - margin, area.east + margin, area.north + margin)

    def share_inside(a, b) -> float:
        if crs.is_geographic:
            lon, lat = a, b
        else:
            lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(a, b)
        lon, lat = np.asarray(lon), np.asarray(lat)
        ok = (lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3])
        return float(ok.mean()) if ok.size else 1.0

    if share_inside(x, y) >= 0.5:
        return
    if share_inside(y, x) >= 0.5:
        raise InputError(
            f"{what} {path}: the coordinates look swapped: read as {cols[1]}/{cols[0]} they "
            f"fall inside the area of {label}, as {cols[0]}/{cols[1]} they do not. Set "
            f'lon_field = "{cols[1]}" and lat_field = "{cols[0]}" (in Chinese survey '
            "tables X is often the northing)"
        )
    raise InputError(
        f"{what} {path}: most coordinates in {cols[0]}/{cols[1]} fall outside the area "
        f"where {label} is used ({area.name}); check the declared crs"
    )


# --------------------------------------------------------------------------------------
# GIS files


def _vector_frame(
    raw: gpd.GeoDataFrame,
    declared: CRS | OffsetSystem | None,
    path: Path,
    what: str,
    notes: list[str],
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Points of a GIS file's features (a point inside each polygon) and their numbers."""
    numbers = np.arange(1, len(raw) + 1)
    geometry, repaired = check_geometries(
        raw.geometry.to_numpy(),
        ("point", "polygon"),
        f"{what} {path}",
        rows=numbers,
        allow_missing=True,
    )
    notes += repaired
    empty = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    if empty.any():
        notes.append(
            f"{what}: {int(empty.sum())} feature(s) of {path.name} have no geometry "
            "and were left out"
        )
    raw = raw.set_geometry(gpd.GeoSeries(geometry, index=raw.index, crs=raw.crs))
    key = pd.DataFrame(raw.drop(columns=raw.geometry.name)).astype(str)
    key["__wkb"] = raw.geometry.to_wkb()
    repeated = key.duplicated().to_numpy() & ~empty
    if repeated.any():
        shown = ", ".join(str(n) for n in numbers[repeated][:8])
        notes.append(
            f"{what}: {int(repeated.sum())} feature(s) of {path.name} repeat an "
            f"earlier one exactly and were dropped (feature {shown})"
        )
    keep = ~empty & ~repeated
    frame = _vector_points(raw[keep], declared, path, what)
    _check_longitude_first(frame, path, what)
    return frame.reset_index(drop=True), numbers[keep]


def _vector_points(
    raw: gpd.GeoDataFrame, declared: CRS | OffsetSystem | None, path: Path, what: str
) -> gpd.GeoDataFrame:
    frame = raw[~(raw.geometry.is_empty | raw.geometry.isna())]
    if isinstance(declared, str):
        # A GeoJSON exported from Amap or DataV claims WGS84 (every GeoJSON does) but
        # holds GCJ-02 numbers: move the vertices, not the CRS.
        if frame.crs is not None and not frame.crs.is_geographic:
            raise InputError(
                f"{what} {path}: crs = {declared} needs longitude/latitude, "
                f"but the file is in {frame.crs.name}"
            )
    frame = with_declared_crs(frame, declared)
    points = frame.geometry.representative_point()
    return frame.set_geometry(points)


def _check_longitude_first(frame: gpd.GeoDataFrame, path: Path, what: str) -> None:
    """GIS files in degrees store longitude first; a file written latitude first (or
    metres labelled as degrees) has latitudes beyond 90."""
    if frame.empty or frame.crs is None or not frame.crs.is_geographic:
        return
    x, y = frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()
    if ((np.abs(x) <= 180) & (np.abs(y) <= 90)).mean() >= 0.5:
        return
    if ((np.abs(y) <= 180) & (np.abs(x) <= 90)).mean() >= 0.5:
        raise InputError(
            f"{what} {path}: the coordinates are stored latitude first (e.g. x = {x[0]:g}, "
            f"y = {y[0]:g}); GIS files give longitude first: export the file again with "
            "x = longitude and y = latitude"
        )
    raise InputError(
        f"{what} {path}: the coordinates (e.g. {x[0]:g}, {y[0]:g}) are not longitude/"
        f"latitude, but the file says {frame.crs.name}; set crs under the facilities "
        "section to the system the numbers are in (e.g. EPSG:4549)"
    )
