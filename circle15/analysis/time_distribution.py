"""Walking-time distributions: residents per minute of walking, and the share within t minutes.

Both are population-weighted and keep unreachable residents (NaN minutes) in the total, so a
curve that stops short of 100 % shows the people who cannot walk to any facility.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MinuteHistogram", "population_by_minute", "share_within"]


@dataclass(frozen=True)
class MinuteHistogram:
    """Residents by walking time.

    Attributes
    ----------
    edges : ndarray
        Bin edges in minutes, ``0, step, 2*step, …, max_min``; bin ``k`` holds times in
        ``(edges[k], edges[k+1]]`` (time 0 is in the first bin), matching the rule that a
        time equal to a tier limit is within that tier.
    population : ndarray
        Residents per bin.
    beyond : float
        Residents who can reach a facility but need more than ``max_min``.
    unreachable : float
        Residents who cannot reach any facility.
    """

    edges: np.ndarray
    population: np.ndarray
    beyond: float
    unreachable: float

    @property
    def total(self) -> float:
        """All residents counted."""
        return float(self.population.sum() + self.beyond + self.unreachable)


def _clean(minutes: np.ndarray, population: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(minutes, dtype=float)
    p = np.nan_to_num(np.asarray(population, dtype=float), nan=0.0)
    if t.shape != p.shape:
        raise ValueError(f"minutes {t.shape} and population {p.shape} differ in shape")
    return t, p


def population_by_minute(
    minutes: np.ndarray, population: np.ndarray, *, max_min: float = 30.0, step_min: float = 1.0
) -> MinuteHistogram:
    """Population-weighted histogram of walking times.

    Parameters
    ----------
    minutes : ndarray
        Walking time of each cell, NaN when unreachable.
    population : ndarray
        Residents of each cell (NaN counts as 0).
    max_min : float, default 30
        Upper edge of the last bin.
    step_min : float, default 1
        Bin width.

    Returns
    -------
    MinuteHistogram
    """
    t, p = _clean(minutes, population)
    edges = np.arange(0.0, max_min + step_min / 2, step_min)
    reach = ~np.isnan(t)
    inside = reach & (t <= edges[-1])
    # side="left": a time equal to an upper edge belongs to the bin it closes.
    idx = np.clip(np.searchsorted(edges, t[inside], side="left") - 1, 0, len(edges) - 2)
    counts = np.bincount(idx, weights=p[inside], minlength=len(edges) - 1)
    return MinuteHistogram(
        edges=edges,
        population=counts,
        beyond=float(p[reach & ~inside].sum()),
        unreachable=float(p[~reach].sum()),
    )


def share_within(minutes: np.ndarray, population: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Share of all residents who can walk to a facility within each threshold.

    Parameters
    ----------
    minutes : ndarray
        Walking time of each cell, NaN when unreachable.
    population : ndarray
        Residents of each cell.
    thresholds : ndarray
        Minutes; a time equal to a threshold counts as within it.

    Returns
    -------
    ndarray
        One share per threshold (NaN for every threshold when nobody lives in the cells).
    """
    t, p = _clean(minutes, population)
    thresholds = np.asarray(thresholds, dtype=float)
    total = p.sum()
    if total <= 0:
        return np.full(thresholds.shape, np.nan)
    reach = ~np.isnan(t)
    order = np.argsort(t[reach], kind="stable")
    sorted_t = t[reach][order]
    cumulative = np.concatenate([[0.0], np.cumsum(p[reach][order])])
    shares: np.ndarray = cumulative[np.searchsorted(sorted_t, thresholds, side="right")] / total
    return shares
