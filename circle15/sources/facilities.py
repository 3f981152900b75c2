"""Read facility tables (CSV, XLSX, XLS, GeoJSON, GeoPackage, Shapefile) into a ``FacilityLayer``.

Tables from Chinese offices arrive in many shapes: GBK-encoded CSV saved by Excel, a title
row above the header, 合计 rows, full-width digits, Chinese headers (经度/纬度, 幼儿园名称,
托位), Amap/Baidu coordinates. The table is read by :mod:`circle15.sources.tables`;
columns are detected when not given; every problem of the file is reported in one message
with the file's own line numbers and the facility's name; coordinates in GCJ-02 or BD-09
are moved to WGS84 before projection (see :mod:`circle15.sources.chinese_crs`). The
planner's other columns (地址, 备注, 办园性质 …) are kept: ``FacilityLayer.extra_columns``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from ..errors import InputError
from ..model import FacilityLayer
from ._encoding import Encoding
from ._files import read_vector, require_columns
from .chinese_crs import OffsetSystem, geometries_to_wgs84, parse_crs, to_wgs84
from .columns import find_column, find_name_column, normalise
from .duplicates import DEFAULT_DISTANCE_M, near_duplicates
from .geometry_checks import check_geometries
from .tables import Problems, Table, parse_numbers, read_messy_table
from .text import clean_names

__all__ = [
    "CAPACITY_NAMES",
    "ID_NAMES",
    "LAT_NAMES",
    "LON_NAMES",
    "NAME_NAMES",
    "RESERVED_COLUMNS",
    "TABLE_SUFFIXES",
    "find_column",
    "read_facilities",
    "read_table",
]

TABLE_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls"}

#: Header spellings recognised for each field, compared after ``columns.normalise``.
LON_NAMES = (
    "lon",
    "lng",
    "longitude",
    "long",
    "经度",
    "东经",
    "x",
    "gcj_lng",
    "bd_lng",
    "wgs84_lng",
    "lon_wgs84",
    "lng_gcj02",
    "x坐标",
    "经度坐标",
)
LAT_NAMES = (
    "lat",
    "latitude",
    "纬度",
    "北纬",
    "y",
    "gcj_lat",
    "bd_lat",
    "wgs84_lat",
    "lat_wgs84",
    "lat_gcj02",
    "y坐标",
    "纬度坐标",
)
LONLAT_NAMES = ("location", "坐标", "经纬度", "lnglat", "lonlat")  # one "lon,lat" column
#: 序号 (a running number) comes last: it is the id only when no real id column exists.
ID_NAMES = (
    "facility_id",
    "id",
    "编号",
    "代码",
    "机构编号",
    "机构代码",
    "设施编号",
    "单位编号",
    "统一社会信用代码",
    "poi_id",
    "uid",
    "code",
    "osm_id",
    "序号",
    "no",
    "no.",
)
NAME_NAMES = (
    "name",
    "名称",
    "机构名称",
    "设施名称",
    "单位名称",
    "学校名称",
    "园所名称",
    "幼儿园名称",
    "托育机构名称",
    "场地名称",
    "场馆名称",
    "食堂名称",
    "站点名称",
    "poi名称",
    "name_zh",
    "中文名称",
)
CAPACITY_NAMES = (
    "capacity",
    "托位",
    "托位数",
    "学位",
    "学位数",
    "床位",
    "床位数",
    "座位",
    "座位数",
    "餐位",
    "餐位数",
    "容量",
    "规模",
    "核定托位",
    "核定学位",
    "核定托位数",
    "核定学位数",
    "核定床位",
    "办学规模",
    "设计规模",
)
#: Column names the facilities frame uses itself; a planner's column of the same name is
#: kept as ``"<name> (file)"``.
RESERVED_COLUMNS = (
    "facility_id",
    "name",
    "capacity",
    "provenance",
    "geometry",
    "category",
    "snapped",
    "snap_m",
    "district",
    "capacity_per_resident",
)
_KNOWN = tuple(
    dict.fromkeys(LON_NAMES + LAT_NAMES + LONLAT_NAMES + ID_NAMES + NAME_NAMES + CAPACITY_NAMES)
)

Dedupe = Literal["warn", "merge", "error"]


def read_table(
    path: Path, what: str = "table", sheet: str | None = None, encoding: Encoding | None = None
) -> pd.DataFrame:
    """A table as a DataFrame (see :func:`circle15.sources.tables.read_table`)."""
    from .tables import read_table as _read

    return _read(path, what, sheet, encoding=encoding)


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
    encoding: Encoding | None = None,
    dedupe: Dedupe = "warn",
    dedupe_m: float = DEFAULT_DISTANCE_M,
) -> FacilityLayer:
    """Read one category's facilities and project them to the study CRS.

    Parameters
    ----------
    path : Path
        CSV/TSV/TXT/XLSX/XLS table with coordinate columns, or a GIS file (GeoJSON,
        GeoPackage, Shapefile) with points or polygons.
    category : str
        Category key, used in messages and generated ids.
    crs : pyproj.CRS
        Projected study CRS.
    layer : str, optional
        GIS layer, or the sheet of a workbook (hidden sheets are read only when named).
    id_field, name_field, capacity_field : str, optional
        Columns to use. When the named column is absent the usual spellings are tried
        (``id``/``编号`` before ``序号``; ``名称``/``幼儿园名称``/any ``…名称``;
        ``托位``/``学位``/``床位``/``餐位`` …); without an id column, ids are
        ``<category>-<line>``.
    lon_field, lat_field : str, optional
        Coordinate columns of a table; detected when omitted (``lon``/``lng``/``经度``/
        ``x`` and ``lat``/``纬度``/``y``), or a single ``location`` column ``"lon,lat"``.
    source_crs : str, optional
        Coordinate system of the table's columns, or of a GIS file's coordinates when it
        differs from what the file claims: ``WGS84`` (default for tables), ``CGCS2000``,
        ``GCJ-02`` (Amap/Tencent), ``BD-09`` (Baidu) or an EPSG code.
    encoding : Encoding, optional
        Text encoding of a CSV/TXT table or a shapefile's attributes; found from the
        bytes when not given (and said in ``notes``).
    dedupe : {"warn", "merge", "error"}
        Near-duplicates (same or nearly the same name within ``dedupe_m`` metres): listed
        in a warning, merged into their first entry, or refused.
    dedupe_m : float
        Distance within which two entries can be one facility (0 to skip the check).

    Returns
    -------
    FacilityLayer
        Points in ``crs``; polygons are represented by a point inside them. Rows that
        repeat another row exactly are dropped and noted in ``notes``; the planner's
        other columns follow ``provenance`` (``extra_columns``).

    Raises
    ------
    InputError
        Listing every problem of the file with its line and the facility's name: missing
        or bad coordinates, NaN or infinite numbers, blank or duplicate ids, negative or
        non-numeric capacities; and wrong or swapped coordinate systems.
    """
    what = f"facilities ({category})"
    declared = parse_crs(source_crs, f"{what} {path}: crs") if source_crs else None
    notes: list[str] = []
    if path.suffix.lower() in TABLE_SUFFIXES:
        table = read_messy_table(
            path, what, sheet=layer, encoding=encoding, known=_KNOWN, rows_are="facilities"
        )
        notes += table.notes
        table = _drop_repeated(table, path, what, notes)
        frame, lines, used, found, check = _table_frame(
            table, path, what, lon_field, lat_field, declared
        )
        place = "row"
    else:
        raw = read_vector(
            path,
            layer,
            what,
            allow_missing_crs=declared is not None,
            crs_field=f"[facilities.{category}] crs",
            encoding=encoding,
            notes=notes,
        )
        frame, lines = _vector_frame(raw, declared, path, what, notes)
        place, used, found, check = "feature", set(), [], None
    layer_ = _assemble(
        frame,
        lines,
        used,
        found,
        category,
        crs,
        path,
        what,
        place,
        declared,
        notes,
        (id_field, name_field, capacity_field),
    )
    if check is not None:
        check()
    return _near_duplicates(layer_, lines_of(layer_), path, what, place, dedupe, dedupe_m)


# --------------------------------------------------------------------------------------
# Assembling the layer


def _assemble(
    frame: gpd.GeoDataFrame,
    lines: np.ndarray,
    used: set[str],
    found: list[tuple[int, str, int]],
    category: str,
    crs: CRS,
    path: Path,
    what: str,
    place: str,
    declared: CRS | OffsetSystem | None,
    notes: list[str],
    fields: tuple[str | None, str | None, str | None],
) -> FacilityLayer:
    """Ids, names, capacities and extra columns, every problem reported at once."""
    if frame.empty:
        raise InputError(f"{what} {path}: has no facilities")
    id_field, name_field, capacity_field = fields
    columns = [c for c in frame.columns if c != frame.geometry.name]
    problems = Problems(what, path, place)
    id_col = find_column(columns, id_field, ID_NAMES)
    if id_col is None and id_field not in (None, "facility_id"):
        require_columns(frame, [id_field], path, what)
    if id_col is not None and normalise(id_col) in ("序号", "no", "no."):
        # a running number is an id only if it is one: unique and never blank
        text = frame[id_col].astype(str).str.strip()
        if text.duplicated().any() or (text == "").any():
            id_col = None
    name_col = find_name_column(columns, name_field, NAME_NAMES, {id_col}) if name_field else None
    if name_col is None and name_field not in (None, "name"):
        require_columns(frame, [name_field], path, what)
    names, cleaned = clean_names(frame[name_col]) if name_col is not None else (None, 0)
    if cleaned:
        notes.append(
            f"{what} {path.name}: {cleaned} name(s) held control characters (e.g. "
            "a line break pasted from Word); they were replaced by spaces"
        )
    if id_col is not None:
        raw_ids = frame[id_col].map(_id_text).to_numpy(dtype=object)
        blank = raw_ids == ""
        for i in np.flatnonzero(blank):
            problems.add(
                int(lines[i]),
                f"facility id ({id_col}) is blank",
                None if names is None else names[i],
            )
        ids = raw_ids
    else:
        ids = np.array([f"{category}-{r}" for r in lines], dtype=object)
        blank = np.zeros(len(ids), dtype=bool)
    shown = names if names is not None else ids
    dup = pd.Series(ids).duplicated(keep=False).to_numpy() & ~blank
    for value in pd.unique(ids[dup]):
        rows = np.flatnonzero(ids == value)
        where = ", ".join(f"{lines[r]} ({shown[r]})" for r in rows[:5])
        problems.add(
            int(lines[rows[0]]),
            f"facility id {value!r} is used more than once "
            f"({place}s {where}); give each facility its own id",
            located=False,
        )
    if names is None:
        names = ids.copy()
    else:
        names = np.where(np.array([n == "" for n in names]), ids, names)
    cap_col = find_column(columns, capacity_field, CAPACITY_NAMES) if capacity_field else None
    if cap_col is None and capacity_field not in (None, "capacity"):
        require_columns(frame, [capacity_field], path, what)
    if cap_col is not None:
        capacity, approx = parse_numbers(frame[cap_col], cap_col, problems, lines, names, minimum=0)
        if approx.any():
            first = int(np.flatnonzero(approx)[0])
            notes.append(
                f"{what} {path.name}: {int(approx.sum())} {cap_col} value(s) are "
                f"approximations, read as the number ({place} {lines[first]}: "
                f"{frame[cap_col].iloc[first]!s} → {capacity[first]:g})"
            )
    else:
        capacity = np.full(len(frame), np.nan)
    for line, text, i in found:
        problems.add(line, text, names[i])
    problems.raise_if_any("Correct these cells (or delete the rows) and run again")
    conversion = f" ({declared} → WGS84)" if isinstance(declared, str) else ""
    provenance = (
        frame["provenance"].astype(str).to_numpy()
        if "provenance" in columns
        else np.array(
            [f"file: {name} {place} {r}{conversion}" for name in [path.name] for r in lines],
            dtype=object,
        )
    )
    extras = _extra_columns(
        frame, columns, used | {c for c in (id_col, name_col, cap_col, "provenance") if c}
    )
    out = gpd.GeoDataFrame(
        {
            "facility_id": ids,
            "name": names,
            "capacity": capacity,
            "provenance": provenance,
            **extras,
        },
        geometry=frame.geometry.to_crs(crs).to_numpy(),
        crs=crs,
    )
    out["_line"] = lines
    return FacilityLayer(
        category=category, facilities=out, source=str(path), notes=notes, extra_columns=list(extras)
    )


def lines_of(layer: FacilityLayer) -> np.ndarray:
    """Each facility's line (or feature number) in its file; drops the helper column."""
    lines = layer.facilities.pop("_line").to_numpy()
    return lines


