"""Coordinates in another system than declared: GCJ-02/BD-09 read as WGS84, or the reverse.

Chinese web maps publish coordinates shifted by 100–700 m. Points (facilities, candidate
sites) are compared with the streets as read and as they would be in the other systems
(:func:`coordinate_offset`); :func:`point_crs_messages` turns the comparison into an error
or warnings. ``_network_offset`` runs the comparison the other way round for
centrelines traced on Amap or Baidu.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS, Transformer

from ..errors import InputError
from ..model import FacilityLayer, WalkingNetwork
from ..sources.chinese_crs import parse_crs, to_wgs84, wgs84_to_bd09, wgs84_to_gcj02

#: Fewest facilities on which an offset of their coordinates is judged.
MIN_FACILITIES_FOR_OFFSET = 5
#: Directions (eight, less one) in which the facilities are moved to see how close to a
#: street points land when they are not on the streets.
_NULL_DIRECTIONS = 7


@dataclass(frozen=True)
class OffsetFinding:
    """Median distance of a category's facilities to the nearest street, as read and as
    they would be in another coordinate system.

    Attributes
    ----------
    read_as, other : str
        ``"WGS84"``, ``"GCJ-02"`` or ``"BD-09"``: the system used, the one tried.
    as_read_m, as_other_m : float
        Median distance to the nearest street, metres.
    shift_m : float
        Median distance between the two readings of a facility.
    null_m : ndarray
        Median distance after moving both readings a block or so in eight directions
        (those that land among the streets): what points that are not on the streets give
        on this network.
    """

    read_as: str
    other: str
    as_read_m: float
    as_other_m: float
    shift_m: float
    null_m: np.ndarray
    #: Shares of the facilities among the streets (in their convex hull) as read and in
    #: the other reading: the evidence when too few moved points stay among the streets
    #: for a null (a small network, an offset larger than it).
    among_read: float = 1.0
    among_other: float = 1.0

    @property
    def off_the_network(self) -> bool:
        """As read, the facilities lie outside the streets' extent; in the other reading
        they lie among the streets and at most 30 m from one (no null needed)."""
        return bool(
            self.shift_m > 20
            and self.among_read <= 0.2
            and self.among_other >= 0.8
            and self.as_other_m <= 30
        )

    @property
    def detected(self) -> bool:
        """The other reading puts the facilities on the streets and this one does not.

        Judged against the network's own null, both readings moved a block or so in
        eight directions: the other reading is much closer to the streets (at most 0.6 of
        the null's lower quartile, 0.4 of its median and 0.4 of the distance as read), and
        as read the facilities are no closer to the streets than half the null median.
        Strict on purpose: facilities that do not sit by the streets (large campuses,
        synthetic points) give no verdict rather than a wrong one.
        """
        if len(self.null_m) < 4:
            return self.off_the_network
        null = float(np.median(self.null_m))
        low = float(np.quantile(self.null_m, 0.25))
        return bool(
            self.shift_m > 20
            and self.as_other_m <= 0.6 * low
            and self.as_other_m <= 0.4 * min(null, self.as_read_m)
            and self.as_read_m >= 0.5 * null
        )

    @property
    def conclusive(self) -> bool:
        """Detected beyond reasonable doubt: enough to stop a run whose CRS was not declared.

        As read the facilities are as far from the streets as randomly moved points (at
        least 0.8 of the null median), and the other reading puts them at most a quarter of
        it away — or, as read, they lie farther from the streets than every moved copy
        (at least twice the largest: off the network altogether). In dense street grids,
        where any point is near a street, a few facilities a little off the street can pass
        :attr:`detected` by chance; those get a warning, not a stop (seen on the demo's old
        town cut out as a region of its own).
        """
        if len(self.null_m) < 4:
            return self.off_the_network
        null = float(np.median(self.null_m))
        off_network = self.as_read_m >= 2 * float(np.max(self.null_m))
        return bool(
            self.detected
            and self.as_read_m >= 0.8 * null
            and (self.as_other_m <= 0.25 * null or off_network)
        )


def coordinate_offset(
    points: np.ndarray, crs: CRS, streets: shapely.STRtree, read_as: str
) -> list[OffsetFinding]:
    """Compare facilities' distances to the streets as read and in the other systems.

    Chinese web maps publish coordinates shifted by 100–700 m (GCJ-02, and BD-09 on top of
    it). Read as WGS84 they land beside their true place, usually off the street they face.
    Facilities sit close to streets, so the reading that puts them closest to the streets,
    clearly closer than random shifts of the same length, is the right one.

    Parameters
    ----------
    points : ndarray of Point
        Facilities in ``crs`` (projected), as read.
    crs : pyproj.CRS
        The study CRS.
    streets : shapely.STRtree
        Tree of the network's street lines (in ``crs``).
    read_as : str
        ``"WGS84"``, ``"GCJ-02"`` or ``"BD-09"``: how the coordinates were read.

    Returns
    -------
    list of OffsetFinding
        One per other system, e.g. for ``"WGS84"``: GCJ-02 and BD-09.
    """
    to_wgs = Transformer.from_crs(crs, 4326, always_xy=True)
    from_wgs = Transformer.from_crs(4326, crs, always_xy=True)
    x, y = shapely.get_x(points), shapely.get_y(points)
    lon, lat = to_wgs.transform(x, y)
    # the numbers in the file, before they were moved to WGS84
    raw = {
        "WGS84": (lon, lat),
        "GCJ-02": wgs84_to_gcj02(lon, lat),
        "BD-09": wgs84_to_bd09(lon, lat),
    }[read_as]
    as_read = _median_distance(streets, x, y)
    # the null counts only points that stay among the streets: a shift off the edge of the
    # network says nothing about how close to a street a misplaced point lands
    region = shapely.convex_hull(shapely.multilinestrings(streets.geometries))
    shapely.prepare(region)
    found = []
    for other in ("WGS84", "GCJ-02", "BD-09"):
        if other == read_as:
            continue
        olon, olat = raw if other == "WGS84" else to_wgs84(*raw, other)
        ox, oy = from_wgs.transform(olon, olat)
        dx, dy = np.asarray(ox) - x, np.asarray(oy) - y
        shift = float(np.median(np.hypot(dx, dy)))
        # the null: both readings moved a block or so in eight directions, off the axes
        # and by different lengths, so that points on the streets of a grid neither slide
        # along them nor land on the next street
        k = np.arange(_NULL_DIRECTIONS + 1)
        angle, length = np.pi / 8 + k * np.pi / 4, max(150.0, 0.3 * shift) * (1 + k / 8)
        # every shifted copy of both readings in one nearest-street query
        step_x, step_y = length * np.cos(angle), length * np.sin(angle)
        null = _median_distances(
            streets,
            np.concatenate([x + step_x[:, None], np.asarray(ox) + step_x[:, None]]),
            np.concatenate([y + step_y[:, None], np.asarray(oy) + step_y[:, None]]),
            region,
        )
        null_m = null[np.isfinite(null)]
        among_read = float(shapely.contains_xy(region, x, y).mean())
        among_other = float(shapely.contains_xy(region, np.asarray(ox), np.asarray(oy)).mean())
        # with too few moved points among the streets there is no null (see OffsetFinding)
        found.append(
            OffsetFinding(
                read_as,
                other,
                as_read,
                _median_distance(streets, ox, oy),
                shift,
                null_m,
                among_read,
                among_other,
            )
        )
    return found


def _median_distance(streets: shapely.STRtree, x, y, region=None) -> float:
    """Median distance of points to the nearest street (NaN if fewer than
    ``MIN_FACILITIES_FOR_OFFSET`` lie in ``region``, when given)."""
    points = shapely.points(x, y)
    if region is not None:
        points = points[shapely.contains(region, points)]
        if len(points) < MIN_FACILITIES_FOR_OFFSET:
            return float("nan")
    _, dist = streets.query_nearest(points, return_distance=True, all_matches=False)
    return float(np.median(dist))


def _median_distances(streets: shapely.STRtree, x: np.ndarray, y: np.ndarray, region) -> np.ndarray:
    """:func:`_median_distance` of each row of points ``x``, ``y`` (2-D, one row per
    shifted copy) in one query; NaN for rows with too few points in ``region``."""
    points = shapely.points(x.ravel(), y.ravel())
    row = np.repeat(np.arange(x.shape[0]), x.shape[1])
    inside = shapely.contains(region, points)
    points, row = points[inside], row[inside]
    out = np.full(x.shape[0], np.nan)
    if not len(points):
        return out
    pairs, dist = streets.query_nearest(points, return_distance=True, all_matches=False)
    row = row[pairs[0]]
    order = np.argsort(row, kind="stable")
    rows, start, count = np.unique(row[order], return_index=True, return_counts=True)
    for r, s, c in zip(rows.tolist(), start.tolist(), count.tolist(), strict=True):
        if c >= MIN_FACILITIES_FOR_OFFSET:
            out[r] = float(np.median(dist[order[s : s + c]]))
    return out


def _system(declared: str | None) -> str | None:
    """``WGS84``/``GCJ-02``/``BD-09`` for a declared facility CRS; None when not lon/lat."""
    if declared is None:
        return "WGS84"
    parsed = parse_crs(declared)
    if isinstance(parsed, str):
        return parsed
    if parsed.is_geographic:  # WGS84 or CGCS2000: the same to within centimetres
        return "WGS84"
    return None


def _offset_messages(
    layer: FacilityLayer, streets: shapely.STRtree, declared: str | None, what: str, key: str
) -> list[str]:
    return point_crs_messages(
        layer.facilities.geometry.to_numpy(),
        layer.facilities.crs,
        streets,
        declared,
        what,
        lambda system: f'crs = "{system}" under [facilities.{key}]',
    )


def point_crs_messages(
    points: np.ndarray,
    crs: CRS,
    streets: shapely.STRtree,
    declared: str | None,
    what: str,
    declare: Callable[[str], str],
    things: str = "facilities",
) -> list[str]:
    """Check points' coordinate system against the streets (see :func:`coordinate_offset`).

    Parameters
    ----------
    points : ndarray of Point
        In the study CRS, as read under ``declared``.
    crs : pyproj.CRS
        The study CRS.
    streets : shapely.STRtree
        The network's street lines (study CRS).
    declared : str, optional
        The system the planner declared; None when the points were taken as WGS84.
    what : str
        The layer, for messages.
    declare : callable
        ``declare("GCJ-02")`` is how the planner declares a system for this layer, e.g.
        ``'crs = "GCJ-02" under [facilities.childcare]'`` or ``"--candidates-crs GCJ-02"``.
    things : str
        What the points are, for messages.

    Returns
    -------
    list of str
        Warnings: a suspected offset, or coordinates that could not be verified.

    Raises
    ------
    InputError
        Undeclared coordinates that are conclusively GCJ-02/BD-09 read as WGS84.
    """
    read_as = _system(declared)
    if read_as is None or len(points) == 0:
        return []
    fix = (
        f'if the coordinates come from Amap or Tencent set {declare("GCJ-02")} ("BD-09"'
        ' for Baidu; "WGS84" confirms them)'
    )
    if len(points) < MIN_FACILITIES_FOR_OFFSET:
        if declared is not None:
            return []
        return [
            f"{what}: the coordinate system of its {len(points)} {things} could not be "
            f"verified (at least {MIN_FACILITIES_FOR_OFFSET} are needed to compare them "
            f"with the streets); they were read as WGS84: {fix}"
        ]
    found = coordinate_offset(points, crs, streets, read_as)
    hits = [f for f in found if f.detected]
    if not hits:
        if declared is None and (not found or not _on_streets(found)):
            as_read = found[0].as_read_m if found else float("nan")
            return [
                f"{what}: the coordinate system could not be verified: read as WGS84, "
                f"the {things}' median distance to the nearest street is {as_read:.0f} m,"
                " not clearly closer than points moved at random, and no other reading "
                f"fits better: {fix}"
            ]
        return []
    best = min(hits, key=lambda f: f.as_other_m)
    compared = (
        f"no closer than the same points moved {best.shift_m:.0f} m in other "
        f"directions ({best.null_m.min():.0f}–{best.null_m.max():.0f} m)"
        if len(best.null_m) >= 4
        else f"{best.among_read:.0%} of them among the streets, against "
        f"{best.among_other:.0%} read as {best.other}"
    )
    message = (
        f"{what}: the coordinates look like {best.other} read as {read_as}: as read, the "
        f"{things}' median distance to the nearest street is {best.as_read_m:.0f} m, "
        f"{compared}; read as {best.other} it is {best.as_other_m:.0f} m. Amap and Tencent "
        "give GCJ-02, Baidu BD-09"
    )
    if declared is None and best.conclusive:
        raise InputError(
            f"{message}: set {declare(best.other)} (or {declare('WGS84')} if the "
            "coordinates really are WGS84)"
        )
    if declared is None:
        return [
            f"{message}; if so, set {declare(best.other)} ({declare('WGS84')} confirms "
            "the reading as WGS84)"
        ]
    return [f"{message}; check {declare(declared)}"]


def _on_streets(found: list[OffsetFinding]) -> bool:
    """As read, the facilities sit clearly closer to the streets than shifted points."""
    f = found[0]
    if len(f.null_m) < 4:
        return bool(f.among_read >= 0.8 and f.as_read_m <= 30)
    return bool(f.as_read_m <= 0.5 * float(np.median(f.null_m)))


def _network_offset(
    config, network: WalkingNetwork, streets: shapely.STRtree, facilities: dict[str, FacilityLayer]
) -> list[str]:
    """Centrelines traced from Amap/Baidu (GCJ-02/BD-09) but read as WGS84.

    The facilities (those not from OpenStreetMap) are read as declared; if they sit on the
    streets only when moved by the offset, the streets are the shifted layer. Only for a
    centreline file whose system was not declared with ``[network] crs``.
    """
    from ..sources.inputs import network_source

    n = config.config.network
    if n.crs is not None or network_source(n.path, n.source) != "centrelines":
        return []
    layers = [
        layer.facilities.geometry.to_numpy()
        for key, layer in facilities.items()
        if config.config.facilities[key].source != "osm"
        and _system(config.config.facilities[key].crs) is not None
    ]
    points = np.concatenate(layers) if layers else np.array([], dtype=object)
    if len(points) < 2 * MIN_FACILITIES_FOR_OFFSET:
        return [
            f"network {n.path.name}: the coordinate system of the centrelines could not "
            "be checked against the facilities (too few of them); if the lines were "
            'traced on Amap or Baidu, set [network] crs = "GCJ-02" or "BD-09"'
        ]
    crs = network.crs
    to_wgs = Transformer.from_crs(crs, 4326, always_xy=True)
    from_wgs = Transformer.from_crs(4326, crs, always_xy=True)
    lon, lat = to_wgs.transform(shapely.get_x(points), shapely.get_y(points))
    for system, forward in (("GCJ-02", wgs84_to_gcj02), ("BD-09", wgs84_to_bd09)):
        # the facilities where they would be on streets drawn in the offset system
        x, y = from_wgs.transform(*forward(lon, lat))
        moved = shapely.points(x, y)
        finding = coordinate_offset(moved, crs, streets, "WGS84")
        # compare: as read (original points) against moved; reuse the null of the moved
        as_read = _median_distance(streets, shapely.get_x(points), shapely.get_y(points))
        on = _median_distance(streets, x, y)
        nulls = [f.null_m for f in finding if len(f.null_m)]
        if not nulls:
            continue
        null = float(np.median(np.concatenate(nulls)))
        if on <= 0.25 * null and as_read >= 0.8 * null and on <= 0.4 * as_read:
            raise InputError(
                f"network {n.path}: the centrelines look like {system} (traced on "
                f"{'Amap or Tencent' if system == 'GCJ-02' else 'Baidu'}) read as WGS84: the "
                f"facilities' median distance to the nearest street is {as_read:.0f} m as "
                f"read and {on:.0f} m with the streets read as {system} (points moved at "
                f'random: {null:.0f} m). Set [network] crs = "{system}" in the study file '
                '(or crs = "WGS84" if the lines really are WGS84)'
            )
    return []
