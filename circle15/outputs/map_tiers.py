"""Walking-time tiers as merged polygons, for maps of too many cells to draw one by one.

A city-sized grid (200,000 populated cells) drawn cell by cell makes a map page of hundreds
of megabytes that browsers struggle to open. Above :data:`circle15.outputs.map.MAX_MAP_CELLS`
the map instead draws, per category, one (multi)polygon per walking-time tier: the cells of
that tier dissolved together, with the tier's cell count, area and cohort population.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

__all__ = ["tier_polygons"]


def tier_polygons(cells: gpd.GeoDataFrame, tier: np.ndarray, population: np.ndarray,
                  *, cells_form_coverage: bool, simplify: float = 0.0) -> gpd.GeoDataFrame:
    """Dissolve cells into one geometry per walking-time tier.

    Parameters
    ----------
    cells : GeoDataFrame
        Cell polygons (any projected or geographic CRS; the output keeps it).
    tier : ndarray of int
        Each cell's tier index (as from :func:`circle15.outputs.map.tier_index`).
    population : ndarray of float
        Each cell's cohort population; NaN counts as nobody.
    cells_form_coverage : bool
        True when the cells tile without overlaps
        (:func:`circle15.analysis.gaps.cells_form_coverage`): each tier is then merged with
        GEOS's coverage union, many times faster than a general union on a grid.
    simplify : float, default 0.0
        Douglas-Peucker tolerance in the cells' CRS units; keep it well below the cell size
        (a few metres for 100 m cells), so that no cell's outline can collapse. 0 still
        drops the corners that merging left in straight edges.

    Returns
    -------
    GeoDataFrame
        One row per tier present, in tier order: ``tier`` (index), ``cells``,
        ``population`` and ``area_km2`` (from the cells, so it is exact even after the
        map simplifies the outline), with the merged geometry.
    """
    geoms = cells.geometry.to_numpy()
    tier = np.asarray(tier, dtype=int)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    tiers = np.unique(tier[present])
    merge = shapely.coverage_union_all if cells_form_coverage else shapely.union_all
    # One merge per tier (a handful per category): the loop is over tiers, not geometries.
    merged = [merge(geoms[present & (tier == t)]) for t in tiers]
    # Plain Douglas-Peucker: GEOS's topology-preserving simplifier checks rings against
    # each other and takes minutes on a tier of 50,000 parts; with a tolerance far below
    # the cell size it only removes vertices along straight edges, so nothing can cross.
    merged = shapely.simplify(np.array(merged, dtype=object), simplify, preserve_topology=False)
    people = np.nan_to_num(np.asarray(population, dtype=float))
    counts = np.bincount(tier[present], minlength=tiers.max() + 1 if len(tiers) else 0)
    sums = np.bincount(tier[present], weights=people[present],
                       minlength=tiers.max() + 1 if len(tiers) else 0)
    areas = np.bincount(tier[present], weights=shapely.area(geoms[present]),
                        minlength=tiers.max() + 1 if len(tiers) else 0)
    if cells.crs is not None and cells.crs.is_geographic:
        areas = np.full(len(areas), np.nan)  # degrees² are no area; leave it unknown
    return gpd.GeoDataFrame(
        {"tier": tiers, "cells": counts[tiers], "population": sums[tiers],
         "area_km2": areas[tiers] / 1e6},
        geometry=merged, crs=cells.crs,
    )