def _id_text(value) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return "" if text.lower() in ("nan", "none", "<na>") else text


def _extra_columns(frame: pd.DataFrame, columns: list[str], used: set[str]) -> dict:
    """The planner's other columns, as text without control characters."""
    out = {}
    for col in columns:
        if col in used or str(col).startswith("column_"):
            continue
        values, _ = clean_names(frame[col])
        key = f"{col} (file)" if col in RESERVED_COLUMNS else str(col)
        out[key] = values
    return out


def _near_duplicates(
    layer: FacilityLayer,
    lines: np.ndarray,
    path: Path,
    what: str,
    place: str,
    dedupe: Dedupe,
    dedupe_m: float,
) -> FacilityLayer:
    out, notes = layer.facilities, layer.notes
    names = out["name"].astype(str).to_numpy()
    groups = near_duplicates(out.geometry.to_numpy(), names, dedupe_m)
    if not groups:
        return layer
    points = out.geometry.to_numpy()
    parts = []
    for g in groups[:10]:
        gap = float(shapely.distance(points[g[0]], points[g[1:]]).max())
        parts.append(
            " = ".join(f"{names[i]} ({place} {lines[i]})" for i in g) + f", {gap:.0f} m apart"
        )
    listed = "; ".join(parts) + (f"; and {len(groups) - 10} more" if len(groups) > 10 else "")
    head = (
        f"{what} {path}: {len(groups)} facilit{'y is' if len(groups) == 1 else 'ies are'}"
        f" entered more than once (the same or nearly the same name within "
        f"{dedupe_m:g} m): {listed}"
    )
    if dedupe == "error":
        raise InputError(
            f'{head}. Delete the repeated rows, or set dedupe = "merge" (keep '
            'the first entry) or dedupe = "warn" under this facilities '
            "section if they really are separate facilities"
        )
    if dedupe == "warn":
        notes.append(
            f"{head}; each counts as a separate facility (its capacity too). If "
            'they are one facility, delete the repeats or set dedupe = "merge"'
        )
        return layer
    drop = np.concatenate([g[1:] for g in groups])
    keep = np.ones(len(out), dtype=bool)
    keep[drop] = False
    capacity = out["capacity"].to_numpy(dtype=float).copy()
    for g in groups:  # the first entry keeps its capacity, or the first one given
        known = capacity[g][np.isfinite(capacity[g])]
        capacity[g[0]] = known[0] if len(known) else np.nan
    out = out.assign(capacity=capacity)
    notes.append(
        f'{head}; merged into the first entry of each (dedupe = "merge"; its '
        f"capacity kept, not added): {len(drop)} row(s) dropped"
    )
    layer.facilities = out[keep].reset_index(drop=True)
    return layer


# --------------------------------------------------------------------------------------
# Tables


def _drop_repeated(table: Table, path: Path, what: str, notes: list[str]) -> Table:
    """Drop rows identical to an earlier row in every cell (copy-paste duplicates)."""
    repeated = table.frame.astype(str).duplicated().to_numpy()
    if not repeated.any():
        return table
    shown = ", ".join(str(n) for n in table.lines[repeated][:8])
    notes.append(
        f"{what}: {int(repeated.sum())} row(s) of {path.name} repeat an earlier row "
        f"exactly and were dropped (row {shown})"
    )
    return table.take(~repeated)


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
        geometry = geometries_to_wgs84(frame.geometry.to_numpy(), declared)
        frame = gpd.GeoDataFrame(
            frame.drop(columns=frame.geometry.name), geometry=geometry, crs=4326
        )
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
            "x = longitude and y = latitude"
        )
    raise InputError(
        f"{what} {path}: the coordinates (e.g. {x[0]:g}, {y[0]:g}) are not longitude/"
        f"latitude, but the file says {frame.crs.name}; set crs under the facilities "
        "section to the system the numbers are in (e.g. EPSG:4549)"
    )
