"""Read facility tables (CSV, XLSX, XLS, GeoJSON, GeoPackage, Shapefile) into a ``FacilityLayer``.

Tables from Chinese offices arrive in many shapes: GBK-encoded CSV saved by Excel, a title
row above the header, 合计 rows, full-width digits, Chinese headers (经度/纬度, 幼儿园名称,
托位), Amap/Baidu coordinates. The table is read by :mod:`circle15.sources.tables`;
columns are detected when not given; every problem of the file is reported in one message
with the file's own line numbers and the facility's name; coordinates in GCJ-02 or BD-09
are moved to WGS84 before projection (see :mod:`circle15.sources.chinese_crs`). The
planner's other columns (地址, 备注, 办园性质 …) are kept: ``FacilityLayer.extra_columns``.

The package's modules, each with one job:

- :mod:`~circle15.sources.facilities.headers`: the header spellings of each column;
- :mod:`~circle15.sources.facilities.points`: the facilities' points, from coordinate
  columns or GIS features;
- :mod:`~circle15.sources.facilities.rows`: ids, names, capacities, extra columns and
  duplicates, every problem reported at once;
- :mod:`~circle15.sources.facilities.reader`: :func:`read_facilities`, which runs them.

Every name is importable from ``circle15.sources.facilities`` itself.
"""

from __future__ import annotations

from ..columns import find_column
from .headers import (
    CAPACITY_NAMES,
    ID_NAMES,
    LAT_NAMES,
    LON_NAMES,
    NAME_NAMES,
    RESERVED_COLUMNS,
)
from .headers import LONLAT_NAMES as LONLAT_NAMES
from .reader import TABLE_SUFFIXES, read_facilities, read_table
from .rows import Dedupe as Dedupe
from .rows import lines_of as lines_of

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
