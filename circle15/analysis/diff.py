"""Progress between two data vintages: what changed, and where access improved or worsened.

Two runs of one district (last year's facility tables and this year's, or a baseline and
a plan) are compared table by table:

- **facilities** (:func:`match_facilities`): each facility of the second vintage is matched
  with one of the first by **id** (same category and ``facility_id``); failing that by
  **name** (the same name after normalisation -- brackets, spaces and punctuation ignored,
  or four characters in five alike -- within ``name_m``, 500 m by default, nearest
  first); failing that by **place** (within ``place_m``, 25 m, nearest first: a renamed
  facility). Every match is one to one. Facilities of the first vintage left over are
  ``closed``, of the second ``opened``; a matched facility more than ``moved_m`` (10 m)
  away is ``moved``, else ``kept``; ``capacity_change`` says what its capacity did.
- **sub-districts** (:func:`district_changes`): per (sub-district, category) the cohort,
  covered residents, coverage, mean and P90 walking time, unreachable residents, capacity,
  supply and norm ratio before, after and their change, with the facilities opened,
  closed and moved there;
- **index** (:func:`index_changes`): the sub-scores, composite and rank before and after;
- **cells** (:func:`cell_changes`): when both runs have the same cells, each cell's walking
  time before and after and whether access improved (``gained``: now within the target;
  ``faster`` by at least a minute) or worsened (``lost``, ``slower``).

Pure functions of the two runs' tables (a result or a run folder read back, anything with
``categories``, ``cells``, ``districts``, ``facilities``, ``index``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..schema import ALL, pop_col, time_col
from ..settings import MOVED_M, NAME_MATCH_M, PLACE_MATCH_M
from ..sources.duplicates import similar
from ..standards import Category

__all__ = [
    "ACCESS_CLASSES",
    "DISTRICT_METRICS",
    "MOVED_M",
    "NAME_MATCH_M",
    "PLACE_MATCH_M",
    "RunDiff",
    "RunTables",
    "cell_changes",
    "diff_runs",
    "district_changes",
    "index_changes",
    "match_facilities",
]

#: A walk this many minutes shorter (longer) is faster (slower).
CHANGE_MIN = 1.0
#: Per cell, how access changed (the map's classes, in legend order).
ACCESS_CLASSES = ("gained", "faster", "same", "slower", "lost", "never")
#: District-table figures compared (when both runs have them).
DISTRICT_METRICS = (
    "population",
    "covered_population",
    "coverage",
    "mean_min",
    "p90_min",
    "unreachable_population",
    "capacity",
    "supply_ratio",
    "norm_ratio",
    "score_accessibility",
    "score_balance",
    "score_quality",
)
INDEX_METRICS = ("accessibility", "balance", "quality", "composite", "rank")


class RunTables(Protocol):
    """What a run offers the diff: a result, or a run folder read back."""

    name: str
    title: str
    categories: dict[str, Category]
    cells: gpd.GeoDataFrame | None
    districts: pd.DataFrame
    facilities: gpd.GeoDataFrame
    index: pd.DataFrame | None
    zones: gpd.GeoDataFrame


@dataclass
class RunDiff:
    """Two vintages side by side (see the module docstring).

    Attributes
    ----------
    before, after : str
        The runs' names (study name or folder).
    categories : dict
        The categories compared (those of both runs), ``after``'s standards.
    facilities : GeoDataFrame
        One row per facility of either vintage: ``category, status`` (``opened``,
        ``closed``, ``moved``, ``kept``), ``matched_by`` (``id``, ``name``, ``place`` or
        empty), ids, names, capacities before and after, ``capacity_change``,
        ``moved_m``, ``district``; the geometry after (before for closed ones).
    districts : DataFrame
        Per (sub-district, category): ``<metric>_before``, ``<metric>_after`` and
        ``<metric>_change`` for each of :data:`DISTRICT_METRICS` both runs have, and
        ``opened, closed, moved`` counts.
    index : DataFrame or None
        Per sub-district and ``ALL``: the index before, after and its change.
    cells : GeoDataFrame or None
        Per cell (same cells in both runs): ``t_before_<key>``, ``t_after_<key>``,
        ``change_<key>`` (minutes; after minus before) and ``access_<key>``
        (:data:`ACCESS_CLASSES`). None when the runs' cells differ (see ``notes``).
    targets : DataFrame or None
        The targets, met or not (:func:`circle15.analysis.targets.evaluate_targets`).
    notes : list of str
        What could not be compared, and why.
    """

    before: str
    after: str
    categories: dict[str, Category]
    facilities: gpd.GeoDataFrame
    districts: pd.DataFrame
    index: pd.DataFrame | None = None
    cells: gpd.GeoDataFrame | None = None
    targets: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    zones: gpd.GeoDataFrame | None = None
    area: Any = None
    title: str = ""
    synthetic: bool = False
    notice: str = ""

    def summary(self) -> list[str]:
        """What changed, in a few lines (as the command line prints it)."""
        lines = []
        fac = self.facilities
        for key, cat in self.categories.items():
            rows = fac[fac["category"] == key]
            counts = rows["status"].value_counts()
            whole = self.districts[
                (self.districts["district"] == ALL) & (self.districts["category"] == key)
            ]
            change = ""
            if len(whole) and "coverage_change" in whole:
                r = whole.iloc[0]
                change = (
                    f"; coverage {r['coverage_before']:.1%} -> {r['coverage_after']:.1%}"
                    if np.isfinite(r["coverage_before"]) and np.isfinite(r["coverage_after"])
                    else ""
                )
            lines.append(
                f"{cat.label}: {counts.get('opened', 0)} opened, "
                f"{counts.get('closed', 0)} closed, {counts.get('moved', 0)} moved, "
                f"capacity {_signed(rows['capacity_change'].sum())}{change}"
            )
        return lines


def _signed(x: float) -> str:
    return f"{x:+,.0f}" if np.isfinite(x) else "unknown"


# --------------------------------------------------------------------------------------
# Facilities
# --------------------------------------------------------------------------------------
def _pairs(
    a: np.ndarray, b: np.ndarray, distance: float, same: Any = None
) -> list[tuple[int, int, float]]:
    """One-to-one pairs (index in a, index in b, metres) within ``distance``, nearest first;
    ``same(i, j)`` must hold for a pair."""
    if not len(a) or not len(b):
        return []
    ia, ib = shapely.STRtree(b).query(a, predicate="dwithin", distance=distance)
    if not len(ia):
        return []
    d = shapely.distance(a[ia], b[ib])
    order = np.lexsort((ib, ia, d))
    used_a, used_b, out = set(), set(), []
    for k in order:  # few: only facilities no id matched
        i, j = int(ia[k]), int(ib[k])
        if i in used_a or j in used_b or (same is not None and not same(i, j)):
            continue
        used_a.add(i)
        used_b.add(j)
        out.append((i, j, float(d[k])))
    return out


def match_facilities(
    before: gpd.GeoDataFrame,
    after: gpd.GeoDataFrame,
    *,
    name_m: float = NAME_MATCH_M,
    place_m: float = PLACE_MATCH_M,
    moved_m: float = MOVED_M,
) -> gpd.GeoDataFrame:
    """Match the facilities of two vintages: by id, then name, then place (see module).

    Parameters
    ----------
    before, after : GeoDataFrame
        ``category, facility_id, name, capacity`` and Point geometry, one projected CRS
        (``after`` is brought into ``before``'s when they differ); ``district`` when known.
    name_m, place_m, moved_m : float
        Metres: the radius of a match by name, of a match by place, and the distance
        beyond which a matched facility has moved.

    Returns
    -------
    GeoDataFrame
        See :attr:`RunDiff.facilities`.
    """
    if after.crs is not None and before.crs is not None and after.crs != before.crs:
        after = after.to_crs(before.crs)
    cats = list(dict.fromkeys([*before["category"].tolist(), *after["category"].tolist()]))
    rows = []
    for key in cats:
        b = before[before["category"] == key].reset_index(drop=True)
        a = after[after["category"] == key].reset_index(drop=True)
        b_id = b["facility_id"].astype(str).to_numpy()
        a_id = a["facility_id"].astype(str).to_numpy()
        pos_b = {fid: i for i, fid in enumerate(b_id)}
        pairs: list[tuple[int, int, str]] = [
            (pos_b[fid], j, "id") for j, fid in enumerate(a_id) if fid in pos_b
        ]
        left_b = np.setdiff1d(np.arange(len(b)), [p[0] for p in pairs])
        left_a = np.setdiff1d(np.arange(len(a)), [p[1] for p in pairs])
        gb, ga = b.geometry.to_numpy(), a.geometry.to_numpy()
        names_b, names_a = b["name"].astype(str).to_numpy(), a["name"].astype(str).to_numpy()
        for how, radius in (("name", name_m), ("place", place_m)):
            same = _same_name(names_b[left_b], names_a[left_a]) if how == "name" else None
            found = _pairs(gb[left_b], ga[left_a], radius, same)
            pairs += [(int(left_b[i]), int(left_a[j]), how) for i, j, _ in found]
            left_b = np.setdiff1d(left_b, [left_b[i] for i, _, _ in found])
            left_a = np.setdiff1d(left_a, [left_a[j] for _, j, _ in found])
        for i, j, how in pairs:
            rows.append(_row(key, b.iloc[i], a.iloc[j], how, moved_m))
        rows += [_row(key, b.iloc[i], None, "", moved_m) for i in left_b]
        rows += [_row(key, None, a.iloc[j], "", moved_m) for j in left_a]
    columns = [
        "category",
        "status",
        "matched_by",
        "facility_id",
        "facility_id_before",
        "name",
        "name_before",
        "capacity_before",
        "capacity_after",
        "capacity_change",
        "moved_m",
        "district",
        "geometry",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    order = {"opened": 0, "closed": 1, "moved": 2, "kept": 3}
    rank = {k: i for i, k in enumerate(cats)}
    frame = frame.iloc[
        np.lexsort(
            (
                frame["facility_id"].astype(str).to_numpy(),
                frame["status"].map(order).to_numpy(),
                frame["category"].map(rank).to_numpy(),
            )
        )
    ]
    return gpd.GeoDataFrame(frame.reset_index(drop=True), geometry="geometry", crs=before.crs)


def _same_name(a: np.ndarray, b: np.ndarray) -> Any:
    """``same(i, j)``: the i-th name of ``a`` is the j-th of ``b`` (see ``similar``)."""
    return lambda i, j: similar(str(a[i]), str(b[j]))


def _row(
    key: str, b: pd.Series | None, a: pd.Series | None, how: str, moved_m: float
) -> dict[str, Any]:
    cap_b = float(b["capacity"]) if b is not None else 0.0
    cap_a = float(a["capacity"]) if a is not None else 0.0
    moved = (
        float(shapely.distance(b["geometry"], a["geometry"]))
        if a is not None and b is not None
        else np.nan
    )
    if b is None:
        status = "opened"
    elif a is None:
        status = "closed"
    else:
        status = "moved" if moved > moved_m else "kept"
    here = a if a is not None else b
    assert here is not None  # a matched pair has at least one side
    district = here.get("district") if "district" in here else None
    return {
        "category": key,
        "status": status,
        "matched_by": how,
        "facility_id": str(here["facility_id"]),
        "facility_id_before": str(b["facility_id"]) if b is not None else None,
        "name": str(here["name"]),
        "name_before": str(b["name"]) if b is not None else None,
        "capacity_before": cap_b if b is not None else np.nan,
        "capacity_after": cap_a if a is not None else np.nan,
        "capacity_change": cap_a - cap_b,
        "moved_m": moved,
        "district": district if isinstance(district, str) else None,
        "geometry": here["geometry"],
    }


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------
def district_changes(
    before: pd.DataFrame,
    after: pd.DataFrame,
    facilities: pd.DataFrame,
    categories: Sequence[str],
    districts: Sequence[str],
) -> pd.DataFrame:
    """Per (sub-district, category) each figure before, after and its change (module doc)."""
    metrics = [m for m in DISTRICT_METRICS if m in before.columns and m in after.columns]
    keys = ["district", "category"]
    b = before[before["category"].isin(categories)][keys + metrics]
    a = after[after["category"].isin(categories)][keys + metrics]
    table = b.merge(a, on=keys, how="outer", suffixes=("_before", "_after"))
    for m in metrics:
        table[f"{m}_change"] = table[f"{m}_after"] - table[f"{m}_before"]
    counts = facilities[facilities["status"] != "kept"]
    for status in ("opened", "closed", "moved"):
        rows = counts[counts["status"] == status]
        per = rows.groupby(["district", "category"]).size()
        whole = rows.groupby("category").size()
        table[status] = [
            int(whole.get(c, 0)) if d == ALL else int(per.get((d, c), 0))
            for d, c in zip(table["district"], table["category"], strict=True)
        ]
    order = {d: i for i, d in enumerate([*districts, ALL])}
    cat_order = {c: i for i, c in enumerate(categories)}
    table = table.iloc[
        np.lexsort(
            (
                table["district"].map(order).fillna(len(order)).to_numpy(),
                table["category"].map(cat_order).to_numpy(),
            )
        )
    ]
    columns = keys + [f"{m}_{w}" for m in metrics for w in ("before", "after", "change")]
    return table[[*columns, "opened", "closed", "moved"]].reset_index(drop=True)


def index_changes(before: pd.DataFrame | None, after: pd.DataFrame | None) -> pd.DataFrame | None:
    """The index per sub-district before, after and its change; None without both."""
    if before is None or after is None or not len(before) or not len(after):
        return None
    metrics = [m for m in INDEX_METRICS if m in before.columns and m in after.columns]
    a = after[["district", *(["name_en"] if "name_en" in after else []), *metrics]]
    table = a.merge(
        before[["district", *metrics]], on="district", how="outer", suffixes=("_after", "_before")
    )
    for m in metrics:
        table[f"{m}_change"] = table[f"{m}_after"].astype(float) - table[f"{m}_before"].astype(
            float
        )
    lead = ["district", *(["name_en"] if "name_en" in table else [])]
    return table[lead + [f"{m}_{w}" for m in metrics for w in ("before", "after", "change")]]


def cell_changes(
    before: gpd.GeoDataFrame | None, after: gpd.GeoDataFrame | None, categories: dict[str, Category]
) -> tuple[gpd.GeoDataFrame | None, str]:
    """Per cell and category the walking time before and after and the change of access.

    Returns
    -------
    cells : GeoDataFrame or None
        See :attr:`RunDiff.cells`; None when the runs' cells are not the same (then a
        note says why).
    note : str
    """
    if before is None or after is None:
        return None, "a run has no cells (results.gpkg layer cells): no map of changes"
    if (
        len(before) != len(after)
        or not (
            before["cell_id"].astype(str).to_numpy() == after["cell_id"].astype(str).to_numpy()
        ).all()
    ):
        merged = before[["cell_id"]].astype(str).merge(after[["cell_id"]].astype(str))
        if len(merged) != len(before) or len(merged) != len(after):
            return None, (
                "the two runs have different population cells, so access cannot "
                "be compared cell by cell: the map shows sub-districts only"
            )
        after = (
            after.set_index(after["cell_id"].astype(str))
            .loc[pd.Index(before["cell_id"].astype(str))]
            .reset_index(drop=True)
        )
    a_geom = (
        after.geometry.to_crs(before.crs)
        if after.crs != before.crs and before.crs is not None
        else after.geometry
    )
    moved = shapely.distance(
        shapely.centroid(before.geometry.to_numpy()), shapely.centroid(a_geom.to_numpy())
    )
    if (moved > 1.0).any():
        return None, (
            "cells with the same id lie in different places in the two runs: no map of changes"
        )
    out: dict[str, Any] = {
        "cell_id": before["cell_id"].to_numpy(),
        "district": after["district"].to_numpy(),
    }
    for key, cat in categories.items():
        if time_col(key) not in before or time_col(key) not in after:
            continue
        t0 = before[time_col(key)].to_numpy(dtype=float)
        t1 = after[time_col(key)].to_numpy(dtype=float)
        out[pop_col(key)] = after[pop_col(key)].to_numpy(dtype=float)
        out[f"t_before_{key}"], out[f"t_after_{key}"] = t0, t1
        out[f"change_{key}"] = t1 - t0
        out[f"access_{key}"] = access_classes(t0, t1, cat.target_min)
    return gpd.GeoDataFrame(out, geometry=before.geometry.to_numpy(), crs=before.crs), ""


def access_classes(before: np.ndarray, after: np.ndarray, target: float) -> np.ndarray:
    """How each cell's access changed: one of :data:`ACCESS_CLASSES` (NaN: no route)."""
    inside0 = np.isfinite(before) & (before <= target)
    inside1 = np.isfinite(after) & (after <= target)
    t0 = np.where(np.isfinite(before), before, np.inf)
    t1 = np.where(np.isfinite(after), after, np.inf)
    with np.errstate(invalid="ignore"):
        delta = t1 - t0
    out = np.full(len(before), "same", dtype=object)
    out[(delta <= -CHANGE_MIN) | (np.isinf(t0) & np.isfinite(t1))] = "faster"
    out[(delta >= CHANGE_MIN) | (np.isfinite(t0) & np.isinf(t1))] = "slower"
    out[~inside0 & ~inside1 & ~np.isfinite(t0) & ~np.isfinite(t1)] = "never"
    out[inside1 & ~inside0] = "gained"
    out[inside0 & ~inside1] = "lost"
    return out


