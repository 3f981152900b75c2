"""Walking-time histograms and cumulative shares, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from circle15.analysis.time_distribution import population_by_minute, share_within

MINUTES = np.array([0.0, 1.0, 1.5, 5.0, 5.0001, 30.0, 31.0, np.nan])
PEOPLE = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])  # 36 in all


def test_histogram_by_hand() -> None:
    h = population_by_minute(MINUTES, PEOPLE, max_min=30, step_min=1)
    assert h.edges[0] == 0 and h.edges[-1] == 30 and len(h.population) == 30
    expected = np.zeros(30)
    expected[0] = 1 + 2  # 0 and 1.0 minutes: (0, 1], with 0 in the first bin
    expected[1] = 3  # 1.5
    expected[4] = 4  # 5.0 closes the bin (4, 5]
    expected[5] = 5  # 5.0001
    expected[29] = 6  # 30.0
    np.testing.assert_array_equal(h.population, expected)
    assert h.beyond == 7
    assert h.unreachable == 8
    assert h.total == 36


def test_histogram_with_wider_bins() -> None:
    h = population_by_minute(MINUTES, PEOPLE, max_min=10, step_min=5)
    np.testing.assert_array_equal(h.population, [1 + 2 + 3 + 4, 5])
    assert h.beyond == 6 + 7


def test_share_within_by_hand() -> None:
    got = share_within(MINUTES, PEOPLE, np.array([0, 1, 5, 30, 100]))
    np.testing.assert_allclose(got, np.array([1, 3, 10, 21, 28]) / 36)


def test_share_within_empty_and_mismatched() -> None:
    assert np.isnan(share_within(np.array([1.0]), np.array([0.0]), np.array([5.0]))).all()
    with pytest.raises(ValueError, match="shape"):
        share_within(np.array([1.0, 2.0]), np.array([1.0]), np.array([5.0]))
