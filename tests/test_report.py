"""The HTML report: self-contained, the right figures in the right places, every section."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from circle15.analysis.equity import Equity
from circle15.outputs import report as creport
from circle15.outputs.offline import find_external_assets
from circle15.result import CoverageResult

from .test_map import NOTICE, _Checker, make_result

STARTED = datetime(2026, 11, 29, 6, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def result() -> CoverageResult:
    return make_result()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("inputs")
    config = folder / "study.toml"
    config.write_text('[study]\nname = "test"\n', encoding="utf-8")
    grid = folder / "cells.csv"
    grid.write_bytes(b"cell_id,pop_total\nc000,400\n")
    return config, {"population.path": grid}


@pytest.fixture(scope="module")
def page(result: CoverageResult, inputs: tuple[Path, dict[str, Path]]) -> str:
    config, files = inputs
    return creport.build_report(result, inputs=files, config=config, started=STARTED)


def _section(page: str, anchor: str) -> str:
    start = page.index(f"id={anchor}>")
    nxt = re.search(r"<h2 id=", page[start + 1:])
    return page[start: start + 1 + nxt.start()] if nxt else page[start:]


def test_page_is_self_contained_and_well_formed(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert find_external_assets(page) == []
    assert "<script" not in page  # nothing to run: charts are inline SVG
    assert not re.search(r"""(src|href)=["']https?:""", page)
    # the only reference out of the file is the map beside it
    assert set(re.findall(r'src="([^"]+)"', page)) == {"map.html"}


def test_title_banner_and_date(page: str) -> None:
    assert "<title>镇海区测试 Zhenhai test map — 报告 Report</title>" in page
    assert f"合成数据 SYNTHETIC DATA — {NOTICE}" in page
    assert "2026-11-29 06:30 UTC" in page
    real = creport.build_report(make_result(synthetic=False), started=STARTED)
    assert "SYNTHETIC" not in real and 'class="c15-banner"' not in real


def test_summary_figures(page: str, result: CoverageResult) -> None:
    summary = _section(page, "summary")
    cells = result.cells
    for key, cat in result.categories.items():
        # oracle: the share within each tier, computed here from the cells
        t = cells[f"t_{key}"].to_numpy(dtype=float)
        pop = cells[f"pop_{key}"].to_numpy(dtype=float)
        for tier in (5, 10, 15):
            share = pop[t <= tier].sum() / pop.sum()
            assert f"{share:.1%}" in summary, (key, tier)
        assert f"<b>{pop[t <= cat.target_min].sum() / pop.sum():.1%}</b>" in summary
        assert f'href="#cat-{key}"' in summary
    assert summary.count("<svg") == 2  # tier bars and the cumulative curves


def test_category_section_by_sub_district(page: str, result: CoverageResult) -> None:
    key, cat = next(iter(result.categories.items()))
    section = page[page.index(f'id="cat-{key}"'):]
    section = section[: section.index("</section>")]
    assert "招宝山街道 Zhaobaoshan" in section and "蛟川街道 Jiaochuan" in section
    assert "全区 All" in section
    west = result.cells["district"] == "招宝山街道"
    t = result.cells.loc[west, f"t_{key}"].to_numpy()
    pop = result.cells.loc[west, f"pop_{key}"].to_numpy()
    assert f"{pop[t <= 5].sum() / pop.sum():.1%}" in section
    assert section.count("<svg") == 2  # sub-district bars and the minute histogram
    assert f"Walking speed: {cat.speed_kmh:g} km/h" in section


def test_gaps_ranked_with_distance(page: str, result: CoverageResult) -> None:
    key, cat = next(iter(result.categories.items()))
    section = page[page.index(f'id="cat-{key}"'):]
    gaps = section[section.index("Gaps ranked by population"):]
    # the fixture's gap: 25 residents, nearest facility 16.5 min away at 4 km/h = 1,100 m
    assert 16.5 * cat.speed_kmh * 1000 / 60 == pytest.approx(1100)
    row = re.search(r"<tr><td class=num>1</td>.*?</tr>", gaps).group(0)
    for text in ("蛟川街道 Jiaochuan", ">25<", "0.12", "不可达 unreachable", "蛟川托育园 (F2)",
                 ">16.5<", ">1,100<"):
        assert text in row


