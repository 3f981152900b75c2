"""The facility reader: one category's table or GIS file as a ``FacilityLayer`` in the study CRS.

:func:`read_facilities` reads the file (a table through :mod:`circle15.sources.tables`, a
GIS file through :func:`~circle15.sources._files.read_vector`), finds its points
(:mod:`~circle15.sources.facilities.points`), assembles ids, names and capacities
(:mod:`~circle15.sources.facilities.rows`) and deals with near-duplicates.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pyproj import CRS

from ...model import FacilityLayer
from .._encoding import Encoding
from .._files import read_vector
from ..chinese_crs import parse_crs
from ..duplicates import DEFAULT_DISTANCE_M
from ..tables import read_messy_table
from .headers import _KNOWN
from .points import _table_frame, _vector_frame
from .rows import Dedupe, _assemble, _drop_repeated, _near_duplicates, lines_of

TABLE_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls"}


def read_table(
    path: Path, what: str = "table", sheet: str | None = None, encoding: Encoding | None = None
) -> pd.DataFrame:
    """A table as a DataFrame (see :func:`circle15.sources.tables.read_table`)."""
    from ..tables import read_table as _read

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
