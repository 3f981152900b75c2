"""Coverage of each cohort by walking time: tiers per cell, figures per district."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..schema import UNREACHABLE
from ..standards import Category

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
    labels = np.array([f"{_fmt(a)}-{_fmt(b)}" for a, b in itertools.pairwise(edges)]
                      + [f">{_fmt(tiers[-1])}"], dtype=object)
    idx = np.searchsorted(np.asarray(tiers, dtype=float), np.nan_to_num(minutes, nan=0.0),
                          side="left")
    out = labels[idx]
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


def district_table(cells: pd.DataFrame, categories: dict[str, Category],
                   districts: Sequence[str]) -> pd.DataFrame:
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
    rows = []
    snapped = cells["snapped"].to_numpy(dtype=bool)
    groups = [(d, cells["district"].to_numpy() == d) for d in districts]
    groups.append((ALL, np.ones(len(cells), bool)))
    for key, cat in categories.items():
        pop = cells[f"pop_{key}"].to_numpy(dtype=float)
        t = cells[f"t_{key}"].to_numpy(dtype=float)
        reach = ~np.isnan(t)
        for name, mask in groups:
            p, tt, r = pop[mask], t[mask], reach[mask]
            row = {"district": name, "category": key, "population": p.sum()}
            for tier in cat.tiers_min:
                row[within_column(tier)] = p[r & (tt <= tier)].sum()
            covered = p[r & (tt <= cat.target_min)].sum()
            row.update(
                target_min=cat.target_min,
                covered_population=covered,
                coverage=covered / row["population"] if row["population"] > 0 else np.nan,
                mean_min=(np.average(tt[r], weights=p[r]) if p[r].sum() > 0 else np.nan),
                p90_min=weighted_quantile(tt[r], p[r], 0.9),
                unreachable_population=p[~r].sum(),
                unsnapped_population=p[~snapped[mask]].sum(),
            )
            rows.append(row)
    return pd.DataFrame(rows)
