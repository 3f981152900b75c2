"""What-if: add, move or remove facilities and get the new coverage without a full re-run.

A run keeps its engine state (:class:`circle15.engine.state.EngineState`). Adding sites
is then one bounded multi-source search from the new sites and an element-wise minimum;
removing or moving sites re-runs that category's one multi-source search over the sites
that remain, so cells whose nearest facility went get their next-nearest. Only the
changed category's cells, district rows and gaps are recomputed; the result equals a
full re-run with the edited facility tables (tested).

Usually called through the result's methods::

    after = result.add_facilities("elderly_canteen", [(121.55, 29.98)], names=["新食堂"])
    after.compare(result)          # who gained, who lost, gap area, per sub-district
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import CRS

from .analysis import district_table, tier_labels
from .analysis.delta import changed_categories, coverage_delta
from .analysis.gap_parts import cell_adjacency, quick_gap_areas
from .analysis.gaps import GAP_COLUMNS
from .engine.nearest import NearestFacility
from .engine.sites import SiteSet, nearest_site
from .engine.state import EngineState
from .errors import InputError

if TYPE_CHECKING:
    from .result import CoverageResult

#: Coordinates given without a CRS are longitude/latitude in WGS84.
WGS84 = "EPSG:4326"
#: Pass ``crs=STUDY_CRS`` for coordinates already in the study's projected CRS.
STUDY_CRS = "study"

SiteInput = (gpd.GeoDataFrame | gpd.GeoSeries | pd.DataFrame | Sequence[Any]
             | tuple[float, float] | shapely.Point | np.ndarray)


# ---------------------------------------------------------------------------- inputs


def _crs(crs: str | CRS | None, study: CRS) -> CRS | str:
    """A pyproj CRS, or ``"GCJ-02"``/``"BD-09"`` for Amap/Baidu longitude/latitude."""
    if crs is None:
        return CRS.from_user_input(WGS84)
    if isinstance(crs, str) and crs == STUDY_CRS:
        return study
    if isinstance(crs, CRS):
        return crs
    from .sources.chinese_crs import parse_crs

    try:
        return parse_crs(crs)
    except Exception:  # pyproj raises several types for unknown input
        raise InputError(f"unknown coordinate system {crs!r}; use e.g. 'EPSG:4326' for "
                         "longitude/latitude, 'GCJ-02' (Amap/Tencent), 'BD-09' (Baidu) or "
                         "'study' for the study's projected CRS") from None


def site_frame(sites: SiteInput, study_crs: CRS, *, crs: str | CRS | None = None,
               ids: Sequence[str] | None = None, names: Sequence[str] | None = None,
               capacity: float | Sequence[float] | None = None,
               provenance: str = "what-if") -> gpd.GeoDataFrame:
    """New sites as a facility frame in the study CRS.

    Parameters
    ----------
    sites : GeoDataFrame, GeoSeries, DataFrame, point or sequence of points
        A GeoDataFrame/GeoSeries in any CRS (its own); a DataFrame with ``lon``/``lat``
        (WGS84) or ``x``/``y`` (study CRS) columns; or coordinate pairs / shapely points in
        ``crs``. Optional columns ``facility_id`` (or ``id``), ``name``, ``capacity``,
        ``provenance``.
    study_crs : CRS
        The study's projected CRS.
    crs : str or CRS, optional
        CRS of bare coordinates: WGS84 longitude/latitude unless told (``"study"`` for the
        study CRS, ``"GCJ-02"`` for Amap/Tencent, ``"BD-09"`` for Baidu, an EPSG code).
        Overrides what the columns of a DataFrame imply (and a GeoDataFrame's own CRS).
    ids, names, capacity : optional
        Override or fill the columns; ``capacity`` may be one number for every site.
    provenance : str
        Recorded with each new site (shown in the facilities layer).

    Returns
    -------
    GeoDataFrame
        ``facility_id`` (None where not given), ``name``, ``capacity``, ``provenance``,
        Point geometry in ``study_crs``.
    """
    table: pd.DataFrame
    if isinstance(sites, gpd.GeoSeries):
        sites = gpd.GeoDataFrame(geometry=sites)
    if isinstance(sites, gpd.GeoDataFrame):
        if sites.crs is None and crs is None:
            raise InputError("the new sites have no CRS: set one (e.g. gdf.set_crs(4326)) "
                             "or pass crs=")
        system = None if crs is None else _crs(crs, study_crs)
        if isinstance(system, str):  # GCJ-02/BD-09 numbers: move them to WGS84
            from .sources.chinese_crs import geometries_to_wgs84

            frame = gpd.GeoDataFrame(sites.drop(columns=sites.geometry.name), crs=WGS84,
                                     geometry=geometries_to_wgs84(
                                         sites.geometry.to_numpy(), system))
        else:
            frame = sites if system is None else sites.set_crs(system, allow_override=True)
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        geometry = frame.geometry.representative_point().to_crs(study_crs).to_numpy()
    elif isinstance(sites, pd.DataFrame):
        table = sites
        if {"lon", "lat"} <= set(sites.columns):
            xy, implied = sites[["lon", "lat"]], WGS84
        elif {"x", "y"} <= set(sites.columns):
            xy, implied = sites[["x", "y"]], STUDY_CRS
        else:
            raise InputError("a table of new sites needs lon/lat (WGS84) or x/y (study CRS) "
                             f"columns; it has {', '.join(map(str, sites.columns))}")
        geometry = _points(xy.to_numpy(dtype=float), _crs(crs or implied, study_crs), study_crs)
    else:
        geometry = _points(_coordinates(sites), _crs(crs, study_crs), study_crs)
        table = pd.DataFrame(index=range(len(geometry)))
    n = len(geometry)
    if n == 0:
        raise InputError("no new sites given")
    table = table.reset_index(drop=True)
    id_col = next((c for c in ("facility_id", "id") if c in table.columns), None)
    out = gpd.GeoDataFrame({
        "facility_id": _values(ids, table, id_col, n, None),
        "name": _values(names, table, "name", n, None),
        "capacity": np.asarray(_values(capacity, table, "capacity", n, np.nan), dtype=float),
        "provenance": _values(None, table, "provenance", n, provenance),
    }, geometry=geometry, crs=study_crs)
    out["facility_id"] = [None if _blank(v) else str(v).strip() for v in out["facility_id"]]
    if (out["capacity"] < 0).any():
        raise InputError(f"site {int(np.flatnonzero(out['capacity'] < 0)[0]) + 1}: "
                         "capacity is negative")
    return out


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value) == ""


def _values(given: Any, table: pd.DataFrame, column: str | None, n: int,
            default: Any) -> list[Any]:
    if given is not None:
        values = [given] * n if np.isscalar(given) else list(given)
        if len(values) != n:
            raise InputError(f"{len(values)} values given for {n} new sites")
        return values
    if column is not None and column in table.columns:
        return table[column].tolist()
    return [default] * n


def _coordinates(sites: Any) -> np.ndarray:
    if isinstance(sites, shapely.Point):
        sites = [sites]
    items = list(sites) if not isinstance(sites, np.ndarray) else sites
    if len(items) and isinstance(items[0], (int, float, np.floating, np.integer)):
        items = [items]  # one (x, y) pair
    try:
        if len(items) and isinstance(items[0], shapely.Geometry):
            return shapely.get_coordinates(np.asarray(items, dtype=object))
        xy = np.asarray(items, dtype=float).reshape(-1, 2)
    except (TypeError, ValueError):
        raise InputError("new sites must be (x, y) pairs, shapely points, a DataFrame with "
                         "lon/lat or x/y columns, or a GeoDataFrame") from None
    return xy


def _points(xy: np.ndarray, crs: CRS | str, study_crs: CRS) -> np.ndarray:
    if not np.isfinite(xy).all():
        raise InputError("a new site has a missing or non-numeric coordinate")
    if isinstance(crs, str):  # GCJ-02/BD-09 longitude/latitude
        from .sources.chinese_crs import to_wgs84

        xy = np.column_stack(to_wgs84(xy[:, 0], xy[:, 1], crs))
        crs = CRS.from_user_input(WGS84)
    pts = gpd.GeoSeries(shapely.points(xy), crs=crs)
    return pts.to_crs(study_crs).to_numpy()


# ---------------------------------------------------------------------------- edits


def engine_state(result: CoverageResult) -> EngineState:
    """The engine state a run kept, or an ``InputError`` saying to run the study."""
    if result.engine is None:
        raise InputError("this result carries no engine state (it was not produced by "
                         "Study.run()); run the study to try what-ifs")
    return result.engine


def check_category(result: CoverageResult, category: str) -> None:
    """Raise ``InputError`` naming the study's categories when ``category`` is not one."""
    if category not in result.categories:
        raise InputError(f"unknown category {category!r}; this study has "
                         f"{', '.join(result.categories)}")


def category_facilities(result: CoverageResult, category: str) -> gpd.GeoDataFrame:
    """One category's rows of ``result.facilities``, in engine order."""
    return result.facilities[result.facilities["category"].to_numpy() == category]


def _new_ids(given: pd.Series, taken: set[str], category: str) -> list[str]:
    ids, n = [], 0
    for value in given:
        if value is None:
            n += 1
            while f"new-{category}-{n:02d}" in taken:
                n += 1
            value = f"new-{category}-{n:02d}"
        if value in taken:
            raise InputError(f"facility id {value!r} is already used in {category}; give the "
                             "new site its own id")
        taken.add(value)
        ids.append(value)
    return ids


def _snap_new(state: EngineState, frame: gpd.GeoDataFrame, category: str) -> SiteSet:
    snap, attachment = state.attach(frame.geometry.to_numpy())
    if not snap.snapped.all():
        i = int(np.flatnonzero(~snap.snapped)[0])
        p = gpd.GeoSeries([frame.geometry.iloc[i]], crs=frame.crs).to_crs(WGS84).iloc[0]
        raise InputError(
            f"{category} site {frame['facility_id'].iloc[i]!r} at lon {p.x:.6f}, lat {p.y:.6f} "
            f"is farther than {state.max_snap_m:g} m from every street, so nobody could walk "
            "to it; move it next to a street (coordinates are WGS84 lon/lat unless crs= says "
            "otherwise)")
    frame["snapped"] = True
    frame["snap_m"] = snap.leg_m
    return SiteSet.from_attachment(attachment)


def search_limit(state: EngineState, current: NearestFacility, new: SiteSet) -> float:
    """How far a search from new sites must go to find every cell they bring nearer.

    A new site can only improve cells on its own network piece, and only those farther
    from their current facility than from it: so the search may stop at the largest
    current distance on those pieces, unless one of their cells reaches no facility at
    all (then it must not stop).
    """
    pieces = np.unique(state.node_piece[new.node_a[new.snapped]])
    cells = state.cell_nodes
    on = np.zeros(len(cells), bool)
    snapped = cells >= 0
    on[snapped] = np.isin(state.node_piece[cells[snapped]], pieces)
    d = current.distance_m[on]
    if not len(d):
        return 0.0
    return float(d.max()) if np.isfinite(d).all() else np.inf


def edit_facilities(result: CoverageResult, category: str, *,
                    add: gpd.GeoDataFrame | None = None, remove: Iterable[str] = (),
                    move: Mapping[str, Any] | None = None,
                    assess: bool = True) -> CoverageResult:
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
        Recompute capacity-aware supply, equity and the index (when the run computed them)
        for the new facilities: about 0.1 s on the demo. False keeps the what-if to the
        walking times, coverage tables and gaps (a few tens of ms) and leaves supply,
        equity and index out of the new result (None / NaN), never stale.

    Returns
    -------
    CoverageResult
        The new result, with every table and the map; ``parameters["what_if"]`` lists the
        edits that led to it.
    """
    check_category(result, category)
    state = engine_state(result)
    graph, cell_nodes = state.graph, state.cell_nodes
    before = category_facilities(result, category)
    ids = before["facility_id"].astype(str).to_numpy()
    remove = [str(r) for r in remove]
    move = {str(k): v for k, v in (move or {}).items()}
    unknown = sorted(set(remove) - set(ids)) + sorted(set(move) - set(ids))
    if unknown:
        raise InputError(f"no {category} facility with id {unknown[0]!r}; ids look like "
                         f"{', '.join(ids[:3])}")
    gone = np.isin(ids, [*remove, *move])
    moved = before[np.isin(ids, list(move))].copy()
    if len(moved):
        moved = moved.set_geometry(gpd.GeoSeries(
            [move[i] for i in moved["facility_id"].astype(str)], crs=before.crs).to_numpy())
        moved["provenance"] = moved["provenance"].astype(str) + "; moved (what-if)"
        if "district" in moved:
            moved["district"] = None  # located again below
    new = add.copy() if add is not None else before.iloc[:0].copy()
    if len(new):
        new["facility_id"] = _new_ids(new["facility_id"], set(ids[~gone]) | set(moved[
            "facility_id"].astype(str)), category)
        new["name"] = [n if not _blank(n) else i for n, i in zip(new["name"],
                                                                  new["facility_id"],
                                                                  strict=True)]
    new = pd.concat([moved, new], ignore_index=True) if len(moved) else new
    new = gpd.GeoDataFrame(new, geometry=new.geometry.name, crs=before.crs)
    new["category"] = category
    added = _snap_new(state, new, category) if len(new) else SiteSet.empty()

    kept = state.sites[category].take(np.flatnonzero(~gone))
    sites = kept.concat(added)
    current = state.nearest[category]
    if not gone.any():
        # Only additions: one bounded search from the new sites, then the nearer of the two.
        found = nearest_site(graph, cell_nodes, added,
                             search_limit(state, current, added))
        nearer = found.distance_m < current.distance_m
        nearest = NearestFacility(np.where(nearer, found.distance_m, current.distance_m),
                                  np.where(nearer, len(kept) + found.facility,
                                           current.facility))
    else:
        nearest = nearest_site(graph, cell_nodes, sites)

    facilities = pd.concat([before[~gone], new], ignore_index=True)
    facilities = gpd.GeoDataFrame(facilities, geometry=before.geometry.name, crs=before.crs)
    step = {"category": category,
            "added": [str(i) for i in new["facility_id"][~new["facility_id"].isin(
                list(move))]],
            "removed": remove, "moved": sorted(move)}
    if "district" in result.facilities.columns:
        from .analysis.assessment import locate_in_districts

        fresh = facilities["district"].isna().to_numpy()
        facilities.loc[fresh, "district"] = locate_in_districts(
            facilities.geometry.to_numpy()[fresh], result.zones)
    return _rebuild(result, category, facilities, state.updated(category, sites, nearest),
                    step, assess)


# ---------------------------------------------------------------------------- tables


def _adjacency(result: CoverageResult, state: EngineState):
    """Cell adjacency for quick gap areas, worked out once per study (about 0.1 s)."""
    return state.memo("cell_adjacency", lambda: cell_adjacency(result.cells.geometry.to_numpy()))


def _replace_rows(table: pd.DataFrame, rows: pd.DataFrame, category: str,
                  order: list[str]) -> pd.DataFrame:
    """``table`` with its ``category`` rows replaced by ``rows``, categories in ``order``."""
    cats = table["category"].to_numpy() if len(table) else np.empty(0, dtype=object)
    rank = {k: i for i, k in enumerate(order)}
    ranks = np.array([rank[c] for c in cats], dtype=np.int64)
    if len(ranks) and not (np.diff(ranks) >= 0).all():  # not grouped by category: sort it
        table = table.iloc[np.argsort(ranks, kind="stable")]
        ranks = np.sort(ranks, kind="stable")
    # The category's rows sit between these positions; the rest keeps its order.
    start, end = np.searchsorted(ranks, rank[category], "left"), np.searchsorted(
        ranks, rank[category], "right")
    parts = [p for p in (table.iloc[:start], rows, table.iloc[end:]) if len(p)]
    if not parts:
        return table.iloc[:0]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(
        drop=True)


def _rebuild(result: CoverageResult, category: str, facilities: gpd.GeoDataFrame,
             state: EngineState, step: dict[str, Any], assess: bool) -> CoverageResult:
    from .result import CoverageResult

    cat = result.categories[category]
    found = state.nearest[category]
    ids = facilities["facility_id"].to_numpy(dtype=object)
    minutes = found.minutes(cat.metres_per_minute)
    cells = result.cells.copy()
    cells[f"t_{category}"] = minutes
    nearest_id = ids[np.maximum(found.facility, 0)] if len(ids) else None  # all closed
    cells[f"nearest_{category}"] = np.where(found.reachable, nearest_id, None)
    cells[f"tier_{category}"] = tier_labels(minutes, cat.tiers_min)

    # district_table reads a few columns many times: a plain frame of them is much quicker.
    light = pd.DataFrame({"district": cells["district"].to_numpy(),
                          "snapped": cells["snapped"].to_numpy(),
                          f"pop_{category}": cells[f"pop_{category}"].to_numpy(),
                          f"t_{category}": minutes})
    fresh = district_table(light, {category: cat}, list(result.zones["district"]))
    order = list(result.categories)
    districts = _replace_rows(result.districts, fresh, category, order)
    all_facilities = gpd.GeoDataFrame(_replace_rows(result.facilities, facilities, category,
                                                    order),
                                      geometry=result.facilities.geometry.name,
                                      crs=result.facilities.crs)
    names = dict(zip(all_facilities["facility_id"], all_facilities["name"], strict=False))
    new_gaps = quick_gap_areas(cells, cat, names, _adjacency(result, state),
                               memo=state.memo(f"gap_groups_{category}", dict))
    if len(result.gaps) or len(new_gaps):
        gaps = gpd.GeoDataFrame(_replace_rows(result.gaps, new_gaps, category, order),
                                geometry="geometry", crs=result.cells.crs)
    else:
        gaps = gpd.GeoDataFrame(columns=[*GAP_COLUMNS, "geometry"], geometry="geometry",
                                crs=result.cells.crs)

    diagnostics = copy.deepcopy(result.diagnostics)
    pop = cells[f"pop_{category}"].to_numpy(dtype=float)
    diagnostics.setdefault("facilities", {})[category] = len(facilities)
    diagnostics.setdefault("unsnapped_facilities", {})[category] = [
        str(i) for i in ids[~state.sites[category].snapped]]
    diagnostics.setdefault("unreachable_population", {})[category] = float(
        pop[~found.reachable].sum())
    parameters = copy.deepcopy(result.parameters)
    parameters["what_if"] = [*parameters.get("what_if", []), step]
    out = CoverageResult(
        name=result.name, title=result.title, categories=result.categories, cells=cells,
        districts=districts, gaps=gaps, facilities=all_facilities, zones=result.zones,
        area=result.area, synthetic=result.synthetic, notice=result.notice,
        diagnostics=diagnostics, parameters=parameters, engine=state)
    if result.index is not None or any(c.startswith("supply_") for c in cells.columns):
        if assess and "supply" in state.context and "index" in state.context:
            _reassess(out, state)
        else:
            # Supply depends on the facilities: drop what the edit made stale.
            out.cells[f"supply_{category}"] = np.nan
            if "capacity_per_resident" in out.facilities:
                out.facilities.loc[out.facilities["category"] == category,
                                   "capacity_per_resident"] = np.nan
            out.diagnostics["supply"] = "not recomputed after a what-if (assess=False)"
    return out


def _reassess(result: CoverageResult, state: EngineState) -> None:
    """Supply, equity and the index of ``result``, recomputed in place (``analysis.assessment``)."""
    from .analysis.assessment import SCORE_COLUMNS, SUPPLY_COLUMNS
    from .analysis.assessment import assess as assess_run
    from .engine.catchment import point_catchments
    from .engine.graph import Attachment

    supply, index = state.context["supply"], state.context["index"]
    capacity, where = {}, {}
    def minutes_within_catchment(key: str) -> Any:
        cat = result.categories[key]
        # A site joins through node a or b at known costs: an attachment without a leg.
        sites = state.sites[key]
        if not sites.snapped.any():  # every facility closed (or off the streets)
            return sp.csr_array((len(sites), len(state.cell_nodes)))
        joins = Attachment(sites.node_a, sites.cost_a, sites.node_b, sites.cost_b,
                           np.zeros(len(sites)))
        reach = point_catchments(state.graph, joins, state.cell_nodes,
                                 supply.catchment_for(cat) * cat.metres_per_minute)
        reach.data = reach.data / cat.metres_per_minute  # minutes, for the decay
        return reach

    catchments = {}
    for key in result.categories:
        catchments[key] = state.memo_for(key, "catchment",
                                         lambda key=key: minutes_within_catchment(key))
        rows = result.facilities[result.facilities["category"].to_numpy() == key]
        capacity[key] = rows["capacity"].to_numpy(dtype=float)
        where[key] = (rows["district"].to_numpy(dtype=object) if "district" in rows
                      else np.full(len(rows), None, dtype=object))
    base = result.districts[[c for c in result.districts.columns
                             if c not in (*SUPPLY_COLUMNS, *SCORE_COLUMNS)]]
    # A plain frame without geometry: the assessment's table work is a quarter quicker.
    light = pd.DataFrame(result.cells.drop(columns=result.cells.geometry.name))
    found = assess_run(light, base, result.categories, result.zones, catchments, capacity,
                       where, supply, index)
    for key in result.categories:
        result.cells[f"supply_{key}"] = found.cells[f"supply_{key}"].to_numpy()
    result.districts = found.districts[[c for c in found.districts.columns]]
    result.facilities["capacity_per_resident"] = np.concatenate(
        [found.facility_ratio.get(k, np.full(len(capacity[k]), np.nan))
         for k in result.categories])
    result.equity, result.index = found.equity, found.index.table
    result.index_indicators = found.index.indicators
    result.diagnostics["supply"] = found.diagnostics


# ---------------------------------------------------------------------------- comparing


def compare(before: CoverageResult, after: CoverageResult,
            categories: Sequence[str] | None = None) -> pd.DataFrame:
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
    keys = list(categories) if categories is not None else (
        changed_categories(before.cells, after.cells, after.categories)
        or list(after.categories))
    for k in keys:
        check_category(after, k)
    area = after.cells.geometry.area.to_numpy() / 1e6
    return coverage_delta(before.cells, after.cells, {k: after.categories[k] for k in keys},
                          list(after.zones["district"]), area)
