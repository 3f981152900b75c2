"""The demo run's meeting outputs: map, report and workbook, as `circle15 run` writes them."""

from __future__ import annotations

import json
import re

import openpyxl
import pandas as pd
import pytest

from circle15.outputs.manifest import sha256
from circle15.outputs.offline import find_external_assets

pytestmark = pytest.mark.slow

#: The issue's budget for the demo map.
MAP_LIMIT_BYTES = 8_000_000


def test_map_and_report_are_written_small_and_offline(demo_run) -> None:
    out, proc = demo_run
    page = (out / "map.html").read_text(encoding="utf-8")
    report = (out / "report.html").read_text(encoding="utf-8")
    assert len(page.encode("utf-8")) < MAP_LIMIT_BYTES
    assert len(report.encode("utf-8")) < 1_000_000
    assert find_external_assets(page) == [] and find_external_assets(report) == []
    assert "report.html" in proc.stdout and "results.xlsx" in proc.stdout


def test_manifest_lists_report_and_workbook(demo_run) -> None:
    out, _ = demo_run
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for name in ("report.html", "results.xlsx"):
        assert manifest["outputs"][name]["sha256"] == sha256(out / name)
    # written before the manifest, which is last
    assert list(manifest["outputs"])[-2:] == ["report.html", "results.xlsx"]


def test_report_figures_match_districts_csv(demo_run) -> None:
    """The report's summary shows the coverage of each category as in districts.csv."""
    out, _ = demo_run
    table = pd.read_csv(out / "districts.csv", encoding="utf-8-sig")
    report = (out / "report.html").read_text(encoding="utf-8")
    summary = report[report.index("id=summary>") : report.index("id=map>")]
    for _, row in table[table["district"] == "ALL"].iterrows():
        assert f"<b>{row['coverage']:.1%}</b>" in summary, row["category"]
    for district in table.loc[table["district"] != "ALL", "district"].unique():
        assert district in report
    # all seven sub-districts and six categories appear in the charts' row labels
    assert len(re.findall(r'<svg [^>]*class="c15-chart"', report)) >= 2 + 2 * 6


def test_workbook_matches_the_tables(demo_run) -> None:
    out, _ = demo_run
    wb = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
    # the demo walks childcare and elderly canteens and day care step-free: barrier sheets
    assert wb.sheetnames == [
        "about",
        "districts",
        "gaps",
        "barriers",
        "barrier_areas",
        "barrier_steps",
        "facilities",
        "parameters",
    ]
    csv = pd.read_csv(out / "districts.csv", encoding="utf-8-sig")
    sheet = pd.read_excel(out / "results.xlsx", sheet_name="districts", engine="openpyxl")
    assert len(sheet) == len(csv)
    assert sheet["coverage"].to_numpy() == pytest.approx(csv["coverage"].to_numpy(), nan_ok=True)
    facilities = pd.read_excel(out / "results.xlsx", sheet_name="facilities", engine="openpyxl")
    assert len(facilities) == 287  # nine categories (data/README.md)
    # everyone within the target is served by exactly one facility (its nearest)
    by_category = facilities.groupby("category")["served_population"].agg(["sum", "size"])
    for key, (served, n) in by_category.iterrows():
        covered = csv.loc[
            (csv["district"] == "ALL") & (csv["category"] == key), "covered_population"
        ]
        # each figure is rounded to 0.01 in its file
        assert served == pytest.approx(covered.item(), abs=0.01 * (n + 1))
