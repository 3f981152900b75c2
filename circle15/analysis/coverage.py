"""Coverage of each cohort by walking time: tiers per cell, figures per district."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..schema import UNREACHABLE, pop_col, time_col
from ..standards import Category
from ._groups import DistrictGroups

#: District name of the rows that cover the whole study area.
ALL = "ALL"


def _fmt(minutes: float) -> str:
    return f"{minutes:g}"


def tier_labels(minutes: np.ndarray, tiers: Sequence[float]) -> np.ndarray:
    """Label each walking time with its tier.

    Parameters
    ----------
    minutes : ndarray
        Walking times; NaN means unreachable.
    tiers : sequence of float
        Increasing tier limits, e.g. ``(5, 10, 15)``.

    Returns
    -------
    ndarray of str
        ``"0-5"``, ``"5-10"``, ``"10-15"``, ``">15"`` or ``"unreachable"``; a time equal
        to a limit falls in the lower tier (5.0 minutes is within 5 minutes).
    """
    edges = [0.0, *tiers]
    labels = np.array(
        [f"{_fmt(a)}-{_fmt(b)}" for a, b in itertools.pairwise(edges)] + [f">{_fmt(tiers[-1])}"],
        dtype=object,
    )
    idx = np.searchsorted(
        np.asarray(tiers, dtype=float), np.nan_to_num(minutes, nan=0.0), side="left"
    )
    out: np.ndarray = labels[idx]
    out[np.isnan(minutes)] = UNREACHABLE
    return out


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Population-weighted quantile: the smallest value below which a share ``q`` lives.

    Returns NaN when the weights sum to zero.
    """
    keep = weights > 0
    if not keep.any():
        return float("nan")
    return float(np.quantile(values[keep], q, weights=weights[keep], method="inverted_cdf"))


def within_column(minutes: float) -> str:
    """Column name for the population within a tier, e.g. ``pop_within_15``."""
    return f"pop_within_{_fmt(minutes).replace('.', '_')}"


def district_table(
    cells: pd.DataFrame, categories: dict[str, Category], districts: Sequence[str]
) -> pd.DataFrame:
    """Coverage figures per (district, category), plus whole-area ``ALL`` rows.

    Parameters
    ----------
    cells : DataFrame
        Per cell: ``district``, and for each category ``pop_<key>`` (target cohort),
        ``t_<key>`` (minutes, NaN when unreachable) and ``snapped``.
    categories : dict
        Categories by key.
    districts : sequence of str
        Every sub-district, in report order; districts without cells get rows of zeros.

    Returns
    -------
    DataFrame
        ``district, category, population, pop_within_<tier>..., target_min,
        covered_population, coverage, mean_min, p90_min, unreachable_population,
        unsnapped_population``. ``coverage`` is ``covered_population / population`` and
        NaN where the cohort is empty; ``mean_min`` and ``p90_min`` are over the residents
        who can reach a facility (NaN when none can).
    """
    groups = DistrictGroups.of(cells["district"].to_numpy(), districts)
    names, code, n = groups.names, groups.code, len(groups.names)
    snapped = cells["snapped"].to_numpy(dtype=bool)
    by_district = groups.sums

    frames = []
    for key, cat in categories.items():
        pop = cells[pop_col(key)].to_numpy(dtype=float)
        t = cells[time_col(key)].to_numpy(dtype=float)
        reach = ~np.isnan(t)
        population = by_district(pop)
        frame: dict[str, Any] = {
            "district": [*names, ALL],
            "category": key,
            "population": population,
        }
        for tier in cat.tiers_min:
            frame[within_column(tier)] = by_district(np.where(reach & (t <= tier), pop, 0.0))
        covered = by_district(np.where(reach & (t <= cat.target_min), pop, 0.0))
        reach_pop = by_district(np.where(reach, pop, 0.0))
        time_pop = by_district(np.where(reach, np.nan_to_num(t) * pop, 0.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            frame.update(
                target_min=cat.target_min,
                covered_population=covered,
                coverage=np.where(population > 0, covered / population, np.nan),
                mean_min=np.where(reach_pop > 0, time_pop / reach_pop, np.nan),
                p90_min=_grouped_quantile(t, pop, code, n, 0.9),
                unreachable_population=by_district(np.where(reach, 0.0, pop)),
                unsnapped_population=by_district(np.where(snapped, 0.0, pop)),
            )
        frames.append(pd.DataFrame(frame))
    return pd.concat(frames, ignore_index=True)


def _grouped_quantile(
    values: np.ndarray, weights: np.ndarray, code: np.ndarray, n: int, q: float
) -> np.ndarray:
    """:func:`weighted_quantile` of every district (codes ``0..n-1``) and of all values,
    over the finite values with positive weight: one sort instead of one per district."""
    keep = np.isfinite(values) & (weights > 0)
    out = np.full(n + 1, np.nan)
    group = np.where(keep & (code >= 0), code, n)
    order = np.lexsort((values, group))
    counts = np.bincount(group, minlength=n + 1)
    ends = np.cumsum(counts)
    for i in range(n):
        part = order[ends[i] - counts[i] : ends[i]]
        out[i] = _sorted_quantile(values[part], weights[part], q)
    out[n] = weighted_quantile(values, np.where(keep, weights, 0.0), q)
    return out


def _sorted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The inverted-CDF weighted quantile of values already sorted (as numpy computes it)."""
    if not len(values):
        return float("nan")
    cdf = weights.cumsum(dtype=np.float64)
    cdf /= cdf[-1]
    at = min(int(np.searchsorted(cdf, q, side="left")), len(values) - 1)
    return float(values[at])
