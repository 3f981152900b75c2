"""``circle15 compare``: reading references, matching units, the side-by-side table, chart."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from circle15 import Study
from circle15.analysis.compare import compare_with_reference, match_units
from circle15.cli import main
from circle15.demo.locate import repository_data_dir
from circle15.errors import InputError
from circle15.sources.reference import parse_value, read_reference

from ..factories.studies import write_small_study

EXAMPLE = repository_data_dir() / "reference" / "zhenhai_reference_example.csv"


@pytest.fixture(scope="module")
def demo():
    return Study.demo().run()


def test_compare_on_the_demo_writes_table_and_chart(tmp_path, capsys):
    code = main(["compare", "--reference", str(EXAMPLE), "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Spearman" in out and "zhenhai_reference_example.csv" in out
    table = pd.read_csv(tmp_path / "comparison.csv", encoding="utf-8-sig")
    reference = pd.read_csv(EXAMPLE)
    assert len(table) == len(reference)  # every example row matched
    assert {
        "unit",
        "district",
        "indicator",
        "ours",
        "theirs",
        "difference",
        "tolerance",
        "flag",
        "rank_ours",
        "rank_theirs",
        "provenance",
    } <= set(table.columns)
    np.testing.assert_allclose(table["difference"], table["ours"] - table["theirs"], atol=2e-4)
    assert (table["flag"] == (table["difference"].abs() > table["tolerance"])).all()
    # Every reference value is carried over unchanged, matched to its row.
    merged = table.merge(reference.assign(row=np.arange(len(reference)) + 2), on="row")
    np.testing.assert_allclose(merged["theirs"], merged["value"])
    spear = pd.read_csv(tmp_path / "comparison_spearman.csv", encoding="utf-8-sig")
    assert set(spear["indicator"]) == {
        "composite",
        "accessibility",
        "balance",
        "quality",
        "coverage_childcare",
        "coverage_elderly_canteen",
    }
    # Spearman by hand from the ranks (seven sub-districts, no ties in the example):
    # rho = 1 - 6 sum d² / (n (n² - 1)).
    for _, row in spear.iterrows():
        part = table[(table["indicator"] == row["indicator"]) & table["rank_ours"].notna()]
        if part["rank_ours"].duplicated().any() or part["rank_theirs"].duplicated().any():
            continue
        n, d = len(part), part["rank_ours"] - part["rank_theirs"]
        assert row["units"] == n == 7
        assert row["rho"] == pytest.approx(1 - 6 * (d**2).sum() / (n * (n**2 - 1)), abs=1e-4)
    svg = (tmp_path / "comparison.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "招宝山街道" in svg and "SYNTHETIC DEMO DATA" in svg and "Spearman" in svg


def test_units_match_chinese_english_and_short_names(demo):
    units = pd.Series(
        [
            "招宝山街道",
            "jiaochuan subdistrict",
            "Zhuangshi",
            "九龙湖",
            "Xiepu Town",
            "镇海区",
            "全区",
            "ALL",
            "Nowhere",
            "澥浦镇 ",
        ]
    )
    got = match_units(units, demo).tolist()
    assert got == [
        "招宝山街道",
        "蛟川街道",
        "庄市街道",
        "九龙湖镇",
        "澥浦镇",
        "ALL",
        "ALL",
        "ALL",
        None,
        "澥浦镇",
    ]


def test_unmatched_rows_are_reported_not_silently_dropped(demo):
    ref = pd.DataFrame(
        {
            "row": [2, 3, 4],
            "unit": ["骆驼街道", "Atlantis", "骆驼街道"],
            "indicator": ["可及", "composite", "happiness"],
            "value": [70.0, 60.0, 1.0],
        }
    )
    comp = compare_with_reference(demo, ref, source="test")
    assert comp.table["indicator"].tolist() == ["accessibility"]
    assert comp.unmatched["reason"].tolist() == [
        "unit matches no sub-district",
        "unknown indicator",
    ]


def test_tolerance_from_config_and_cli(demo):
    ref = pd.DataFrame({"row": [2], "unit": ["ALL"], "indicator": ["托育覆盖率"], "value": [0.0]})
    ours = demo.coverage("childcare")
    comp = compare_with_reference(demo, ref)
    assert comp.table["tolerance"].iloc[0] == 0.05 and bool(comp.table["flag"].iloc[0])
    comp = compare_with_reference(demo, ref, tolerance={"coverage": 1.0})
    assert comp.table["tolerance"].iloc[0] == 1.0 and not comp.table["flag"].iloc[0]
    comp = compare_with_reference(demo, ref, tolerance_all=ours + 0.01)
    assert not comp.table["flag"].iloc[0]
    assert comp.table["ours"].iloc[0] == pytest.approx(ours)


def test_reference_with_nothing_to_compare_exits_2(tmp_path, capsys):
    bad = tmp_path / "ref.csv"
    bad.write_text("unit,indicator,value\nAtlantis,composite,50\n", encoding="utf-8")
    code = main(["compare", "--reference", str(bad), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "no row matches" in err and "Traceback" not in err


def test_reference_errors_name_the_row(tmp_path, demo):
    path = tmp_path / "ref.csv"
    path.write_text(
        "unit,indicator,value\n骆驼街道,composite,80\n骆驼街道,quality,eighty\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match=r"row 3: value 'eighty' is not a number"):
        read_reference(path)
    path.write_text("unit,value\n骆驼街道,80\n", encoding="utf-8")
    with pytest.raises(InputError, match="'indicator' not found"):
        read_reference(path)
    path.write_text("名称,指标,数值\n骆驼街道,综合,80\n骆驼街道,综合,81\n", encoding="utf-8")
    ref = read_reference(path)
    with pytest.raises(InputError, match="rows 2, 3"):
        compare_with_reference(demo, ref)
    with pytest.raises(InputError, match="file not found"):
        read_reference(tmp_path / "missing.csv")


def test_wide_xlsx_and_percentages(tmp_path, demo):
    path = tmp_path / "ref.xlsx"
    pd.DataFrame(
        {
            "街道": ["骆驼街道", "贵驷街道"],
            "综合指数": [80, 70],
            "托育覆盖率": ["85%", "60%"],
            "来源": ["example", "example"],
        }
    ).to_excel(path, index=False)
    ref = read_reference(path)
    assert sorted(ref["indicator"].unique()) == ["托育覆盖率", "综合指数"]
    assert ref.loc[ref["indicator"] == "托育覆盖率", "value"].tolist() == [0.85, 0.6]
    comp = compare_with_reference(demo, ref)
    assert set(comp.table["indicator"]) == {"composite", "coverage_childcare"}
    assert parse_value("1,234") == 1234 and np.isnan(parse_value(""))


def test_example_reference_is_labelled_as_an_example():
    ref = pd.read_csv(EXAMPLE)
    assert set(ref["provenance"]) == {"synthetic"}
    assert ref["note"].str.contains("EXAMPLE").all()
    assert ref["note"].str.contains("made-up").all()


def test_reference_named_in_the_study_file_joins_the_run(tmp_path, capsys):
    toml = write_small_study(tmp_path / "study")
    (tmp_path / "study" / "ref.csv").write_text(
        "unit,indicator,value\n西区,综合,60\nEast,composite,40\n全区,可及,50\n", encoding="utf-8"
    )
    toml.write_text(
        toml.read_text(encoding="utf-8") + '\n[compare]\nreference = "ref.csv"\n', encoding="utf-8"
    )
    code = main(["run", str(toml), "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 0 and "beyond tolerance" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "out" / "comparison.csv", encoding="utf-8-sig")
    assert table["district"].tolist() == ["西区", "东区", "ALL"]
    index = pd.read_csv(tmp_path / "out" / "index.csv", encoding="utf-8-sig").set_index("district")
    assert table["ours"].tolist() == pytest.approx(
        [
            index.loc["西区", "composite"],
            index.loc["东区", "composite"],
            index.loc["ALL", "accessibility"],
        ],
        abs=0.01,
    )
    assert (tmp_path / "out" / "comparison.svg").is_file()
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "<h2 id=index>" in report and "<h2 id=comparison>" in report
    assert report.count("<svg") >= 1 and "<?xml" not in report  # the chart is inlined
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert "compare.reference" in manifest["inputs"]
    # Two sub-districts only: too few for a rank correlation, reported as NaN, not a crash.
    spear = pd.read_csv(tmp_path / "out" / "comparison_spearman.csv", encoding="utf-8-sig")
    assert spear["rho"].isna().all()
