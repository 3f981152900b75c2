"""One place that turns the engine's answers into the tables of a result.

``Study.run`` builds every table with :func:`build_tables`; a what-if rebuilds the tables
of the category it changed with :func:`update_category`. Both go through the same
functions here (cell columns, district rows, gaps, supply, equity and the index), so a
what-if equals a re-run by construction, not only by test.

The pipeline reads the engine's state (:class:`circle15.engine.state.EngineState`) and
calls the pure functions of :mod:`circle15.analysis`; it does no file I/O and knows
nothing of results, maps or the command line.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from pyproj import CRS

from .analysis.assessment import (
    SCORE_COLUMNS,
    SUPPLY_COLUMNS,
    CategoryAssessment,
    assess_category,
    combine_assessment,
    locate_in_districts,
)
from .analysis.barriers import (
    AREA_COLUMNS,
    STREET_COLUMNS,
    TABLE_COLUMNS,
    barrier_areas,
    barrier_mask,
    barrier_streets,
    barrier_table,
)
from .analysis.coverage import district_table, tier_labels
from .analysis.equity import Equity
from .analysis.gap_parts import cell_adjacency, quick_gap_areas
from .analysis.gaps import GAP_COLUMNS
from .analysis.grid import grid_adjacency, regular_grid
from .checks import population_without_facility, run_warnings
from .engine.catchment import point_catchments
from .engine.graph import Attachment
from .engine.nearest import NearestFacility
from .engine.profiles import steps_on_routes
from .engine.sites import SiteSet
from .engine.state import EngineState
from .schema import (
    barrier_col,
    nearest_col,
    pop_col,
    supply_col,
    tier_col,
    time_col,
    with_steps_col,
)
from .settings import IndexSettings, SupplySettings
from .standards import Category

__all__ = [
    "RunSettings",
    "Tables",
    "build_tables",
    "category_cells",
    "located_facilities",
    "update_category",
]

#: Facility columns every result carries, in this order, before any extra columns.
FACILITY_COLUMNS = [
    "category",
    "facility_id",
    "name",
    "capacity",
    "snapped",
    "snap_m",
    "provenance",
]


@dataclass(frozen=True)
class RunSettings:
    """What the pipeline needs to know of a study besides the engine's answers.

    Attributes
    ----------
    categories : dict
        ``Category`` by key, in report order.
    zones : GeoDataFrame
        Sub-districts (``district``, ``name_en``), in report order.
    supply, index : SupplySettings, IndexSettings
        The ``[supply]`` and ``[index]`` settings.
    assess : bool
        Compute supply, equity and the index (False leaves them out: None / no columns).
    """

    categories: dict[str, Category]
    zones: gpd.GeoDataFrame
    supply: SupplySettings = field(default_factory=SupplySettings)
    index: IndexSettings = field(default_factory=IndexSettings)
    assess: bool = True

    @property
    def district_names(self) -> list[str]:
        """Sub-district names in report order."""
        return list(self.zones["district"])


@dataclass
class Tables:
    """The tables of a result (see :class:`circle15.result.CoverageResult`)."""

    cells: gpd.GeoDataFrame
    districts: pd.DataFrame
    gaps: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    diagnostics: dict[str, Any]
    equity: Equity | None = None
    index: pd.DataFrame | None = None
    index_indicators: pd.DataFrame | None = None
    barriers: pd.DataFrame | None = None
    barrier_areas: gpd.GeoDataFrame | None = None
    barrier_steps: gpd.GeoDataFrame | None = None


# ---------------------------------------------------------------------------- cells


def category_cells(
    category: Category,
    found: NearestFacility,
    facility_ids: np.ndarray,
    with_steps: NearestFacility | None = None,
) -> dict[str, np.ndarray]:
    """A category's cell columns: walking minutes, nearest facility id and tier.

    Parameters
    ----------
    category : Category
        The category (its walking speed turns metres into minutes).
    found : NearestFacility
        Each cell's walking metres to its nearest facility and that facility's position,
        over the category's walking profile.
    facility_ids : ndarray
        The category's facility ids, in the engine's order.
    with_steps : NearestFacility, optional
        For a step-free category, the same over every walkable way (steps included);
        ``found`` when the network has no steps. Adds ``t_with_steps_<key>`` (the shorter
        of that walk and the step-free one) and ``barrier_<key>`` (within the target with
        steps only).
    """
    key = category.key
    minutes = found.minutes(category.metres_per_minute)
    # A category may have no facility at all (every one closed, or none within a batch
    # region's reach): then nobody reaches one.
    ids = np.asarray(facility_ids, dtype=object)
    nearest = np.full(len(minutes), None, dtype=object)
    if len(ids):
        reached = found.reachable
        nearest[reached] = ids[found.facility[reached]]
    out = {
        time_col(key): minutes,
        nearest_col(key): nearest,
        tier_col(key): tier_labels(minutes, category.tiers_min),
    }
    if category.step_free:
        # With steps allowed the step-free walk remains possible: the shorter of the two
        # (it is the step-free one only for a resident whose nearest street is a flight of
        # steps, who then also has a step-free street within reach).
        steps = np.fmin((with_steps or found).minutes(category.metres_per_minute), minutes)
        out[with_steps_col(key)] = steps
        out[barrier_col(key)] = barrier_mask(minutes, steps, category.target_min)
    return out


def _with_steps(state: EngineState, key: str) -> NearestFacility | None:
    pair = state.with_steps.get(key)
    return None if pair is None else pair[1]


def _barrier_parts(
    settings: RunSettings, state: EngineState, cells: gpd.GeoDataFrame, key: str
) -> tuple[pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """A step-free category's barrier table rows, areas and steps on routes."""
    cat = settings.categories[key]
    table = barrier_table(cells, {key: cat}, settings.district_names)
    areas = barrier_areas(cells, cat)
    profile = state.profile_for(key)
    pair = state.with_steps.get(key)
    steps_segments = profile.steps_segments
    if steps_segments is None or profile.streets is None or pair is None:
        streets = gpd.GeoDataFrame(
            columns=[*STREET_COLUMNS, "geometry"], geometry="geometry", crs=cells.crs
        )
    else:
        cut = cells[barrier_col(key)].to_numpy(dtype=bool)
        origin, street = state.memo_for(
            key,
            "barrier_routes",
            lambda: steps_on_routes(
                state.graph, pair[0], np.where(cut, state.cell_nodes, -1), steps_segments
            ),
        )
        streets = barrier_streets(
            cells, cat, origin, street, profile.streets, settings.zones, cells.crs
        )
    return table, areas, streets


