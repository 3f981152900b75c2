"""results.xlsx: the sheets a planner opens in Excel, read back with openpyxl."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from circle15.outputs.workbook import SHEETS, write_workbook
from circle15.result import CoverageResult

from ..factories.results import NOTICE, make_result

STARTED = datetime(2026, 11, 29, 6, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def result() -> CoverageResult:
    return make_result()


@pytest.fixture(scope="module")
def book(result: CoverageResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_workbook(result, tmp_path_factory.mktemp("xlsx") / "results.xlsx", started=STARTED)


def _sheet(book: Path, name: str) -> pd.DataFrame:
    return pd.read_excel(book, sheet_name=name, engine="openpyxl")


def test_sheets_in_order(book: Path) -> None:
    wb = openpyxl.load_workbook(book)
    assert (
        wb.sheetnames == list(SHEETS) == ["about", "districts", "gaps", "facilities", "parameters"]
    )
    for name in SHEETS[1:]:
        ws = wb[name]
        assert ws.freeze_panes == "A2"
        assert ws["A1"].font.bold


def test_about_says_synthetic_and_date(book: Path) -> None:
    about = _sheet(book, "about").set_index("item")["value"]
    assert about["synthetic data"] == f"YES — {NOTICE}"
    assert about["run date (UTC)"] == "2026-11-29 06:30"
    assert about["title"] == "镇海区测试 Zhenhai test map"


def test_districts_match_the_run(book: Path, result: CoverageResult) -> None:
    got = _sheet(book, "districts")
    want = result.districts.reset_index(drop=True)
    assert list(got["district"]) == list(want["district"])
    assert list(got["category_zh"]) == [result.categories[k].name_zh for k in want["category"]]
    assert got["coverage"].to_numpy() == pytest.approx(want["coverage"].round(4).to_numpy())
    assert got["population"].to_numpy() == pytest.approx(want["population"].to_numpy())
    ws = openpyxl.load_workbook(book)["districts"]
    col = next(c.column_letter for c in ws[1] if c.value == "coverage")
    assert ws[f"{col}2"].number_format == "0.0%"


def test_gaps_with_walking_distance(book: Path) -> None:
    gaps = _sheet(book, "gaps")
    first = gaps.iloc[0]
    assert first["category"] == "childcare" and first["category_zh"] == "托育"
    # 16.5 min to the nearest facility at 4 km/h (66.67 m/min) = 1,100 m
    assert first["nearest_m"] == 1100
    assert first["nearest_name"] == "蛟川托育园"
    # a point inside the gap polygon (east half of the top row of the fixture)
    # WGS84 by default, and the column names say so
    assert 121.60 < first["lon_wgs84"] < 121.62 and 29.98 < first["lat_wgs84"] < 29.99
    assert "geometry" not in gaps.columns


def test_facilities_say_who_they_serve(book: Path) -> None:
    fac = _sheet(book, "facilities").set_index("facility_id")
    # by hand from the fixture: F1 is the nearest for the six west cells (3+4+7+8+11+12
    # children, all within 15 min); F2 for five east cells, of which 13 children in the
    # cell at 16.5 min are beyond the target (5+6+9+10 served).
    assert fac.loc["F1", "served_population"] == 45
    assert fac.loc["F1", "nearest_population"] == 45
    assert fac.loc["F2", "served_population"] == 30
    assert fac.loc["F2", "nearest_population"] == 43
    assert fac.loc["F1", "served_per_capacity"] == pytest.approx(45 / 60, abs=0.01)
    assert fac.loc["F1", "capacity_unit"] == "托位 places"
    assert pd.isna(fac.loc["K2", "served_per_capacity"])  # no capacity given
    assert 121.5 < fac.loc["F1", "lon_wgs84"] < 121.7
    assert 29.9 < fac.loc["F1", "lat_wgs84"] < 30.0


def test_parameters_with_sources_and_flags(book: Path, result: CoverageResult) -> None:
    params = _sheet(book, "parameters").fillna("")
    cat = next(iter(result.categories.values()))
    rows = params[params["category"] == cat.key].set_index("parameter")
    assert float(rows.loc["target_min", "value"]) == cat.target_min
    assert rows.loc["target_min", "source"] == cat.sources["target_min"]
    assert rows.loc["life_circle_min", "unverified"] == "yes"
    assert rows.loc["target_min", "unverified"] == ""


def test_workbook_is_written_atomically(result: CoverageResult, tmp_path: Path) -> None:
    target = tmp_path / "results.xlsx"
    target.write_bytes(b"old")
    write_workbook(result, target)
    assert openpyxl.load_workbook(target).sheetnames[0] == "about"
    assert [p.name for p in tmp_path.iterdir()] == ["results.xlsx"]


def test_a_city_of_gaps_lists_the_most_populous_and_keeps_every_gap_elsewhere(
    result: CoverageResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Oracle: the run's own gap table (rank per category by cohort population).
    from circle15.outputs import workbook

    # a second, smaller gap in every category, ranked after the first
    smaller = result.gaps.assign(
        rank=2, gap_id=result.gaps["gap_id"] + "-b", population=result.gaps["population"] / 2
    )
    gaps = pd.concat([result.gaps, smaller], ignore_index=True).set_crs(result.gaps.crs)
    run = dataclasses.replace(result, gaps=gaps)
    per_category = gaps.groupby("category").size()
    assert (per_category == 2).all()
    monkeypatch.setattr(workbook, "MAX_SHEET_GAPS", 1)
    path = write_workbook(run, tmp_path / "results.xlsx", started=STARTED)
    sheet = _sheet(path, "gaps")
    assert sorted(sheet["gap_id"]) == sorted(gaps.loc[gaps["rank"] == 1, "gap_id"])
    about = _sheet(path, "about").set_index("item")["value"]
    assert f"({len(per_category)} of {len(gaps)})" in about["gaps"]
    assert "every gap is in gaps.csv and results.gpkg" in about["gaps"]