def test_gaps_are_capped_and_sorted(result: CoverageResult) -> None:
    key = next(iter(result.categories))
    many = pd.concat([result.gaps.iloc[[0]]] * 13, ignore_index=True)
    many["population"] = np.arange(13, dtype=float) + 1
    many["rank"] = 13 - np.arange(13)
    many = many.set_geometry(many.geometry)
    page = creport.build_report(replace(result, gaps=many), started=STARTED)
    section = page[page.index(f'id="cat-{key}"'):]
    ranks = re.findall(r"<tr><td class=num>(\d+)</td><td>蛟川", section)
    assert ranks == [str(r) for r in range(1, creport.TOP_GAPS + 1)]
    assert "另有 3 处较小缺口" in section


def test_user_text_is_escaped(result: CoverageResult) -> None:
    gaps = result.gaps.copy()
    gaps["nearest_name"] = "<script>alert(1)</script>"
    page = creport.build_report(replace(result, gaps=gaps, notice="a <b> & c"),
                                started=STARTED)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a &lt;b&gt; &amp; c" in page


def test_sources_list_inputs_with_hashes(page: str, inputs: tuple[Path, dict[str, Path]]
                                         ) -> None:
    config, files = inputs
    sources = _section(page, "sources")
    for path in (config, *files.values()):
        assert hashlib.sha256(path.read_bytes()).hexdigest() in sources
        assert path.name in sources
    assert "population.path" in sources
    assert f"SYNTHETIC DATA — {NOTICE}" in sources


def test_parameters_with_sources_and_unverified_flags(page: str, result: CoverageResult
                                                      ) -> None:
    params = _section(page, "parameters")
    for cat in result.categories.values():
        assert cat.label in params
        for source in cat.sources.values():
            assert creport._e(source) in params
    # the life-circle figures are unverified in standards.toml: flagged in the table
    first = next(iter(result.categories.values()))
    assert "life_circle_min" in first.unverified
    row = re.search(rf"<tr><td>{first.label}</td>.*?</tr>", params).group(0)
    assert "5 min, 300 m <span class=\"c15-flag\"" in row
    assert "GB50180" in params and "GB 50180-2018《城市居住区规划设计标准》" in params


def test_map_embedded_and_linked(page: str, result: CoverageResult) -> None:
    assert '<iframe class="c15-map" src="map.html"' in page
    assert '<a href="map.html"' in page
    alone = creport.build_report(result, map_file=None, started=STARTED)
    assert "<iframe" not in alone and "map.html" not in alone and "id=map>" not in alone


def test_equity_section_only_with_equity(page: str, result: CoverageResult) -> None:
    assert "id=equity>" not in page
    keys = list(result.categories)
    pop_share = np.linspace(0, 1, 101)
    lorenz = pd.concat([
        pd.DataFrame({"district": "ALL", "category": k, "measure": "walk_time",
                      "pop_share": pop_share, "value_share": pop_share ** (2 + i)})
        for i, k in enumerate(keys)
    ], ignore_index=True)
    table = pd.DataFrame({"district": ["ALL"] * 2, "category": keys,
                          "measure": ["walk_time"] * 2, "mean": [7.5, 8.25],
                          "gini": [0.2345, 0.3], "theil": [0.1, 0.2],
                          "theil_between": [0.04, 0.05], "theil_within": [0.06, 0.15]})
    balance = pd.DataFrame({"category": keys, "min_coverage": [0.5, 0.6],
                            "min_district": ["蛟川街道", "蛟川街道"],
                            "mean_coverage": [0.75, 0.8], "min_mean_ratio": [0.6667, 0.75]})
    with_equity = replace(result, equity=Equity(table=table, coverage_balance=balance,
                                                lorenz=lorenz))
    page = creport.build_report(with_equity, started=STARTED)
    equity = _section(page, "equity")
    assert "0.234" in equity and "0.667" not in equity and "0.67" in equity
    assert "步行时间 walking time (min)" in equity
    assert "蛟川街道 Jiaochuan" in equity
    # one Lorenz chart for walking time: the equality line and one curve per category
    assert equity.count("<svg") == 1
    assert len(re.findall(r"<polyline ", equity)) == 1 + len(keys)
    assert 'href="#equity"' in page


def test_sparse_result_still_reports(result: CoverageResult) -> None:
    bare = CoverageResult(name="bare", title="Bare", categories=result.categories,
                          cells=result.cells, districts=pd.DataFrame(),
                          gaps=result.gaps.iloc[:0], facilities=result.facilities.iloc[:0],
                          zones=result.zones.iloc[:0], area=result.area)
    page = creport.build_report(bare, started=STARTED)
    assert "No gaps" in page
    assert find_external_assets(page) == []


def test_write_report_is_atomic(result: CoverageResult, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old", encoding="utf-8")
    assert creport.write_report(result, target, started=STARTED) == target
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
