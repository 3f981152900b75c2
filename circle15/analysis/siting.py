"""Choose new sites to cover the most people: lazy greedy and an exact MILP (pure arrays).

The problem is the maximal covering location problem (MCLP, Church & ReVelle 1974) with
the existing facilities kept: ``demand[i]`` is the target cohort of cell ``i`` that no
facility reaches within the target time yet (0 for cells already covered), and
``reach[j, i]`` says whether candidate ``j`` would reach cell ``i`` within it. Choose at
most ``p`` candidates maximising the demand they reach.

With capacities a site serves at most ``capacity[j]`` people; the value of a set of sites
is then the largest assignment of uncovered demand to sites within reach (a max-flow, here
a linear programme), a monotone submodular function like the plain one. So in both forms
the greedy choice is within ``1 - 1/e`` (63 %) of the optimum (Nemhauser, Wolsey & Fisher
1978), and lazy evaluation (Minoux 1978; "CELF") is exact: a site's gain can only shrink
as others are chosen, so a stale gain is an upper bound and most re-evaluations are
skipped.

The exact solver is scipy's MILP interface to HiGHS: no extra dependency, offline.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass
from typing import cast

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

#: Greedy's guarantee for monotone submodular coverage: at least this share of the optimum.
GREEDY_BOUND = 1.0 - 1.0 / np.e


@dataclass(frozen=True)
class SitingSolution:
    """Sites chosen by one method.

    Attributes
    ----------
    chosen : ndarray of int64
        Candidate positions, in the order picked (greedy) or by decreasing gain (exact).
    gains : ndarray of float
        Demand newly covered (or served) by each site given the ones before it.
    value : float
        Demand covered (served) by all chosen sites together.
    method : str
        ``"greedy"`` or ``"exact"``.
    optimal : bool
        True when ``value`` is proven optimal (exact solver finished).
    bound : float
        An upper bound on the optimum: ``value`` when optimal, the solver's dual bound
        when it stopped at its time limit, ``value / (1 - 1/e)`` for greedy.
    evaluations : int
        Gains evaluated (greedy) or 0.
    seconds : float
        Time taken.
    """

    chosen: np.ndarray
    gains: np.ndarray
    value: float
    method: str
    optimal: bool
    bound: float
    evaluations: int
    seconds: float


def _rows(reach: sp.sparray | sp.spmatrix) -> sp.csr_array:
    # Two-dimensional whatever its class (csr/coo array or matrix): as a CSR array.
    out: sp.csr_array = sp.csr_array(cast("sp.csr_array", reach)).astype(np.float64)
    out.data[:] = 1.0  # within reach or not; explicit zeros (a cell at the door) count
    return out


def _capacity(capacity: np.ndarray | None, n: int) -> np.ndarray | None:
    if capacity is None:
        return None
    cap = np.asarray(capacity, dtype=float)
    if cap.shape != (n,):
        raise ValueError(f"capacity has {cap.shape} entries for {n} candidates")
    return np.where(np.isnan(cap), np.inf, cap)  # unknown capacity: unlimited


def served(
    reach: sp.csr_array, demand: np.ndarray, sites: np.ndarray, capacity: np.ndarray | None = None
) -> float:
    """Demand reached by ``sites`` together; with capacities, the largest assignment.

    Parameters
    ----------
    reach : sparse (candidates x cells)
        Non-zero (or explicit zero) entries mark cells within reach.
    demand : ndarray
        Uncovered demand per cell.
    sites : ndarray of int
        Chosen candidates.
    capacity : ndarray, optional
        Capacity per candidate (NaN = unlimited); None for no capacities.
    """
    rows = _rows(reach)[np.asarray(sites, dtype=np.int64)]
    demand = np.asarray(demand, dtype=float)
    if len(sites) == 0:
        return 0.0
    if capacity is None:
        hit = np.zeros(rows.shape[1], bool)
        hit[rows.indices] = True
        return float(demand[hit].sum())
    limits = _capacity(capacity, reach.shape[0])
    assert limits is not None  # capacity was given
    cap = limits[np.asarray(sites, dtype=np.int64)]
    coo = rows.tocoo()
    keep = demand[coo.col] > 0
    r, c = coo.row[keep], coo.col[keep]
    if not len(r):
        return 0.0
    # max sum(y) s.t. each cell gives at most its demand, each site takes at most its capacity.
    cells, ci = np.unique(c, return_inverse=True)
    e = np.arange(len(r))
    a_cell = sp.csr_array((np.ones(len(r)), (ci, e)), shape=(len(cells), len(r)))
    finite = np.isfinite(cap)
    a_site = sp.csr_array((np.ones(len(r)), (r, e)), shape=(len(cap), len(r)))[finite]
    a = sp.vstack([a_cell, a_site]).tocsr()
    b = np.concatenate([demand[cells], cap[finite]])
    res = linprog(-np.ones(len(r)), A_ub=a, b_ub=b, bounds=(0, None), method="highs")
    if res.status != 0 or res.fun is None:  # pragma: no cover - always solvable
        raise RuntimeError(f"capacitated coverage LP failed: {res.message}")
    return float(-res.fun)


def greedy_sites(
    reach: sp.spmatrix | sp.sparray, demand: np.ndarray, p: int, capacity: np.ndarray | None = None
) -> SitingSolution:
    """Pick up to ``p`` sites one at a time, each the largest gain given those before it.

    Lazy evaluation: candidates sit in a priority queue keyed by their last known gain;
    the top one is re-evaluated, and picked if it still beats the next one's (stale,
    hence optimistic) gain. Stops early when no candidate adds anything.

    Parameters
    ----------
    reach : sparse (candidates x cells)
        Cells within reach of each candidate (the target time).
    demand : ndarray
        Uncovered demand per cell (0 where already covered).
    p : int
        Sites to choose.
    capacity : ndarray, optional
        Capacity per candidate (NaN unlimited); None ignores capacities.

    Returns
    -------
    SitingSolution
    """
    start = time.perf_counter()
    rows = _rows(reach)
    demand = np.asarray(demand, dtype=float)
    cap = _capacity(capacity, rows.shape[0])
    residual = demand.copy()
    solo = rows @ demand
    if cap is not None:
        solo = np.minimum(solo, cap)  # one site alone serves its reach, up to capacity
    heap = [(-g, j) for j, g in enumerate(solo) if g > 0]
    heapq.heapify(heap)
    # Pick number at which each gain was last evaluated: the solo gains are exact for the first.
    fresh = np.zeros(rows.shape[0], dtype=np.int64)
    chosen: list[int] = []
    gains: list[float] = []
    value, evaluations = 0.0, 0
    while heap and len(chosen) < p:
        neg, j = heapq.heappop(heap)
        if fresh[j] == len(chosen):  # evaluated against the current choice: it is the best
            if -neg <= 0:
                break
            chosen.append(j)
            gains.append(-neg)
            value += -neg
            if cap is None:
                residual[rows.indices[rows.indptr[j] : rows.indptr[j + 1]]] = 0.0
            continue
        evaluations += 1
        if cap is None:
            gain = float(residual[rows.indices[rows.indptr[j] : rows.indptr[j + 1]]].sum())
        else:
            gain = served(rows, demand, np.array([*chosen, j]), capacity) - value
        fresh[j] = len(chosen)
        if gain > 1e-9:
            heapq.heappush(heap, (-gain, j))
    if cap is not None and chosen:
        value = served(rows, demand, np.array(chosen), capacity)  # exact, not a running sum
    return SitingSolution(
        np.array(chosen, dtype=np.int64),
        np.array(gains),
        float(value),
        "greedy",
        False,
        float(value / GREEDY_BOUND),
        evaluations,
        time.perf_counter() - start,
    )


def exact_sites(
    reach: sp.spmatrix | sp.sparray,
    demand: np.ndarray,
    p: int,
    capacity: np.ndarray | None = None,
    time_limit_s: float = 60.0,
) -> SitingSolution:
    """The optimal choice of up to ``p`` sites, as a mixed-integer programme (HiGHS).

    Without capacities (MCLP): maximise ``sum(d_i x_i)`` subject to ``x_i <= sum of z_j``
    over the candidates ``j`` reaching ``i``, ``sum(z) <= p``, ``z`` binary, ``0 <= x <= 1``.
    With capacities: a flow ``y_ji >= 0`` from each chosen site to the cells it reaches,
    ``sum_j y_ji <= d_i``, ``sum_i y_ji <= c_j z_j`` and ``y_ji <= d_i z_j``.

    Parameters
    ----------
    reach, demand, p, capacity
        As for :func:`greedy_sites`.
    time_limit_s : float
        Stop the solver after this long; the best solution and the dual bound are kept
        and ``optimal`` is False.

    Returns
    -------
    SitingSolution
        ``chosen`` in decreasing order of gain (each given the ones before it).
    """
    start = time.perf_counter()
    rows = _rows(reach)
    demand = np.asarray(demand, dtype=float)
    n = rows.shape[0]
    cap = _capacity(capacity, n)
    coo = rows.tocoo()
    keep = demand[coo.col] > 0
    r, c = coo.row[keep], coo.col[keep]
    cells, ci = np.unique(c, return_inverse=True)
    m = len(cells)
    if m == 0 or p <= 0:
        return SitingSolution(
            np.empty(0, np.int64),
            np.empty(0),
            0.0,
            "exact",
            True,
            0.0,
            0,
            time.perf_counter() - start,
        )
    d = demand[cells]
    budget = sp.csr_array(np.ones((1, n)))
    if cap is None:
        # Columns: z (n), x (m). Rows: x_i - sum z_j <= 0 for each cell; sum z <= p.
        link = sp.csr_array(
            sp.hstack([sp.csr_array((-np.ones(len(r)), (ci, r)), shape=(m, n)), sp.eye_array(m)])
        )
        a = sp.csr_array(sp.vstack([link, sp.hstack([budget, sp.csr_array((1, m))])]))
        cost = np.concatenate([np.zeros(n), -d])
        upper = np.concatenate([np.ones(n), np.ones(m)])
        integrality = np.concatenate([np.ones(n), np.zeros(m)])
        b_up = np.concatenate([np.zeros(m), [p]])
    else:
        k = len(r)
        e = np.arange(k)
        big = np.where(np.isfinite(cap), cap, d.sum())
        # Columns: z (n), y (k).
        per_cell = sp.hstack(
            [sp.csr_array((m, n)), sp.csr_array((np.ones(k), (ci, e)), shape=(m, k))]
        )
        per_site = sp.hstack(
            [sp.csr_array(sp.diags_array(-big)), sp.csr_array((np.ones(k), (r, e)), shape=(n, k))]
        )
        tight = sp.hstack([sp.csr_array((-d[ci], (e, r)), shape=(k, n)), sp.eye_array(k)])
        a = sp.csr_array(
            sp.vstack([per_cell, per_site, tight, sp.hstack([budget, sp.csr_array((1, k))])])
        )
        cost = np.concatenate([np.zeros(n), -np.ones(k)])
        upper = np.concatenate([np.ones(n), d[ci]])
        integrality = np.concatenate([np.ones(n), np.zeros(k)])
        b_up = np.concatenate([d, np.zeros(n), np.zeros(k), [p]])
    res = milp(
        cost,
        integrality=integrality,
        bounds=Bounds(0, upper),
        constraints=LinearConstraint(a, -np.inf, b_up),
        options={"time_limit": float(time_limit_s), "disp": False},
    )
    if res.x is None:
        raise RuntimeError(f"the site-selection MILP found no solution: {res.message}")
    picked = np.flatnonzero(res.x[:n] > 0.5)
    optimal = res.status == 0
    bound = (
        -float(res.mip_dual_bound)
        if getattr(res, "mip_dual_bound", None) is not None
        else -float(res.fun)
    )
    order, gains = _order_by_gain(rows, demand, picked, capacity)
    value = served(rows, demand, order, capacity)
    return SitingSolution(
        order,
        gains,
        value,
        "exact",
        bool(optimal),
        value if optimal else max(bound, value),
        0,
        time.perf_counter() - start,
    )


def _order_by_gain(
    rows: sp.csr_array, demand: np.ndarray, picked: np.ndarray, capacity: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Rank chosen sites like greedy would among themselves, for a readable table."""
    order: list[int] = []
    gains: list[float] = []
    left = list(picked)
    value = 0.0
    while left:
        totals = [served(rows, demand, np.array([*order, j]), capacity) for j in left]
        best = int(np.argmax(totals))
        gains.append(totals[best] - value)
        value = totals[best]
        order.append(left.pop(best))
    return np.array(order, dtype=np.int64), np.array(gains)
