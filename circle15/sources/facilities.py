"""Read facility tables (CSV, XLSX, GeoJSON, GeoPackage, Shapefile) into a ``FacilityLayer``.

Tables from Chinese offices arrive in many shapes: GBK-encoded CSV saved by Excel,
Chinese headers (经度/纬度, 名称, 托位), Amap/Baidu coordinates. Column names are
detected when not given, and coordinates in GCJ-02 or BD-09 are moved to WGS84 before
projection (see :mod:`circle15.sources.chinese_crs`).
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from ..errors import InputError
from ..model import FacilityLayer
from ._files import read_vector, require_columns
from .chinese_crs import OffsetSystem, geometries_to_wgs84, parse_crs, to_wgs84
from .geometry_checks import check_geometries

TABLE_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xls"}

#: Header spellings recognised for each field, compared after :func:`_normalise`.
LON_NAMES = ("lon", "lng", "longitude", "long", "经度", "东经", "x", "gcj_lng", "bd_lng",
             "wgs84_lng", "lon_wgs84", "lng_gcj02", "x坐标")
LAT_NAMES = ("lat", "latitude", "纬度", "北纬", "y", "gcj_lat", "bd_lat", "wgs84_lat",
             "lat_wgs84", "lat_gcj02", "y坐标")
LONLAT_NAMES = ("location", "坐标", "经纬度", "lnglat", "lonlat")  # one "lon,lat" column
ID_NAMES = ("facility_id", "id", "编号", "序号", "代码", "机构编号", "机构代码", "poi_id",
            "uid", "code", "osm_id")
NAME_NAMES = ("name", "名称", "机构名称", "设施名称", "单位名称", "学校名称", "园所名称",
              "场馆名称", "poi名称", "name_zh")
CAPACITY_NAMES = ("capacity", "托位", "托位数", "学位", "学位数", "床位", "床位数", "座位",
                  "座位数", "餐位", "餐位数", "容量", "规模", "核定托位", "核定学位")


def read_table(path: Path, what: str = "table", sheet: str | None = None) -> pd.DataFrame:
    """Read a CSV (UTF-8, or GBK as saved by Chinese Excel), TSV or XLSX sheet."""
    suffix = path.suffix.lower()
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"{what} {path}: the file is empty (0 bytes); save the table again")
    try:
        if suffix in {".xlsx", ".xls"}:
            try:
                table = pd.read_excel(path, sheet_name=sheet or 0)
            except (KeyError, NotImplementedError) as exc:  # a zip, but not of a workbook
                raise InputError(f"{what} {path}: not a complete Excel workbook ({exc}); "
                                 "save it again from Excel") from None
        else:
            sep = "\t" if suffix == ".tsv" else None
            try:
                table = pd.read_csv(path, encoding="utf-8-sig", sep=sep, engine="python")
            except UnicodeDecodeError:
                # Excel on Chinese Windows saves CSV as GBK; GB18030 is its superset.
                table = pd.read_csv(path, encoding="gb18030", sep=sep, engine="python")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise InputError(f"{what} {path}: cannot be read as a table ({exc})") from None
    if not isinstance(table.index, pd.RangeIndex):
        # pandas takes the first column as row labels when rows are longer than the header
        raise InputError(f"{what} {path}: its rows have more fields than the header row; "
                         "check for a separator inside an unquoted value, or a missing header")
    table.columns = [str(c) for c in table.columns]
    return table


def find_column(columns, wanted: str | None, candidates: tuple[str, ...]) -> str | None:
    """The column called ``wanted``, else the first whose header is one of ``candidates``.

    A ``wanted`` name that is itself a usual spelling (a default such as ``capacity``)
    falls back to the others; any other name must be present. Headers are compared
    after :func:`_normalise` (case, spaces and bracketed units such as ``经度(°)`` or
    ``托位（个）`` ignored).
    """
    by_norm = {}
    for col in columns:
        by_norm.setdefault(_normalise(col), col)
    if wanted is not None:
        if wanted in columns:
            return wanted
        found = by_norm.get(_normalise(wanted))
        if found is not None or _normalise(wanted) not in candidates:
            return found  # a name the planner chose is never swapped for another column
    for name in candidates:
        if name in by_norm:
            return by_norm[name]
    return None


def read_facilities(
    path: Path,
    category: str,
    crs: CRS,
    *,
    layer: str | None = None,
    id_field: str | None = "facility_id",
    name_field: str | None = "name",
    capacity_field: str | None = "capacity",
    lon_field: str | None = None,
    lat_field: str | None = None,
    source_crs: str | None = None,
) -> FacilityLayer:
    """Read one category's facilities and project them to the study CRS.

    Parameters
    ----------
    path : Path
        CSV/TSV/XLSX table with coordinate columns, or a GIS file (GeoJSON, GeoPackage,
        Shapefile) with points or polygons.
    category : str
        Category key, used in messages and generated ids.
    crs : pyproj.CRS
        Projected study CRS.
    layer : str, optional
        GIS layer, or the sheet of an XLSX workbook.
    id_field, name_field, capacity_field : str, optional
        Columns to use. When the named column is absent the usual spellings are tried
        (``id``/``编号``, ``名称``, ``托位``/``学位``/``床位``/``餐位`` …); without an id
        column, ids are ``<category>-<row>``.
    lon_field, lat_field : str, optional
        Coordinate columns of a table; detected when omitted (``lon``/``lng``/``经度``/
        ``x`` and ``lat``/``纬度``/``y``), or a single ``location`` column ``"lon,lat"``.
    source_crs : str, optional
        Coordinate system of the table's columns, or of a GIS file's coordinates when it
        differs from what the file claims: ``WGS84`` (default for tables), ``CGCS2000``,
        ``GCJ-02`` (Amap/Tencent), ``BD-09`` (Baidu) or an EPSG code.

    Returns
    -------
    FacilityLayer
        Points in ``crs``; polygons are represented by a point inside them. Rows that
        repeat another row exactly are dropped and noted in ``notes``.

    Raises
    ------
    InputError
        Naming the file, row and field: missing columns, bad or swapped coordinates,
        coordinates outside the declared CRS's area, duplicate ids, negative or
        non-numeric capacities.
    """
    what = f"facilities ({category})"
    declared = parse_crs(source_crs, f"{what} {path}: crs") if source_crs else None
    notes: list[str] = []
    if path.suffix.lower() in TABLE_SUFFIXES:
        table = read_table(path, what, sheet=layer)
        table, n_dup = _drop_repeated_rows(table)
        lon, lat, lon_col, lat_col = _coordinates(table, path, what, lon_field, lat_field)
        frame = _table_points(table, lon, lat, declared or CRS.from_epsg(4326), path, what,
                              (lon_col, lat_col))
        row_numbers = table.index.to_numpy() + 2  # the header is line 1
    else:
        raw = read_vector(path, layer, what, allow_missing_crs=declared is not None)
        geometry, repaired = check_geometries(raw.geometry.to_numpy(), ("point", "polygon"),
                                              f"{what} {path}", rows=raw.index + 1,
                                              allow_missing=True)
        notes += repaired
        blank = int((shapely.is_missing(geometry) | shapely.is_empty(geometry)).sum())
        if blank:
            notes.append(f"{what}: {blank} feature(s) of {path.name} have no geometry and "
                         "were left out")
        raw = raw.set_geometry(gpd.GeoSeries(geometry, index=raw.index, crs=raw.crs))
        raw, n_dup = _drop_repeated_rows(raw)
        frame = _vector_points(raw, declared, path, what)
        _check_longitude_first(frame, path, what)
        row_numbers = frame.index.to_numpy() + 1
    if n_dup:
        notes.append(f"{what}: {n_dup} row(s) of {path.name} repeat an earlier row exactly "
                     "and were dropped")
    if frame.empty:
        raise InputError(f"{what} {path}: has no facilities")

    id_col = find_column(frame.columns, id_field, ID_NAMES)
    if id_col is None and id_field not in (None, "facility_id"):
        require_columns(frame, [id_field], path, what)
    ids = (frame[id_col].astype(str).str.strip() if id_col is not None
           else pd.Series([f"{category}-{r}" for r in row_numbers], index=frame.index))
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        rows = row_numbers[dup][:5]
        raise InputError(
            f"{what} {path}: facility id {ids[dup].iloc[0]!r} is used more than once "
            f"(rows {', '.join(map(str, rows))}); give each facility its own id"
        )
    cap_col = find_column(frame.columns, capacity_field, CAPACITY_NAMES) if capacity_field \
        else None
    if cap_col is not None:
        capacity = _numbers(frame[cap_col], path, cap_col, what, row_numbers)
        if (capacity < 0).any():
            row = int(row_numbers[np.flatnonzero(capacity < 0)[0]])
            raise InputError(f"{what} {path}: row {row}: {cap_col} is negative")
    else:
        capacity = np.full(len(frame), np.nan)
    name_col = find_column(frame.columns, name_field, NAME_NAMES) if name_field else None
    names = (frame[name_col].astype(str).str.strip() if name_col is not None else ids)
    conversion = f" ({declared} → WGS84)" if isinstance(declared, str) else ""
    provenance = (frame["provenance"].astype(str).to_numpy() if "provenance" in frame.columns
                  else np.array([f"file: {path.name} row {r}{conversion}"
                                 for r in row_numbers], dtype=object))
    out = gpd.GeoDataFrame(
        {"facility_id": ids.to_numpy(), "name": names.to_numpy(), "capacity": capacity,
         "provenance": provenance},
        geometry=frame.geometry.to_crs(crs).to_numpy(), crs=crs,
    )
    return FacilityLayer(category=category, facilities=out, source=str(path), notes=notes)


# --------------------------------------------------------------------------------------
# Tables


def _coordinates(table: pd.DataFrame, path: Path, what: str, lon_field: str | None,
                 lat_field: str | None) -> tuple[np.ndarray, np.ndarray, str, str]:
    lon_col = find_column(table.columns, lon_field, LON_NAMES)
    lat_col = find_column(table.columns, lat_field, LAT_NAMES)
    if lon_field is None and lat_field is None and (lon_col is None or lat_col is None):
        both = find_column(table.columns, None, LONLAT_NAMES)
        if both is not None:
            parts = table[both].astype(str).str.replace("，", ",").str.split(",", expand=True)
            if parts.shape[1] != 2:
                raise InputError(f"{what} {path}: column {both!r} should hold 'lon,lat'")
            lon = _numbers(parts[0], path, both, what)
            lat = _numbers(parts[1], path, both, what)
            return _filled(lon, lat, table, path, what, both, both)
    if lon_col is None or lat_col is None:
        missing = (lon_field or "lon/lng/经度/x") if lon_col is None \
            else (lat_field or "lat/纬度/y")
        present = ", ".join(str(c) for c in table.columns)
        raise InputError(
            f"{what} {path}: no coordinate column {missing!r} found; columns are: {present}. "
            "Name the columns with lon_field/lat_field in the study file"
        )
    lon = _numbers(table[lon_col], path, lon_col, what)
    lat = _numbers(table[lat_col], path, lat_col, what)
    return _filled(lon, lat, table, path, what, lon_col, lat_col)


def _filled(lon, lat, table, path, what, lon_col, lat_col):
    blank = np.isnan(lon) | np.isnan(lat)
    if blank.any():
        row = int(np.flatnonzero(blank)[0]) + 2
        raise InputError(f"{what} {path}: row {row} has no {lon_col}/{lat_col}; "
                         "fill in the coordinates or delete the row")
    return lon, lat, lon_col, lat_col


def _table_points(table: pd.DataFrame, lon: np.ndarray, lat: np.ndarray,
                  declared: CRS | OffsetSystem, path: Path, what: str,
                  cols: tuple[str, str]) -> gpd.GeoDataFrame:
    """Points in WGS84 (offset systems) or in the declared CRS, after a sanity check."""
    if isinstance(declared, str):  # GCJ-02 or BD-09: geographic, moved to WGS84
        _check_inside(lon, lat, CRS.from_epsg(4326), path, what, cols, declared)
        lon, lat = to_wgs84(lon, lat, declared)
        declared_crs = CRS.from_epsg(4326)
    else:
        _check_inside(lon, lat, declared, path, what, cols, declared.name)
        declared_crs = declared
    frame = table.reset_index(drop=True)
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs=declared_crs)


def _check_inside(x: np.ndarray, y: np.ndarray, crs: CRS, path: Path, what: str,
                  cols: tuple[str, str], label: str) -> None:
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
            f"lon_field = \"{cols[1]}\" and lat_field = \"{cols[0]}\" (in Chinese survey "
            "tables X is often the northing)"
        )
    raise InputError(
        f"{what} {path}: most coordinates in {cols[0]}/{cols[1]} fall outside the area "
        f"where {label} is used ({area.name}); check the declared crs"
    )


# --------------------------------------------------------------------------------------
# GIS files


def _vector_points(raw: gpd.GeoDataFrame, declared: CRS | OffsetSystem | None, path: Path,
                   what: str) -> gpd.GeoDataFrame:
    frame = raw[~(raw.geometry.is_empty | raw.geometry.isna())]
    if isinstance(declared, str):
        # A GeoJSON exported from Amap or DataV claims WGS84 (every GeoJSON does) but
        # holds GCJ-02 numbers: move the vertices, not the CRS.
        if frame.crs is not None and not frame.crs.is_geographic:
            raise InputError(f"{what} {path}: crs = {declared} needs longitude/latitude, "
                             f"but the file is in {frame.crs.name}")
        geometry = geometries_to_wgs84(frame.geometry.to_numpy(), declared)
        frame = gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name), geometry=geometry,
                                 crs=4326)
    elif declared is not None:
        frame = frame.set_crs(declared, allow_override=True)
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
            "x = longitude and y = latitude")
    raise InputError(
        f"{what} {path}: the coordinates (e.g. {x[0]:g}, {y[0]:g}) are not longitude/"
        f"latitude, but the file says {frame.crs.name}; set crs under the facilities "
        "section to the system the numbers are in (e.g. EPSG:4549)")


# --------------------------------------------------------------------------------------
# Helpers


def _drop_repeated_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Drop rows identical to an earlier row in every column (copy-paste duplicates)."""
    if isinstance(frame, gpd.GeoDataFrame):
        key = pd.DataFrame(frame.drop(columns=frame.geometry.name)).astype(str)
        key["__wkb"] = frame.geometry.to_wkb()
    else:
        key = frame.astype(str)
    repeated = key.duplicated().to_numpy()
    return frame[~repeated], int(repeated.sum())


def _normalise(name) -> str:
    text = re.sub(r"[（(\[【].*?[)）\]】]", "", str(name))
    return re.sub(r"\s+", "", text).strip().lower()


def _numbers(column: pd.Series, path: Path, field: str, what: str,
             row_numbers: np.ndarray | None = None) -> np.ndarray:
    text = column.astype(str).str.strip()
    values = pd.to_numeric(column.where(text != "", None), errors="coerce")
    bad = (values.isna() & column.notna() & (text != "") & (text.str.lower() != "nan"))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        row = int(row_numbers[i]) if row_numbers is not None else i + 2
        raise InputError(
            f"{what} {path}: row {row}: {field} {column.iloc[i]!r} is not a number"
        )
    return values.to_numpy(dtype=float)
