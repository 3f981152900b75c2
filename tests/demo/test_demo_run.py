"""The demo end to end: `circle15 run` as a planner runs it, checked against the census."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

from circle15.outputs.manifest import sha256

# 2020 census (七普) county table for 镇海区 330211 (leiii/census, MIT).
TOTAL = 531_830
AGE_0, AGE_1_4, AGE_5_9, AGE_10_14, AGE_60_PLUS = 4_122, 21_498, 24_148, 19_443, 80_581
# Cohorts from 5-year bands, residents spread evenly over the years of each band.
EXPECTED_COHORTS = {
    "childcare": AGE_0 + AGE_1_4 * 2 / 4,  # ages 0-2
    "kindergarten": AGE_1_4 * 2 / 4 + AGE_5_9 / 5,  # ages 3-5
    "primary_school": AGE_5_9 * 4 / 5 + AGE_10_14 * 2 / 5,  # ages 6-11
    "middle_school": AGE_10_14 * 3 / 5,  # ages 12-14
    "elderly_canteen": AGE_60_PLUS,  # 60+
    "sports_venue": TOTAL,  # everyone
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def districts(demo_run) -> pd.DataFrame:
    out, _ = demo_run
    return pd.read_csv(out / "districts.csv", encoding="utf-8-sig")


def test_run_prints_where_the_outputs_are(demo_run):
    out, proc = demo_run
    assert str(out.resolve()) in proc.stdout
    assert "synthetic" in proc.stdout.lower()
    for name in ["map.html", "results.gpkg", "districts.csv", "manifest.json"]:
        assert (out / name).is_file(), name


def test_all_population_equals_the_census(districts):
    all_rows = districts[districts["district"] == "ALL"].set_index("category")
    assert all_rows.loc["sports_venue", "population"] == TOTAL
    for key, expected in EXPECTED_COHORTS.items():
        assert all_rows.loc[key, "population"] == pytest.approx(expected, abs=0.01), key


def test_district_table_has_the_contract_columns_and_seven_units(districts):
    for col in [
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
    ]:
        assert col in districts.columns
    units = {"招宝山街道", "蛟川街道", "骆驼街道", "庄市街道", "贵驷街道", "澥浦镇", "九龙湖镇"}
    assert set(districts["district"]) == units | {"ALL"}
    assert len(districts) == 8 * 9  # nine categories


def test_districts_add_up_to_all(districts):
    parts = districts[districts["district"] != "ALL"].groupby("category").sum(numeric_only=True)
    whole = districts[districts["district"] == "ALL"].set_index("category")
    for col in [
        "population",
        "pop_within_5",
        "pop_within_10",
        "pop_within_15",
        "covered_population",
        "unreachable_population",
    ]:
        np.testing.assert_allclose(parts[col], whole.loc[parts.index, col], atol=0.05)
    tiers = whole[["pop_within_5", "pop_within_10", "pop_within_15"]].to_numpy()
    assert (np.diff(tiers, axis=1) >= -1e-9).all()  # a tier never holds fewer than the last


def test_coverage_is_uneven_with_real_gaps(districts):
    parts = districts[districts["district"] != "ALL"]
    spread = parts.groupby("category")["coverage"].agg(["min", "max"])
    assert (spread["max"] - spread["min"] > 0.3).sum() >= 3


def test_disconnected_piece_is_reported_unreachable(districts, demo_run):
    out, _ = demo_run
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["diagnostics"]["network_pieces"] >= 2
    assert manifest["diagnostics"]["population_off_main_network"] > 0
    assert (districts["unreachable_population"] > 0).any()


def test_geopackage_layers_match_the_table(demo_run, districts):
    out, _ = demo_run
    layers = {name for name, _ in pyogrio.list_layers(out / "results.gpkg")}
    assert {"cells", "districts", "gaps", "facilities"} <= layers  # plus e.g. "index"
    cells = gpd.read_file(out / "results.gpkg", layer="cells")
    assert cells["pop_total"].sum() == TOTAL
    t = cells["t_childcare"].to_numpy()
    assert np.isnan(t).any() and np.nanmin(t) >= 0  # unreachable is NaN, never 0
    covered = cells.loc[cells["t_childcare"] <= 15, "pop_childcare"].sum()
    whole = districts[(districts["district"] == "ALL") & (districts["category"] == "childcare")]
    assert covered == pytest.approx(whole["covered_population"].iloc[0], abs=0.05)
    gaps = gpd.read_file(out / "results.gpkg", layer="gaps")
    for key in EXPECTED_COHORTS:
        g = gaps[gaps["category"] == key]
        missed = cells.loc[cells[f"t_{key}"].isna() | (cells[f"t_{key}"] > 15), f"pop_{key}"].sum()
        assert g["population"].sum() == pytest.approx(missed, abs=0.05), key
        assert list(g["rank"]) == list(range(1, len(g) + 1))


def test_manifest_records_inputs_with_hashes(demo_run):
    out, _ = demo_run
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["synthetic_data"] is True
    assert manifest["versions"]["circle15"]
    for record in manifest["inputs"].values():
        assert sha256(Path(record["path"])) == record["sha256"]
    assert manifest["outputs"]["districts.csv"]["sha256"] == sha256(out / "districts.csv")


def test_map_is_offline_and_labelled_synthetic(demo_run):
    out, _ = demo_run
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "SYNTHETIC" in html and "合成数据" in html
    assert '<script src="http' not in html and 'rel="stylesheet" href="http' not in html
    assert (out / "map.html").stat().st_size < 8 * 1024 * 1024
