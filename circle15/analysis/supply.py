"""Capacity-aware supply: two-step floating catchment (2SFCA) ratios per cell and district.

Coverage says whether a facility is within reach; supply says how much of it there is for
each resident, once everyone else who can reach the same facility is counted. The two-step
floating catchment method (Luo & Wang 2003) and its enhanced form (E2SFCA, Luo & Qi 2009)
do this in two sums over each facility's catchment -- the cells it reaches within the
catchment time, from a bounded network search stored as a sparse matrix:

1. each facility ``j``'s ratio ``R_j = S_j / sum_i W(t_ij) P_i`` (capacity per resident
   of the cohort who can reach it, weighted by a distance decay ``W``);
2. each cell ``i``'s supply ``A_i = sum_j W(t_ij) R_j`` (capacity per resident of the
   cohort, summed over the facilities within reach).

With ``W = 1`` inside the catchment this is the plain 2SFCA; the enhanced forms weight
nearer residents more, by steps (one weight per walking-time tier) or by a Gaussian curve.
Whatever the decay, every facility's capacity is shared out in full among the residents in
its catchment: ``sum_i P_i A_i = sum_j S_j`` over the facilities that have anyone in reach.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..settings import LUO_QI_STEP_WEIGHTS, MissingCapacity, SupplySettings
from ..standards import Category
from ._groups import DistrictGroups
from .coverage import ALL

__all__ = [
    "LUO_QI_STEP_WEIGHTS",
    "DecayFunction",
    "FloatingCatchment",
    "SupplySettings",
    "decay_function",
    "district_supply",
    "floating_catchment",
    "gaussian_weights",
    "step_weights",
]

#: Maps walking minutes to weights in [0, 1]; None means 1 everywhere in the catchment.
DecayFunction = Callable[[np.ndarray], np.ndarray] | None


def decay_function(settings: SupplySettings, category: Category) -> DecayFunction:
    """The weight function for ``category`` (``None`` weights are all 1: plain 2SFCA)."""
    if settings.method == "2sfca":
        return None
    limit = settings.catchment_for(category)
    if settings.decay == "gaussian":
        return lambda t: gaussian_weights(t, limit)
    settings.check_tiers(category)
    # The category's tiers cut at the catchment (see SupplySettings.step_limits): the
    # catchment takes effect whether it is shorter or longer than the last tier.
    limits = settings.step_limits(category)
    weights = settings.step_weights[: len(limits)]
    return lambda t: step_weights(t, limits, weights)


def step_weights(
    minutes: np.ndarray, limits: Sequence[float], weights: Sequence[float]
) -> np.ndarray:
    """Step decay: the weight of the first step whose limit is not below the time.

    A time equal to a limit falls in the lower step (as for coverage); beyond the last
    limit (the catchment) the weight is 0.
    """
    idx = np.searchsorted(np.asarray(limits, dtype=float), minutes, side="left")
    return np.append(np.asarray(weights, dtype=float), 0.0)[idx]


def gaussian_weights(minutes: np.ndarray, limit: float) -> np.ndarray:
    """Dai's (2010) Gaussian decay, 1 at 0 minutes falling to 0 at ``limit`` and beyond."""
    edge = np.exp(-0.5)
    w = (np.exp(-0.5 * (np.asarray(minutes, dtype=float) / limit) ** 2) - edge) / (1 - edge)
    return np.where(minutes < limit, w, 0.0)


@dataclass(frozen=True)
class FloatingCatchment:
    """Supply of one category.

    Attributes
    ----------
    cell_supply : ndarray
        ``A_i``, capacity per resident of the cohort available to each cell; 0 where no
        facility with known capacity is within the catchment; NaN everywhere when no
        facility of the category has a known capacity.
    facility_ratio : ndarray
        ``R_j``, capacity per weighted resident in each facility's catchment; NaN when
        nobody of the cohort is in reach (idle capacity) or the capacity is unknown.
    capacity_used : ndarray
        The capacity entering the computation (NaN for an excluded facility).
    """

    cell_supply: np.ndarray
    facility_ratio: np.ndarray
    capacity_used: np.ndarray


