"""Reference tables as reviewers get them, built by seeded code with the truth planted.

The generator writes a reviewer's workbook with a title row, a hidden draft sheet, header
variants (街道（镇）, 乡镇（街道）, 单位), unit names with office suffixes or a county in
front, indicators with units in brackets and short names, percentages written as 85 under
a ``%`` header, dashes and blanks for missing values, a footnote, a 合计 row and a unit of
another district. The comparison must carry every planted value to the right
sub-district and indicator, skip the blanks and name them, and list the strangers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook

from circle15 import Study
from circle15.analysis.compare import compare_with_reference
from circle15.cli import main
from circle15.sources.reference import read_reference

SEED = 20241130
#: Indicator columns: header as written, our indicator, how values are written.
COLUMNS = [
    ("综合指数", "composite", "score"),
    ("可及性（分）", "accessibility", "score"),
    ("均衡性指数", "balance", "score"),
    ("托育覆盖率（%）", "coverage_childcare", "bare_percent"),
    ("老年食堂覆盖率(%)", "coverage_elderly_canteen", "percent_sign"),
    ("幼儿园平均步行时间（分钟）", "mean_min_kindergarten", "minutes"),
    ("体育设施覆盖率", "coverage_sports_venue", "share"),
]
MISSING = ["—", "-", "/", None, "－", "无"]


def _variants(zh: str, en: str) -> list[str]:
    bare = zh[:-2] if zh.endswith("街道") else zh[:-1]
    names = [zh, f" {zh} ", f"镇海区{zh}", en, en.upper()]
    if zh.endswith("街道"):
        names += [f"{zh}办事处", f"{bare}街道办事处", f"{zh}（办事处）"]
    else:
        names += [f"{zh}人民政府", f"宁波市镇海区{zh}人民政府"]
    return names


def plant(zones: pd.DataFrame, path, rng: np.random.Generator):
    """Write the reviewer workbook; return the planted truth."""
    header_unit = rng.choice(["街道（镇）", "乡镇（街道）", "单位", "镇（街道）"])
    truth, blanks, rows = [], [], []
    units = [*zip(zones["district"], zones["name_en"], strict=True), ("ALL", None)]
    for i, (zh, en) in enumerate(units):
        written = "合计" if zh == "ALL" else str(rng.choice(_variants(zh, en)))
        cells = [i + 1, written]
        for _header, indicator, kind in COLUMNS:
            if zh != "ALL" and rng.random() < 0.15:
                mark = MISSING[int(rng.integers(len(MISSING)))]
                cells.append(mark)
                blanks.append((indicator, zh))
                continue
            if kind == "score":
                value = round(float(rng.uniform(20, 95)), 1)
                cells.append(value)
            elif kind == "bare_percent":
                value = round(float(rng.uniform(0, 1)), 3)
                cells.append(round(value * 100, 1))
                value = round(value * 100, 1) / 100
            elif kind == "percent_sign":
                value = round(float(rng.uniform(0, 1)), 3)
                cells.append(f"{value * 100:.1f}%")
                value = round(value * 100, 1) / 100
            elif kind == "minutes":
                value = round(float(rng.uniform(3, 40)), 2)
                cells.append(value)
            else:
                value = round(float(rng.uniform(0, 1)), 4)
                cells.append(value)
            truth.append((indicator, zh, written, value))
        rows.append(cells)
    strangers = ["新城街道", "北仑区大碶街道"]
    for name in strangers:
        rows.append([len(rows) + 1, name, *[50.0] * len(COLUMNS)])

    book = Workbook()
    draft = book.active
    draft.title = "草稿"
    draft.append(["不要读这张表"])
    draft.sheet_state = "hidden"
    ws = book.create_sheet("指数")
    width = 2 + len(COLUMNS)
    ws.append(["镇海区15分钟公共服务圈均衡可及优质指数（2024年）"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.append([])
    ws.append(["序号", header_unit, *[h for h, _, _ in COLUMNS]])
    for r in rows:
        ws.append(r)
    ws.append(["注：数据来源于区发改局，—表示暂无数据。"])
    ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=width)
    book.save(path)
    return truth, blanks, strangers


@pytest.fixture(scope="module")
def demo():
    return Study.demo().run()


def test_reviewer_workbook_matches_the_planted_truth(tmp_path, demo):
    rng = np.random.default_rng(SEED)
    path = tmp_path / "审核表.xlsx"
    truth, blanks, strangers = plant(demo.zones, path, rng)
    assert blanks, "the seed plants some missing values"
    ref = read_reference(path)
    # Title, blank row and footnote dropped; rows keep the workbook's own numbers (the
    # header is row 3, so the first unit is row 4).
    assert ref["row"].min() == 4
    assert not ref["unit"].str.startswith("注").any()
    comp = compare_with_reference(demo, ref, source=path.name)
    table = comp.table.set_index(["indicator", "district"])
    for indicator, district, written, value in truth:
        row = table.loc[(indicator, district)]
        assert row["theirs"] == pytest.approx(value), (indicator, district)
        assert row["unit"] == written.strip()
    assert len(comp.table) == len(truth)
    # The strangers are named, for every indicator they gave, with the reason.
    assert set(comp.unmatched["unit"]) == set(strangers)
    assert set(comp.unmatched["reason"]) == {"unit matches no sub-district"}
    assert len(comp.unmatched) == len(strangers) * len(COLUMNS)
    # The planted blanks are skipped, not errors, and named as left out.
    left = comp.left_out[comp.left_out["reason"] == "no value in the reference"]
    assert sorted(zip(left["indicator"], left["district"], strict=True)) == sorted(blanks)
    # Each indicator's rank correlation counts the sub-districts with both values and
    # names the others.
    spear = comp.spearman.set_index("indicator")
    for _, indicator, _ in COLUMNS:
        missing = [d for i, d in blanks if i == indicator]
        assert spear.loc[indicator, "units"] == len(demo.zones) - len(missing)
        for d in missing:
            assert f"{d} (no value in the reference)" in spear.loc[indicator, "left_out"]
    notes = "\n".join(comp.notes())
    assert "新城街道" in notes and "北仑区大碶街道" in notes
    assert "unit matches no sub-district" in notes


def test_cli_lists_unmatched_units_by_name(tmp_path, capsys):
    rng = np.random.default_rng(SEED)
    path = tmp_path / "审核表.xlsx"
    zones = Study.demo().districts.zones
    plant(zones, path, rng)
    code = main(["compare", "--reference", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "新城街道" in out and "北仑区大碶街道" in out
    assert "left out of the rank correlation" in out
    spear = pd.read_csv(tmp_path / "out" / "comparison_spearman.csv", encoding="utf-8-sig")
    assert "left_out" in spear.columns


def test_long_csv_with_merged_style_units_and_missing_marks(tmp_path, demo):
    # A GBK long table below a title line: unit, indicator with a bracketed unit, value.
    path = tmp_path / "ref.csv"
    text = (
        "2024年指标表\n"
        "乡镇（街道）,指标名称,数值,备注\n"
        "招宝山街道办事处,托育覆盖率（%）,85,\n"
        "招宝山街道办事处,老年食堂覆盖率,—,暂缺\n"
        "九龙湖镇人民政府,综合指数,/,\n"
        "九龙湖镇人民政府,可及,12.5,\n"
        "镇海区人民政府,综合,50,\n"
    )
    path.write_bytes(text.encode("gbk"))
    ref = read_reference(path)
    assert ref["row"].tolist() == [3, 4, 5, 6, 7]
    comp = compare_with_reference(demo, ref)
    got = comp.table.set_index(["district", "indicator"])["theirs"]
    assert got[("招宝山街道", "coverage_childcare")] == pytest.approx(0.85)
    assert got[("九龙湖镇", "accessibility")] == 12.5
    assert got[("ALL", "composite")] == 50
    left = comp.left_out[comp.left_out["reason"] == "no value in the reference"]
    assert sorted(zip(left["district"], left["indicator"], left["row"], strict=True)) == [
        ("九龙湖镇", "composite", 5),
        ("招宝山街道", "coverage_elderly_canteen", 4),
    ]
    assert comp.unmatched.empty


def test_merged_unit_cells_in_a_long_workbook(tmp_path, demo):
    book = Workbook()
    ws = book.active
    ws.append(["单位", "指标", "得分"])
    for unit in ("骆驼街道", "庄市街道"):
        start = ws.max_row + 1
        for indicator, value in (("可及", 61.0), ("均衡", 55.0), ("优质", 70.0)):
            ws.append([unit if indicator == "可及" else None, indicator, value])
        ws.merge_cells(start_row=start, start_column=1, end_row=start + 2, end_column=1)
    path = tmp_path / "long.xlsx"
    book.save(path)
    comp = compare_with_reference(demo, read_reference(path))
    assert sorted(comp.table["district"].unique()) == ["庄市街道", "骆驼街道"]
    assert len(comp.table) == 6
    # Five sub-districts are not in the reference at all: named as left out.
    left = comp.left_out[comp.left_out["indicator"] == "balance"]
    assert set(left["reason"]) == {"not in the reference"} and len(left) == 5
