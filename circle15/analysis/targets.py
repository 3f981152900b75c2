"""Targets met or not: a study's or a plan's ``[targets]`` against what a run measures.

Each target (:class:`circle15.settings.Target`) is measured as follows:

- ``new_facilities``: facilities of the category ``opened`` between the two vintages (a
  match by id, name or place is no new facility; see :mod:`circle15.analysis.diff`);
  closures are said in the note, not subtracted, as the plan counts what it builds;
- ``new_capacity``: the capacity of the category after minus before (facilities of
  unknown capacity add nothing; the note says how many there are);
- ``capacity_per_resident`` (``area_per_resident``): the capacity of the category's
  facilities standing in the study area over its residents (everyone), and
  ``capacity_per_1000`` the same per 1,000 residents;
- ``coverage``: the share of the category's cohort within its target walking time, for
  the whole area.

A target is ``met`` when the figure reaches the value (``>=``). Targets of change need a
before: without one they are ``needs a comparison``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..schema import ALL
from ..settings import TARGET_KINDS, Target

__all__ = [
    "TARGET_COLUMNS",
    "describe_targets",
    "evaluate_targets",
    "level_figures",
    "merge_targets",
    "target_parameters",
    "targets_from_parameters",
]

TARGET_COLUMNS = ["category", "target", "kind", "wanted", "achieved", "status", "note", "source"]


def level_figures(run: Any, category: str) -> dict[str, float]:
    """What one run says of a category: capacity in the area, residents, coverage."""
    fac = run.facilities
    rows = fac[fac["category"].to_numpy() == category]
    inside = rows["district"].notna().to_numpy() if "district" in rows else np.ones(len(rows), bool)
    capacity = pd.to_numeric(rows["capacity"], errors="coerce").to_numpy(dtype=float)
    residents = (
        float(run.cells["pop_total"].sum())
        if run.cells is not None and "pop_total" in run.cells
        else np.nan
    )
    whole = run.districts[
        (run.districts["district"] == ALL) & (run.districts["category"] == category)
    ]
    return {
        "capacity": float(np.nansum(capacity[inside])),
        "unknown": int(np.isnan(capacity[inside]).sum()),
        "facilities": int(inside.sum()),
        "residents": residents,
        "coverage": float(whole["coverage"].iloc[0]) if len(whole) else np.nan,
    }


def evaluate_targets(
    targets: Sequence[Target],
    after: Any,
    before: Any = None,
    facilities: pd.DataFrame | None = None,
    categories: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Each target with the figure achieved and whether it is met.

    Parameters
    ----------
    targets : sequence of Target
        The study's (or the plan's) targets.
    after : result or run folder
        The run measured (``facilities`` with ``district`` and ``capacity``, ``cells``
        with ``pop_total``, ``districts``).
    before : result or run folder, optional
        The earlier vintage (or the baseline of a scenario), for targets of change.
    facilities : DataFrame, optional
        :func:`circle15.analysis.diff.match_facilities` of ``before`` and ``after``
        (worked out here when not given).
    categories : dict, optional
        Categories by key, for units in the notes (default: ``after.categories``).

    Returns
    -------
    DataFrame
        :data:`TARGET_COLUMNS`: ``wanted`` and ``achieved`` figures, ``status`` (``met``,
        ``not met``, ``needs a comparison``) and a ``note`` with the figures behind it.
    """
    categories = categories if categories is not None else after.categories
    if before is not None and facilities is None and any(t.needs_before for t in targets):
        from .diff import match_facilities

        facilities = match_facilities(before.facilities, after.facilities)
    rows = []
    for t in targets:
        unit = categories[t.category].capacity_unit if t.category in categories else ""
        achieved, note = np.nan, ""
        if t.needs_before and before is None:
            status = "needs a comparison"
            note = (
                "a change: run circle15 diff BEFORE AFTER on two vintages, or a scenario "
                "against its baseline"
            )
        else:
            if t.kind == "new_facilities":
                assert facilities is not None  # a comparison always has its facility table
                rows_f = facilities[facilities["category"] == t.category]
                counts = rows_f["status"].value_counts()
                achieved = float(counts.get("opened", 0))
                note = (
                    f"{counts.get('opened', 0)} opened, {counts.get('closed', 0)} closed, "
                    f"{counts.get('moved', 0)} moved"
                )
            elif t.kind == "new_capacity":
                b, a = level_figures(before, t.category), level_figures(after, t.category)
                achieved = a["capacity"] - b["capacity"]
                note = (
                    f"capacity {b['capacity']:,.0f} -> {a['capacity']:,.0f} {unit} "
                    f"(facilities in the study area)"
                )
                if a["unknown"] or b["unknown"]:
                    note += (
                        f"; {b['unknown']} before and {a['unknown']} after of unknown "
                        "capacity, counted as 0"
                    )
            else:
                a = level_figures(after, t.category)
                if t.kind == "coverage":
                    achieved = a["coverage"]
                    note = "share of the cohort within the target time, whole area"
                else:
                    per = 1.0 if t.kind == "capacity_per_resident" else 1000.0
                    residents = a["residents"]
                    achieved = (
                        a["capacity"] / residents * per
                        if residents and np.isfinite(residents)
                        else np.nan
                    )
                    note = (
                        f"{a['capacity']:,.0f} {unit} in the study area for "
                        f"{residents:,.0f} residents"
                    )
                    if a["unknown"]:
                        note += f"; {a['unknown']} facilities of unknown capacity count 0"
            status = "met" if np.isfinite(achieved) and achieved >= t.value - 1e-9 else "not met"
        rows.append(
            {
                "category": t.category,
                "target": t.label,
                "kind": t.kind,
                "wanted": t.value,
                "achieved": achieved,
                "status": status,
                "note": f"{TARGET_KINDS[t.kind][0]}: {note}",
                "source": t.source,
            }
        )
    return pd.DataFrame(rows, columns=TARGET_COLUMNS)


def target_parameters(targets: Sequence[Target]) -> list[dict[str, Any]]:
    """Targets as the run's ``parameters["targets"]`` (and ``manifest.json``) keep them."""
    return [
        {
            "category": t.category,
            "kind": t.kind,
            "name": t.name or t.kind,
            "value": t.value,
            "source": t.source,
        }
        for t in targets
    ]


def targets_from_parameters(parameters: dict[str, Any] | None) -> tuple[Target, ...]:
    """The targets a run's ``parameters`` (or a run folder's manifest) recorded."""
    found = (parameters or {}).get("targets") or []
    return tuple(
        Target(
            str(t["category"]),
            str(t["kind"]),
            float(t["value"]),
            str(t.get("source", "")),
            str(t.get("name", "")),
        )
        for t in found
        if t.get("kind") in TARGET_KINDS
    )


def merge_targets(base: Sequence[Target], extra: Sequence[Target]) -> tuple[Target, ...]:
    """``base`` with the targets of ``extra`` added, replacing those of the same category
    and kind (a plan's targets over the study's)."""
    replaced = {(t.category, t.kind) for t in extra}
    return (*(t for t in base if (t.category, t.kind) not in replaced), *extra)


def describe_targets(table: pd.DataFrame) -> list[str]:
    """One line per target, as the command line prints them."""
    lines = []
    for r in table.itertuples():
        achieved = (
            f"{r.achieved:,.4g}"
            if isinstance(r.achieved, float) and np.isfinite(r.achieved)
            else "—"
        )
        lines.append(f"target {r.target} >= {r.wanted:,.4g}: {r.status} ({achieved}; {r.note})")
    return lines