def _barrier_frames(
    settings: RunSettings,
    state: EngineState,
    cells: gpd.GeoDataFrame,
) -> tuple[pd.DataFrame | None, gpd.GeoDataFrame | None, gpd.GeoDataFrame | None]:
    keys = [k for k, c in settings.categories.items() if c.step_free]
    if not keys:
        return None, None, None
    parts = [_barrier_parts(settings, state, cells, k) for k in keys]
    table = pd.concat([p[0] for p in parts], ignore_index=True)
    frames = []
    for i, columns in ((1, AREA_COLUMNS), (2, STREET_COLUMNS)):
        found = [p[i] for p in parts if len(p[i])]
        frames.append(
            gpd.GeoDataFrame(
                pd.concat(found, ignore_index=True), geometry="geometry", crs=cells.crs
            )
            if found
            else gpd.GeoDataFrame(
                columns=[*columns, "geometry"], geometry="geometry", crs=cells.crs
            )
        )
    return table[TABLE_COLUMNS], frames[0], frames[1]


def _district_rows(
    cells: pd.DataFrame, category: Category, districts: Sequence[str]
) -> pd.DataFrame:
    key = category.key
    # district_table reads a few columns many times: a plain frame of them is quicker.
    light = pd.DataFrame(
        {
            "district": cells["district"].to_numpy(),
            "snapped": cells["snapped"].to_numpy(),
            pop_col(key): cells[pop_col(key)].to_numpy(),
            time_col(key): cells[time_col(key)].to_numpy(),
        }
    )
    return district_table(light, {key: category}, districts)


