"""Choose the projected metric CRS in which a study is computed."""

from __future__ import annotations

import geopandas as gpd
from pyproj import CRS
from pyproj.exceptions import CRSError

from ..errors import InputError


def study_crs(outline: gpd.GeoDataFrame, declared: str | None = None) -> CRS:
    """The study's projected CRS: ``declared`` if given, else the UTM zone of the outline.

    Raises
    ------
    InputError
        When ``declared`` is unknown or not a projected (metric) CRS.
    """
    if declared is None:
        return outline.estimate_utm_crs()
    try:
        crs = CRS.from_user_input(declared)
    except CRSError:
        raise InputError(f"study.crs: unknown coordinate system {declared!r}") from None
    if not crs.is_projected:
        raise InputError(
            f"study.crs: {declared} is not a projected CRS in metres; use a UTM zone "
            "such as EPSG:32651, or leave it out to pick one automatically"
        )
    return crs
