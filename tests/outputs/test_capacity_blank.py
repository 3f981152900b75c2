"""Capacity is blank, not 0, where none is known: in the tables and in every output."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from circle15.analysis.supply import district_supply
from circle15.cli import main
from circle15.standards import load_standards

from ..factories.studies import write_small_study


def test_district_capacity_by_hand():
    cat = load_standards().categories["kindergarten"]
    cells = pd.DataFrame(
        {
            "district": ["甲", "乙", "丙"],
            "pop_total": 100.0,
            "pop_kindergarten": 10.0,
            "supply_kindergarten": 0.0,
        }
    )
    # 甲: two facilities, both unknown; 乙: 100 known and one unknown; 丙: none at all.
    capacity = {"kindergarten": np.array([np.nan, np.nan, 100.0, np.nan])}
    where = {"kindergarten": np.array(["甲", "甲", "乙", "乙"], dtype=object)}
    table = district_supply(
        cells, {"kindergarten": cat}, ["甲", "乙", "丙"], capacity, where
    ).set_index("district")
    assert np.isnan(table.loc["甲", "capacity"]) and table.loc["甲", "capacity_unknown"] == 2
    assert np.isnan(table.loc["甲", "provision"])
    assert table.loc["乙", "capacity"] == 100 and table.loc["乙", "capacity_unknown"] == 1
    assert table.loc["丙", "capacity"] == 0 and table.loc["丙", "capacity_unknown"] == 0
    assert table.loc["丙", "provision"] == 0
    assert table.loc["ALL", "capacity"] == 100 and table.loc["ALL", "capacity_unknown"] == 3


@pytest.mark.slow
def test_unknown_capacity_is_blank_in_every_output(tmp_path):
    toml = write_small_study(tmp_path / "study")
    path = tmp_path / "study" / "kindergarten.csv"
    table = pd.read_csv(path)
    table["capacity"] = None  # the planner does not know the kindergarten's seats
    table.to_csv(path, index=False)
    out = tmp_path / "out"
    assert main(["run", str(toml), "--out", str(out), "--quiet"]) == 0

    districts = pd.read_csv(out / "districts.csv", encoding="utf-8-sig")
    kg = districts[districts["category"] == "kindergarten"].set_index("district")
    # The kindergarten stands in 西区: its capacity is unknown there and for the whole area;
    # 东区 has no kindergarten at all, so 0 is right there.
    assert kg.loc["西区", "capacity"] != kg.loc["西区", "capacity"]  # NaN: a blank cell
    assert np.isnan(kg.loc["ALL", "capacity"]) and kg.loc["ALL", "capacity_unknown"] == 1
    assert kg.loc["东区", "capacity"] == 0
    raw = (out / "districts.csv").read_text(encoding="utf-8-sig").splitlines()
    header = raw[0].split(",")
    row = next(r.split(",") for r in raw if r.startswith("西区,kindergarten"))
    assert row[header.index("capacity")] == ""

    facilities = gpd.read_file(out / "results.gpkg", layer="facilities")
    assert facilities.loc[facilities["category"] == "kindergarten", "capacity"].isna().all()
    book = pd.read_excel(out / "results.xlsx", sheet_name=None, engine="openpyxl")
    sheet = book["districts"]
    assert (
        sheet.loc[(sheet["district"] == "西区") & (sheet["category"] == "kindergarten"), "capacity"]
        .isna()
        .all()
    )
    assert (
        book["facilities"]
        .loc[book["facilities"]["category"] == "kindergarten", "capacity"]
        .isna()
        .all()
    )
    html = (out / "map.html").read_text(encoding="utf-8")
    html = html.replace("\\u003c", "<").replace("\\u003e", ">").replace('\\"', '"')
    # The facility popups travel as JSON rows: id, then capacity as shown ("—", never 0).
    assert '["KI0","—",' in html and '["KI0","0' not in html