def _gap_rows(
    cells: gpd.GeoDataFrame, category: Category, names: dict[str, str], state: EngineState
) -> gpd.GeoDataFrame:
    # The cells' lattice and adjacency are worked out once per study; the memo keeps each
    # category's gap polygons, so a what-if merges only the cells of gaps it changed.
    grid = state.memo("cell_grid", lambda: regular_grid(cells.geometry.to_numpy()))
    adjacency = state.memo(
        "cell_adjacency",
        lambda: (
            grid_adjacency(grid) if grid is not None else cell_adjacency(cells.geometry.to_numpy())
        ),
    )
    return quick_gap_areas(
        cells,
        category,
        names,
        adjacency,
        memo=state.memo(f"gap_groups_{category.key}", dict),
        grid=grid,
    )


def _empty_gaps(crs: CRS | None) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns=[*GAP_COLUMNS, "geometry"], geometry="geometry", crs=crs)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def replace_rows(
    table: pd.DataFrame, rows: pd.DataFrame, category: str, order: list[str]
) -> pd.DataFrame:
    """``table`` with its ``category`` rows replaced by ``rows``, categories in ``order``."""
    cats = table["category"].to_numpy() if len(table) else np.empty(0, dtype=object)
    rank = {k: i for i, k in enumerate(order)}
    ranks = np.array([rank[c] for c in cats], dtype=np.int64)
    if len(ranks) and not (np.diff(ranks) >= 0).all():  # not grouped by category: sort it
        table = table.iloc[np.argsort(ranks, kind="stable")]
        ranks = np.sort(ranks, kind="stable")
    # The category's rows sit between these positions; the rest keeps its order.
    start = np.searchsorted(ranks, rank[category], "left")
    end = np.searchsorted(ranks, rank[category], "right")
    parts = [p for p in (table.iloc[:start], rows, table.iloc[end:]) if len(p)]
    if not parts:
        return table.iloc[:0]
    return (
        pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    )


# ---------------------------------------------------------------------------- facilities


