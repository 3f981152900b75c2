"""Facilities of every category, placed where they reach the most residents."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree
from shapely.geometry import Point

from .area import ZONE_INDEX, ZONES, Area, Zone
from .common import CELL_M, PROV_SYNTHETIC, TO_WGS, cn_number, nearest_line, stream
from .graph import Network

#: Facilities per category and zone, uneven on purpose: the urban cores are well served,
#: 九龙湖镇 and the rural parts of 澥浦镇/贵驷 are not.
FACILITY_PLAN: dict[str, dict[str, int]] = {
    "childcare": {"ZB": 6, "JC": 5, "LT": 8, "ZS": 6, "GS": 2, "XP": 1, "JLH": 0},
    "kindergarten": {"ZB": 7, "JC": 7, "LT": 14, "ZS": 9, "GS": 2, "XP": 1, "JLH": 1},
    "primary_school": {"ZB": 4, "JC": 4, "LT": 6, "ZS": 4, "GS": 2, "XP": 1, "JLH": 1},
    "middle_school": {"ZB": 2, "JC": 2, "LT": 3, "ZS": 2, "GS": 1, "XP": 1, "JLH": 0},
    "elderly_canteen": {"ZB": 13, "JC": 8, "LT": 20, "ZS": 14, "GS": 4, "XP": 2, "JLH": 2},
    "sports_venue": {"ZB": 9, "JC": 7, "LT": 16, "ZS": 10, "GS": 3, "XP": 2, "JLH": 2},
    "community_health": {"ZB": 4, "JC": 3, "LT": 6, "ZS": 4, "GS": 3, "XP": 3, "JLH": 2},
    "elderly_day_care": {"ZB": 5, "JC": 3, "LT": 6, "ZS": 4, "GS": 2, "XP": 2, "JLH": 1},
    "culture": {"ZB": 4, "JC": 3, "LT": 6, "ZS": 4, "GS": 3, "XP": 3, "JLH": 2},
}


@dataclass(frozen=True)
class FacilityType:
    """One kind of facility within a category (a centre, a station, a village clinic).

    ``where``: ``first`` for the zone's first facility (its centre; ``first_town`` in a
    town, 镇), ``urban`` and ``rural`` for the others in sub-districts of low and high
    rurality; ``weight`` shares the urban or rural draws among the types.
    """

    name_zh: str
    name_en: str
    capacity: tuple[int, int]
    where: str
    weight: float = 1.0


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
    #: Kinds within the category (health centre and stations …); none: one kind.
    types: tuple[FacilityType, ...] = ()


FACILITY_KINDS: dict[str, FacilityKind] = {
    "childcare": FacilityKind(
        "CC", "托育园", "Childcare Centre", (20, 120), 5, ("age_0", "age_1_4"), 540.0
    ),
    "kindergarten": FacilityKind(
        "KG", "幼儿园", "Kindergarten", (180, 450), 30, ("age_1_4", "age_5_9"), 540.0
    ),
    "primary_school": FacilityKind(
        "PS", "小学", "Primary School", (900, 2400), 45, ("age_5_9", "age_10_14"), 540.0
    ),
    "middle_school": FacilityKind(
        "MS", "初级中学", "Middle School", (900, 1800), 50, ("age_10_14",), 540.0
    ),
    "elderly_canteen": FacilityKind(
        "EC", "长者食堂", "Elderly Canteen", (20, 120), 5, ("age_60_plus",), 430.0
    ),
    "sports_venue": FacilityKind(
        "SV", "全民健身中心", "Fitness Centre", (300, 20000), 10, ("pop_total",), 540.0
    ),
    # Floor areas (m²) after GB 50180-2018 Appendix C (社区卫生服务中心 1,700-2,000,
    # 卫生服务站 120-270, 日间照料中心 350-750, 文化活动中心 3,000-6,000, 文化活动站 250-1,200),
    # widened a little; village clinics and halls smaller.
    "community_health": FacilityKind(
        "CH",
        "社区卫生服务站",
        "Community Health Station",
        (60, 3000),
        10,
        ("pop_total",),
        540.0,
        (
            FacilityType("社区卫生服务中心", "Community Health Centre", (1500, 3000), "first"),
            FacilityType("卫生院", "Township Health Centre", (1500, 3000), "first_town"),
            FacilityType("社区卫生服务站", "Community Health Station", (120, 300), "urban"),
            FacilityType("村卫生室", "Village Clinic", (60, 150), "rural"),
        ),
    ),
    "elderly_day_care": FacilityKind(
        "DC",
        "居家养老服务站",
        "Home-care Station",
        (150, 1500),
        10,
        ("age_60_plus",),
        430.0,
        (
            FacilityType("居家养老服务中心", "Home-care Service Centre", (750, 1500), "first"),
            FacilityType("居家养老服务中心", "Home-care Service Centre", (750, 1500), "first_town"),
            FacilityType("居家养老服务站", "Home-care Station", (150, 400), "urban", 0.7),
            FacilityType("嵌入式养老机构", "Embedded Care Home", (600, 1500), "urban", 0.3),
            FacilityType("居家养老服务站", "Home-care Station", (150, 300), "rural"),
        ),
    ),
    "culture": FacilityKind(
        "CU",
        "文化家园",
        "Community Culture Home",
        (200, 6000),
        10,
        ("pop_total",),
        540.0,
        (
            FacilityType("文化活动中心", "Cultural Activity Centre", (3000, 6000), "first"),
            FacilityType("文化活动中心", "Cultural Activity Centre", (3000, 6000), "first_town"),
            FacilityType("文化家园", "Community Culture Home", (250, 1200), "urban", 0.6),
            FacilityType("图书馆分馆", "Library Branch", (200, 800), "urban", 0.4),
            FacilityType("农村文化礼堂", "Village Culture Hall", (200, 800), "rural"),
        ),
    ),
}
#: Zones at least this rural have village clinics, halls and stations.
RURAL_ZONE = 0.7
#: Sports venues are named by their size: (minimum area m², name_zh, name_en).
SPORTS_TYPES = (
    (8000, "体育公园", "Sports Park"),
    (2000, "全民健身中心", "Fitness Centre"),
    (0, "社区健身苑", "Community Fitness Yard"),
)
#: A facility stands this far (m) from the street it is reached by.
FACILITY_SETBACK_M = (12.0, 45.0)


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
        street = self.frontage[nearest_line(self.front_tree, np.array([target]))[0][0]]
        foot = np.asarray(street.interpolate(street.project(target)).coords[0])
        away = near_xy - foot
        if np.hypot(*away) < 1.0:  # the target is on the street: step off at right angles
            p, q = np.asarray(street.coords[0]), np.asarray(street.coords[-1])
            away = np.array([p[1] - q[1], q[0] - p[0]])
        site = foot + away / np.hypot(*away) * rng.uniform(*FACILITY_SETBACK_M)
        pt = Point(site)
        edge, gap = nearest_line(self.all_tree, np.array([pt]))
        fits = 10.0 <= gap[0] <= 60.0 and bool(self.net.main[edge[0]])
        fits &= not (self.area.industrial.intersects(pt) or self.area.lake.intersects(pt))
        fits &= self.area.canal.distance(pt) > 40.0 and self.area.outline.contains(pt)
        return site if fits else None


def place_facilities(
    area: Area, net: Network, cells: gpd.GeoDataFrame, cell_zone: np.ndarray
) -> dict[str, pd.DataFrame]:
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
        rng = stream(20 + step)
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
        lon, lat = TO_WGS.transform(*np.asarray(sites).T)
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


def _greedy_site(
    rng: np.random.Generator,
    placer: Placer,
    centre: np.ndarray,
    gain: np.ndarray,
    candidate: np.ndarray,
) -> np.ndarray:
    """A site near one of the three candidate cells of highest gain (tried best first)."""
    gain = np.where(candidate, gain, -np.inf)
    order = np.argsort(-gain, kind="stable")
    order = order[np.isfinite(gain[order])]
    for start in range(0, len(order), 3):
        for cell in rng.permutation(order[start : start + 3]):
            for _ in range(20):  # a few tries round the cell before moving on
                target = centre[cell] + rng.uniform(-CELL_M / 2, CELL_M / 2, 2)
                site = placer.spot(rng, target)
                if site is not None:
                    return site
    raise RuntimeError("no site found for a facility")


def _facility_row(
    rng: np.random.Generator, kind: FacilityKind, zone: Zone, numbers: dict[str, int]
) -> dict[str, object]:
    """Name and capacity of the next facility of a kind in a zone.

    ``numbers`` counts the facilities of each name type (e.g. 体育公园) already named in
    the zone; names are numbered within their type: 骆驼街道第二体育公园.
    """
    if kind.types:
        return _typed_row(rng, kind, zone, numbers)
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
    return {
        "name": f"{zone.name_zh}第{cn_number(number)}{zh}",
        "name_en": f"{short_en} {en} No. {number}",
        "capacity": capacity,
    }


def _typed_row(
    rng: np.random.Generator, kind: FacilityKind, zone: Zone, numbers: dict[str, int]
) -> dict[str, object]:
    """Name and capacity of the next facility of a category with several types: the
    zone's first is its centre (卫生院 in a town), the others stations, homes or halls."""
    town = zone.name_zh.endswith("镇")
    if not numbers:
        where = "first_town" if town else "first"
    else:
        where = "rural" if zone.rurality >= RURAL_ZONE else "urban"
    types = [t for t in kind.types if t.where == where]
    weights = np.array([t.weight for t in types])
    chosen = types[int(rng.choice(len(types), p=weights / weights.sum()))]
    lo, hi = chosen.capacity
    capacity = int(
        np.clip(round(rng.uniform(lo, hi) / kind.capacity_step) * kind.capacity_step, lo, hi)
    )
    number = numbers[chosen.name_zh] = numbers.get(chosen.name_zh, 0) + 1
    short_en = zone.name_en.rsplit(" ", 1)[0]
    if where.startswith("first"):  # one centre per sub-district: no number
        return {
            "name": f"{zone.name_zh}{chosen.name_zh}",
            "name_en": f"{short_en} {chosen.name_en}",
            "capacity": capacity,
        }
    return {
        "name": f"{zone.name_zh}第{cn_number(number)}{chosen.name_zh}",
        "name_en": f"{short_en} {chosen.name_en} No. {number}",
        "capacity": capacity,
    }
