"""Where should the next sites go? Candidates, reach within the target time, and the choice.

Glue between the engine (bounded searches from candidate sites), the pure optimisers in
:mod:`circle15.analysis.siting` and the what-if (the after-result). Typical use::

    choice = select_sites(result, "childcare", 3)       # candidates generated in the gaps
    choice.sites                                        # ranked, with marginal gain
    choice.after.map()                                  # coverage with the new sites
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from ..analysis.delta import describe_delta
from ..analysis.siting import SitingSolution, exact_sites, greedy_sites
from ..engine.catchment import point_catchments
from ..errors import InputError
from .edits import check_category, edit_facilities, engine_session
from .site_input import WGS84, site_frame

if TYPE_CHECKING:
    from ..result import CoverageResult

#: Solve exactly as well as greedily when there are at most this many useful candidates
#: (the demo's 4,434 elderly-canteen candidates: 1.3 s for 3 sites); with capacities the
#: programme has a variable per (site, cell) pair and grows much faster.
EXACT_MAX_CANDIDATES = 10_000
EXACT_MAX_CANDIDATES_CAPACITATED = 300
#: Give the exact solver this long before keeping its best answer and bound.
EXACT_TIME_LIMIT_S = 60.0


@dataclass
class SiteSelection:
    """The sites chosen for one category, and the coverage they bring.

    Attributes
    ----------
    category : str
        Category key.
    sites : GeoDataFrame
        The chosen sites, best first: ``rank, site_id, name, district, lon, lat, capacity,
        marginal_gain`` (cohort newly within the target time, given the sites ranked
        above), ``cumulative_gain``, ``coverage_after`` (district-wide share once this and
        the sites above are open) and ``served`` (with capacities: people the sites can
        take), geometry in the study CRS.
    candidates : GeoDataFrame
        Every candidate with ``solo_gain`` (what it would add alone) and ``chosen``.
    before, after : CoverageResult
        Coverage without and with the chosen sites.
    greedy : SitingSolution
        The lazy greedy's choice (the one reported in ``sites``).
    exact : SitingSolution or None
        The exact optimum (or the solver's best within its time limit) when it ran.
    capacitated : bool
        Whether capacities limited what each new site serves.
    requested : int
        Sites asked for; fewer are chosen when no further site would add anyone.
    timings : dict
        Seconds per step.
    method : str
        Which solution ``sites`` reports: ``"greedy"``, or ``"exact"`` when asked to
        prefer the exact solver's choice and it covers more.
    notes : list of str
        What the user should know about the choice (e.g. the exact solver found no
        solution within its time limit).
    """

    category: str
    sites: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    before: CoverageResult
    after: CoverageResult
    greedy: SitingSolution
    exact: SitingSolution | None
    capacitated: bool
    requested: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    method: str = "greedy"
    notes: list[str] = field(default_factory=list)

    @property
    def optimality_gap(self) -> float | None:
        """Greedy's shortfall from the optimum, ``(optimum - greedy) / optimum``.

        None when the exact solver did not run or did not prove its answer optimal (then
        compare with ``exact.bound``).
        """
        if self.exact is None or not self.exact.optimal:
            return None
        if self.exact.value <= 0:
            return 0.0
        return max(0.0, (self.exact.value - self.greedy.value) / self.exact.value)

    def delta(self) -> pd.DataFrame:
        """The change the chosen sites bring, per sub-district.

        Returns
        -------
        DataFrame
            Cohort gained, coverage and gap area before and after, as
            :meth:`CoverageResult.compare`.
        """
        return self.after.compare(self.before, [self.category])

    def summary(self) -> list[str]:
        """A few lines for the terminal or a notebook.

        Returns
        -------
        list of str
            The choice, each site with its gain, the change per category and, when the
            exact solver ran, greedy's gap to the optimum.
        """
        cat = self.before.categories[self.category]
        lines = [
            f"{len(self.sites)} new {cat.label} site(s) chosen among "
            f"{len(self.candidates):,} candidates ({self.greedy.method}, "
            f"{self.greedy.evaluations} gain evaluations, {self.greedy.seconds:.3f} s)"
        ]
        if self.method != self.greedy.method:
            lines[0] += f"; listed: the {self.method} solver's choice, which covers more"
        lines += self.notes
        if len(self.sites) < self.requested:
            lines.append(
                f"  only {len(self.sites)} of the {self.requested} sites asked for "
                "add anyone: no other candidate reaches a resident still uncovered"
            )
        for _, s in self.sites.iterrows():
            extra = f", serves {s['served']:,.0f}" if self.capacitated else ""
            lines.append(
                f"  {s['rank']}. {s['name']} ({s['district']}, {s['lon']:.5f}, "
                f"{s['lat']:.5f}): +{s['marginal_gain']:,.1f} {cat.cohort_label}"
                f"{extra} -> {s['coverage_after']:.1%}"
            )
        lines += describe_delta(self.delta(), self.before.categories)
        if self.exact is not None:
            gap = self.optimality_gap
            what = (
                f"optimum {self.exact.value:,.1f}, greedy {self.greedy.value:,.1f}: gap {gap:.2%}"
                if gap is not None
                else f"exact solver stopped at its time limit: best {self.exact.value:,.1f}, "
                f"bound {self.exact.bound:,.1f}, greedy {self.greedy.value:,.1f}"
            )
            lines.append(f"exact check ({self.exact.seconds:.2f} s): {what}")
        return lines

    def map(self, **kwargs: Any):
        """Before/after map: the after-coverage, the gaps before and the new sites.

        Parameters
        ----------
        **kwargs
            ``tiles`` and ``attribution``, as for :func:`circle15.outputs.webmap.build_map`.

        Returns
        -------
        folium.Map
            The map of ``sites_map.html``, offline like every circle15 map.
        """
        from ..outputs.sites import sites_map

        return sites_map(self, **kwargs)


# ---------------------------------------------------------------------------- candidates


def gap_candidates(result: CoverageResult, category: str) -> gpd.GeoDataFrame:
    """Candidate sites on the street network inside the category's gap areas.

    One candidate per populated cell beyond the target time: the point where the cell's
    residents reach their street (the foot of the perpendicular from the cell centre to
    its nearest street edge), so every candidate is on the network and inside a gap.

    Parameters
    ----------
    result : CoverageResult
        A result of ``Study.run()`` (or a what-if of it).
    category : str
        Category key.

    Returns
    -------
    GeoDataFrame
        ``facility_id`` (``cand-<cell_id>``), ``name``, ``capacity`` (NaN), ``provenance``,
        ``district``, Point geometry in the study CRS.
    """
    check_category(result, category)
    state = engine_session(result).state
    cat = result.categories[category]
    t = result.cells[f"t_{category}"].to_numpy(dtype=float)
    pop = result.cells[f"pop_{category}"].to_numpy(dtype=float)
    snap = state.cell_snap
    rows = np.flatnonzero((np.isnan(t) | (t > cat.target_min)) & (pop > 0) & snap.snapped)
    edge = snap.edge[rows]
    index = state.edge_index
    share = np.divide(
        snap.offset_m[rows],
        index.length_m[edge],
        out=np.zeros(len(rows)),
        where=index.length_m[edge] > 0,
    )
    feet = shapely.line_interpolate_point(index.geometry[edge], share, normalized=True)
    cell_ids = result.cells["cell_id"].to_numpy(dtype=object)[rows]
    return gpd.GeoDataFrame(
        {
            "facility_id": [f"cand-{c}" for c in cell_ids],
            "name": [f"候选点 candidate at cell {c}" for c in cell_ids],
            "capacity": np.nan,
            "provenance": f"generated: street point of a {category} gap cell",
            "district": result.cells["district"].to_numpy(dtype=object)[rows],
        },
        geometry=feet,
        crs=result.cells.crs,
    )


def read_candidates(
    path: str | Path, result: CoverageResult, category: str, source_crs: str | None = None
) -> gpd.GeoDataFrame:
    """Candidate sites from a file: a table with coordinates, or points/parcels (GIS).

    Read like a facility table (see ``circle15.sources.facilities.read_facilities``):
    optional ``facility_id``/``id``, ``name`` and ``capacity`` columns; a parcel is
    represented by a point inside it. ``source_crs`` (``--candidates-crs``) is the
    system of the coordinates (``GCJ-02``, ``BD-09``, an EPSG code); undeclared ones are
    checked against the streets: a conclusive Amap/Baidu offset stops, an unverifiable
    one is a note (``frame.attrs["notes"]``, shown by ``circle15 sites``).
    """
    from ..checks import point_crs_messages
    from ..sources.facilities import read_facilities

    path = Path(path)
    if not path.is_file():
        raise InputError(f"candidate sites file not found: {path}")
    layer = read_facilities(path, category, result.cells.crs, source_crs=source_crs)
    frame = layer.facilities.copy()
    frame["facility_id"] = frame["facility_id"].astype(str)
    notes = list(layer.notes)
    state = result.session.state if result.session is not None else None
    if state is not None:
        notes += point_crs_messages(
            frame.geometry.to_numpy(),
            frame.crs,
            state.edge_index.tree,
            source_crs,
            f"candidate sites {path.name}",
            lambda system: f'--candidates-crs {system} (candidates_crs="{system}")',
            things="candidates",
        )
    frame.attrs["notes"] = notes
    return frame


# ---------------------------------------------------------------------------- selection


def candidate_reach(
    result: CoverageResult, category: str, candidates: gpd.GeoDataFrame
) -> tuple[sp.csr_array, np.ndarray]:
    """Which cells each candidate would reach within the category's target time.

    One bounded search per candidate (two at most: through either end of its street
    stretch), limited to the target distance. A cell counts as reached when its walking
    time, worked out as the coverage tables do (metres / metres per minute), is within
    the target, so the gains equal the coverage change of the after-result.

    Returns
    -------
    reach : scipy.sparse.csr_array
        Candidates x cells, walking metres, entries only within the target.
    snapped : ndarray of bool
        Candidates that join the network (the others reach nobody).
    """
    state = engine_session(result).state
    cat = result.categories[category]
    mpm = cat.metres_per_minute
    # Over the category's own walk: a step-free category's candidates join step-free streets.
    snap, attachment = state.attach_for(category, candidates.geometry.to_numpy())
    # A hair beyond the target in metres, then the same test in minutes as the tables.
    reach = point_catchments(
        state.graph_for(category), attachment, state.cell_nodes, cat.target_min * mpm * (1 + 1e-9)
    )
    reach = sp.csr_array(reach)
    coo = reach.tocoo()
    keep = coo.data / mpm <= cat.target_min
    reach = sp.csr_array((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=reach.shape)
    return reach, snap.snapped


def select_sites(
    result: CoverageResult,
    category: str,
    p: int,
    *,
    candidates: gpd.GeoDataFrame | pd.DataFrame | str | Path | None = None,
    capacity: float | None = None,
    exact: bool | None = None,
    time_limit_s: float = EXACT_TIME_LIMIT_S,
    candidates_crs: str | None = None,
    prefer_exact: bool = False,
) -> SiteSelection:
    """Choose new sites that bring the most of a category's cohort within the target time.

    Existing facilities are kept. Lazy greedy (CELF) chooses; an exact MILP (HiGHS)
    checks it when the problem is small enough.

    Parameters
    ----------
    result : CoverageResult
        A run (or a what-if) of the study.
    category : str
        Category key.
    p : int
        Number of new sites.
    candidates : GeoDataFrame, DataFrame, path, optional
        Where sites may go: a GeoDataFrame (any CRS), a DataFrame with ``lon``/``lat``,
        or a file (see :func:`read_candidates`). By default :func:`gap_candidates`.
    capacity : float, optional
        Capacity of every candidate that has none of its own. With capacities (given
        here or in the candidates), each new site serves at most its capacity and the
        choice maximises the people served.
    exact : bool, optional
        Also solve exactly (MILP) and report greedy's gap to the optimum. By default when
        there are at most ``EXACT_MAX_CANDIDATES`` candidates that would cover anyone
        (``EXACT_MAX_CANDIDATES_CAPACITATED`` with capacities).
    time_limit_s : float
        Time limit of the exact solver; when it finds no solution in that time the
        choice is greedy's and ``notes`` says so.
    candidates_crs : str, optional
        Coordinate system of a candidates file or of a DataFrame's ``lon``/``lat``
        (``GCJ-02`` for Amap/Tencent, ``BD-09`` for Baidu, an EPSG code); WGS84 otherwise.
    prefer_exact : bool, default False
        Report the exact solver's choice in ``sites`` (and ``after``) when it covers more
        than greedy's; by default ``sites`` is always greedy's and ``exact`` the check.

    Returns
    -------
    SiteSelection
        The ranked sites, the result after them, greedy's and the exact solution.

    Raises
    ------
    InputError
        An unknown category, fewer than one site, a negative capacity, a candidates file
        that cannot be read.
    """
    check_category(result, category)
    if p < 1:
        raise InputError(f"the number of new sites must be at least 1 (got {p})")
    timings: dict[str, float] = {}
    start = time.perf_counter()
    frame = _candidate_frame(result, category, candidates, candidates_crs)
    if capacity is not None:
        if capacity < 0:
            raise InputError("capacity must not be negative")
        frame["capacity"] = frame["capacity"].fillna(float(capacity))
    capacitated = bool(frame["capacity"].notna().any())
    timings["candidates"] = time.perf_counter() - start

    start = time.perf_counter()
    reach, snapped = candidate_reach(result, category, frame)
    cat = result.categories[category]
    t = result.cells[f"t_{category}"].to_numpy(dtype=float)
    covered = ~np.isnan(t) & (t <= cat.target_min)
    demand = np.where(covered, 0.0, result.cells[f"pop_{category}"].to_numpy(dtype=float))
    timings["reach"] = time.perf_counter() - start

    cap = frame["capacity"].to_numpy(dtype=float) if capacitated else None
    greedy = greedy_sites(reach, demand, p, cap)
    timings["greedy"] = greedy.seconds
    useful = int((reach @ demand > 0).sum())
    solution_exact = None
    small = useful <= (EXACT_MAX_CANDIDATES_CAPACITATED if capacitated else EXACT_MAX_CANDIDATES)
    # What reading the candidates found worth saying (encoding, coordinate system).
    notes: list[str] = list(frame.attrs.get("notes", []))
    if exact or (exact is None and small):
        try:
            solution_exact = exact_sites(reach, demand, p, cap, time_limit_s)
            timings["exact"] = solution_exact.seconds
        except RuntimeError:  # HiGHS found no solution within its time limit
            notes.append(
                f"the exact solver found no solution within {time_limit_s:g} s; "
                "the choice is greedy's"
            )
    best = greedy
    # (sums of the same populations in another order may differ in the last digit)
    if (
        prefer_exact
        and solution_exact is not None
        and (solution_exact.value > greedy.value + 1e-9 * max(1.0, greedy.value))
    ):
        best = solution_exact

    start = time.perf_counter()
    chosen = frame.iloc[best.chosen].reset_index(drop=True)
    after = result
    if len(chosen):
        after = edit_facilities(
            result,
            category,
            add=chosen[["facility_id", "name", "capacity", "provenance", "geometry"]].assign(
                provenance=[f"site selection: {pv}" for pv in chosen["provenance"]]
            ),
        )
    timings["after"] = time.perf_counter() - start

    sites = _ranked(result, category, chosen, best, demand, reach, cap)
    solo = reach @ demand
    frame["solo_gain"] = np.minimum(solo, cap) if cap is not None else solo
    frame["chosen"] = False
    frame.loc[frame.index[best.chosen], "chosen"] = True
    frame["snapped"] = snapped
    return SiteSelection(
        category,
        sites,
        frame,
        result,
        after,
        greedy,
        solution_exact,
        capacitated,
        p,
        timings,
        method=best.method,
        notes=notes,
    )


def _candidate_frame(
    result: CoverageResult, category: str, candidates: Any, candidates_crs: str | None = None
) -> gpd.GeoDataFrame:
    if candidates is None:
        frame = gap_candidates(result, category)
        if frame.empty:
            raise InputError(
                f"{category} has no gap: every resident of its cohort is within "
                "the target time, so there is nowhere to add a site for"
            )
        return frame
    if isinstance(candidates, (str, Path)):
        frame = read_candidates(candidates, result, category, candidates_crs)
    else:
        frame = site_frame(candidates, result.cells.crs, provenance="candidate", crs=candidates_crs)
        frame["facility_id"] = [
            i if i is not None else f"cand-{k + 1}" for k, i in enumerate(frame["facility_id"])
        ]
    repeated = frame["facility_id"][frame["facility_id"].duplicated()]
    if len(repeated):
        raise InputError(
            f"candidate id {repeated.iloc[0]!r} is used more than once; give "
            "each candidate its own id"
        )
    taken = set(
        result.facilities.loc[result.facilities["category"] == category, "facility_id"].astype(str)
    )
    clash = sorted(set(frame["facility_id"]) & taken)
    if clash:
        raise InputError(
            f"candidate id {clash[0]!r} is already an existing {category} "
            "facility; give candidates their own ids"
        )
    from ..analysis.assessment import locate_in_districts

    frame["district"] = locate_in_districts(frame.geometry.to_numpy(), result.zones)
    return frame


def _ranked(
    result: CoverageResult,
    category: str,
    chosen: gpd.GeoDataFrame,
    solution: SitingSolution,
    demand: np.ndarray,
    reach: sp.csr_array,
    cap: np.ndarray | None,
) -> gpd.GeoDataFrame:
    cat = result.categories[category]
    cohort = result.cells[f"pop_{category}"].to_numpy(dtype=float).sum()
    base = result.coverage(category) * cohort if cohort > 0 else 0.0
    rows = sp.csr_array(reach, dtype=float)
    rows.data[:] = 1.0
    # Newly covered cohort, pick by pick (capacities do not limit who is within reach).
    hit = np.zeros(rows.shape[1], bool)
    gains = []
    for j in solution.chosen:
        cells = rows.indices[rows.indptr[j] : rows.indptr[j + 1]]
        gains.append(float(demand[cells[~hit[cells]]].sum()))
        hit[cells] = True
    gains = np.array(gains)
    lonlat = chosen.geometry.to_crs(WGS84) if len(chosen) else chosen.geometry
    out = gpd.GeoDataFrame(
        {
            "rank": np.arange(1, len(chosen) + 1),
            "site_id": chosen["facility_id"].to_numpy(dtype=object),
            "name": chosen["name"].to_numpy(dtype=object),
            "district": chosen["district"].to_numpy(dtype=object),
            "lon": np.round(lonlat.x.to_numpy(), 6) if len(chosen) else [],
            "lat": np.round(lonlat.y.to_numpy(), 6) if len(chosen) else [],
            "capacity": chosen["capacity"].to_numpy(dtype=float),
            "marginal_gain": gains,
            "cumulative_gain": np.cumsum(gains),
            "coverage_after": (base + np.cumsum(gains)) / cohort if cohort > 0 else np.nan,
            "served": solution.gains if cap is not None else gains,
            "category": category,
            "target_min": cat.target_min,
        },
        geometry=chosen.geometry.to_numpy(),
        crs=result.cells.crs,
    )
    return out
