"""Supply, equity and the index in the demo's outputs, next to the existing columns."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyogrio
import pytest

from circle15.demo.locate import repository_data_dir

pytestmark = pytest.mark.slow

TOTAL = 531_830  # 2020 census, 镇海区 (see test_demo_run)
AGE_60_PLUS = 80_581
DESIGN_COLUMNS = [
    "district",
    "category",
    "population",
    "pop_within_5",
    "pop_within_10",
    "pop_within_15",
    "target_min",
    "covered_population",
    "coverage",
    "mean_min",
    "p90_min",
    "unreachable_population",
]


@pytest.fixture(scope="module")
def districts(demo_run) -> pd.DataFrame:
    out, _ = demo_run
    return pd.read_csv(out / "districts.csv", encoding="utf-8-sig")


def test_districts_csv_keeps_its_columns_and_adds_supply(districts):
    assert districts.columns[:2].tolist() == ["district", "category"]
    assert set(DESIGN_COLUMNS) <= set(districts.columns)
    assert {
        "capacity",
        "supply_ratio",
        "provision",
        "accessible_provision",
        "norm",
        "norm_ratio",
        "norm_met",
        "score_accessibility",
        "score_balance",
        "score_quality",
    } <= set(districts.columns)
    assert len(districts) == 9 * 8  # nine categories, seven sub-districts and ALL


def test_whole_area_provision_equals_capacity_over_census(districts):
    # Independent oracle: the facility tables' capacity summed with pandas, over the census
    # total (childcare, sports: per residents) or the 60+ count (elderly canteen).
    data = repository_data_dir() / "facilities"
    whole = districts[districts["district"] == "ALL"].set_index("category")
    for key, per, base in [
        ("childcare", 1000, TOTAL),
        ("sports_venue", 1, TOTAL),
        ("elderly_canteen", 1000, AGE_60_PLUS),
    ]:
        capacity = pd.read_csv(data / f"{key}.csv")["capacity"].sum()
        assert whole.loc[key, "provision"] == pytest.approx(capacity / base * per, abs=1e-4)
        # Every demo facility has residents in reach, so the 2SFCA shares all of it out.
        assert whole.loc[key, "accessible_provision"] == pytest.approx(
            whole.loc[key, "provision"], abs=1e-3
        )
    assert whole.loc["childcare", "norm"] == 4.5
    assert whole.loc["sports_venue", "norm"] == 2.9


def test_index_and_equity_tables(demo_run):
    out, proc = demo_run
    index = pd.read_csv(out / "index.csv", encoding="utf-8-sig")
    assert index.columns.tolist() == [
        "district",
        "name_en",
        "accessibility",
        "balance",
        "quality",
        "composite",
        "rank",
    ]
    assert len(index) == 8 and index["district"].iloc[-1] == "ALL"
    scores = index[["accessibility", "balance", "quality", "composite"]].to_numpy()
    assert np.nanmin(scores) >= 0 and np.nanmax(scores) <= 100
    assert sorted(index["rank"].dropna().astype(int)) == list(range(1, 8))
    equity = pd.read_csv(out / "equity.csv", encoding="utf-8-sig")
    whole = equity[equity["district"] == "ALL"]
    np.testing.assert_allclose(
        whole["theil_between"] + whole["theil_within"], whole["theil"], atol=2e-4
    )
    assert whole["min_mean_ratio"].notna().all()
    layers = dict(pyogrio.list_layers(out / "results.gpkg"))
    assert "index" in layers
    assert "index.csv" in json.loads((out / "manifest.json").read_text())["outputs"]
    assert "index (whole area)" in proc.stdout
