"""What changed between two coverage runs of one study: who gained, who lost, gap area."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..standards import Category
from .coverage import ALL

DELTA_COLUMNS = [
    "district",
    "category",
    "population",
    "covered_before",
    "covered_after",
    "gained",
    "lost",
    "net_gain",
    "coverage_before",
    "coverage_after",
    "coverage_change",
    "mean_min_before",
    "mean_min_after",
    "gap_km2_before",
    "gap_km2_after",
    "gap_km2_change",
]


def _within(cells: pd.DataFrame, cat: Category) -> np.ndarray:
    t = cells[f"t_{cat.key}"].to_numpy(dtype=float)
    within: np.ndarray = ~np.isnan(t) & (t <= cat.target_min)
    return within


def _mean(minutes: np.ndarray, pop: np.ndarray) -> float:
    reach = ~np.isnan(minutes) & (pop > 0)
    return float(np.average(minutes[reach], weights=pop[reach])) if reach.any() else np.nan


def changed_categories(
    before: pd.DataFrame, after: pd.DataFrame, categories: dict[str, Category]
) -> list[str]:
    """Keys of the categories whose walking times differ between two cell tables."""

    def same(a: pd.Series, b: pd.Series) -> bool:
        gone_a, gone_b = a.isna().to_numpy(), b.isna().to_numpy()
        return bool(
            np.array_equal(gone_a, gone_b)
            and (a.to_numpy()[~gone_a] == b.to_numpy()[~gone_b]).all()
        )

    return [
        k
        for k in categories
        if not same(before[f"t_{k}"], after[f"t_{k}"])
        or not same(before[f"nearest_{k}"], after[f"nearest_{k}"])
    ]


def coverage_delta(
    before: pd.DataFrame,
    after: pd.DataFrame,
    categories: dict[str, Category],
    districts: Sequence[str],
    cell_area_km2: np.ndarray,
) -> pd.DataFrame:
    """Per (district, category): the cohort newly within the target time and newly beyond it.

    Parameters
    ----------
    before, after : DataFrame
        The ``cells`` tables of two runs over the same cells (same ``cell_id`` order), with
        ``district``, ``pop_<key>`` and ``t_<key>`` (minutes, NaN when unreachable).
    categories : dict
        Categories to compare, by key.
    districts : sequence of str
        Sub-districts in report order; an ``ALL`` row per category follows them.
    cell_area_km2 : ndarray
        Area of each cell; the gap area of a district is the area of its populated cells
        beyond the target time (the same cells that ``gap_areas`` merges).

    Returns
    -------
    DataFrame
        ``DELTA_COLUMNS``: ``gained`` is the cohort of cells that reach the target time
        after but not before, ``lost`` the reverse (a facility removed or moved away),
        ``net_gain = gained - lost = covered_after - covered_before``; coverage shares are
        of the cohort ``population`` (NaN when it is empty), ``coverage_change`` in share
        points (0.05 = 5 points).

    Raises
    ------
    InputError
        When the two tables do not hold the same cells.
    """
    if len(before) != len(after) or not np.array_equal(
        before["cell_id"].to_numpy(), after["cell_id"].to_numpy()
    ):
        raise InputError("the two results do not cover the same cells: compare runs of one study")
    area = np.asarray(cell_area_km2, dtype=float)
    groups = [(d, before["district"].to_numpy() == d) for d in districts]
    groups.append((ALL, np.ones(len(before), bool)))
    rows = []
    for key, cat in categories.items():
        pop = after[f"pop_{key}"].to_numpy(dtype=float)
        was, now = _within(before, cat), _within(after, cat)
        t0 = before[f"t_{key}"].to_numpy(dtype=float)
        t1 = after[f"t_{key}"].to_numpy(dtype=float)
        for name, m in groups:
            p = pop[m]
            total = p.sum()
            covered0, covered1 = p[was[m]].sum(), p[now[m]].sum()
            gap0 = area[m][~was[m] & (p > 0)].sum()
            gap1 = area[m][~now[m] & (p > 0)].sum()
            rows.append(
                {
                    "district": name,
                    "category": key,
                    "population": total,
                    "covered_before": covered0,
                    "covered_after": covered1,
                    "gained": p[now[m] & ~was[m]].sum(),
                    "lost": p[was[m] & ~now[m]].sum(),
                    "net_gain": covered1 - covered0,
                    "coverage_before": covered0 / total if total > 0 else np.nan,
                    "coverage_after": covered1 / total if total > 0 else np.nan,
                    "mean_min_before": _mean(t0[m], p),
                    "mean_min_after": _mean(t1[m], p),
                    "gap_km2_before": gap0,
                    "gap_km2_after": gap1,
                }
            )
    out = pd.DataFrame(
        rows, columns=[c for c in DELTA_COLUMNS if c not in ("coverage_change", "gap_km2_change")]
    )
    out["coverage_change"] = out["coverage_after"] - out["coverage_before"]
    out["gap_km2_change"] = out["gap_km2_after"] - out["gap_km2_before"]
    return out[DELTA_COLUMNS]


def describe_delta(delta: pd.DataFrame, categories: dict[str, Category]) -> list[str]:
    """One line per category of a :func:`coverage_delta` table, for the whole area.

    E.g. ``托育 Childcare (ages 0-2): 61.3% -> 66.0% within 15 min (+4.7 points, +1,204
    gained, -0 lost); gap area 48.1 -> 43.0 km²``.
    """
    lines = []
    for _, row in delta[delta["district"] == ALL].iterrows():
        cat = categories[row["category"]]
        lines.append(
            f"{cat.label} ({cat.cohort_label}): {row['coverage_before']:.1%} -> "
            f"{row['coverage_after']:.1%} within {cat.target_min:g} min "
            f"({row['coverage_change'] * 100:+.1f} points, +{row['gained']:,.0f} gained, "
            f"-{row['lost']:,.0f} lost); gap area {row['gap_km2_before']:.1f} -> "
            f"{row['gap_km2_after']:.1f} km²"
        )
    return lines
