"""Read facility tables (CSV, XLSX, GeoJSON, GeoPackage) into a ``FacilityLayer``."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from ..errors import InputError
from ..model import FacilityLayer
from ._files import read_vector, require_columns

TABLE_SUFFIXES = {".csv", ".txt", ".xlsx", ".xls"}


def read_table(path: Path, what: str = "table") -> pd.DataFrame:
    """Read a CSV (UTF-8, or GBK as saved by Chinese Excel) or XLSX sheet."""
    suffix = path.suffix.lower()
    try:
        if suffix in {".xlsx", ".xls"}:
            return pd.read_excel(path)
        try:
            return pd.read_csv(path, encoding="utf-8-sig")
        except UnicodeDecodeError:
            # Excel on Chinese Windows saves CSV as GBK; GB18030 is its superset.
            return pd.read_csv(path, encoding="gb18030")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise InputError(f"{what} {path}: cannot be read as a table ({exc})") from None


def read_facilities(
    path: Path,
    category: str,
    crs: CRS,
    *,
    layer: str | None = None,
    id_field: str = "facility_id",
    name_field: str = "name",
    capacity_field: str | None = "capacity",
    lon_field: str = "lon",
    lat_field: str = "lat",
    source_crs: str = "EPSG:4326",
) -> FacilityLayer:
    """Read one category's facilities and project them to the study CRS.

    Tables need longitude/latitude columns in ``source_crs``; GIS files carry their own
    CRS. Polygons (e.g. a school's grounds) are represented by a point inside them.

    Raises
    ------
    InputError
        Naming the file, row and field: missing columns, bad coordinates, duplicate ids,
        negative or non-numeric capacities.
    """
    what = f"facilities ({category})"
    if path.suffix.lower() in TABLE_SUFFIXES:
        table = read_table(path, what)
        require_columns(table, [id_field, lon_field, lat_field], path, what)
        lon = _numbers(table[lon_field], path, lon_field, what)
        lat = _numbers(table[lat_field], path, lat_field, what)
        blank = np.isnan(lon) | np.isnan(lat)
        if blank.any():
            row = int(np.flatnonzero(blank)[0]) + 2
            raise InputError(f"{what} {path}: row {row} has no {lon_field}/{lat_field}; "
                             "fill in the coordinates or delete the row")
        frame = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(lon, lat), crs=source_crs)
    else:
        frame = read_vector(path, layer, what)
        require_columns(frame, [id_field], path, what)
        frame = frame[~(frame.geometry.is_empty | frame.geometry.isna())]
        frame = frame.set_geometry(frame.geometry.representative_point())
    if frame.empty:
        raise InputError(f"{what} {path}: has no facilities")

    ids = frame[id_field].astype(str).str.strip()
    dup = ids.duplicated(keep=False)
    if dup.any():
        rows = (np.flatnonzero(dup.to_numpy()) + 2)[:5]
        raise InputError(
            f"{what} {path}: facility id {ids[dup].iloc[0]!r} is used more than once "
            f"(rows {', '.join(map(str, rows))}); give each facility its own id"
        )
    if capacity_field and capacity_field in frame.columns:
        capacity = _numbers(frame[capacity_field], path, capacity_field, what)
        if (capacity < 0).any():
            row = int(np.flatnonzero(capacity < 0)[0]) + 2
            raise InputError(f"{what} {path}: row {row}: {capacity_field} is negative")
    else:
        capacity = np.full(len(frame), np.nan)
    names = (frame[name_field].astype(str) if name_field in frame.columns else ids)
    provenance = (frame["provenance"].astype(str) if "provenance" in frame.columns
                  else pd.Series([f"file: {path.name}"] * len(frame)))
    out = gpd.GeoDataFrame(
        {"facility_id": ids.to_numpy(), "name": names.to_numpy(), "capacity": capacity,
         "provenance": provenance.to_numpy()},
        geometry=frame.geometry.to_crs(crs).to_numpy(), crs=crs,
    )
    return FacilityLayer(category=category, facilities=out, source=str(path))


def _numbers(column: pd.Series, path: Path, field: str, what: str) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() & column.notna() & (column.astype(str).str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{what} {path}: row {i + 2}: {field} {column.iloc[i]!r} is not a number"
        )
    return values.to_numpy(dtype=float)
