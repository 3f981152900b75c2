"""Combined batch tables: names read back as written, unknown capacity kept unknown."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from circle15.batch.combine import totals
from circle15.outputs.spreadsheet import read_own_csv, write_csv


def test_names_guarded_against_formulas_come_back_as_written(tmp_path):
    names = ['=HYPERLINK("x")', "+1", "-街道", "@SUM(A1)", "'quoted'", "普通街道", "a=b"]
    frame = pd.DataFrame({"district": names, "value": np.arange(len(names), dtype=float)})
    path = write_csv(frame, tmp_path / "t.csv")
    on_disk = pd.read_csv(path, encoding="utf-8-sig")["district"].tolist()
    assert on_disk[:4] == ["'" + n for n in names[:4]]  # guarded on disk
    assert on_disk[4:] == names[4:]
    back = read_own_csv(path)
    assert back["district"].tolist() == names
    np.testing.assert_array_equal(back["value"].to_numpy(), frame["value"].to_numpy())


def _whole(capacity, unknown):
    return pd.DataFrame(
        {
            "district": "ALL",
            "category": "childcare",
            "population": [100.0, 50.0],
            "covered_population": [80.0, 10.0],
            "unreachable_population": [0.0, 5.0],
            "unsnapped_population": [0.0, 0.0],
            "target_min": 15.0,
            "mean_min": [6.0, 12.0],
            "capacity": capacity,
            "capacity_unknown": unknown,
        }
    )


def test_totals_keep_unknown_capacity_unknown():
    # One region knows 40 places and misses one facility's; the other knows none.
    row = totals(_whole([40.0, np.nan], [1, 2])).iloc[0]
    assert row["capacity"] == 40.0 and row["capacity_unknown"] == 3
    assert row["coverage"] == pytest.approx(90 / 150)
    # No region knows any capacity: blank, not 0.
    row = totals(_whole([np.nan, np.nan], [2, 2])).iloc[0]
    assert np.isnan(row["capacity"]) and row["capacity_unknown"] == 4