def diff_runs(
    before: RunTables,
    after: RunTables,
    *,
    name_m: float = NAME_MATCH_M,
    place_m: float = PLACE_MATCH_M,
    moved_m: float = MOVED_M,
) -> RunDiff:
    """Compare two runs of a district (see the module docstring).

    Categories are those both runs have (the others are named in ``notes``); the
    standards (target times) are ``after``'s.
    """
    keys = [k for k in after.categories if k in before.categories]
    notes = [
        f"category {k} is only in the {which} run and is left out"
        for which, run, other in (("first", before, after), ("second", after, before))
        for k in run.categories
        if k not in other.categories
    ]
    categories = {k: after.categories[k] for k in keys}
    for key in keys:
        if before.categories[key].target_min != after.categories[key].target_min:
            notes.append(
                f"{key}: the target time changed from "
                f"{before.categories[key].target_min:g} to "
                f"{after.categories[key].target_min:g} min between the runs"
            )
    fac_b = before.facilities[before.facilities["category"].isin(keys)]
    fac_a = after.facilities[after.facilities["category"].isin(keys)]
    facilities = match_facilities(fac_b, fac_a, name_m=name_m, place_m=place_m, moved_m=moved_m)
    districts = district_changes(
        before.districts, after.districts, facilities, keys, list(after.zones["district"])
    )
    cells, note = cell_changes(before.cells, after.cells, categories)
    if note:
        notes.append(note)
    return RunDiff(
        before=before.name,
        after=after.name,
        categories=categories,
        facilities=facilities,
        districts=districts,
        index=index_changes(before.index, after.index),
        cells=cells,
        notes=notes,
        zones=after.zones,
        area=getattr(after, "area", None),
        title=getattr(after, "title", after.name),
        synthetic=bool(getattr(before, "synthetic", False) or getattr(after, "synthetic", False)),
        notice=getattr(after, "notice", "") or getattr(before, "notice", ""),
    )
