"""Chinese map-service coordinates: GCJ-02 (Amap, Tencent) and BD-09 (Baidu) to WGS84.

GCJ-02 and BD-09 are not datums that pyproj knows: they are WGS84 longitude/latitude
moved by a published obfuscation formula (100-700 m inside mainland China). The forward
formulas come from the maintained PyPI package ``coordTransform`` (MIT; C batch code
for arrays). Its inverses are the usual one-step approximations, up to 4 m off (measured
over China), so the inverses here iterate its forward formula to a fixed point: the
round trip is exact to well under a millimetre.

Everything else a planner declares (``WGS84``, ``CGCS2000``/``EPSG:4490``, a projected
Gauss-Kruger zone, any EPSG code) is an ordinary CRS and goes to pyproj.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import coordTransform as _ct
import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from ..errors import InputError

OffsetSystem = Literal["GCJ-02", "BD-09"]

#: Spellings a planner may use for the two offset systems, lower-cased, without spaces.
ALIASES: dict[str, OffsetSystem] = {
    **dict.fromkeys(
        [
            "gcj-02",
            "gcj02",
            "gcj_02",
            "gcj",
            "amap",
            "gaode",
            "autonavi",
            "tencent",
            "qq",
            "mars",
            "火星坐标",
            "火星坐标系",
            "国测局坐标",
            "高德",
            "腾讯",
        ],
        "GCJ-02",
    ),
    **dict.fromkeys(
        ["bd-09", "bd09", "bd_09", "bd09ll", "baidu", "百度", "百度坐标", "百度坐标系"], "BD-09"
    ),
}

#: Plain CRSs under names planners use, mapped to EPSG codes.
NAMED_CRS = {
    "wgs84": "EPSG:4326",
    "wgs-84": "EPSG:4326",
    "wgs_84": "EPSG:4326",
    "gps": "EPSG:4326",
    "cgcs2000": "EPSG:4490",
    "cgcs-2000": "EPSG:4490",
    "国家2000": "EPSG:4490",
    "2000国家大地坐标系": "EPSG:4490",
}

#: Stop iterating an inverse when it reproduces its input to this many degrees
#: (1e-10 degrees is about 0.01 mm).
_TOLERANCE_DEG = 1e-10
_MAX_ITERATIONS = 12


def parse_crs(declared: str, field: str = "crs") -> CRS | OffsetSystem:
    """The coordinate system a planner declared: a pyproj ``CRS`` or an offset system.

    Parameters
    ----------
    declared : str
        ``"GCJ-02"`` (also ``gcj02``, ``amap``, ``tencent``, ``高德``), ``"BD-09"``
        (``bd09ll``, ``baidu``, ``百度``), ``"WGS84"``, ``"CGCS2000"`` or anything pyproj
        reads (``"EPSG:4549"``).
    field : str
        Config field named in the error message.

    Raises
    ------
    InputError
        When the name is unknown.
    """
    key = str(declared).strip().lower().replace(" ", "")
    if key in ALIASES:
        return ALIASES[key]
    try:
        return CRS.from_user_input(NAMED_CRS.get(key, declared))
    except CRSError:
        raise InputError(
            f"{field}: unknown coordinate system {declared!r}; use WGS84, CGCS2000, GCJ-02 "
            "(Amap/Tencent), BD-09 (Baidu) or an EPSG code such as EPSG:4549"
        ) from None


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 longitude/latitude to GCJ-02 (identity outside mainland China's box)."""
    return _forward(_ct.wgs84_to_gcj02, lon, lat)


def gcj02_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 longitude/latitude to Baidu's BD-09."""
    return _forward(_ct.gcj02_to_bd09, lon, lat)


def wgs84_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 longitude/latitude to BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def gcj02_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 to WGS84: the point whose GCJ-02 position is the input (exact inverse).

    Returns
    -------
    (ndarray, ndarray)
        WGS84 longitude and latitude; ``wgs84_to_gcj02`` of them gives back the input to
        about 1e-10 degrees.
    """
    return _invert(wgs84_to_gcj02, lon, lat, start=_forward(_ct.gcj02_to_wgs84, lon, lat))


def bd09_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 to GCJ-02 (exact inverse of :func:`gcj02_to_bd09`)."""
    return _invert(gcj02_to_bd09, lon, lat, start=_forward(_ct.bd09_to_gcj02, lon, lat))


def bd09_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 to WGS84 (exact inverse of :func:`wgs84_to_bd09`)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84(lon, lat, system: OffsetSystem) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude in an offset system to WGS84."""
    return {"GCJ-02": gcj02_to_wgs84, "BD-09": bd09_to_wgs84}[system](lon, lat)


def geometries_to_wgs84(geometries: np.ndarray, system: OffsetSystem) -> np.ndarray:
    """Move every vertex of shapely geometries from an offset system to WGS84.

    Polygons keep their rings and holes; only coordinates change (one vectorised call for
    all vertices of all geometries).
    """

    def move(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs84(xy[:, 0], xy[:, 1], system)
        return np.column_stack([lon, lat])

    return shapely.transform(np.asarray(geometries, dtype=object), move)


def with_declared_crs(frame: Any, declared: CRS | OffsetSystem | None) -> Any:
    """``frame`` in its declared system: GCJ-02/BD-09 vertices moved to WGS84, a declared
    CRS set over the file's own (a file without ``.prj``, or one that claims WGS84 for
    Amap's numbers), or unchanged when nothing was declared.

    ``declared`` is what :func:`parse_crs` gave for the layer's ``crs`` key.
    """
    import geopandas as gpd

    if isinstance(declared, str):
        return gpd.GeoDataFrame(
            frame.drop(columns=frame.geometry.name),
            geometry=geometries_to_wgs84(frame.geometry.to_numpy(), declared),
            crs=4326,
        )
    if declared is not None:
        return frame.set_crs(declared, allow_override=True)
    return frame


def _forward(fn: Callable, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    lon = np.ascontiguousarray(lon, dtype=float).ravel()
    lat = np.ascontiguousarray(lat, dtype=float).ravel()
    if lon.size == 0:
        return lon.copy(), lat.copy()
    out_lon, out_lat = fn(lon, lat)  # coordTransform's C batch code for arrays
    return np.asarray(out_lon, dtype=float), np.asarray(out_lat, dtype=float)


def _invert(forward: Callable, lon, lat, start) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(x) = target`` by fixed-point iteration ``x -= forward(x) - target``.

    The offsets change by less than 1e-3 degrees per degree, so every step gains about
    three digits; three or four steps reach the tolerance.
    """
    target_lon = np.asarray(lon, dtype=float).ravel()
    target_lat = np.asarray(lat, dtype=float).ravel()
    x, y = (np.array(a, dtype=float) for a in start)
    for _ in range(_MAX_ITERATIONS):
        fx, fy = forward(x, y)
        dx, dy = fx - target_lon, fy - target_lat
        x -= dx
        y -= dy
        if x.size == 0 or max(np.abs(dx).max(), np.abs(dy).max()) < _TOLERANCE_DEG:
            break
    return x, y