def located_facilities(frame: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` with ``district`` filled where it is missing (the zone holding each point)."""
    frame = frame.copy()
    if "district" not in frame.columns:
        frame["district"] = None
    fresh = frame["district"].isna().to_numpy()
    if fresh.any():
        frame.loc[fresh, "district"] = locate_in_districts(frame.geometry.to_numpy()[fresh], zones)
    return frame


def _names(facilities: pd.DataFrame) -> dict[str, str]:
    return dict(zip(facilities["facility_id"], facilities["name"], strict=False))


# ---------------------------------------------------------------------------- supply


def _catchment_minutes(
    state: EngineState, category: Category, supply: SupplySettings, sites: SiteSet | None = None
) -> sp.csr_array:
    """Sites x cells walking minutes within the category's catchment (sparse); by default
    the category's facilities."""
    sites = state.sites[category.key] if sites is None else sites
    if not sites.snapped.any():  # every facility closed (or off the streets)
        return sp.csr_array((len(sites), len(state.cell_nodes)))
    # A site joins through node a or b at known costs: an attachment without a leg.
    joins = Attachment(sites.node_a, sites.cost_a, sites.node_b, sites.cost_b, np.zeros(len(sites)))
    reach = point_catchments(
        state.graph_for(category.key),
        joins,
        state.cell_nodes,
        supply.catchment_for(category) * category.metres_per_minute,
    )
    reach.data = reach.data / category.metres_per_minute  # minutes, for the decay
    return reach


def carry_catchment(
    settings: RunSettings,
    before: EngineState,
    after: EngineState,
    category: str,
    kept: np.ndarray,
    added: SiteSet,
) -> None:
    """Give ``after`` the category's catchments from ``before``'s without a full search.

    After an edit a category's sites are the ``kept`` ones of ``before`` (positions) followed
    by the ``added`` ones: only the added sites need a bounded search, the other rows are
    the same. Does nothing when ``before`` has not worked its catchments out.
    """
    if not settings.assess:
        return
    old = before.peek_for(category, "catchment")
    if old is None:
        return
    cat = settings.categories[category]
    rows = [sp.csr_array(old[kept])]
    if len(added):
        rows.append(sp.csr_array(_catchment_minutes(before, cat, settings.supply, added)))
    after.remember_for(category, "catchment", sp.csr_array(sp.vstack(rows, format="csr")))


def _assess(settings: RunSettings, state: EngineState, tables: Tables) -> None:
    """Supply, equity and the index of ``tables``, recomputed in place.

    A category's supply and equity depend on its own facilities only: they are kept in the
    engine memo with its sites, so a what-if recomputes those of the category it changed
    and then the index, which mixes them all.
    """
    facilities = tables.facilities
    base = tables.districts[
        [c for c in tables.districts.columns if c not in (*SUPPLY_COLUMNS, *SCORE_COLUMNS)]
    ]
    names = settings.district_names
    parts = {}
    for key, cat in settings.categories.items():

        def part(key: str = key, cat: Category = cat) -> CategoryAssessment:
            rows = facilities[facilities["category"].to_numpy() == key]
            catchment = state.memo_for(
                key, "catchment", lambda: _catchment_minutes(state, cat, settings.supply)
            )
            return assess_category(
                tables.cells,
                base,
                cat,
                names,
                catchment,
                rows["capacity"].to_numpy(dtype=float),
                rows["district"].to_numpy(dtype=object),
                settings.supply,
                settings.index,
            )

        parts[key] = state.memo_for(key, "assessment", part)
    found = combine_assessment(
        tables.cells, base, settings.categories, settings.zones, parts, settings.index
    )
    for key in settings.categories:
        tables.cells[supply_col(key)] = found.cells[supply_col(key)].to_numpy()
    tables.districts = found.districts
    tables.facilities["capacity_per_resident"] = np.concatenate(
        [found.facility_ratio[k] for k in settings.categories]
    )
    tables.equity, tables.index = found.equity, found.index.table
    tables.index_indicators = found.index.indicators
    tables.diagnostics["supply"] = found.diagnostics


def _drop_assessment(tables: Tables, category: str) -> None:
    """Leave supply out after an edit that did not recompute it: never stale figures."""
    tables.cells[supply_col(category)] = np.nan
    if "capacity_per_resident" in tables.facilities:
        tables.facilities.loc[
            tables.facilities["category"] == category, "capacity_per_resident"
        ] = np.nan
    # The category's district rows came without supply columns (NaN); the index and
    # equity mix every category, so they go.
    tables.equity = tables.index = tables.index_indicators = None
    tables.diagnostics["supply"] = "not recomputed after a what-if (assess=False)"


# ---------------------------------------------------------------------------- runs


def build_tables(
    settings: RunSettings,
    state: EngineState,
    grid: gpd.GeoDataFrame,
    cohorts: dict[str, np.ndarray],
    facilities: gpd.GeoDataFrame,
) -> Tables:
    """Every table of a run from the engine's answers.

    Parameters
    ----------
    settings : RunSettings
        Categories, sub-districts and the supply and index settings.
    state : EngineState
        The engine state of the run (walking metres to the nearest facility per category).
    grid : GeoDataFrame
        Populated cells: ``cell_id``, ``district``, ``pop_total``, geometry.
    cohorts : dict
        Per category key, each cell's target cohort.
    facilities : GeoDataFrame
        Every facility, grouped by category in the engine's order: ``FACILITY_COLUMNS``
        (any further columns are kept).

    Returns
    -------
    Tables
    """
    cols: dict[str, Any] = {
        "cell_id": grid["cell_id"].to_numpy(),
        "district": grid["district"].to_numpy(),
        "pop_total": grid["pop_total"].to_numpy(dtype=float),
        "snapped": state.cell_snap.snapped,
        "snap_m": state.cell_snap.leg_m,
    }
    by_category = {
        k: facilities[facilities["category"].to_numpy() == k] for k in settings.categories
    }
    for key, cat in settings.categories.items():
        cols[pop_col(key)] = cohorts[key]
        cols.update(
            category_cells(
                cat,
                state.nearest[key],
                by_category[key]["facility_id"].to_numpy(),
                _with_steps(state, key),
            )
        )
    cells = gpd.GeoDataFrame(cols, geometry=grid.geometry.to_numpy(), crs=grid.crs)
    facilities = located_facilities(facilities, settings.zones)
    names = _names(facilities)
    districts = _concat(
        [
            _district_rows(cells, cat, settings.district_names)
            for cat in settings.categories.values()
        ]
    )
    gaps = [_gap_rows(cells, cat, names, state) for cat in settings.categories.values()]
    gaps = [g for g in gaps if len(g)]
    gap_frame = (
        gpd.GeoDataFrame(pd.concat(gaps, ignore_index=True), crs=grid.crs)
        if gaps
        else _empty_gaps(grid.crs)
    )
    tables = Tables(
        cells, districts, gap_frame, facilities, run_diagnostics(settings, state, cells, facilities)
    )
    tables.barriers, tables.barrier_areas, tables.barrier_steps = _barrier_frames(
        settings, state, cells
    )
    if settings.assess:
        _assess(settings, state, tables)
    tables.diagnostics["warnings"] = run_warnings(tables.diagnostics, settings.categories)
    return tables


def update_category(
    settings: RunSettings,
    state: EngineState,
    previous: Tables,
    category: str,
    facilities: gpd.GeoDataFrame,
) -> Tables:
    """The tables after one category's facilities changed (a what-if).

    Parameters
    ----------
    settings : RunSettings
        As for :func:`build_tables`; ``assess`` False leaves supply, equity and the index
        out of the new tables rather than stale.
    state : EngineState
        The engine state with the category's new sites and nearest facilities.
    previous : Tables
        The tables before the edit (not modified).
    category : str
        The category whose facilities changed.
    facilities : GeoDataFrame
        The category's facilities after the edit, in the engine's order.

    Returns
    -------
    Tables
        New tables; only the category's cell columns, district rows and gaps are rebuilt
        (and supply, equity and the index, which depend on every category).
    """
    cat = settings.categories[category]
    order = list(settings.categories)
    cells = previous.cells.copy()
    for name, values in category_cells(
        cat,
        state.nearest[category],
        facilities["facility_id"].to_numpy(),
        _with_steps(state, category),
    ).items():
        cells[name] = values
    facilities = located_facilities(facilities, settings.zones)
    all_facilities = gpd.GeoDataFrame(
        replace_rows(previous.facilities, facilities, category, order),
        geometry=previous.facilities.geometry.name,
        crs=previous.facilities.crs,
    )
    districts = replace_rows(
        previous.districts, _district_rows(cells, cat, settings.district_names), category, order
    )
    fresh_gaps = _gap_rows(cells, cat, _names(all_facilities), state)
    if len(previous.gaps) or len(fresh_gaps):
        gaps = gpd.GeoDataFrame(
            replace_rows(previous.gaps, fresh_gaps, category, order),
            geometry="geometry",
            crs=cells.crs,
        )
    else:
        gaps = _empty_gaps(cells.crs)
    diagnostics = copy.deepcopy(previous.diagnostics)
    found = state.nearest[category]
    pop = cells[pop_col(category)].to_numpy(dtype=float)
    ids = facilities["facility_id"].to_numpy(dtype=object)
    diagnostics.setdefault("facilities", {})[category] = len(facilities)
    diagnostics.setdefault("unsnapped_facilities", {})[category] = [
        str(i) for i in ids[~state.sites[category].snapped]
    ]
    diagnostics.setdefault("unreachable_population", {})[category] = float(
        pop[~found.reachable].sum()
    )
    tables = Tables(
        cells,
        districts,
        gaps,
        all_facilities,
        diagnostics,
        barriers=previous.barriers,
        barrier_areas=previous.barrier_areas,
        barrier_steps=previous.barrier_steps,
    )
    if cat.step_free and previous.barriers is not None:
        _replace_barriers(tables, _barrier_parts(settings, state, cells, category), category, order)
    if settings.assess:
        _assess(settings, state, tables)
    elif previous.index is not None or any(c.startswith("supply_") for c in cells.columns):
        _drop_assessment(tables, category)
    return tables


def _replace_barriers(
    tables: Tables,
    parts: tuple[pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame],
    category: str,
    order: list[str],
) -> None:
    """The barrier tables of ``tables`` with one category's rows replaced by ``parts``."""
    table, areas, streets = parts
    assert tables.barriers is not None  # the category is walked step-free
    tables.barriers = replace_rows(tables.barriers, table, category, order)
    for name, fresh in (("barrier_areas", areas), ("barrier_steps", streets)):
        old = getattr(tables, name)
        if not len(old) and not len(fresh):
            continue
        frame = replace_rows(old, fresh, category, order) if len(old) else fresh
        setattr(tables, name, gpd.GeoDataFrame(frame, geometry="geometry", crs=old.crs))


def run_diagnostics(
    settings: RunSettings, state: EngineState, cells: pd.DataFrame, facilities: pd.DataFrame
) -> dict[str, Any]:
    """Counts a planner should see next to the figures: network pieces, unsnapped points,
    residents who reach no facility and why."""
    graph = state.graph
    labels = state.node_piece
    street = labels[: graph.n_street_nodes]
    pieces, sizes = np.unique(street, return_counts=True)
    pop = cells["pop_total"].to_numpy(dtype=float)
    snapped = state.cell_snap.snapped
    cell_nodes = state.cell_nodes
    main_piece = pieces[np.argmax(sizes)] if len(pieces) else -1
    off_main = snapped & (labels[np.maximum(cell_nodes, 0)] != main_piece)
    piece = np.where(cell_nodes >= 0, labels[np.maximum(cell_nodes, 0)], -1)
    out: dict[str, Any] = {
        "network_nodes": int(graph.n_street_nodes),
        "network_pieces": len(pieces),
        "largest_piece_share_of_nodes": round(float(sizes.max() / sizes.sum()), 4)
        if len(sizes)
        else 0.0,
        "cells": len(cells),
        "population": float(pop.sum()),
        "unsnapped_cells": int((~snapped).sum()),
        "unsnapped_population": float(pop[~snapped].sum()),
        "population_off_main_network": float(pop[off_main].sum()),
        "facilities": {},
        "unsnapped_facilities": {},
        "unreachable_population": {},
        "population_without_facility": {},
    }
    for key in settings.categories:
        sites = state.sites[key]
        ids = facilities.loc[facilities["category"].to_numpy() == key, "facility_id"].to_numpy(
            dtype=object
        )
        cohort = cells[pop_col(key)].to_numpy(dtype=float)
        out["facilities"][key] = len(ids)
        out["unsnapped_facilities"][key] = [str(i) for i in ids[~sites.snapped]]
        out["unreachable_population"][key] = float(cohort[~state.nearest[key].reachable].sum())
        # residents on network pieces (of the category's walk) where no facility stands
        own = state.node_piece_for(key)
        own_piece = (
            piece
            if own is labels
            else np.where(cell_nodes >= 0, own[np.maximum(cell_nodes, 0)], -1)
        )
        joins = np.concatenate([sites.node_a[sites.snapped], sites.node_b[sites.snapped]])
        out["population_without_facility"][key] = population_without_facility(
            own_piece, own[joins], cohort
        )
    return out
