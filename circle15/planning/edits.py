"""What-if edits: open, close or move facilities and get the new result without a re-run.

A run keeps its engine state in an :class:`EngineSession` on the result. Adding sites
is then one bounded multi-source search from the new sites and an element-wise minimum;
removing or moving sites re-runs that category's one multi-source search over the sites
that remain, so cells whose nearest facility went get their next-nearest. The tables are
rebuilt by :func:`circle15.pipeline.update_category`, the same code that builds them in a
run, so the result equals a full re-run with the edited facility tables (also tested).

Usually called through the result's methods::

    after = result.add_facilities("elderly_canteen", [(121.55, 29.98)], names=["新食堂"])
    after.compare(result)          # who gained, who lost, gap area, per sub-district
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..analysis.delta import changed_categories, coverage_delta
from ..analysis.targets import evaluate_targets, targets_from_parameters
from ..engine.graph import RoutingGraph
from ..engine.nearest import NearestFacility
from ..engine.sites import SiteSet, nearest_site
from ..engine.state import EngineState
from ..errors import InputError
from ..pipeline import RunSettings, Tables, carry_catchment, update_category
from .site_input import WGS84, blank

if TYPE_CHECKING:
    from ..result import CoverageResult

__all__ = [
    "Edit",
    "EngineSession",
    "category_facilities",
    "check_category",
    "compare",
    "edit_facilities",
    "engine_session",
    "search_limit",
]


@dataclass(frozen=True)
class EngineSession:
    """What a result needs for what-ifs: the study's settings and its engine state.

    The engine state (street index, routing graph, cells' place in it, facilities as
    sites, each cell's nearest facility) belongs to this session, not to the result
    record: a result refers to the session that produced it, and each edit makes a new
    session that shares the graph and the caches of the old one.
    """

    settings: RunSettings
    state: EngineState


@dataclass(frozen=True)
class Edit:
    """One what-if step on one category, in the study CRS.

    Attributes
    ----------
    category : str
        Category key.
    add : GeoDataFrame, optional
        New sites (``facility_id``, ``name``, ``capacity``, ``provenance``, Point geometry).
    remove : tuple of str
        Ids of facilities that close.
    move : dict
        New position (shapely Point, study CRS) of facilities that move, by id.
    """

    category: str
    add: gpd.GeoDataFrame | None = None
    remove: tuple[str, ...] = ()
    move: Mapping[str, shapely.Point] = field(default_factory=dict)

    def apply(self, result: CoverageResult, *, assess: bool = True) -> CoverageResult:
        """``result`` with this edit applied."""
        return edit_facilities(
            result,
            self.category,
            add=self.add,
            remove=self.remove,
            move=dict(self.move),
            assess=assess,
        )


def engine_session(result: CoverageResult) -> EngineSession:
    """The engine session of a result, or an ``InputError`` saying to run the study."""
    if result.session is None:
        raise InputError(
            "this result carries no engine session (it was not produced by "
            "Study.run()); run the study to try what-ifs"
        )
    return result.session


def check_category(result: CoverageResult, category: str) -> None:
    """Raise ``InputError`` naming the study's categories when ``category`` is not one."""
    if category not in result.categories:
        raise InputError(
            f"unknown category {category!r}; this study has {', '.join(result.categories)}"
        )


def category_facilities(result: CoverageResult, category: str) -> gpd.GeoDataFrame:
    """One category's rows of ``result.facilities``, in engine order."""
    return result.facilities[result.facilities["category"].to_numpy() == category]


def tables_of(result: CoverageResult) -> Tables:
    """The tables of ``result`` as the pipeline takes them."""
    return Tables(
        cells=result.cells,
        districts=result.districts,
        gaps=result.gaps,
        facilities=result.facilities,
        diagnostics=result.diagnostics,
        equity=result.equity,
        index=result.index,
        index_indicators=result.index_indicators,
        barriers=result.barriers,
        barrier_areas=result.barrier_areas,
        barrier_steps=result.barrier_steps,
    )


def _new_ids(given: pd.Series, taken: set[str], category: str) -> list[str]:
    ids, n = [], 0
    for value in given:
        if value is None:
            n += 1
            while f"new-{category}-{n:02d}" in taken:
                n += 1
            value = f"new-{category}-{n:02d}"
        if value in taken:
            raise InputError(
                f"facility id {value!r} is already used in {category}; give the new site its own id"
            )
        taken.add(value)
        ids.append(value)
    return ids


def _snap_new(
    state: EngineState,
    frame: gpd.GeoDataFrame,
    category: str,
) -> tuple[SiteSet, SiteSet | None]:
    """New sites joined to the category's walking graph (and, for a category walked
    step-free, to the ordinary graph too)."""
    points = frame.geometry.to_numpy()
    snap, attachment = state.attach(points)
    step_free = category in state.category_profile
    if step_free:  # the walk avoids steps: the site joins the nearest step-free street
        own, own_attachment = state.attach_for(category, points)
    else:
        own, own_attachment = snap, attachment
    if not (snap.snapped.all() and own.snapped.all()):
        i = int(np.flatnonzero(~(snap.snapped & own.snapped))[0])
        p = gpd.GeoSeries([frame.geometry.iloc[i]], crs=frame.crs).to_crs(WGS84).iloc[0]
        which = "step-free street (one without steps)" if snap.snapped[i] else "street"
        raise InputError(
            f"{category} site {frame['facility_id'].iloc[i]!r} at lon {p.x:.6f}, lat {p.y:.6f} "
            f"is farther than {state.max_snap_m:g} m from every {which}, so nobody could "
            "walk to it; move it next to a street (coordinates are WGS84 lon/lat unless "
            "crs= says otherwise)"
        )
    frame["snapped"] = True
    frame["snap_m"] = snap.leg_m
    return (
        SiteSet.from_attachment(own_attachment),
        SiteSet.from_attachment(attachment, snap.edge) if step_free else None,
    )


def search_limit(
    state: EngineState, current: NearestFacility, new: SiteSet, pieces: np.ndarray | None = None
) -> float:
    """How far a search from new sites must go to find every cell they bring nearer.

    A new site can only improve cells on its own network piece, and only those farther
    from their current facility than from it: so the search may stop at the largest
    current distance on those pieces, unless one of their cells reaches no facility at
    all (then it must not stop). ``pieces`` labels the nodes of the graph searched
    (default: the ordinary graph's).
    """
    labels = state.node_piece if pieces is None else pieces
    found = np.unique(labels[new.node_a[new.snapped]])
    cells = state.cell_nodes
    on = np.zeros(len(cells), bool)
    snapped = cells >= 0
    on[snapped] = np.isin(labels[cells[snapped]], found)
    d = current.distance_m[on]
    if not len(d):
        return 0.0
    return float(d.max()) if np.isfinite(d).all() else np.inf


def _edited_nearest(
    state: EngineState,
    graph: RoutingGraph,
    pieces: np.ndarray,
    sites: SiteSet,
    current: NearestFacility,
    kept_positions: np.ndarray,
    added: SiteSet,
    closed: bool,
) -> tuple[SiteSet, NearestFacility]:
    """A category's sites and each cell's nearest one after an edit, on one graph."""
    kept = sites.take(kept_positions)
    after = kept.concat(added)
    if closed:  # the next-nearest may be anywhere: search again over what remains
        return after, nearest_site(graph, state.cell_nodes, after)
    # Only additions: one bounded search from the new sites, then the nearer of the two.
    found = nearest_site(
        graph, state.cell_nodes, added, search_limit(state, current, added, pieces)
    )
    nearer = found.distance_m < current.distance_m
    return after, NearestFacility(
        np.where(nearer, found.distance_m, current.distance_m),
        np.where(nearer, len(kept) + found.facility, current.facility),
    )


def edit_facilities(
    result: CoverageResult,
    category: str,
    *,
    add: gpd.GeoDataFrame | None = None,
    remove: Iterable[str] = (),
    move: Mapping[str, Any] | None = None,
    assess: bool = True,
) -> CoverageResult:
    """One what-if step on one category: remove, move and add facilities at once.

    Parameters
    ----------
    result : CoverageResult
        A result of ``Study.run()`` (or of an earlier what-if).
    category : str
        Category key.
    add : GeoDataFrame, optional
        New sites as made by :func:`site_frame` (study CRS).
    remove : iterable of str
        Facility ids to close.
    move : mapping of str to shapely Point, optional
        New position (study CRS) of existing facilities, by id; they keep id, name and
        capacity.
    assess : bool, default True
        Recompute capacity-aware supply, equity and the index (when the study computes
        them) for the new facilities. False keeps the what-if to the walking times,
        coverage tables and gaps and leaves supply, equity and the index out of the new
        result (None / NaN), never stale.

    Returns
    -------
    CoverageResult
        The new result, with every table and the map; ``parameters["what_if"]`` lists the
        edits that led to it.
    """
    check_category(result, category)
    session = engine_session(result)
    state = session.state
    before = category_facilities(result, category)
    ids = before["facility_id"].astype(str).to_numpy()
    remove = [str(r) for r in remove]
    move = {str(k): v for k, v in (move or {}).items()}
    unknown = sorted(set(remove) - set(ids)) + sorted(set(move) - set(ids))
    if unknown:
        raise InputError(
            f"no {category} facility with id {unknown[0]!r}; ids look like {', '.join(ids[:3])}"
        )
    gone = np.isin(ids, [*remove, *move])
    moved = before[np.isin(ids, list(move))].copy()
    if len(moved):
        moved = moved.set_geometry(
            gpd.GeoSeries(
                [move[i] for i in moved["facility_id"].astype(str)], crs=before.crs
            ).to_numpy()
        )
        moved["provenance"] = moved["provenance"].astype(str) + "; moved (what-if)"
        if "district" in moved:
            moved["district"] = None  # located again below
    new = add.copy() if add is not None else before.iloc[:0].copy()
    if len(new):
        new["facility_id"] = _new_ids(
            new["facility_id"], set(ids[~gone]) | set(moved["facility_id"].astype(str)), category
        )
        new["name"] = [
            n if not blank(n) else i for n, i in zip(new["name"], new["facility_id"], strict=True)
        ]
    new = pd.concat([moved, new], ignore_index=True) if len(moved) else new
    new = gpd.GeoDataFrame(new, geometry=new.geometry.name, crs=before.crs)
    new["category"] = category
    added, added_with_steps = (
        _snap_new(state, new, category) if len(new) else (SiteSet.empty(), SiteSet.empty())
    )

    kept_positions = np.flatnonzero(~gone)
    sites, nearest = _edited_nearest(
        state,
        state.graph_for(category),
        state.node_piece_for(category),
        state.sites[category],
        state.nearest[category],
        kept_positions,
        added,
        gone.any(),
    )
    with_steps = None
    if category in state.with_steps:  # walked step-free: who could walk it with steps
        old_sites, old_nearest = state.with_steps[category]
        with_steps = _edited_nearest(
            state,
            state.graph,
            state.node_piece,
            old_sites,
            old_nearest,
            kept_positions,
            added_with_steps or SiteSet.empty(),
            gone.any(),
        )

    facilities = pd.concat([before[~gone], new], ignore_index=True)
    facilities = gpd.GeoDataFrame(facilities, geometry=before.geometry.name, crs=before.crs)
    step = {
        "category": category,
        "added": [str(i) for i in new["facility_id"][~new["facility_id"].isin(list(move))]],
        "removed": remove,
        "moved": sorted(move),
    }
    settings = dataclasses.replace(session.settings, assess=assess and session.settings.assess)
    after = state.updated(category, sites, nearest, with_steps)
    carry_catchment(settings, state, after, category, kept_positions, added)
    state = after
    tables = update_category(settings, state, tables_of(result), category, facilities)
    parameters = copy.deepcopy(result.parameters)
    parameters["what_if"] = [*parameters.get("what_if", []), step]
    after_result = dataclasses.replace(
        result,
        cells=tables.cells,
        districts=tables.districts,
        gaps=tables.gaps,
        facilities=tables.facilities,
        diagnostics=tables.diagnostics,
        equity=tables.equity,
        index=tables.index,
        index_indicators=tables.index_indicators,
        barriers=tables.barriers,
        barrier_areas=tables.barrier_areas,
        barrier_steps=tables.barrier_steps,
        parameters=parameters,
        session=EngineSession(session.settings, state),
    )
    targets = targets_from_parameters(parameters)
    # the targets one run measures, now; targets of change need the baseline (a diff)
    after_result.targets = evaluate_targets(targets, after_result) if targets else None
    return after_result


# ---------------------------------------------------------------------------- comparing


def compare(
    before: CoverageResult, after: CoverageResult, categories: Sequence[str] | None = None
) -> pd.DataFrame:
    """Who gained and who lost between two results of one study, per district.

    Parameters
    ----------
    before, after : CoverageResult
        Two results over the same cells (a run and a what-if of it, or two what-ifs).
    categories : sequence of str, optional
        Categories to compare; by default those whose walking times differ (all of them
        when none does).

    Returns
    -------
    DataFrame
        See :func:`circle15.analysis.delta.coverage_delta`.
    """
    keys = (
        list(categories)
        if categories is not None
        else (
            changed_categories(before.cells, after.cells, after.categories)
            or list(after.categories)
        )
    )
    for k in keys:
        check_category(after, k)
    area = after.cells.geometry.area.to_numpy() / 1e6
    return coverage_delta(
        before.cells,
        after.cells,
        {k: after.categories[k] for k in keys},
        list(after.zones["district"]),
        area,
    )
