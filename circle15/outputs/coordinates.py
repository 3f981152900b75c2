"""Coordinates in the tables written in the planner's own system (``[outputs] crs``).

A planner who works in Amap pastes ``lon_gcj02, lat_gcj02`` and the point lands where it
should; Baidu users get ``lon_bd09, lat_bd09``; a projected system (``EPSG:4549``, a
CGCS2000 Gauss-Kruger zone) gives ``x_epsg4549, y_epsg4549`` in metres. The default is
WGS84 (``lon_wgs84, lat_wgs84``). The column names always say the system, and so does the
workbook's ``about`` sheet. GCJ-02 and BD-09 come from WGS84 by the published formulas
(:mod:`circle15.sources.chinese_crs`); everything else by pyproj.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

from ..sources.chinese_crs import parse_crs, wgs84_to_bd09, wgs84_to_gcj02

__all__ = ["WGS84", "OutputCRS", "output_crs", "point_coordinates"]

WGS84 = "EPSG:4326"
_DEGREE_DECIMALS = 6  # about 0.1 m
_METRE_DECIMALS = 2


@dataclass(frozen=True)
class OutputCRS:
    """The coordinate system of the coordinates written to CSV and XLSX.

    Attributes
    ----------
    declared : str
        As the study file gives it (``"GCJ-02"``), or ``"WGS84"`` by default.
    system : pyproj.CRS or str
        A pyproj CRS, or ``"GCJ-02"`` / ``"BD-09"``.
    columns : tuple of str
        The two column names (``("lon_gcj02", "lat_gcj02")``).
    description : str
        One line for the workbook's ``about`` sheet and the README.
    """

    declared: str
    system: CRS | str
    columns: tuple[str, str]
    description: str

    @property
    def geographic(self) -> bool:
        """True for longitude/latitude in degrees."""
        return isinstance(self.system, str) or self.system.is_geographic

    def from_lonlat(self, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
        """WGS84 longitude/latitude to this system, rounded (6 decimals or centimetres)."""
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        # compare names, not CRS objects: pyproj parses a string to compare with a CRS
        offset = self.system if isinstance(self.system, str) else None
        if offset == "GCJ-02":
            a, b = wgs84_to_gcj02(lon, lat)
        elif offset == "BD-09":
            a, b = wgs84_to_bd09(lon, lat)
        elif self.columns == ("lon_wgs84", "lat_wgs84"):
            a, b = lon, lat
        else:
            a, b = _from_wgs84(self.system.to_wkt()).transform(lon, lat)
        decimals = _DEGREE_DECIMALS if self.geographic else _METRE_DECIMALS
        # NaN in, NaN out (a missing point stays missing)
        return (
            np.round(np.asarray(a, dtype=float), decimals),
            np.round(np.asarray(b, dtype=float), decimals),
        )


@cache
def _from_wgs84(target: str) -> Transformer:
    """A transformer from WGS84 longitude/latitude (built once: pyproj is slow to start)."""
    return Transformer.from_crs(WGS84, target, always_xy=True)


def _suffix(system: CRS | str) -> str:
    if isinstance(system, str):
        return system.lower().replace("-", "")
    code = system.to_epsg()
    if code == 4326:
        return "wgs84"
    if code == 4490:
        return "cgcs2000"
    if code is not None:
        return f"epsg{code}"
    return re.sub(r"[^a-z0-9]+", "_", system.name.lower()).strip("_")[:24] or "crs"


def output_crs(declared: Any = None) -> OutputCRS:
    """The output system for ``declared`` (a study's ``[outputs] crs``), WGS84 when None.

    ``declared`` may also be a :class:`~circle15.result.CoverageResult`, whose
    ``parameters["outputs"]["crs"]`` is then used.

    Raises
    ------
    InputError
        When the name is no coordinate system (the message lists what is accepted).
    """
    if hasattr(declared, "parameters"):
        declared = ((getattr(declared, "parameters", None) or {}).get("outputs") or {}).get("crs")
    if declared is None or str(declared).strip() == "":
        declared = "WGS84"
    system = parse_crs(str(declared), "outputs.crs")
    suffix = _suffix(system)
    if isinstance(system, str):
        name = {"GCJ-02": "GCJ-02 (Amap/高德, Tencent/腾讯)", "BD-09": "BD-09 (Baidu/百度)"}
        columns = (f"lon_{suffix}", f"lat_{suffix}")
        text = f"longitude/latitude in {name[system]}, degrees"
    elif system.is_geographic:
        columns = (f"lon_{suffix}", f"lat_{suffix}")
        code = system.to_epsg()
        text = f"longitude/latitude in {system.name}{f' (EPSG:{code})' if code else ''}, degrees"
    else:
        columns = (f"x_{suffix}", f"y_{suffix}")
        code = system.to_epsg()
        text = f"easting/northing in {system.name}{f' (EPSG:{code})' if code else ''}, metres"
    return OutputCRS(str(declared), system, columns, text)


def point_coordinates(
    frame: gpd.GeoDataFrame, out: OutputCRS, *, inside: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """One point per geometry of ``frame`` in the output system.

    ``inside=True`` takes a point guaranteed inside each polygon (a centroid may fall
    outside a crescent-shaped gap); otherwise the geometry's centroid (the point itself
    for points).
    """
    if not len(frame):
        return np.array([], dtype=float), np.array([], dtype=float)
    geoms = frame.geometry.to_numpy()
    points = shapely.point_on_surface(geoms) if inside else shapely.centroid(geoms)
    lonlat = gpd.GeoSeries(points, crs=frame.crs).to_crs(WGS84)
    return out.from_lonlat(lonlat.x.to_numpy(), lonlat.y.to_numpy())
