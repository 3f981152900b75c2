"""Choose the projected metric CRS in which a study is computed, and check that its
distances are true in the study area.

Every length circle15 uses (street lengths from geometry, the snap leg from a cell to its
street, buffers, catchments, gap areas) is measured in the plane of the study CRS. A
projection whose scale in the study area is not 1 stretches all of them alike: Web
Mercator (EPSG:3857) at Ningbo's latitude makes every walk 15 % longer. Rather than
correct some lengths geodesically and leave the others planar, a CRS whose scale error
in the area exceeds :data:`MAX_SCALE_ERROR` is refused, with the UTM zone to use instead.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Proj
from pyproj.exceptions import CRSError, ProjError

from ..errors import InputError

#: Largest error of the projection's scale in the study area (1 %: 9 s in a 15-minute walk).
MAX_SCALE_ERROR = 0.01
#: Points of the outline at which the scale is measured (its vertices, thinned out).
_SAMPLE_POINTS = 500


def study_crs(outline: gpd.GeoDataFrame, declared: str | None = None) -> CRS:
    """The study's projected CRS: ``declared`` if given, else the UTM zone of the outline.

    Raises
    ------
    InputError
        When ``declared`` is unknown, not a projected CRS in metres, or its scale error in
        the study area exceeds :data:`MAX_SCALE_ERROR` (the message suggests the UTM zone);
        also when the area is too wide for its own UTM zone.
    """
    utm = outline.estimate_utm_crs()
    if declared is None:
        error = scale_error(utm, outline)
        if error > MAX_SCALE_ERROR:
            raise InputError(
                f"study area: it spans too many degrees of longitude for one UTM zone "
                f"({utm.name}: lengths up to {error:.1%} off at its edges); split it into "
                "regions (circle15 batch), or give study.crs a projection made for the area"
            )
        return utm
    try:
        crs = CRS.from_user_input(declared)
    except CRSError:
        raise InputError(f"study.crs: unknown coordinate system {declared!r}") from None
    if not crs.is_projected:
        raise InputError(
            f"study.crs: {declared} is not a projected CRS in metres; use a UTM zone "
            f"such as {_name(utm)}, or leave it out to pick one automatically"
        )
    unit = crs.axis_info[0] if crs.axis_info else None
    if unit is None or unit.unit_conversion_factor != 1.0:
        raise InputError(
            f"study.crs: {declared} measures in {unit.unit_name if unit else 'unknown units'}, "
            f"not metres; use {_name(utm)} (the UTM zone of the study area), or leave "
            "study.crs out to use it"
        )
    error = scale_error(crs, outline)
    if error > MAX_SCALE_ERROR:
        shown = "outside its valid area" if not np.isfinite(error) else f"{error:.1%}"
        raise InputError(
            f"study.crs: {declared} ({crs.name}) does not keep distances in the study area "
            f"(scale error {shown}, more than {MAX_SCALE_ERROR:.0%}): every walking time "
            f"would be off by as much. Use {_name(utm)}, the UTM zone of the study area, or "
            "leave study.crs out to use it"
        )
    return crs


def scale_error(crs: CRS, outline: gpd.GeoDataFrame) -> float:
    """Largest ``|scale - 1|`` of ``crs`` in any direction at the outline's points.

    The scale in every direction lies between the Tissot indicatrix's semi-minor and
    semi-major axes (pyproj ``Proj.get_factors``); infinity when the area lies outside
    the projection's valid domain.
    """
    geographic = outline.to_crs(crs.geodetic_crs)
    xy = shapely.get_coordinates(geographic.geometry.to_numpy())
    if len(xy) > _SAMPLE_POINTS:
        xy = xy[np.linspace(0, len(xy) - 1, _SAMPLE_POINTS).astype(int)]
    centre = shapely.get_coordinates(
        shapely.centroid(shapely.union_all(geographic.geometry.to_numpy()))
    )
    xy = np.vstack([xy, centre])
    try:
        factors = Proj(crs).get_factors(xy[:, 0], xy[:, 1], errcheck=False)
    except (ProjError, CRSError):
        return float("inf")
    axes = np.concatenate(
        [np.atleast_1d(factors.tissot_semimajor), np.atleast_1d(factors.tissot_semiminor)]
    ).astype(float)
    if len(axes) == 0 or not np.isfinite(axes).all():
        return float("inf")
    return float(np.abs(axes - 1.0).max())


def _name(crs: CRS) -> str:
    """``EPSG:32651 (WGS 84 / UTM zone 51N)``."""
    code = crs.to_epsg()
    return f"EPSG:{code} ({crs.name})" if code else crs.name
