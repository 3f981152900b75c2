"""Gap areas fast enough for what-ifs: cell adjacency worked out once, then graph arithmetic.

:func:`circle15.analysis.gaps.gap_areas` merges the gap cells and finds, for every cell,
the merged polygon it lies in: about 80 ms a category on the demo. When the cells tile
the area (a grid: no overlaps, shared edges), two gap cells belong to one gap exactly when
a chain of gap cells of the same sub-district sharing an edge joins them. So the groups
come from connected components of a cell adjacency matrix built once per study (its
links across sub-district boundaries dropped), the sums from ``bincount``, and the only
geometry work left is a coverage union per sub-district. The output equals
``gap_areas``'s (tested); when a check fails (cells overlap, a group is not one polygon)
it falls back to ``gap_areas``.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from ..standards import Category
from .gaps import GAP_COLUMNS, gap_areas
from .grid import Grid, group_outlines


def cell_adjacency(geometries: np.ndarray) -> sp.csr_array | None:
    """Which cells share an edge (a boundary of positive length), as a symmetric matrix.

    Returns None when the cells are not polygons that tile without overlapping (a valid
    polygonal coverage); gaps must then be merged geometrically.
    """
    geoms = np.asarray(geometries, dtype=object)
    if not len(geoms) or not np.isin(shapely.get_type_id(geoms), [3, 6]).all():
        return None
    if not shapely.coverage_is_valid(geoms):
        return None
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    # Neighbours meeting at a corner only stay apart, as they do in a union.
    shared = shapely.length(shapely.intersection(geoms[a], geoms[b])) > 0
    a, b = a[shared], b[shared]
    n = len(geoms)
    ones = np.ones(2 * len(a), dtype=np.int8)
    return sp.csr_array((ones, (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n))


def _unchanged_groups(
    cells_of: np.ndarray, part: np.ndarray, n_parts: int, memo: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Groups made of exactly the same cells as a remembered group, and its polygon.

    A group is unchanged when all its cells were in one remembered group and that group had
    as many cells; its merged polygon is then the same shape and need not be recomputed.
    """
    old_part, old_polygons, old_sizes = memo["part_of_cell"], memo["polygons"], memo["sizes"]
    label = old_part[cells_of]
    lo = np.full(n_parts, np.iinfo(np.int64).max)
    hi = np.full(n_parts, -1)
    np.minimum.at(lo, part, label)
    np.maximum.at(hi, part, label)
    sizes = np.bincount(part, minlength=n_parts)
    same = (lo == hi) & (lo >= 0)
    same[same] = old_sizes[lo[same]] == sizes[same]
    polygons = np.full(n_parts, None, dtype=object)
    polygons[same] = old_polygons[lo[same]]
    return same, polygons