def floating_catchment(
    catchment: sp.csr_array,
    capacity: np.ndarray,
    demand: np.ndarray,
    decay: DecayFunction = None,
    missing_capacity: MissingCapacity = "exclude",
) -> FloatingCatchment:
    """Two-step floating catchment supply (2SFCA, or E2SFCA with a decay function).

    Parameters
    ----------
    catchment : scipy.sparse.csr_array
        Facilities x cells, the walking time in minutes for every cell within each
        facility's catchment (absent = out of reach; stored zeros are on the doorstep).
    capacity : ndarray
        Capacity of each facility (places, seats, m²); NaN when unknown.
    demand : ndarray
        Residents of the target cohort in each cell.
    decay : callable, optional
        Maps walking minutes to weights in ``[0, 1]``; None for the plain 2SFCA (1 within
        the catchment).
    missing_capacity : {"exclude", "median"}
        What an unknown capacity becomes: nothing, or the median of the known ones.

    Returns
    -------
    FloatingCatchment
    """
    capacity = np.asarray(capacity, dtype=float)
    demand = np.asarray(demand, dtype=float)
    n_fac, n_cells = catchment.shape
    known = ~np.isnan(capacity)
    if not known.any():
        nan_cells = np.full(n_cells, np.nan)
        return FloatingCatchment(nan_cells, np.full(n_fac, np.nan), capacity.copy())
    if missing_capacity == "median":
        capacity = np.where(known, capacity, np.median(capacity[known]))
    used = capacity
    supply = np.where(np.isnan(capacity), 0.0, capacity)

    weights = catchment.copy().astype(float)
    weights.data = (
        np.ones_like(weights.data)
        if decay is None
        else np.asarray(decay(weights.data), dtype=float)
    )
    # Step 1: weighted demand in each catchment, then capacity per weighted resident.
    reached = weights @ demand
    ratio = np.divide(supply, reached, out=np.full(n_fac, np.nan), where=reached > 0)
    ratio[np.isnan(used)] = np.nan
    # Step 2: each cell sums the ratios of the facilities it reaches, with the same
    # weights; idle facilities (nobody in reach) add nothing.
    cell = weights.T @ np.nan_to_num(ratio, nan=0.0)
    return FloatingCatchment(np.asarray(cell, dtype=float), ratio, used)


def district_supply(
    cells: pd.DataFrame,
    categories: dict[str, Category],
    districts: Sequence[str],
    facility_capacity: dict[str, np.ndarray],
    facility_district: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Supply and per-capita norms per (district, category), plus ``ALL`` rows.

    Parameters
    ----------
    cells : DataFrame
        Per cell: ``district``, ``pop_total`` and per category ``pop_<key>`` and
        ``supply_<key>`` (the 2SFCA cell supply).
    categories : dict
        Categories by key (their norms come from the standards).
    districts : sequence of str
        Sub-districts in report order.
    facility_capacity : dict
        Per category, the capacity of each facility (NaN when unknown).
    facility_district : dict
        Per category, the sub-district containing each facility (None outside them all).

    Returns
    -------
    DataFrame
        ``district, category, capacity, capacity_unknown, supply_ratio, norm_population,
        provision, accessible_provision, norm, norm_ratio, norm_met``:

        - ``capacity``: the known capacity of the facilities located in the district; 0
          where none stands there, NaN (blank) where all of those standing there have an
          unknown capacity;
        - ``capacity_unknown``: how many facilities in the district have no known
          capacity (their places are missing from ``capacity`` and ``provision``);
        - ``supply_ratio``: the cohort-weighted mean of the cells' 2SFCA supply, i.e. the
          capacity shared out to the district's residents per resident of the cohort
          (NaN when the district has no one of the cohort);
        - ``norm_population``: the people the norm counts (residents or cohort);
        - ``provision``: ``capacity`` per ``norm_per`` of them (where the facilities stand,
          the planners' 千人指标 view; NaN where ``capacity`` is);
        - ``accessible_provision``: the capacity shared out to the district's residents by
          the 2SFCA, per ``norm_per`` of them (where the residents can walk to);
        - ``norm``: the category's norm, NaN without one;
        - ``norm_ratio = accessible_provision / norm`` and ``norm_met = norm_ratio >= 1``
          (NA without a norm or without residents).
    """
    groups = DistrictGroups.of(cells["district"].to_numpy(), districts)
    order = [*groups.names, ALL]
    residents = cells["pop_total"].to_numpy(dtype=float)
    frames = []
    for key, cat in categories.items():
        cohort = cells[f"pop_{key}"].to_numpy(dtype=float)
        supply = cells[f"supply_{key}"].to_numpy(dtype=float)
        p = groups.sums(cohort)
        b = groups.sums(residents if cat.norm_base == "residents" else cohort)
        shared = groups.sums(cohort * supply)
        cap = np.asarray(facility_capacity[key], dtype=float)
        standing = DistrictGroups.of(np.asarray(facility_district[key], dtype=object), districts)
        unknown = standing.counts(np.isnan(cap))
        # Blank, not 0, where facilities stand but none has a known capacity.
        located = np.where(
            (unknown > 0) & (unknown == standing.counts(np.ones(len(cap)))),
            np.nan,
            standing.sums(np.nan_to_num(cap)),
        )
        norm = np.nan if cat.norm is None else float(cat.norm)
        with np.errstate(invalid="ignore", divide="ignore"):
            accessible = np.where(b > 0, shared / b * cat.norm_per, np.nan)
            ratio = accessible / norm
            frames.append(
                pd.DataFrame(
                    {
                        "district": order,
                        "category": key,
                        "capacity": located,
                        "capacity_unknown": unknown.astype(int),
                        "supply_ratio": np.where(p > 0, shared / p, np.nan),
                        "norm_population": b,
                        "provision": np.where(b > 0, located / b * cat.norm_per, np.nan),
                        "accessible_provision": accessible,
                        "norm": norm,
                        "norm_ratio": ratio,
                        "norm_met": pd.arrays.BooleanArray(ratio >= 1.0, np.isnan(ratio)),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)
