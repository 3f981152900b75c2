"""The population grid: 200 m cells with every census band allocated exactly."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import census
from .area import CORE_INDEX, CORES, RIBBON_DENSITY, VILLAGE_DENSITY, Area, zone_of
from .common import (
    ARTERIAL,
    CELL_M,
    MAX_HOME_STREET_M,
    POP_BANDS,
    PROV_CELLS,
    UNSNAPPED_BAND_M,
    UNSNAPPED_CELLS,
    UNSNAPPED_SHARE,
    UTM,
    VILLAGE,
    nearest_line,
    stream,
    utm_xy,
)
from .graph import Network

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
    edge, dist = nearest_line(shapely.STRtree(net.geoms), shapely.points(xy))
    return Cells(xy, zone_of(xy, area.seeds), dist, ~net.main[edge])


def density(area: Area, net: Network, cells: Cells) -> dict[str, np.ndarray]:
    """Relative resident density of each cell, one surface per census band.

    A flat-topped hill per core (most residents live in the towns), moderate density in
    villages and along arterials, nothing in the industry, the lake, the canal or far from
    streets -- except a few cells beyond the snap limit. Age structure varies through band
    multipliers: more elderly in villages and the old town, more children in the new centre.
    """
    pts = shapely.points(cells.xy)
    centres = np.array([utm_xy(c.lon, c.lat) for c in CORES])
    scale = np.array([c.radius_m for c in CORES]) * 0.75
    dist = np.linalg.norm(cells.xy[:, None] - centres[None], axis=2)
    hill = np.exp(-((dist / scale) ** 3))  # (cells, cores): 1 at the centre, 0.1 at the edge
    weights = np.array([c.weight for c in CORES])

    def near(kinds: tuple[str, ...]) -> np.ndarray:
        chosen = net.attrs["highway"].isin(kinds).to_numpy()
        return nearest_line(shapely.STRtree(net.geoms[chosen]), pts)[1]

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
        "age_0": child,
        "age_1_4": child,
        "age_5_9": child,
        "age_10_14": child,
        "age_15_59": 1.0 + 0.25 * campus,  # students of the university town
        "age_60_plus": 1.0 + 0.9 * rural + 0.6 * old_town - 0.3 * new_centre,
    }
    return {band: base * multiplier[band] for band in POP_BANDS}


def _add_unsnapped(cells: Cells, base: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """Give a few cells beyond the snap limit a handful of residents, on purpose."""
    rng = stream(8)
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


def population_frame(
    cells: Cells, surfaces: dict[str, np.ndarray]
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
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
