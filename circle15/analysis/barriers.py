"""Where steps cut people off: residents within reach only by using steps.

For a category walked step-free (strollers, walkers, wheelchairs; ``step_free = true``),
a resident is *cut off by steps* when their walk to the nearest facility over every
walkable way takes at most the target time while the step-free walk takes longer, or
does not exist. Three tables say where: per (sub-district, category) how many
(:func:`barrier_table`), the cut-off cells merged into areas per sub-district
(:func:`barrier_areas`), and the flights of steps (and ways tagged ``wheelchair=no``) on
their routes (:func:`barrier_streets`): where a ramp or a lift would bring them back
within the target. Pure functions of arrays and frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..schema import ALL, pop_col, time_col, with_steps_col
from ..standards import Category

__all__ = [
    "AREA_COLUMNS",
    "STREET_COLUMNS",
    "TABLE_COLUMNS",
    "barrier_areas",
    "barrier_mask",
    "barrier_streets",
    "barrier_table",
]

#: Columns of the barrier table (``barriers.csv``).
TABLE_COLUMNS = [
    "district",
    "category",
    "population",
    "target_min",
    "covered_with_steps",
    "covered_step_free",
    "barrier_population",
    "barrier_share",
    "mean_extra_min",
    "no_step_free_route",
    "coverage_with_steps",
    "coverage_step_free",
]
#: Columns of the barrier areas (layer ``barriers`` of ``results.gpkg``).
AREA_COLUMNS = [
    "category",
    "barrier_id",
    "rank",
    "district",
    "population",
    "cells",
    "area_km2",
    "mean_min_with_steps",
    "mean_min_step_free",
    "no_step_free_route",
]
#: Columns of the steps on cut-off residents' routes (layer ``barrier_steps``).
STREET_COLUMNS = [
    "category",
    "street",
    "kind",
    "name",
    "length_m",
    "district",
    "population",
    "cells",
    "rank",
]


def barrier_mask(
    step_free_min: np.ndarray, with_steps_min: np.ndarray, target_min: float
) -> np.ndarray:
    """Cells within the target with steps but not without (NaN: no route)."""
    steps_ok = np.isfinite(with_steps_min) & (with_steps_min <= target_min)
    free_ok = np.isfinite(step_free_min) & (step_free_min <= target_min)
    return np.asarray(steps_ok & ~free_ok)


def barrier_table(
    cells: pd.DataFrame, categories: dict[str, Category], districts: Sequence[str]
) -> pd.DataFrame:
    """Residents cut off by steps, per (sub-district, category) and for the whole area.

    Parameters
    ----------
    cells : DataFrame
        ``district`` and, per step-free category, ``pop_<key>``, ``t_<key>`` (step-free
        minutes) and ``t_with_steps_<key>``.
    categories : dict
        The step-free categories.
    districts : sequence of str
        Sub-districts in report order.

    Returns
    -------
    DataFrame
        :data:`TABLE_COLUMNS`: the cohort, who is within the target with and without
        steps, ``barrier_population`` (within with steps only) and its share of the
        cohort, ``mean_extra_min`` (how much longer their step-free walk is, over those
        who have one) and ``no_step_free_route`` (those without any step-free route).
    """
    frames = []
    names = [*districts, ALL]
    where = cells["district"].to_numpy(dtype=object)
    codes = pd.Categorical(where, categories=list(districts)).codes
    inside = codes >= 0
    n = len(districts)
    for key, cat in categories.items():
        pop = cells[pop_col(key)].to_numpy(dtype=float)
        free = cells[time_col(key)].to_numpy(dtype=float)
        steps = cells[with_steps_col(key)].to_numpy(dtype=float)
        cut = barrier_mask(free, steps, cat.target_min)
        routed = cut & np.isfinite(free)
        ok_steps = np.isfinite(steps) & (steps <= cat.target_min)
        ok_free = np.isfinite(free) & (free <= cat.target_min)
        extra = np.where(routed, (free - steps) * pop, 0.0)

        def per_district(values: np.ndarray) -> np.ndarray:
            """Sums per sub-district, then the whole area (every cell)."""
            return np.append(
                np.bincount(codes[inside], weights=values[inside], minlength=n), values.sum()
            )

        total = per_district(pop)
        barrier = per_district(np.where(cut, pop, 0.0))
        weight = per_district(np.where(routed, pop, 0.0))
        with_steps = per_district(np.where(ok_steps, pop, 0.0))
        step_free = per_district(np.where(ok_free, pop, 0.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total > 0, barrier / total, np.nan)
            mean_extra = np.where(weight > 0, per_district(extra) / weight, np.nan)
            cov_steps = np.where(total > 0, with_steps / total, np.nan)
            cov_free = np.where(total > 0, step_free / total, np.nan)
        frames.append(
            pd.DataFrame(
                {
                    "district": names,
                    "category": key,
                    "population": total,
                    "target_min": cat.target_min,
                    "covered_with_steps": with_steps,
                    "covered_step_free": step_free,
                    "barrier_population": barrier,
                    "barrier_share": share,
                    "mean_extra_min": mean_extra,
                    "no_step_free_route": barrier - weight,
                    "coverage_with_steps": cov_steps,
                    "coverage_step_free": cov_free,
                },
                columns=TABLE_COLUMNS,
            )
        )
    if not frames:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def barrier_areas(cells: gpd.GeoDataFrame, category: Category) -> gpd.GeoDataFrame:
    """The cut-off cells of one category merged into areas, one sub-district each.

    Cells sharing an edge within one sub-district form one area (cells meeting at a
    corner stay apart, as gaps do); areas are ranked by cohort, largest first.
    """
    key = category.key
    pop = cells[pop_col(key)].to_numpy(dtype=float)
    free = cells[time_col(key)].to_numpy(dtype=float)
    steps = cells[with_steps_col(key)].to_numpy(dtype=float)
    cut = np.flatnonzero(barrier_mask(free, steps, category.target_min) & (pop > 0))
    if not len(cut):
        return _empty(AREA_COLUMNS, cells.crs)
    geoms = cells.geometry.to_numpy()[cut]
    district = cells["district"].to_numpy(dtype=object)[cut]
    parts: list[object] = []
    part_district: list[object] = []
    for name in pd.unique(district):
        union = shapely.union_all(geoms[district == name])
        pieces = shapely.get_parts(union)
        parts.extend(pieces)
        part_district.extend([name] * len(pieces))
    shapes = np.empty(len(parts), dtype=object)
    shapes[:] = parts
    tree = shapely.STRtree(shapes)
    cell_i, part_i = tree.query(shapely.point_on_surface(geoms), predicate="within")
    part = np.full(len(cut), -1)
    part[cell_i] = part_i
    ok = part >= 0
    n = len(shapes)
    p, f, s = pop[cut][ok], free[cut][ok], steps[cut][ok]
    part = part[ok]
    population = np.bincount(part, weights=p, minlength=n)
    routed = np.isfinite(f)
    free_pop = np.bincount(part, weights=np.where(routed, p, 0.0), minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_steps = np.bincount(part, weights=s * p, minlength=n) / population
        mean_free = np.where(
            free_pop > 0,
            np.bincount(part, weights=np.where(routed, f * p, 0.0), minlength=n) / free_pop,
            np.nan,
        )
    area_km2 = shapely.area(shapes) / 1e6
    order = np.lexsort((-area_km2, -population))
    rank = np.arange(1, n + 1)
    frame = pd.DataFrame(
        {
            "category": key,
            "barrier_id": [f"{key}-steps-{r:03d}" for r in rank],
            "rank": rank,
            "district": np.asarray(part_district, dtype=object)[order],
            "population": population[order],
            "cells": np.bincount(part, minlength=n)[order],
            "area_km2": area_km2[order],
            "mean_min_with_steps": mean_steps[order],
            "mean_min_step_free": mean_free[order],
            "no_step_free_route": (population - free_pop)[order],
        },
        columns=AREA_COLUMNS,
    )
    return gpd.GeoDataFrame(frame, geometry=list(shapes[order]), crs=cells.crs)


def barrier_streets(
    cells: pd.DataFrame,
    category: Category,
    origin: np.ndarray,
    street: np.ndarray,
    streets: pd.DataFrame,
    zones: gpd.GeoDataFrame,
    crs: Any,
) -> gpd.GeoDataFrame:
    """The avoided ways on the routes of one category's cut-off residents.

    Parameters
    ----------
    cells : DataFrame
        The cells (``pop_<key>``).
    category : Category
        The category.
    origin, street : ndarray of int
        Pairs (cell position, street edge): the cell's walk with steps crosses the street
        (:func:`circle15.engine.profiles.steps_on_routes`, traced for cut-off cells only).
    streets : DataFrame
        The avoided streets by edge row: ``kind``, ``name``, ``length_m``, ``geometry``.
    zones : GeoDataFrame
        Sub-districts (the one holding a street's midpoint is named).
    crs : CRS
        Of the geometries.

    Returns
    -------
    GeoDataFrame
        :data:`STREET_COLUMNS`: per street the cohort of the cut-off cells whose route
        takes it (a cell whose route takes two flights counts at each) and their cells,
        ranked by that cohort.
    """
    key = category.key
    if not len(origin):
        return _empty(STREET_COLUMNS, crs)
    pop = cells[pop_col(key)].to_numpy(dtype=float)[origin]
    ids, inverse = np.unique(street, return_inverse=True)
    population = np.bincount(inverse, weights=pop, minlength=len(ids))
    count = np.bincount(inverse, minlength=len(ids))
    info = streets.loc[ids]
    geoms = info["geometry"].to_numpy()
    district = np.full(len(ids), None, dtype=object)
    if len(zones):
        mid = shapely.line_interpolate_point(geoms, 0.5, normalized=True)
        hit_pt, hit_zone = shapely.STRtree(zones.geometry.to_numpy()).query(mid, predicate="within")
        district[hit_pt[::-1]] = zones["district"].to_numpy(dtype=object)[hit_zone[::-1]]
    order = np.lexsort((ids, -population))
    frame = pd.DataFrame(
        {
            "category": key,
            "street": ids[order],
            "kind": info["kind"].to_numpy(dtype=object)[order],
            "name": info["name"].to_numpy(dtype=object)[order],
            "length_m": info["length_m"].to_numpy(dtype=float)[order],
            "district": district[order],
            "population": population[order],
            "cells": count[order],
            "rank": np.arange(1, len(ids) + 1),
        },
        columns=STREET_COLUMNS,
    )
    return gpd.GeoDataFrame(frame, geometry=geoms[order], crs=crs)


def _empty(columns: list[str], crs: Any) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns=[*columns, "geometry"], geometry="geometry", crs=crs)
