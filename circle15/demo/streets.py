"""Streets of the synthetic district: arterials, cores, villages, industry, footways."""

from __future__ import annotations

import numpy as np
import shapely
from scipy.spatial import Delaunay
from shapely.geometry import LineString, Point

from .area import (
    ARTERIAL_ANGLE_DEG,
    ARTERIAL_SPACING_M,
    CORE_INDEX,
    CORES,
    HAMLET_CLEARANCE_M,
    HAMLET_SEARCH_BOX,
    N_GRID_BRIDGES,
    N_LOCAL_BRIDGES,
    ZONES,
    Area,
    zone_of,
)
from .common import Lines, nearest_line, rotate, segments, stream, utm_xy

# =========================================================================== streets


def _bent_line(
    rng: np.random.Generator, along: np.ndarray, offset: float, wander: float
) -> np.ndarray:
    """Coordinates of a nearly straight line at ``y = offset`` that drifts by <= wander m."""
    drift = np.cumsum(rng.normal(0.0, wander / 4.0, along.size))
    drift = np.clip(drift - drift.mean(), -wander, wander)
    return np.column_stack([along, offset + drift])


def arterial_grid(area: Area) -> Lines:
    """Coarse, slightly bent arterial grid over the whole district plus trunk links.

    Every third grid line is a primary road, the rest secondary; primary trunk roads also
    join the core centres. Nothing runs through the lake or the hills.
    """
    rng = stream(1)
    minx, miny, maxx, maxy = area.outline.bounds
    corners = np.array([[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy]])
    frame = rotate(corners, -ARTERIAL_ANGLE_DEG)  # the district in the grid's own frame
    lines, classes = [], []
    for axis in (0, 1):  # axis 0: lines running along frame-x; axis 1: along frame-y
        along = np.arange(frame[:, axis].min() - 500, frame[:, axis].max() + 500, 350.0)
        lo, hi = frame[:, 1 - axis].min(), frame[:, 1 - axis].max()
        offsets = lo + np.cumsum(rng.uniform(*ARTERIAL_SPACING_M, 80))
        for i, offset in enumerate(offsets[offsets < hi]):
            xy = _bent_line(rng, along, offset, 60.0)
            xy = xy if axis == 0 else xy[:, ::-1]
            lines.append(LineString(rotate(xy, ARTERIAL_ANGLE_DEG)))
            classes.append("primary" if i % 3 == 1 else "secondary")
    grid = Lines.concat(
        [Lines.of(lines, classes), Lines.of(_trunk_links(rng), "primary", trunk=True)]
    )
    blocked = shapely.union_all([area.lake.buffer(10.0), area.hills])
    grid = grid.replace(shapely.difference(grid.geoms, blocked))
    return grid.replace(shapely.intersection(grid.geoms, area.outline))


TRUNK_PAIRS = (("LT", "ZS"), ("LT", "JC"), ("JC", "ZB"), ("LT", "JLH"), ("LT", "GS"), ("GS", "XP"))


def _trunk_links(rng: np.random.Generator) -> list[LineString]:
    """Trunk roads between core centres, each bowed gently sideways."""
    links = []
    for a, b in TRUNK_PAIRS:
        p = utm_xy(CORES[CORE_INDEX[a]].lon, CORES[CORE_INDEX[a]].lat)
        q = utm_xy(CORES[CORE_INDEX[b]].lon, CORES[CORE_INDEX[b]].lat)
        t = np.linspace(0.0, 1.0, 9)[:, None]
        normal = np.array([p[1] - q[1], q[0] - p[0]]) / np.linalg.norm(q - p)
        bow = np.sin(np.pi * t) * rng.uniform(-250.0, 250.0)  # zero at both ends
        links.append(LineString(p + t * (q - p) + bow * normal))
    return links


