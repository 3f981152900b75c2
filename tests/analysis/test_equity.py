"""Population-weighted Gini, Theil T and its decomposition against hand-worked values."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circle15.analysis.equity import (
    equity_tables,
    lorenz_curve,
    min_mean_ratio,
    theil_decomposition,
    weighted_gini,
    weighted_theil,
)
from circle15.standards import load_standards


def test_weighted_gini_by_hand():
    # Values 1, 2, 3 with weights 1, 1, 2: W = 4, mean = (1 + 2 + 6) / 4 = 2.25.
    # Ordered pairs: 2 x (1*1*|1-2| + 1*2*|1-3| + 1*2*|2-3|) = 2 x 7 = 14.
    # G = 14 / (2 x 4² x 2.25) = 14 / 72.
    assert weighted_gini(np.array([1.0, 2, 3]), np.array([1.0, 1, 2])) == pytest.approx(14 / 72)
    # Integer weights are the same as repeating the values: 1, 2, 3, 3.
    assert weighted_gini(np.array([1.0, 2, 3, 3]), np.ones(4)) == pytest.approx(14 / 72)


def test_gini_extremes_and_undefined():
    assert weighted_gini(np.array([5.0, 5.0]), np.array([3.0, 7.0])) == 0.0
    # One resident of n holds everything: G = 1 - 1/n.
    assert weighted_gini(np.array([0.0, 0, 0, 8]), np.ones(4)) == pytest.approx(0.75)
    assert np.isnan(weighted_gini(np.zeros(3), np.ones(3)))  # nobody has anything
    # NaN values (unreachable) and zero weights are left out.
    assert weighted_gini(np.array([1.0, np.nan, 3, 99]), np.array([1.0, 5, 1, 0])) == pytest.approx(
        weighted_gini(np.array([1.0, 3]), np.ones(2))
    )


def _gini_oracle(x, w):
    """Plain double loop over residents' cells."""
    total = sum(w)
    mean = sum(a * b for a, b in zip(x, w, strict=True)) / total
    spread = sum(
        w[i] * w[j] * abs(x[i] - x[j]) for i, j in itertools.product(range(len(x)), repeat=2)
    )
    return spread / (2 * total**2 * mean)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 100, allow_nan=False), st.floats(0.01, 50, allow_nan=False)),
        min_size=1,
        max_size=25,
    )
)
def test_gini_equals_the_double_loop(pairs):
    x, w = (list(t) for t in zip(*pairs, strict=True))
    if sum(a * b for a, b in zip(x, w, strict=True)) <= 1e-9:
        return
    assert weighted_gini(np.array(x), np.array(w)) == pytest.approx(_gini_oracle(x, w), abs=1e-9)


def test_weighted_theil_by_hand():
    # Values 1, 3 (equal weights): mean 2, T = ½ (½ ln ½ + 3/2 ln 3/2).
    expected = 0.5 * (0.5 * math.log(0.5) + 1.5 * math.log(1.5))
    assert weighted_theil(np.array([1.0, 3.0]), np.ones(2)) == pytest.approx(expected)
    # Values 1, 2, 4 with weights 2, 1, 1: mean 2; T = ¼ (2 x ½ ln ½ + 0 + 2 ln 2) = ¼ ln 2.
    assert weighted_theil(np.array([1.0, 2, 4]), np.array([2.0, 1, 1])) == pytest.approx(
        0.25 * math.log(2)
    )
    # Zeros count as 0 ln 0 = 0: values 0, 2 -> T = ½ (0 + 2 ln 2) = ln 2.
    assert weighted_theil(np.array([0.0, 2.0]), np.ones(2)) == pytest.approx(math.log(2))


