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
import shapely
import shapely.affinity
from markupsafe import escape

from circle15.analysis.equity import Equity
from circle15.outputs import report as creport
from circle15.outputs.offline import find_external_assets
from circle15.result import CoverageResult

from ..factories.pages import TagChecker
from ..factories.results import NOTICE, make_comparison, make_result

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
    nxt = re.search(r"<h2 id=", page[start + 1 :])
    return page[start : start + 1 + nxt.start()] if nxt else page[start:]


def test_page_is_self_contained_and_well_formed(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    checker = TagChecker()
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
    section = page[page.index(f'id="cat-{key}"') :]
    section = section[: section.index("</section>")]
    assert "招宝山街道 Zhaobaoshan" in section and "蛟川街道 Jiaochuan" in section
    assert "全区 All" in section
    west = result.cells["district"] == "招宝山街道"
    t = result.cells.loc[west, f"t_{key}"].to_numpy()
    pop = result.cells.loc[west, f"pop_{key}"].to_numpy()
    assert f"{pop[t <= 5].sum() / pop.sum():.1%}" in section
    # sub-district bars and the minute histogram, and the printable map of the tiers
    assert section.count('class="c15-chart"') == 2
    assert section.count('class="c15-tiermap"') == 1
    assert f"Walking speed: {cat.speed_kmh:g} km/h" in section


def test_gaps_ranked_with_distance(page: str, result: CoverageResult) -> None:
    key, cat = next(iter(result.categories.items()))
    section = page[page.index(f'id="cat-{key}"') :]
    gaps = section[section.index("Gaps ranked by population") :]
    # the fixture's gap: 25 residents, nearest facility 16.5 min away at 4 km/h = 1,100 m
    assert 16.5 * cat.speed_kmh * 1000 / 60 == pytest.approx(1100)
    row = re.search(r"<tr><td class=num>1</td>.*?</tr>", gaps).group(0)
    for text in (
        "蛟川街道 Jiaochuan",
        ">25<",
        "0.12",
        "不可达 unreachable",
        "蛟川托育园 (F2)",
        ">16.5<",
        ">1,100<",
    ):
        assert text in row


def test_gaps_are_capped_and_sorted(result: CoverageResult) -> None:
    key = next(iter(result.categories))
    many = pd.concat([result.gaps.iloc[[0]]] * 13, ignore_index=True)
    many["population"] = np.arange(13, dtype=float) + 1
    many["rank"] = 13 - np.arange(13)
    many = many.set_geometry(many.geometry)
    page = creport.build_report(replace(result, gaps=many), started=STARTED)
    section = page[page.index(f'id="cat-{key}"') :]
    ranks = re.findall(r"<tr><td class=num>(\d+)</td><td>蛟川", section)
    assert ranks == [str(r) for r in range(1, creport.TOP_GAPS + 1)]
    assert "另有 3 处较小缺口" in section


def test_user_text_is_escaped(result: CoverageResult) -> None:
    gaps = result.gaps.copy()
    gaps["nearest_name"] = "<script>alert(1)</script>"
    page = creport.build_report(replace(result, gaps=gaps, notice="a <b> & c"), started=STARTED)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a &lt;b&gt; &amp; c" in page


def test_sources_list_inputs_with_hashes(page: str, inputs: tuple[Path, dict[str, Path]]) -> None:
    config, files = inputs
    sources = _section(page, "sources")
    for path in (config, *files.values()):
        assert hashlib.sha256(path.read_bytes()).hexdigest() in sources
        assert path.name in sources
    assert "population.path" in sources
    assert f"SYNTHETIC DATA — {NOTICE}" in sources


def test_parameters_with_sources_and_unverified_flags(page: str, result: CoverageResult) -> None:
    params = _section(page, "parameters")
    for cat in result.categories.values():
        assert cat.label in params
        for source in cat.sources.values():
            assert str(escape(source)) in params
    # the life-circle figures are unverified in standards.toml: flagged in the table
    first = next(iter(result.categories.values()))
    assert "life_circle_min" in first.unverified
    row = re.search(rf"<tr><td>{first.label}</td>.*?</tr>", params).group(0)
    assert '5 min, 300 m <span class="c15-flag"' in row
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
    lorenz = pd.concat(
        [
            pd.DataFrame(
                {
                    "district": "ALL",
                    "category": k,
                    "measure": "walk_time",
                    "pop_share": pop_share,
                    "value_share": pop_share ** (2 + i),
                }
            )
            for i, k in enumerate(keys)
        ],
        ignore_index=True,
    )
    table = pd.DataFrame(
        {
            "district": ["ALL"] * 2,
            "category": keys,
            "measure": ["walk_time"] * 2,
            "mean": [7.5, 8.25],
            "gini": [0.2345, 0.3],
            "theil": [0.1, 0.2],
            "theil_between": [0.04, 0.05],
            "theil_within": [0.06, 0.15],
        }
    )
    balance = pd.DataFrame(
        {
            "category": keys,
            "min_coverage": [0.5, 0.6],
            "min_district": ["蛟川街道", "蛟川街道"],
            "mean_coverage": [0.75, 0.8],
            "min_mean_ratio": [0.6667, 0.75],
        }
    )
    with_equity = replace(
        result, equity=Equity(table=table, coverage_balance=balance, lorenz=lorenz)
    )
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
    bare = CoverageResult(
        name="bare",
        title="Bare",
        categories=result.categories,
        cells=result.cells,
        districts=pd.DataFrame(),
        gaps=result.gaps.iloc[:0],
        facilities=result.facilities.iloc[:0],
        zones=result.zones.iloc[:0],
        area=result.area,
    )
    page = creport.build_report(bare, started=STARTED)
    assert "No gaps" in page
    assert find_external_assets(page) == []


def test_write_report_is_atomic(result: CoverageResult, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old", encoding="utf-8")
    assert creport.write_report(result, target, started=STARTED) == target
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


# --------------------------------------------------------------------------------------
# The printable map of each category
# --------------------------------------------------------------------------------------
def test_printed_map_paints_each_tier_where_its_cells_are(result: CoverageResult) -> None:
    """Oracle: the fixture's walking times put these cells in these tiers (by hand), and
    the union of their squares, scaled to the map, is what each tier's path paints."""
    from shapely import union_all

    from circle15.outputs.report.static_map import MAP_HEIGHT, MAP_WIDTH, PrintMaps

    from ..factories.svg_paths import painted, path_of

    key, cat = next(iter(result.categories.items()))
    t = result.cells[f"t_{key}"].to_numpy()
    by_hand = {
        0: t <= 5,
        1: (t > 5) & (t <= 10),
        2: (t > 10) & (t <= 15),
        3: t > 15,
        4: np.isnan(t),
    }
    assert [int(m.sum()) for m in by_hand.values()] == [4, 4, 2, 1, 1]
    maps = PrintMaps.of(result)
    x0, y0, x1, y1 = result.zones.total_bounds
    scale = min(MAP_WIDTH / (x1 - x0), MAP_HEIGHT / (y1 - y0))
    assert maps.scale == pytest.approx(scale)
    svg = str(maps.category(key, cat, result.facilities))
    cells = result.cells.geometry.to_numpy()
    for tier, mask in by_hand.items():
        drawn = painted(path_of(svg, "data-tier", str(tier)))
        truth = union_all(cells[mask])
        # in pixels, y down from the top edge
        truth_px = shapely.affinity.affine_transform(
            truth, [scale, 0, 0, -scale, -x0 * scale, y1 * scale]
        )
        assert drawn.symmetric_difference(truth_px).area < 1.0, tier
    # the two sub-districts are outlined and named, the facilities of the category dotted
    assert svg.count("招宝山街道") == 1 and svg.count("蛟川街道") == 1
    assert path_of(svg, "class", "c15-facilities").count("h0") == 2  # F1 and F2
    assert "设施 托育 Childcare" in svg
    assert "合成数据 SYNTHETIC DATA" in svg and ">200 m<" in svg  # about a fifth of 1 km


def test_every_category_has_a_printed_map(page: str, result: CoverageResult) -> None:
    assert page.count('class="c15-tiermap"') == len(result.categories)
    assert page.count('class="c15-mapfig"') == len(result.categories)


# --------------------------------------------------------------------------------------
# What other parts of a run add, when present
# --------------------------------------------------------------------------------------
def test_population_method_and_network_issues_are_shown(result: CoverageResult) -> None:
    import geopandas as gpd
    from shapely.geometry import LineString

    method = {
        "text": "Residents from the census spread over buildings; ages 0–14 split "
        "evenly into single years.",
        "source": "census_2020.xlsx",
        "split": ["0-14 evenly"],
    }
    issues = gpd.GeoDataFrame(
        {
            "issue_id": [f"N{i}" for i in range(35)],
            "kind": ["piece"] * 5 + ["loose_end"] * 30,
            "description": [f"piece {i} with no facility" for i in range(5)]
            + [f"dead end {i} <near> a road" for i in range(30)],
            "population": [120.0, 0, 0, 8.0, 40.0] + [np.nan] * 30,
            "length_m": np.arange(35, dtype=float) * 10,
            "nearest_m": [np.nan] * 5 + list(np.linspace(1, 30, 30)),
        },
        geometry=[LineString([(0, 0), (1, 1)])] * 35,
        crs=result.cells.crs,
    )
    run = replace(result, diagnostics={"population_method": method})
    run.network_issues = issues  # an attribute other branches add
    page = creport.build_report(run, started=STARTED)
    sources = _section(page, "sources")
    assert "ages 0–14 split evenly into single years." in sources
    assert "census_2020.xlsx" in sources and "0-14 evenly" in sources
    network = sources[sources.index("id=network-issues>") :]
    rows = re.findall(r"<tr><td>(N\d+)</td>", network)
    # most residents first, then the longest; 30 shown of 35
    assert rows[:3] == ["N0", "N4", "N3"] and len(rows) == 30
    assert "30 × 断头路 loose end, 5 × 独立路网片 separate piece" in network
    assert "另有 5 处" in network and "dead end 29 &lt;near&gt; a road" in network
    assert "&lt;near&gt;" in network and "<near>" not in network
    # without them, no heading
    assert "network-issues" not in creport.build_report(result, started=STARTED)


def test_comparison_lists_unmatched_units_and_those_left_out(result: CoverageResult) -> None:
    comparison = make_comparison(result, units=["招宝山街道", "蛟川街道", "ALL"])
    comparison.spearman["left_out"] = [["九龙湖镇", "澥浦镇"]]  # another branch's column
    page = creport.build_report(replace(result, comparison=comparison), started=STARTED)
    part = _section(page, "comparison")
    unmatched = part[part.index("Reference rows left out") : part.index("<figure")]
    assert re.findall(r"<tr><td>([^<]+)</td>", unmatched) == ["Atlantis", "蓬莱街道"]
    assert "综合、可及" in unmatched and "9, 10" in unmatched
    assert "九龙湖镇、澥浦镇" in part
    # a left_out mapping on the comparison itself works too
    comparison.spearman = comparison.spearman.drop(columns="left_out")
    comparison.left_out = {"composite": ["骆驼街道"]}
    page = creport.build_report(replace(result, comparison=comparison), started=STARTED)
    assert "骆驼街道" in _section(page, "comparison")