def _lattice(
    rng: np.random.Generator, half: float, block: tuple[float, float], jitter: float
) -> tuple[np.ndarray, np.ndarray]:
    """Segments of a jittered lattice centred on the origin, block sides drawn from ``block``.

    Returns
    -------
    a, b : ndarray, shape (m, 2)
        Start and end points of the horizontal and vertical lattice segments.
    """

    def ticks() -> np.ndarray:
        t = np.concatenate([[0.0], np.cumsum(rng.uniform(*block, int(2 * half / block[0]) + 2))])
        t = t[t <= 2 * half]
        return t - t[-1] / 2.0

    xs, ys = ticks(), ticks()
    grid = np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1)
    grid += np.clip(rng.normal(0.0, jitter, grid.shape), -2 * jitter, 2 * jitter)
    a = np.concatenate([grid[:-1, :].reshape(-1, 2), grid[:, :-1].reshape(-1, 2)])
    b = np.concatenate([grid[1:, :].reshape(-1, 2), grid[:, 1:].reshape(-1, 2)])
    return a, b


def core_streets(area: Area, arterials: Lines) -> Lines:
    """Local streets of every core and its suburban ring.

    The core is a jittered grid (blocks ``core.block_m``) with random gaps, dead ends and
    short alleys into the blocks; each core fades out through a ring of coarser,
    patchier blocks. The grid follows the arterials' orientation, give or take a little.
    """
    rng = stream(2)
    parts = []
    for core in CORES:
        centre = utm_xy(core.lon, core.lat)
        angle = ARTERIAL_ANGLE_DEG + rng.normal(0.0, 3.0)
        phase = rng.uniform(0.0, 2 * np.pi, 2)
        a, b = _lattice(rng, core.radius_m * 1.3, core.block_m, 12.0)
        r = _core_reach(a, b, core.radius_m, phase)
        keep = (r < 1.0) & (rng.random(len(a)) > 0.12)  # missing links: irregular blocks
        a, b = a[keep], b[keep]
        # Suburbs: coarser, patchier blocks fading out round the core.
        sa, sb = _lattice(rng, core.radius_m * 2.0, (140.0, 300.0), 15.0)
        r = _core_reach(sa, sb, core.radius_m, phase)
        keep = (r >= 1.0) & (r < 1.6) & (rng.random(len(sa)) > 0.3)
        a, b = np.concatenate([a, sa[keep]]), np.concatenate([b, sb[keep]])
        parts.append(segments(rotate(a, angle) + centre, rotate(b, angle) + centre))
    streets = _drop_alongside(Lines.of(np.concatenate(parts), "residential"), arterials, 40.0)
    # Alleys last, so that none is left hanging from a street dropped above.
    ends = shapely.get_coordinates(streets.geoms).reshape(-1, 2, 2)
    alleys = _alleys(rng, ends[:, 0], ends[:, 1], share=0.45, length=(25.0, 55.0))
    streets = Lines.concat([streets, Lines.of(segments(*alleys), "residential")])
    blocked = shapely.union_all([area.industrial, area.lake.buffer(10.0)])
    return streets.replace(shapely.difference(streets.geoms, blocked))


def _core_reach(a: np.ndarray, b: np.ndarray, radius: float, phase: np.ndarray) -> np.ndarray:
    """Distance of each segment's midpoint from the core centre, in core radii.

    The radius varies with the bearing, which gives the built-up area an irregular edge.
    """
    mid = (a + b) / 2.0
    bearing = np.arctan2(mid[:, 1], mid[:, 0])
    edge = radius * (
        1 + 0.18 * np.sin(3 * bearing + phase[0]) + 0.10 * np.sin(5 * bearing + phase[1])
    )
    return np.hypot(mid[:, 0], mid[:, 1]) / edge


