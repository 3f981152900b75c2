"""Data checks between reading and computing: stop on inputs that would give wrong numbers,
and warn, in the outputs, about what a planner should know before reading them.

The readers (``circle15.sources``) check each file on its own: columns, numbers, ids,
geometries. The checks here look at the layers together, in the study CRS:

- the study area is a polygon and the network reaches it;
- facilities lie where the network and the area are: not all outside the area (swapped
  longitude/latitude is recognised), and not shifted by the systematic offset of Chinese
  map coordinates (GCJ-02/BD-09 data declared as WGS84, or the reverse), see
  :func:`coordinate_offset`;
- after snapping: someone and something of each category reach a street, and how many
  residents live on network pieces without any facility of a category
  (:func:`run_warnings`).

Errors are ``InputError`` (the CLI exits with code 2); warnings are sentences collected in
``result.diagnostics["warnings"]``, printed by the CLI and written to ``manifest.json``
and ``report.html``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS, Transformer

from .errors import InputError
from .model import Districts, FacilityLayer, PopulationGrid, WalkingNetwork
from .sources.chinese_crs import parse_crs, to_wgs84, wgs84_to_bd09, wgs84_to_gcj02

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
        null = float(np.median(self.null_m))
        low = float(np.quantile(self.null_m, 0.25))
        return bool(self.shift_m > 20 and self.as_other_m <= 0.6 * low
                    and self.as_other_m <= 0.4 * min(null, self.as_read_m)
                    and self.as_read_m >= 0.5 * null)

    @property
    def conclusive(self) -> bool:
        """Detected beyond reasonable doubt: enough to stop a run whose CRS was not declared.

        As read the facilities are as far from the streets as randomly moved points (at
        least 0.8 of the null median), and the other reading puts them at most a quarter of
        it away. In dense street grids, where any point is near a street, a few facilities
        a little off the street can pass :attr:`detected` by chance; those get a warning,
        not a stop (seen on the demo's old town cut out as a region of its own).
        """
        null = float(np.median(self.null_m))
        return bool(self.detected and self.as_read_m >= 0.8 * null
                    and self.as_other_m <= 0.25 * null)


def check_inputs(config, districts: Districts, network: WalkingNetwork,
                 population: PopulationGrid, facilities: dict[str, FacilityLayer]) -> list[str]:
    """Check the layers of a study against each other before any computation.

    Parameters
    ----------
    config : LoadedConfig
        The study file (for facility CRSs, the network buffer and messages).
    districts, network, population, facilities
        The layers as read, in the study CRS.

    Returns
    -------
    list of str
        Warnings, each one sentence a planner can act on.

    Raises
    ------
    InputError
        An empty study area, a network away from the area, facilities all outside it (with
        the reason when it is swapped coordinates), or facilities whose coordinates are in
        another system than declared (when no system was declared).
    """
    warnings: list[str] = []
    if districts.area.is_empty or districts.area.area <= 0:
        raise InputError("boundary outline: the study area has no extent (empty or "
                         "zero-area polygons); check the outline file")
    _network_reaches_area(network, districts)
    streets = shapely.STRtree(network.edges.geometry.to_numpy())
    buffer_m = config.config.network.buffer_m
    for key, layer in facilities.items():
        source = config.config.facilities[key]
        name = f" {source.path.name}" if source.path is not None else ""
        what = f"facilities ({key}){name}"
        if source.source != "osm":  # OpenStreetMap data and streets share WGS84
            warnings += _offset_messages(layer, streets, source.crs, what, key)
        warnings += _outside_area(layer, districts, buffer_m, what)
        warnings += _capacity_notes(layer, what)
    warnings += population.notes
    warnings += network.notes
    warnings += [note for layer in facilities.values() for note in layer.notes]
    return warnings


def _network_reaches_area(network: WalkingNetwork, districts: Districts) -> None:
    """The walking network must have streets inside the study area."""
    lines = network.edges.geometry.to_numpy()
    inside = shapely.STRtree(lines).query(districts.area, predicate="intersects")
    if len(inside):
        return
    gap_km = shapely.distance(shapely.box(*network.edges.total_bounds), districts.area) / 1000
    raise InputError(
        f"network: none of its {len(lines):,} street segments lies within the study area "
        f"(the nearest is {gap_km:,.1f} km away); check that the network covers the area "
        "and that its coordinate system is the one declared")


def _outside_area(layer: FacilityLayer, districts: Districts, buffer_m: float,
                  what: str) -> list[str]:
    """Facilities beyond the area plus the network buffer: all of them is an error."""
    points = layer.facilities.geometry.to_numpy()
    reach = shapely.buffer(districts.area, buffer_m)
    shapely.prepare(reach)
    outside = ~shapely.contains(reach, points)
    if not outside.any():
        return []
    ids = layer.facilities["facility_id"].astype(str).to_numpy()[outside]
    if outside.all():
        if _swapped_inside(points, layer.facilities.crs, reach):
            raise InputError(
                f"{what}: every facility lies outside the study area, and with longitude "
                "and latitude swapped they would lie inside it: the file gives latitude "
                "first. Swap the coordinate columns (or name them with lon_field and "
                "lat_field), or export the file again with longitude first")
        gap_km = shapely.distance(shapely.multipoints(points), districts.area) / 1000
        raise InputError(
            f"{what}: none of its {len(points):,} facilities lies within {buffer_m:,.0f} m "
            f"of the study area (the nearest is {gap_km:,.1f} km away); check the file "
            "and its coordinate system (crs)")
    shown = ", ".join(ids[:5]) + (" …" if len(ids) > 5 else "")
    return [f"{what}: {len(ids)} of {len(points)} facilities lie more than {buffer_m:,.0f} m "
            f"outside the study area ({shown}); they serve no one in it unless the street "
            "network reaches them"]


def _swapped_inside(points: np.ndarray, crs: CRS, reach: shapely.Geometry) -> bool:
    """Whether most facilities, read with longitude and latitude swapped, fall inside."""
    to_wgs = Transformer.from_crs(crs, 4326, always_xy=True)
    back = Transformer.from_crs(4326, crs, always_xy=True)
    lon, lat = to_wgs.transform(shapely.get_x(points), shapely.get_y(points))
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 90)  # lat read as lon
    if not ok.any():
        return False
    x, y = back.transform(lat[ok], lon[ok])
    return bool(shapely.contains_xy(reach, x, y).mean() >= 0.5)


def _capacity_notes(layer: FacilityLayer, what: str) -> list[str]:
    capacity = layer.facilities["capacity"].to_numpy(dtype=float)
    blank = np.isnan(capacity)
    if not blank.any():
        return []
    if blank.all():
        return [f"{what}: no facility has a capacity; supply per resident (2SFCA) and the "
                "norms cannot be computed for this category"]
    return [f"{what}: {int(blank.sum())} of {len(capacity)} facilities have no capacity; "
            "supply (2SFCA) treats them as set by supply.missing_capacity"]


# --------------------------------------------------------------------------------------
# Coordinate offsets (GCJ-02 / BD-09 against WGS84)


def coordinate_offset(points: np.ndarray, crs: CRS, streets: shapely.STRtree,
                      read_as: str) -> list[OffsetFinding]:
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
    raw = {"WGS84": (lon, lat), "GCJ-02": wgs84_to_gcj02(lon, lat),
           "BD-09": wgs84_to_bd09(lon, lat)}[read_as]
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
        null = [_median_distance(streets, px + d * np.cos(a), py + d * np.sin(a), region)
                for px, py in ((x, y), (np.asarray(ox), np.asarray(oy)))
                for a, d in zip(angle, length, strict=True)]
        null_m = np.array([m for m in null if np.isfinite(m)])
        if len(null_m) < 4:  # too few moved points land among the streets to judge
            continue
        found.append(OffsetFinding(read_as, other, as_read, _median_distance(streets, ox, oy),
                                   shift, null_m))
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


def _offset_messages(layer: FacilityLayer, streets: shapely.STRtree, declared: str | None,
                     what: str, key: str) -> list[str]:
    read_as = _system(declared)
    points = layer.facilities.geometry.to_numpy()
    if read_as is None or len(points) < MIN_FACILITIES_FOR_OFFSET:
        return []
    hits = [f for f in coordinate_offset(points, layer.facilities.crs, streets, read_as)
            if f.detected]
    if not hits:
        return []
    best = min(hits, key=lambda f: f.as_other_m)
    message = (
        f"{what}: the coordinates look like {best.other} read as {read_as}: as read, the "
        f"facilities' median distance to the nearest street is {best.as_read_m:.0f} m, no "
        f"closer than the same points moved {best.shift_m:.0f} m in other directions "
        f"({best.null_m.min():.0f}–{best.null_m.max():.0f} m); read as {best.other} it is "
        f"{best.as_other_m:.0f} m. Amap and Tencent give GCJ-02, Baidu BD-09")
    if declared is None and best.conclusive:
        raise InputError(f"{message}: set crs = \"{best.other}\" under [facilities.{key}] "
                         f"(or crs = \"WGS84\" if the coordinates really are WGS84)")
    return [f"{message}; check crs = \"{declared or 'WGS84'}\" under [facilities.{key}]"]


# --------------------------------------------------------------------------------------
# After snapping


def check_snapping(cells_snapped: np.ndarray, facilities_snapped: dict[str, np.ndarray],
                   max_snap_m: float) -> None:
    """Stop when no resident, or no facility of a category, is near any street.

    Every result would then be "unreachable": a wrong CRS or a network for another area,
    not a finding.
    """
    if len(cells_snapped) and not cells_snapped.any():
        raise InputError(
            f"population: none of the {len(cells_snapped):,} populated cells is within "
            f"{max_snap_m:g} m of a street (analysis.max_snap_m); check that the network "
            "and the population cover the same area in the same coordinate system")
    for key, snapped in facilities_snapped.items():
        if len(snapped) and not snapped.any():
            raise InputError(
                f"facilities ({key}): none of the {len(snapped):,} facilities is within "
                f"{max_snap_m:g} m of a street (analysis.max_snap_m); check their "
                "coordinates and crs, or that the network covers them")


def population_without_facility(piece_of_cell: np.ndarray, pieces_with_facility: np.ndarray,
                                cohort: np.ndarray) -> float:
    """Residents on network pieces where no facility of the category stands.

    Parameters
    ----------
    piece_of_cell : ndarray of int
        Connected piece of each cell's street node; -1 for cells off the network.
    pieces_with_facility : ndarray of int
        Pieces holding at least one snapped facility of the category.
    cohort : ndarray of float
        The category's residents per cell.
    """
    on_network = piece_of_cell >= 0
    stranded = on_network & ~np.isin(piece_of_cell, pieces_with_facility)
    return float(cohort[stranded].sum())


def run_warnings(diagnostics: dict, categories: dict) -> list[str]:
    """Plain-language warnings from a run's diagnostics, to read next to its figures."""
    out = []
    if diagnostics.get("unsnapped_cells"):
        out.append(
            f"{diagnostics['unsnapped_cells']:,} populated cells "
            f"({diagnostics['unsnapped_population']:,.0f} residents) are farther than the snap "
            "limit from every street; they count as unreachable (see analysis.max_snap_m)")
    stranded = {k: v for k, v in diagnostics.get("population_without_facility", {}).items()
                if v > 0}
    if diagnostics.get("network_pieces", 1) > 1 and (
            stranded or diagnostics.get("population_off_main_network")):
        text = (f"the walking network has {diagnostics['network_pieces']:,} separate pieces; "
                f"{diagnostics.get('population_off_main_network', 0):,.0f} residents live on "
                "pieces other than the largest")
        if stranded:
            parts = [f"{categories[k].name_en if k in categories else k} "
                     f"{v:,.0f} ({categories[k].cohort_label if k in categories else ''})"
                     for k, v in stranded.items()]
            text += ("; residents on pieces without any facility of the category, who count "
                     "as unreachable: " + ", ".join(parts))
        out.append(text)
    for key, ids in diagnostics.get("unsnapped_facilities", {}).items():
        if ids:
            shown = ", ".join(ids[:5]) + (" …" if len(ids) > 5 else "")
            out.append(f"{len(ids)} {key} facilities are too far from any street and were "
                       f"left out: {shown}")
    return out
