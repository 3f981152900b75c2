"""Equity: how evenly walking times and supply are shared among residents.

Every measure is population-weighted over cells: a cell counts as many times as it has
residents of the category's cohort. Measures:

- **Gini** ``G = sum_i sum_j w_i w_j |x_i - x_j| / (2 W² μ)`` (0 = everyone equal, towards
  1 = concentrated on a few), with ``W = sum w`` and ``μ`` the weighted mean;
- **Theil T** ``T = (1/W) sum_i w_i (x_i/μ) ln(x_i/μ)`` (0 = equal; ``0 ln 0 = 0``),
  decomposed over sub-districts ``g`` into ``between = sum_g s_g ln(μ_g/μ)`` and
  ``within = sum_g s_g T_g`` with shares ``s_g = W_g μ_g / (W μ)``, so that
  ``between + within = T`` exactly;
- the **Lorenz curve**: cumulative share of residents (fewest first) against cumulative
  share of the quantity;
- the **min/mean ratio** of sub-district coverage: the worst-covered sub-district's coverage
  over the mean coverage of the sub-districts (1 = even; each sub-district counts once);
- the **equally-distributed equivalent** (EDE, Atkinson 1970) of achievements ``a`` in
  ``[0, 1]``: ``EDE = (sum_i w_i a_i^(1-e) / W)^(1/(1-e))`` for an inequality aversion
  ``0 <= e < 1``. It is the level which, given to everyone, would be valued as much as the
  actual spread: equal to the mean when everyone has the same, below it by the Atkinson
  index ``1 - EDE/mean`` otherwise. Unlike the Gini it also falls with the level itself,
  so uniformly poor access scores low (the index's 均衡 balance uses it).

Walking times of residents who cannot reach any facility (NaN) are left out of the
walking-time measures, as they are of ``mean_min``; their number is reported. Supply
measures include every resident (supply 0 when nothing is in reach).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import xlogy

from ..standards import Category
from .coverage import ALL

#: The measures whose inequality is computed: walking time and 2SFCA supply.
MEASURES = {"walk_time": "t_{key}", "supply": "supply_{key}"}

#: Population shares at which Lorenz curves are given (0, 1%, ..., 100%).
LORENZ_POINTS = 101


def _clean(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    keep = ~np.isnan(values) & (weights > 0)
    x, w = values[keep], weights[keep]
    if (x < 0).any():
        raise ValueError("inequality measures need non-negative values")
    return x, w


def weighted_gini(values: np.ndarray, weights: np.ndarray) -> float:
    """Population-weighted Gini coefficient of ``values``.

    NaN values and zero weights are left out. Returns NaN when nothing is left or the
    weighted mean is 0 (nobody has anything: the share of each is undefined).
    """
    x, w = _clean(values, weights)
    total = w.sum()
    mean = (w * x).sum() / total if total > 0 else 0.0
    if total <= 0 or mean <= 0:
        return float("nan")
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    below = np.cumsum(w)  # weight of residents at or below each value
    # sum_ij w_i w_j |x_i - x_j| = 2 sum_i w_i x_i (weight below i - weight above i)
    spread = (w * x * (2 * below - w - total)).sum()
    return float(spread / (total**2 * mean))


def weighted_theil(values: np.ndarray, weights: np.ndarray) -> float:
    """Population-weighted Theil T index of ``values`` (NaN when the mean is 0 or no data)."""
    x, w = _clean(values, weights)
    total = w.sum()
    if total <= 0:
        return float("nan")
    mean = (w * x).sum() / total
    if mean <= 0:
        return float("nan")
    r = x / mean
    return float((w * xlogy(r, r)).sum() / total)


@dataclass(frozen=True)
class TheilDecomposition:
    """Theil T split into the part between groups and the part within them.

    ``groups`` has one row per group: ``group, population, mean, theil, share`` (``share``
    = the group's part of the total quantity, the weight of its Theil in ``within``).
    """

    total: float
    between: float
    within: float
    groups: pd.DataFrame


def theil_decomposition(
    values: np.ndarray, weights: np.ndarray, groups: np.ndarray
) -> TheilDecomposition:
    """Decompose the weighted Theil T of ``values`` between and within ``groups``.

    ``between = sum_g s_g ln(μ_g / μ)``, ``within = sum_g s_g T_g``, ``s_g = W_g μ_g / (W μ)``;
    a group whose mean is 0 has share 0 and adds nothing to either part.
    """
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    groups = np.asarray(groups, dtype=object)
    keep = ~np.isnan(values) & (weights > 0)
    x, w, g = values[keep], weights[keep], groups[keep]
    total_w = w.sum()
    mean = (w * x).sum() / total_w if total_w > 0 else 0.0
    labels = list(dict.fromkeys(g))
    rows = []
    for label in labels:
        m = g == label
        wg = w[m].sum()
        mg = (w[m] * x[m]).sum() / wg
        rows.append(
            {
                "group": label,
                "population": wg,
                "mean": mg,
                "theil": weighted_theil(x[m], w[m]),
                "share": wg * mg / (total_w * mean) if mean > 0 else np.nan,
            }
        )
    table = pd.DataFrame(rows, columns=["group", "population", "mean", "theil", "share"])
    if total_w <= 0 or mean <= 0:
        nan = float("nan")
        return TheilDecomposition(nan, nan, nan, table)
    r = table["mean"].to_numpy(dtype=float) / mean
    pop_share = table["population"].to_numpy(dtype=float) / total_w
    between = float((pop_share * xlogy(r, r)).sum())
    share = table["share"].to_numpy(dtype=float)
    within = float(np.nansum(share * table["theil"].to_numpy(dtype=float)))
    return TheilDecomposition(weighted_theil(x, w), between, within, table)


def lorenz_curve(
    values: np.ndarray, weights: np.ndarray, points: int = LORENZ_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """The weighted Lorenz curve, sampled at ``points`` evenly spaced population shares.

    Residents are ordered from the smallest value to the largest; the curve is piecewise
    linear between cells, so the samples lie exactly on it.

    Returns
    -------
    pop_share, value_share : ndarray
        Cumulative share of residents and of the quantity; ``value_share`` is NaN when
        the quantity sums to 0.
    """
    x, w = _clean(values, weights)
    pop_share = np.linspace(0.0, 1.0, points)
    amount = (w * x).sum()
    if w.sum() <= 0 or amount <= 0:
        return pop_share, np.full(points, np.nan)
    order = np.argsort(x, kind="stable")
    cum_w = np.concatenate([[0.0], np.cumsum(w[order])]) / w.sum()
    cum_x = np.concatenate([[0.0], np.cumsum((w * x)[order])]) / amount
    return pop_share, np.interp(pop_share, cum_w, cum_x)


def atkinson_ede(achievement: np.ndarray, weights: np.ndarray, aversion: float) -> float:
    """Population-weighted equally-distributed equivalent (Atkinson) of achievements.

    ``EDE = (sum_i w_i a_i^(1-e) / W)^(1/(1-e))``, ``W = sum_i w_i``; with ``e = 0`` the
    weighted mean. Zeros are allowed (``e < 1``).

    Parameters
    ----------
    achievement : ndarray
        Each group's achievement, ``>= 0`` (e.g. a score in ``[0, 1]``).
    weights : ndarray
        Residents per group; zero weights are left out.
    aversion : float
        Inequality aversion ``e`` in ``[0, 1)``.

    Returns
    -------
    float
        NaN when no resident is weighted or any weighted achievement is NaN (unknown).
    """
    a = np.asarray(achievement, dtype=float)
    w = np.asarray(weights, dtype=float)
    keep = w > 0
    a, w = a[keep], w[keep]
    total = w.sum()
    if total <= 0 or np.isnan(a).any():
        return float("nan")
    if (a < 0).any():
        raise ValueError("the equally-distributed equivalent needs achievements >= 0")
    if not 0 <= aversion < 1:
        raise ValueError("inequality aversion must lie in [0, 1)")
    power = 1.0 - aversion
    return float(((w * a**power).sum() / total) ** (1.0 / power))


def min_mean_ratio(coverage: Sequence[float]) -> float:
    """Lowest sub-district coverage over the mean sub-district coverage (NaN ignored)."""
    c = np.asarray(coverage, dtype=float)
    c = c[~np.isnan(c)]
    if len(c) == 0 or c.mean() <= 0:
        return float("nan")
    return float(c.min() / c.mean())


@dataclass
class Equity:
    """Equity of a run, in three tables (see ``CoverageResult.equity``).

    Attributes
    ----------
    table : DataFrame
        One row per (district, category, measure), ``ALL`` rows included: ``district,
        category, measure`` (``walk_time`` in minutes or ``supply`` in capacity per
        resident of the cohort), ``population`` (residents of the cohort counted),
        ``excluded_population`` (no walking route: left out of ``walk_time``), ``mean``,
        ``gini``, ``theil``, and on ``ALL`` rows ``theil_between`` and ``theil_within``
        (between and within sub-districts; they add up to ``theil``).
    coverage_balance : DataFrame
        One row per category: ``category, min_coverage, min_district, mean_coverage,
        min_mean_ratio`` over the sub-districts with residents of the cohort.
    lorenz : DataFrame
        Long table ``district, category, measure, pop_share, value_share``:
        ``LORENZ_POINTS`` points per (district, category, measure), population shares
        0, 0.01, ..., 1, residents ordered from the smallest value (shortest walk, least
        supply) to the largest.
    """

    table: pd.DataFrame
    coverage_balance: pd.DataFrame
    lorenz: pd.DataFrame


def equity_tables(
    cells: pd.DataFrame,
    categories: dict[str, Category],
    districts: Sequence[str],
    district_table: pd.DataFrame,
) -> Equity:
    """Inequality of walking time and supply per district and category.

    Parameters
    ----------
    cells : DataFrame
        Per cell: ``district`` and per category ``pop_<key>``, ``t_<key>`` (minutes, NaN
        when unreachable) and ``supply_<key>``.
    categories : dict
        Categories by key.
    districts : sequence of str
        Sub-districts in report order.
    district_table : DataFrame
        The coverage table (``district, category, coverage``), for the min/mean ratio.

    Returns
    -------
    Equity
    """
    # Every place the cells name (sub-districts, and whatever lies outside them): the
    # Theil decomposition runs over all of them, the table over the sub-districts.
    label, places = pd.factorize(cells["district"].to_numpy(dtype=object), use_na_sentinel=False)
    where = {name: i for i, name in enumerate(places)}
    rows, curves, balance = [], [], []
    for key in categories:
        w = cells[f"pop_{key}"].to_numpy(dtype=float)
        for measure, column in MEASURES.items():
            x = cells[column.format(key=key)].to_numpy(dtype=float)
            parts = _by_place(x, w, label, len(places))
            whole = _stats(*_clean(x, w))
            for name in [*districts, ALL]:
                if name == ALL:
                    stats, excluded = whole, parts.excluded.sum()
                else:
                    i = where.get(name)
                    stats = parts.stats[i] if i is not None else _stats(*_EMPTY)
                    excluded = parts.excluded[i] if i is not None else 0.0
                row = {
                    "district": name,
                    "category": key,
                    "measure": measure,
                    "population": stats.population,
                    "excluded_population": excluded,
                    "mean": stats.mean,
                    "gini": stats.gini,
                    "theil": stats.theil,
                    "theil_between": np.nan,
                    "theil_within": np.nan,
                }
                if name == ALL:
                    row.update(
                        zip(
                            ("theil_between", "theil_within"),
                            _decomposed(parts.stats, whole),
                            strict=True,
                        )
                    )
                rows.append(row)
                curves.append(
                    pd.DataFrame(
                        {
                            "district": name,
                            "category": key,
                            "measure": measure,
                            "pop_share": stats.lorenz[0],
                            "value_share": stats.lorenz[1],
                        }
                    )
                )
        cov = district_table[
            (district_table["category"] == key) & district_table["district"].isin(list(districts))
        ]
        cov = cov[cov["coverage"].notna()]
        worst = cov.iloc[int(np.argmin(cov["coverage"].to_numpy()))] if len(cov) else None
        balance.append(
            {
                "category": key,
                "min_coverage": np.nan if worst is None else float(worst["coverage"]),
                "min_district": None if worst is None else worst["district"],
                "mean_coverage": float(cov["coverage"].mean()) if len(cov) else np.nan,
                "min_mean_ratio": min_mean_ratio(cov["coverage"].tolist()),
            }
        )
    return Equity(
        table=pd.DataFrame(rows),
        coverage_balance=pd.DataFrame(balance),
        lorenz=pd.concat(curves, ignore_index=True),
    )


_EMPTY = (np.empty(0), np.empty(0))


@dataclass(frozen=True)
class _Stats:
    """The measures of one group of residents."""

    population: float
    mean: float
    gini: float
    theil: float
    lorenz: tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class _Places:
    """Per place: the measures of its residents and the weight left out (no value)."""

    stats: list[_Stats]
    excluded: np.ndarray


def _stats(x: np.ndarray, w: np.ndarray) -> _Stats:
    total = w.sum()
    return _Stats(
        population=float(total),
        mean=float((w * x).sum() / total) if total > 0 else np.nan,
        gini=weighted_gini(x, w),
        theil=weighted_theil(x, w),
        lorenz=lorenz_curve(x, w),
    )


def _by_place(x: np.ndarray, w: np.ndarray, label: np.ndarray, n: int) -> _Places:
    """The measures of every place, from one sort of all residents by (place, value)
    instead of one mask and one sort per place (the measures sort again, at no cost, what
    is already in order)."""
    keep = ~np.isnan(x) & (w > 0)
    excluded = np.bincount(label, weights=np.where(keep, 0.0, w), minlength=n)
    x, w, label = x[keep], w[keep], label[keep]
    order = np.lexsort((x, label))
    x, w, label = x[order], w[order], label[order]
    ends = np.cumsum(np.bincount(label, minlength=n))
    starts = ends - np.bincount(label, minlength=n)
    return _Places([_stats(x[a:b], w[a:b]) for a, b in zip(starts, ends, strict=True)], excluded)


def _decomposed(parts: list[_Stats], whole: _Stats) -> tuple[float, float]:
    """Theil T between and within places (see :func:`theil_decomposition`)."""
    if not whole.population > 0 or not whole.mean > 0:
        return float("nan"), float("nan")
    pop = np.array([p.population for p in parts])
    mean = np.array([p.mean for p in parts])
    theil = np.array([p.theil for p in parts])
    used = pop > 0
    r = mean[used] / whole.mean
    pop_share = pop[used] / whole.population
    share = pop_share * r
    return (float((pop_share * xlogy(r, r)).sum()), float(np.nansum(share * theil[used])))