def quick_gap_areas(
    cells: gpd.GeoDataFrame,
    category: Category,
    facility_names: dict[str, str],
    adjacency: sp.csr_array | None,
    memo: dict[str, Any] | None = None,
    grid: Grid | None = None,
) -> gpd.GeoDataFrame:
    """Same as :func:`~circle15.analysis.gaps.gap_areas`, from a precomputed adjacency.

    Parameters
    ----------
    cells, category, facility_names
        As for ``gap_areas``.
    adjacency : scipy.sparse.csr_array or None
        :func:`cell_adjacency` of ``cells`` (same rows); None falls back to ``gap_areas``.
    memo : dict, optional
        Kept between calls for the same cells and category: the gap groups of the last call
        and their polygons, so that a what-if merges only the cells of gaps it changed.
    grid : Grid, optional
        The lattice of ``cells`` when they are a regular grid
        (:func:`circle15.analysis.grid.regular_grid`): outlines are then traced on it
        instead of merged polygon by polygon.
    """
    if adjacency is None:
        return gap_areas(cells, category, facility_names)
    key = category.key
    t = cells[f"t_{key}"].to_numpy(dtype=float)
    pop = cells[f"pop_{key}"].to_numpy(dtype=float)
    missed = np.flatnonzero((np.isnan(t) | (t > category.target_min)) & (pop > 0))
    if not len(missed):
        return gap_areas(cells, category, facility_names)
    district, names = pd.factorize(
        cells["district"].to_numpy(dtype=object)[missed], use_na_sentinel=False
    )
    # Gaps end at sub-district boundaries: drop the links between cells of two of them.
    pairs = adjacency[missed][:, missed].tocoo()
    same = district[pairs.row] == district[pairs.col]
    links = sp.csr_array((pairs.data[same], (pairs.row[same], pairs.col[same])), shape=pairs.shape)
    n_parts, part = connected_components(links, directed=False)
    geoms = cells.geometry.to_numpy()[missed]
    if memo and len(memo.get("part_of_cell", ())) == len(cells):
        reused, shapes = _unchanged_groups(missed, part, n_parts, memo)
    else:
        reused, shapes = np.zeros(n_parts, bool), np.full(n_parts, None, dtype=object)
    todo = np.flatnonzero(~reused)
    if len(todo) and grid is not None:
        in_todo = ~reused[part]
        renumber = np.full(n_parts, -1)
        renumber[todo] = np.arange(len(todo))
        shapes[todo] = group_outlines(grid, missed[in_todo], renumber[part[in_todo]], len(todo))
    elif len(todo):
        in_todo = ~reused[part]
        # One coverage union per sub-district, so that neighbouring gaps stay apart.
        polygons = np.concatenate(
            [
                shapely.get_parts(shapely.coverage_union_all(geoms[in_todo & (district == d)]))
                for d in np.unique(district[in_todo])
            ]
        )
        if len(polygons) != len(todo):
            return gap_areas(cells, category, facility_names, cells_form_coverage=True)
        # Match each group to its polygon through a point inside one of its cells.
        first = np.full(n_parts, -1)
        first[part[::-1]] = np.arange(len(part))[::-1]
        hit_group, hit_poly = shapely.STRtree(polygons).query(
            shapely.point_on_surface(geoms[first[todo]]), predicate="within"
        )
        if len(hit_group) != len(todo) or len(np.unique(hit_poly)) != len(todo):
            return gap_areas(cells, category, facility_names, cells_form_coverage=True)
        shapes[todo[hit_group]] = polygons[hit_poly]
    if memo is not None:
        part_of_cell = np.full(len(cells), -1, dtype=np.int64)
        part_of_cell[missed] = part
        memo.update(
            part_of_cell=part_of_cell, polygons=shapes, sizes=np.bincount(part, minlength=n_parts)
        )

    p, tt = pop[missed], t[missed]
    reach = ~np.isnan(tt)
    population = np.bincount(part, weights=p, minlength=n_parts)
    reach_pop = np.bincount(part, weights=np.where(reach, p, 0.0), minlength=n_parts)
    t_pop = np.bincount(
        part, weights=np.where(reach, np.nan_to_num(tt) * p, 0.0), minlength=n_parts
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_min = np.where(reach_pop > 0, t_pop / np.where(reach_pop > 0, reach_pop, 1), np.nan)
    # Every cell of a group lies in one sub-district.
    group_district = np.empty(n_parts, dtype=object)
    group_district[part] = names[district]
    # The gap's closest facility: the reachable cell with the shortest walk.
    order = np.lexsort((tt, part))
    order = order[reach[order]]
    best = order[np.r_[True, part[order][1:] != part[order][:-1]]] if len(order) else order
    nearest_min = np.full(n_parts, np.nan)
    nearest_fac = np.full(n_parts, None, dtype=object)
    nearest_min[part[best]] = tt[best]
    nearest_fac[part[best]] = cells[f"nearest_{key}"].to_numpy(dtype=object)[missed][best]
    area_km2 = shapely.area(shapes) / 1e6
    # Largest cohort first, then largest area; stable like gap_areas's sort.
    order = np.lexsort((-area_km2, -population))
    rank = np.arange(1, n_parts + 1)
    columns = {
        "category": np.full(n_parts, key, dtype=object),
        "gap_id": np.array([f"{key}-gap-{r:03d}" for r in rank], dtype=object),
        "rank": rank,
        "district": group_district[order],
        "population": population[order],
        "cells": np.bincount(part, minlength=n_parts)[order],
        "area_km2": area_km2[order],
        "mean_min": mean_min[order],
        "unreachable_population": (population - reach_pop)[order],
        "nearest_facility": nearest_fac[order],
        "nearest_name": np.array(
            [facility_names.get(f) if f is not None else None for f in nearest_fac[order]],
            dtype=object,
        ),
        "nearest_min": nearest_min[order],
    }
    return gpd.GeoDataFrame(
        {c: columns[c] for c in GAP_COLUMNS}, geometry=shapes[order], crs=cells.crs
    )
