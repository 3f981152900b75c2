"""Site selection: greedy against the exact optimum, both against brute force and spopt."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from circle15.analysis.siting import GREEDY_BOUND, exact_sites, greedy_sites, served


def _instance(seed: int, capacities: bool):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(3, 10)), int(rng.integers(3, 18))
    reach = sp.csr_array((rng.random((n, m)) < rng.uniform(0.15, 0.5)).astype(float))
    demand = rng.integers(0, 12, m).astype(float) * (rng.random(m) < 0.8)
    cap = rng.integers(1, 20, n).astype(float) if capacities else None
    return reach, demand, cap, int(rng.integers(1, 4))


def _oracle_served(reach, demand, sites, cap) -> float:
    """Covered (uncapacitated) or max-flow served demand, by networkx."""
    dense = reach.toarray() > 0
    if cap is None:
        return float(demand[dense[list(sites)].any(axis=0)].sum()) if len(sites) else 0.0
    g = nx.DiGraph()
    g.add_nodes_from(["s", "t"])
    for j in sites:
        g.add_edge("s", ("site", j), capacity=float(cap[j]))
        for i in np.flatnonzero(dense[j]):
            g.add_edge(("site", j), ("cell", i), capacity=float(demand[i]))
            g.add_edge(("cell", i), "t", capacity=float(demand[i]))
    return nx.maximum_flow_value(g, "s", "t") if len(sites) else 0.0


def _brute_force(reach, demand, p, cap) -> float:
    n = reach.shape[0]
    return max(
        _oracle_served(reach, demand, combo, cap)
        for k in range(min(p, n) + 1)
        for combo in itertools.combinations(range(n), k)
    )


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), capacities=st.booleans())
def test_greedy_is_within_the_one_minus_one_over_e_bound_and_exact_is_optimal(seed, capacities):
    reach, demand, cap, p = _instance(seed, capacities)
    best = _brute_force(reach, demand, p, cap)
    greedy = greedy_sites(reach, demand, p, cap)
    exact = exact_sites(reach, demand, p, cap)
    assert exact.optimal
    assert exact.value == pytest.approx(best, abs=1e-6)
    assert greedy.value >= GREEDY_BOUND * best - 1e-6
    assert greedy.value <= best + 1e-6
    # Each solution's value is what the oracle says its sites cover, and its gains add up.
    assert greedy.value == pytest.approx(
        _oracle_served(reach, demand, greedy.chosen, cap), abs=1e-6
    )
    assert exact.value == pytest.approx(_oracle_served(reach, demand, exact.chosen, cap), abs=1e-6)
    assert greedy.gains.sum() == pytest.approx(greedy.value, abs=1e-6)
    assert len(greedy.chosen) <= p and len(set(greedy.chosen)) == len(greedy.chosen)


def test_served_is_the_max_flow():
    for seed in range(30):
        reach, demand, cap, _ = _instance(seed, True)
        sites = np.arange(reach.shape[0])
        assert served(reach, demand, sites, cap) == pytest.approx(
            _oracle_served(reach, demand, sites, cap), abs=1e-6
        )


def test_a_worked_example_where_greedy_is_not_optimal():
    # Cells 0..5 with demand; candidate A reaches the middle four, B the left three and C
    # the right three. Greedy takes A (4) then B or C (+1): 5 of 6; the optimum B + C
    # covers all 6.
    reach = sp.csr_array(
        np.array([[0, 1, 1, 1, 1, 0], [1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], dtype=float)
    )
    demand = np.ones(6)
    greedy = greedy_sites(reach, demand, 2)
    exact = exact_sites(reach, demand, 2)
    assert list(greedy.chosen[:1]) == [0] and greedy.value == 5
    assert sorted(exact.chosen) == [1, 2] and exact.value == 6
    assert greedy.value >= GREEDY_BOUND * exact.value


def test_capacity_limits_what_a_site_serves():
    reach = sp.csr_array(np.array([[1, 1, 0], [0, 1, 1]], dtype=float))
    demand = np.array([10.0, 10.0, 10.0])
    assert served(reach, demand, np.array([0, 1]), np.array([5.0, 25.0])) == 25
    assert served(reach, demand, np.array([0, 1]), np.array([np.nan, 5.0])) == 25
    greedy = greedy_sites(reach, demand, 1, np.array([5.0, 25.0]))
    assert list(greedy.chosen) == [1] and greedy.value == 20


# PuLP 3.3 deprecates its bundled-CBC alias but still ships and runs it (offline).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_exact_agrees_with_spopt_mclp_and_existing_sites_stay():
    pulp = pytest.importorskip("pulp")
    MCLP = pytest.importorskip("spopt.locate").MCLP  # the test extra installs spopt

    rng = np.random.default_rng(11)
    for _ in range(8):
        n_existing, n_new, m = 2, 8, 25
        xy_cells = rng.uniform(0, 10, (m, 2))
        xy_sites = rng.uniform(0, 10, (n_existing + n_new, 2))
        cost = np.linalg.norm(xy_cells[:, None] - xy_sites[None], axis=2)  # cells x sites
        weights = rng.integers(1, 10, m).astype(float)
        radius, p = 2.5, 3
        fixed = np.r_[np.ones(n_existing, int), np.zeros(n_new, int)]
        model = MCLP.from_cost_matrix(
            cost, weights, radius, p_facilities=n_existing + p, predefined_facilities_arr=fixed
        )
        model = model.solve(pulp.PULP_CBC_CMD(msg=False))
        spopt_value = pulp.value(model.problem.objective)
        within = cost <= radius
        covered = within[:, :n_existing].any(axis=1)
        demand = np.where(covered, 0.0, weights)
        ours = exact_sites(sp.csr_array(within[:, n_existing:].T.astype(float)), demand, p)
        assert ours.value + weights[covered].sum() == pytest.approx(spopt_value)