def test_theil_decomposition_by_hand():
    # Group A: values 1, 3 (weights 1, 1); group B: value 4 (weight 2). Mean 12/4 = 3.
    # Shares s_A = 2 x 2 / (4 x 3) = 1/3, s_B = 2 x 4 / 12 = 2/3.
    x, w = np.array([1.0, 3, 4]), np.array([1.0, 1, 2])
    parts = theil_decomposition(x, w, np.array(["A", "A", "B"]))
    t_a = 0.5 * (0.5 * math.log(0.5) + 1.5 * math.log(1.5))
    between = 1 / 3 * math.log(2 / 3) + 2 / 3 * math.log(4 / 3)
    within = 1 / 3 * t_a
    total = 0.25 * (1 / 3 * math.log(1 / 3) + 0 + 2 * 4 / 3 * math.log(4 / 3))
    assert parts.between == pytest.approx(between)
    assert parts.within == pytest.approx(within)
    assert parts.total == pytest.approx(total)
    assert parts.between + parts.within == pytest.approx(parts.total, abs=1e-15)
    assert parts.groups["share"].tolist() == pytest.approx([1 / 3, 2 / 3])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 100, allow_nan=False),
            st.floats(0.01, 50, allow_nan=False),
            st.sampled_from(["A", "B", "C"]),
        ),
        min_size=2,
        max_size=30,
    )
)
def test_between_plus_within_is_total(rows):
    x, w, g = (np.array(t) for t in zip(*rows, strict=True))
    if (x * w).sum() <= 1e-9:
        return
    parts = theil_decomposition(x.astype(float), w.astype(float), g.astype(object))
    assert parts.between + parts.within == pytest.approx(parts.total, abs=1e-9)
    assert parts.between >= -1e-12 and parts.within >= -1e-12


def test_lorenz_curve_by_hand():
    # Values 1 and 3, one resident each: the poorer half holds 1/4.
    share, value = lorenz_curve(np.array([3.0, 1.0]), np.ones(2), points=5)
    np.testing.assert_allclose(share, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(value, [0, 0.125, 0.25, 0.625, 1])
    _, flat = lorenz_curve(np.array([2.0, 2.0, 2.0]), np.array([1.0, 2, 3]), points=11)
    np.testing.assert_allclose(flat, np.linspace(0, 1, 11))


def test_min_mean_ratio_by_hand():
    assert min_mean_ratio([0.5, 1.0, 0.9]) == pytest.approx(0.5 / 0.8)
    assert min_mean_ratio([0.7, np.nan, 0.7]) == 1.0
    assert np.isnan(min_mean_ratio([np.nan]))


def test_equity_tables_shape_and_values():
    cat = load_standards().categories["childcare"]
    cells = pd.DataFrame(
        {
            "district": ["A", "A", "B", "B"],
            "pop_childcare": [1.0, 1.0, 2.0, 0.0],
            "t_childcare": [1.0, 3.0, 4.0, np.nan],
            "supply_childcare": [0.0, 1.0, 1.0, 0.0],
        }
    )
    table = pd.DataFrame(
        {
            "district": ["A", "B", "C", "ALL"],
            "category": "childcare",
            "coverage": [1.0, 0.5, np.nan, 0.8],
        }
    )
    eq = equity_tables(cells, {"childcare": cat}, ["A", "B", "C"], table)
    t = eq.table.set_index(["district", "measure"])
    whole = t.loc[("ALL", "walk_time")]
    # Walk times 1, 3, 4 with weights 1, 1, 2: the hand-worked decomposition above.
    assert whole["gini"] == pytest.approx(
        weighted_gini(np.array([1.0, 3, 4]), np.array([1.0, 1, 2]))
    )
    assert whole["theil_between"] + whole["theil_within"] == pytest.approx(whole["theil"])
    assert whole["theil_between"] == pytest.approx(
        1 / 3 * math.log(2 / 3) + 2 / 3 * math.log(4 / 3)
    )
    assert np.isnan(t.loc[("C", "walk_time"), "gini"])  # nobody lives in C
    assert eq.coverage_balance.iloc[0]["min_mean_ratio"] == pytest.approx(0.5 / 0.75)
    assert eq.coverage_balance.iloc[0]["min_district"] == "B"
    curve = eq.lorenz[(eq.lorenz["district"] == "ALL") & (eq.lorenz["measure"] == "supply")]
    assert len(curve) == 101 and curve["value_share"].iloc[-1] == pytest.approx(1.0)
    assert set(eq.lorenz.columns) == {"district", "category", "measure", "pop_share", "value_share"}
