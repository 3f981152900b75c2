"""The batch's combined tables, from the regions' own tables (pure functions of frames).

- ``districts``: every region's ``districts.csv`` one under the other, with ``region``
  (the key, also the folder name) and ``region_name`` in front;
- ``index``: every region's ``index.csv`` likewise, with ``rank_in_batch``: the
  sub-district's rank by composite among the sub-districts of all regions (1 = best);
- ``totals``: per category, the regions added up: populations and covered residents are
  sums, ``coverage`` is covered over population, ``mean_min`` the mean walking time of
  the residents who can reach a facility (each region's mean weighted by its reachable
  cohort). A 90th percentile cannot be added up from the regions' figures, so there is
  none;
- ``regions``: one row per region: how its run went (status, reason, seconds, worker,
  peak memory), its coverage per category and its index, ranked by composite.

Regions are compared on the index as computed within each region: with the default
``goalposts`` normalisation the scores are on one absolute scale; with ``minmax`` each
region's scores are relative to its own sub-districts and the ranks across regions mean
little.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

ALL = "ALL"
#: Columns of ``regions.csv`` describing the run.
RUN_COLUMNS = (
    "region",
    "region_name",
    "status",
    "reason",
    "seconds",
    "worker",
    "peak_memory_mb",
    "cells",
    "population",
    "warnings",
)
#: Columns of ``totals.csv`` that are sums over the regions.
_SUMMED = (
    "population",
    "covered_population",
    "unreachable_population",
    "unsnapped_population",
    "capacity",
    "capacity_unknown",
)


def stack(tables: dict[str, pd.DataFrame], names: dict[str, str]) -> pd.DataFrame:
    """Tables of several regions, one under the other, ``region`` and ``region_name`` first.

    Parameters
    ----------
    tables : dict
        Region key → its table (regions in batch order).
    names : dict
        Region key → display name.
    """
    frames = [
        t.assign(region=key, region_name=names[key]) for key, t in tables.items() if t is not None
    ]
    if not frames:
        return pd.DataFrame(columns=["region", "region_name"])
    out = pd.concat(frames, ignore_index=True)
    front = ["region", "region_name"]
    return out[front + [c for c in out.columns if c not in front]]


def rank_in_batch(index: pd.DataFrame) -> pd.DataFrame:
    """Add ``rank_in_batch``: each sub-district's rank by composite over all regions."""
    out = index.copy()
    if "composite" not in out.columns or out.empty:
        out["rank_in_batch"] = pd.Series(dtype="Int64")
        return out
    local = out["district"] != ALL
    out["rank_in_batch"] = (
        out["composite"].where(local).rank(ascending=False, method="min").astype("Int64")
    )
    return out


def totals(districts: pd.DataFrame) -> pd.DataFrame:
    """Per category, the regions' whole-area (``ALL``) rows added up.

    Parameters
    ----------
    districts : DataFrame
        The combined district table (see :func:`stack`).

    Returns
    -------
    DataFrame
        ``category, category_zh, regions, population, pop_within_<tier>…, target_min,
        covered_population, coverage, mean_min, unreachable_population,
        unsnapped_population`` (and ``capacity``, the known capacity, blank when no region
        knows any, and ``capacity_unknown``, when the regions have them).
    """
    whole = districts[districts["district"] == ALL]
    within = [c for c in whole.columns if c.startswith("pop_within_")]
    summed = [c for c in (*_SUMMED[:1], *within, *_SUMMED[1:]) if c in whole.columns]
    rows = []
    for category, rows_of in whole.groupby("category", sort=False):
        row: dict[str, Any] = {"category": category}
        if "category_zh" in rows_of:
            row["category_zh"] = rows_of["category_zh"].iloc[0]
        row["regions"] = len(rows_of)
        sums = rows_of[summed].sum()
        if "capacity" in summed:
            # Unknown capacity stays unknown: blank only when no region knows any.
            sums["capacity"] = rows_of["capacity"].sum(min_count=1)
        row.update(sums.to_dict())
        row["target_min"] = rows_of["target_min"].iloc[0]
        row["coverage"] = (
            sums["covered_population"] / sums["population"] if sums["population"] > 0 else np.nan
        )
        reachable = (rows_of["population"] - rows_of["unreachable_population"]).to_numpy()
        means = rows_of["mean_min"].to_numpy(dtype=float)
        ok = reachable > 0
        row["mean_min"] = (
            float(np.average(means[ok], weights=reachable[ok])) if ok.any() else np.nan
        )
        rows.append(row)
    order = [
        "category",
        "category_zh",
        "regions",
        "population",
        *within,
        "target_min",
        "covered_population",
        "coverage",
        "mean_min",
        "unreachable_population",
        "unsnapped_population",
        "capacity",
        "capacity_unknown",
    ]
    out = pd.DataFrame(rows)
    return out[[c for c in order if c in out.columns]]


def regions_table(
    summaries: Sequence[dict[str, Any]], districts: pd.DataFrame, index: pd.DataFrame
) -> pd.DataFrame:
    """One row per region: its run, coverage per category and whole-area index.

    Parameters
    ----------
    summaries : sequence of dict
        The regions' summaries, in batch order.
    districts, index : DataFrame
        The combined district and index tables.
    """
    runs = pd.DataFrame(
        [
            {"region": s["key"], "region_name": s["name"], **{c: s.get(c) for c in RUN_COLUMNS[2:]}}
            for s in summaries
        ],
        columns=list(RUN_COLUMNS),
    )
    whole = districts[districts["district"] == ALL] if "district" in districts else districts
    if len(whole):
        coverage = whole.pivot_table(
            index="region", columns="category", values="coverage", aggfunc="first", sort=False
        ).add_prefix("coverage_")
        runs = runs.join(coverage, on="region")
    scores = ["accessibility", "balance", "quality", "composite"]
    if len(index) and {"district", *scores} <= set(index.columns):
        mine = index[index["district"] == ALL].set_index("region")[scores]
        runs = runs.join(mine, on="region")
        runs["rank"] = runs["composite"].rank(ascending=False, method="min").astype("Int64")
    return runs