def _alleys(
    rng: np.random.Generator,
    a: np.ndarray,
    b: np.ndarray,
    share: float,
    length: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Dead-end alleys leaving a share of the segments ``a -> b`` at right angles.

    Each alley starts 0.5 m on the far side of its street so that it crosses it: noding
    then puts a junction there (an end point merely touching a line might miss it by
    rounding), and the 0.5 m stub vanishes when ends within ``SNAP_M`` are merged.
    """
    pick = rng.random(len(a)) < share
    a, b = a[pick], b[pick]
    along = b - a
    normal = np.column_stack([-along[:, 1], along[:, 0]]) / np.linalg.norm(along, axis=1)[:, None]
    normal *= rng.choice([-1.0, 1.0], len(a))[:, None]
    start = a + rng.uniform(0.3, 0.7, len(a))[:, None] * along - 0.5 * normal
    return start, start + normal * rng.uniform(*length, len(a))[:, None]


def _drop_alongside(lines: Lines, arterials: Lines, within_m: float) -> Lines:
    """Drop segments that run alongside an arterial (would double it), keep crossing ones.

    A segment runs alongside when both its ends lie within ``within_m`` of the arterial
    nearest its midpoint and their projections on it are about a segment length apart.
    """
    tree = shapely.STRtree(arterials.geoms)
    mid = shapely.line_interpolate_point(lines.geoms, 0.5, normalized=True)
    nearest = arterials.geoms[nearest_line(tree, mid)[0]]
    a, b = shapely.get_point(lines.geoms, 0), shapely.get_point(lines.geoms, -1)
    close = (shapely.distance(a, nearest) < within_m) & (shapely.distance(b, nearest) < within_m)
    along = np.abs(shapely.line_locate_point(nearest, a) - shapely.line_locate_point(nearest, b))
    return lines.where(~(close & (along > 0.7 * shapely.length(lines.geoms))))


def _clusters(
    rng: np.random.Generator,
    centres: np.ndarray,
    spacing: np.ndarray,
    axes: np.ndarray,
    drop: float,
) -> np.ndarray:
    """Small lane networks, one per centre: a 7x7 jittered lattice cut to an ellipse.

    Parameters
    ----------
    centres : ndarray, shape (v, 2)
        Each centre is exactly a lattice node (it is not jittered), so roads built to the
        centre meet the lanes there.
    spacing : ndarray, shape (v,)
        Distance between lanes, metres.
    axes : ndarray, shape (v, 2)
        Semi-axes of the kept ellipse, in lattice steps.
    drop : float
        Share of lane segments removed at random.

    Returns
    -------
    ndarray of LineString
    """
    v = len(centres)
    steps = np.arange(-3, 4)
    ij = np.stack(np.meshgrid(steps, steps, indexing="ij"), axis=-1).astype(float)  # (7,7,2)
    inside = (
        (ij[None, ..., 0] / axes[:, 0, None, None]) ** 2
        + (ij[None, ..., 1] / axes[:, 1, None, None]) ** 2
    ) <= 1.0
    jitter = rng.normal(0.0, 6.0, (v, 7, 7, 2))
    jitter[:, 3, 3] = 0.0
    local = ij[None] * spacing[:, None, None, None] + jitter
    pts = rotate(local, rng.uniform(0.0, 180.0, v)[:, None, None]) + centres[:, None, None, :]
    a = np.concatenate([pts[:, :-1].reshape(-1, 2), pts[:, :, :-1].reshape(-1, 2)])
    b = np.concatenate([pts[:, 1:].reshape(-1, 2), pts[:, :, 1:].reshape(-1, 2)])
    ok = np.concatenate(
        [
            (inside[:, :-1] & inside[:, 1:]).reshape(-1),
            (inside[:, :, :-1] & inside[:, :, 1:]).reshape(-1),
        ]
    )
    ok &= rng.random(len(ok)) >= drop
    return segments(a[ok], b[ok])


def village_sites(area: Area) -> np.ndarray:
    """Village centres: a jittered 520 m grid thinned by how rural each zone is.

    No village lies in a core, the industrial zone, the lake, the hills, by the canal or
    near the hamlet.
    """
    rng = stream(3)
    minx, miny, maxx, maxy = area.outline.bounds
    gx, gy = np.meshgrid(np.arange(minx, maxx, 520.0), np.arange(miny, maxy, 520.0))
    xy = np.column_stack([gx.ravel(), gy.ravel()]) + rng.uniform(-150, 150, (gx.size, 2))
    pts = shapely.points(xy)
    rurality = np.array([z.rurality for z in ZONES])[zone_of(xy, area.seeds)]
    core_xy = np.array([utm_xy(c.lon, c.lat) for c in CORES])
    core_r = np.array([c.radius_m for c in CORES])
    core_gap = np.min(np.linalg.norm(xy[:, None] - core_xy[None], axis=2) - core_r, axis=1)
    avoid = shapely.union_all(
        [
            area.industrial.buffer(300.0),
            area.lake.buffer(200.0),
            area.hills,
            area.canal.buffer(250.0),
            area.hamlet.buffer(area.hamlet_clearance_m + 300.0),
        ]
    )
    ok = shapely.contains(area.outline.buffer(-150.0), pts) & ~shapely.intersects(avoid, pts)
    ok &= core_gap > 400.0
    ok &= rng.random(len(xy)) < rurality
    return xy[ok]


def village_streets(area: Area, arterials: Lines) -> tuple[Lines, np.ndarray]:
    """Village lanes round each site, an access road to the nearest arterial, farm tracks.

    Returns
    -------
    lines : Lines
        Lanes ("unclassified" or "track"), access roads ("unclassified") and tracks
        between neighbouring villages ("track").
    sites : ndarray, shape (v, 2)
        Village centres.
    """
    sites = village_sites(area)
    rng = stream(4)
    v = len(sites)
    axes = np.column_stack([rng.uniform(1.5, 3.2, v), rng.uniform(1.0, 2.4, v)])
    lanes = _clusters(rng, sites, rng.uniform(45.0, 90.0, v), axes, drop=0.15)
    kind = np.where(rng.random(len(lanes)) < 0.6, "unclassified", "track")
    # Access road: from the village centre to the nearest arterial, overshooting it by
    # 0.5 m so that noding finds the crossing (the stub is merged away, see _alleys).
    access = shapely.shortest_line(shapely.points(sites), shapely.multilinestrings(arterials.geoms))
    ends = shapely.get_coordinates(access).reshape(-1, 2, 2)
    reach = ends[:, 1] - ends[:, 0]
    ends[:, 1] += 0.5 * reach / np.maximum(np.linalg.norm(reach, axis=1), 1e-9)[:, None]
    access = _kinked(rng, ends[:, 0], ends[:, 1], 15.0)
    tracks = _village_tracks(rng, sites)
    lines = Lines.concat(
        [Lines.of(lanes, list(kind)), Lines.of(access, "unclassified"), Lines.of(tracks, "track")]
    )
    return lines, sites


def _kinked(rng: np.random.Generator, a: np.ndarray, b: np.ndarray, sd: float) -> np.ndarray:
    """Roads from ``a`` to ``b`` with their midpoint pushed aside by about ``sd`` metres."""
    kink = (a + b) / 2.0 + rng.normal(0.0, sd, a.shape)
    return shapely.linestrings(np.stack([a, kink, b], axis=1))


def _village_tracks(rng: np.random.Generator, sites: np.ndarray) -> np.ndarray:
    """Farm tracks joining some neighbouring villages (short Delaunay edges)."""
    tri = Delaunay(sites).simplices
    pairs = np.unique(
        np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [0, 2]]]), axis=1), axis=0
    )
    a, b = sites[pairs[:, 0]], sites[pairs[:, 1]]
    keep = (np.linalg.norm(b - a, axis=1) < 1000.0) & (rng.random(len(pairs)) < 0.4)
    return _kinked(rng, a[keep], b[keep], 40.0)


def industrial_streets(area: Area) -> Lines:
    """The industrial zone's coarse service-road grid (300-400 m blocks)."""
    rng = stream(5)
    a, b = _lattice(rng, 2500.0, (300.0, 400.0), 10.0)
    # Align the grid with the zone's long side (the coast).
    ring = np.asarray(area.industrial.minimum_rotated_rectangle.exterior.coords)
    side = ring[1] - ring[0]
    angle = np.rad2deg(np.arctan2(side[1], side[0]))
    centre = np.asarray(area.industrial.centroid.coords[0])
    roads = segments(rotate(a, angle) + centre, rotate(b, angle) + centre)
    roads = Lines.of(roads, "service")
    return roads.replace(shapely.intersection(roads.geoms, area.industrial))


def footways(area: Area) -> Lines:
    """A few footpaths: round the lake, along the canal in 骆驼, across parks in the cores."""
    rng = stream(6)
    lake_path = area.lake.buffer(25.0).exterior
    luotuo = CORES[CORE_INDEX["LT"]]
    # offset_curve: negative distances lie right of the line, i.e. south of the canal.
    promenade = shapely.intersection(
        area.canal.offset_curve(-45.0), Point(utm_xy(luotuo.lon, luotuo.lat)).buffer(2000.0)
    )
    paths = [lake_path, promenade]
    for core in CORES[:3]:  # park paths in the three big cores
        centre = utm_xy(core.lon, core.lat)
        for _ in range(3):
            mid = centre + rng.uniform(-0.6, 0.6, 2) * core.radius_m
            half = rng.uniform(125.0, 225.0) * np.array([1.0, 0.0])
            d = rotate(half, rng.uniform(0.0, 180.0))
            paths.append(LineString([mid - d, mid + d]))
    lines = Lines.of(paths, "footway")
    blocked = shapely.union_all([area.industrial, area.lake])
    return lines.replace(shapely.difference(lines.geoms, blocked))


def locate_hamlet(area: Area, arterials: Lines) -> None:
    """Put the hamlet where the search box is farthest from the arterials.

    Sets ``area.hamlet`` and ``area.hamlet_clearance_m`` (shrunk if the spot is nearer to
    an arterial than ``HAMLET_CLEARANCE_M``).
    """
    x0, y0, x1, y1 = HAMLET_SEARCH_BOX
    gx, gy = np.meshgrid(np.arange(x0, x1, 50.0), np.arange(y0, y1, 50.0))
    pts = shapely.points(gx.ravel(), gy.ravel())
    ok = shapely.contains(area.outline.buffer(-500.0), pts)
    ok &= shapely.distance(area.canal, pts) > 300.0
    ok &= ~shapely.intersects(area.hills.buffer(300.0), pts)
    ok &= ~shapely.intersects(area.lake.buffer(300.0), pts)
    _, gap = nearest_line(shapely.STRtree(arterials.geoms), pts)
    gap = np.where(ok, gap, -1.0)
    best = int(np.argmax(gap))
    area.hamlet = pts[best]
    area.hamlet_clearance_m = min(HAMLET_CLEARANCE_M, gap[best] - 20.0)


def hamlet_streets(area: Area) -> Lines:
    """The hamlet's lanes: about twenty junctions, deliberately linked to nothing."""
    rng = stream(7)
    centre = np.asarray(area.hamlet.coords)
    lanes = _clusters(rng, centre, np.array([50.0]), np.array([[3.0, 2.2]]), drop=0.0)
    return Lines.of(lanes, "unclassified", hamlet=True)


def choose_bridges(area: Area, arterials: Lines, local: Lines) -> np.ndarray:
    """Where streets may cross the canal: trunk links, a few grid arterials, two local streets.

    Returns
    -------
    ndarray of Point
        Bridge sites on the canal.
    """

    def crossings(geoms: np.ndarray) -> np.ndarray:
        pts = shapely.get_parts(shapely.intersection(geoms, area.canal))
        pts = pts[shapely.get_type_id(pts) == 0]
        return pts[np.argsort(shapely.line_locate_point(area.canal, pts))]

    is_link = arterials.attrs["trunk"].to_numpy()
    trunk = crossings(arterials.geoms[is_link])
    grid = crossings(arterials.geoms[~is_link])
    # Spread the grid bridges evenly along the canal.
    pick = np.unique(np.round(np.linspace(0, len(grid) - 1, N_GRID_BRIDGES + 2)[1:-1]))
    bridges = list(trunk) + list(grid[pick.astype(int)])
    luotuo = Point(utm_xy(CORES[CORE_INDEX["LT"]].lon, CORES[CORE_INDEX["LT"]].lat))
    # Only through streets (lattice links, not dead-end alleys of at most 56 m) that cross
    # squarely: less than 70 m of the street over water.
    over_water = shapely.length(shapely.intersection(local.geoms, area.canal_strip))
    square = (shapely.length(local.geoms) > 60.0) & (over_water > 0) & (over_water < 70.0)
    candidates = crossings(local.geoms[square])
    candidates = candidates[np.argsort(shapely.distance(candidates, luotuo), kind="stable")]
    for pt in candidates:  # nearest the 骆驼 centre first, well apart from other bridges
        if len(bridges) == len(trunk) + len(pick) + N_LOCAL_BRIDGES:
            break
        if min(pt.distance(b) for b in bridges) > 500.0:
            bridges.append(pt)
    return np.asarray(bridges, dtype=object)


def cut_at_canal(area: Area, lines: Lines, bridges: np.ndarray) -> Lines:
    """Cut every street at the canal banks, except the streets crossing at a bridge site."""
    bridged = shapely.dwithin(lines.geoms, shapely.multipoints(bridges), 0.5)
    cut = np.where(bridged, lines.geoms, shapely.difference(lines.geoms, area.canal_strip))
    return lines.replace(cut)
