"""Map layers for meetings: grouped control, clustered SVG markers, service areas, issues, legend.

The browser behaviour (toggling, popups, clustering) is checked in ``test_browser.py``; these
tests check what the layers are written with, against hand computations and the analysis.
"""

from __future__ import annotations

import re
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from circle15.analysis.service_areas import service_areas
from circle15.outputs import map as cmap
from circle15.outputs.webmap.elements import DataLayer, LayerControl, Legend
from circle15.outputs.webmap.facilities import (
    MAX_EXTRA_CHARS,
    MAX_EXTRA_COLUMNS,
    category_icon_svg,
    extra_columns,
    facility_popup,
    marker_html,
)
from circle15.outputs.webmap.layers import MAX_MAP_ISSUES, issue_data
from circle15.result import CoverageResult
from circle15.standards import load_standards

from ..factories.pages import layer
from ..factories.results import CRS, make_result, network_issues


@pytest.fixture(scope="module")
def result() -> CoverageResult:
    return make_result()


@pytest.fixture(scope="module")
def built(result: CoverageResult):
    return cmap.build_map(result)


def _control(m) -> LayerControl:
    return next(c for c in m._children.values() if isinstance(c, LayerControl))


def test_control_lists_five_layers_per_category(built, result: CoverageResult) -> None:
    control = _control(built)
    groups = dict(control.groups)
    assert [n for n, _ in groups[""]] == [cmap.ZONES_LAYER_NAME, cmap.STUDY_LAYER_NAME]
    for cat in result.categories.values():
        entries = groups[cat.label]
        assert [n for n, _ in entries] == [
            cmap.FACILITIES_SHORT,
            cmap.WALKING_SHORT,
            cmap.SERVICE_AREAS_SHORT,
            cmap.GAPS_SHORT,
            cmap.CHOROPLETH_SHORT,
        ]
        assert [lay.layer_name for _, lay in entries] == cmap.layer_names(cat)
    assert [n for n, _ in control.base_layers] == [
        "底图 OpenStreetMap basemap",
        cmap.NO_BASEMAP_NAME,
    ]


def test_every_legend_entry_names_a_layer_in_the_control(built) -> None:
    control = _control(built)
    listed = {id(lay) for _, entries in control.groups for _, lay in entries}
    legend = next(c for c in built._children.values() if isinstance(c, Legend))
    named = [lay for s in legend.sections for lay in (s["layers"] or [])]
    named += [lay for s in legend.sections for e in s["entries"] for lay in (e["layers"] or [])]
    assert named and {id(lay) for lay in named} <= listed
    kinds = {lay.layer_name.split(" · ")[-1] for lay in named}
    assert {
        "设施 facilities",
        "步行可达 walking access",
        "服务范围 service areas",
        "服务缺口 gaps",
        "街道覆盖率 coverage by sub-district",
    } <= kinds


def test_facility_popups_say_who_they_serve(result: CoverageResult) -> None:
    cat = result.categories["childcare"]
    fac = result.facilities[result.facilities["category"] == "childcare"]
    popup = facility_popup(fac, result.cells, cat)
    rows = {
        fid: dict(zip(popup["labels"], values, strict=True))
        for fid, values in zip(fac["facility_id"], popup["values"], strict=True)
    }
    # by hand from the fixture (see test_workbook): F1 serves 45 children 0-2 within
    # 15 min, F2 serves 30 and is the nearest facility for 43 at any time
    serves = "服务人口 Serves (ages 0-2, nearest facility, ≤ 15 min)"
    assert rows["F1"][serves] == "45"
    assert rows["F2"][serves] == "30"
    assert rows["F2"]["最近设施人口 Nearest facility for (ages 0-2, any time)"] == "43"
    assert rows["F1"]["容量 Capacity"] == "60 托位 places"
    assert rows["F1"]["每单位容量服务人口 Served per unit of capacity (托位 places)"] == "0.8"
    assert rows["F1"]["路网 Street"] == "已接入路网 snapped to a street (12 m)"
    assert popup["titles"] == ["招宝山托育园", "A&B <托育> 中心"]  # text, the runtime writes it
    assert popup["subtitle"] == cat.label


def test_facility_popups_show_the_planners_own_columns(result: CoverageResult) -> None:
    cat = result.categories["childcare"]
    fac = result.facilities[result.facilities["category"] == "childcare"].copy()
    fac["地址"] = ["镇海区招宝山街道 1 号", None]
    fac["备注"] = ["x" * 500, "  "]
    fac["办园性质"] = pd.array(["公办", "民办"], dtype="string")
    fac["_internal"] = ["a", "b"]
    fac["班级数"] = [3, 4]  # a number column: not the planner's text
    for k in range(12):
        fac[f"列{k}"] = "v"
    assert extra_columns(fac)[:3] == ["地址", "备注", "办园性质"]
    assert len(extra_columns(fac)) == MAX_EXTRA_COLUMNS
    popup = facility_popup(fac, result.cells, cat)
    rows = [dict(zip(popup["labels"], v, strict=True)) for v in popup["values"]]
    assert rows[0]["地址"] == "镇海区招宝山街道 1 号" and rows[1]["地址"] is None
    assert len(rows[0]["备注"]) == MAX_EXTRA_CHARS and rows[0]["备注"].endswith("…")
    assert rows[1]["备注"] is None  # blank: left out of the popup
    assert rows[1]["办园性质"] == "民办"
    assert "_internal" not in popup["labels"] and "班级数" not in popup["labels"]
    assert popup["optional"] == popup["labels"].index("地址")


def test_icons_are_inline_svg_without_fonts() -> None:
    for key in load_standards().categories:
        svg = category_icon_svg(key)
        assert svg.startswith("<svg") and 'stroke="currentColor"' in svg
        assert "href" not in svg and "font" not in svg
        assert svg != category_icon_svg("library")  # each category has its own glyph
    assert "<circle" in category_icon_svg("library")  # unknown categories get a dot
    assert "c15-hollow" in marker_html("childcare", "#d95f02", hollow=True)
    with pytest.raises(ValueError, match="rrggbb"):
        marker_html("childcare", "red;background:url(x)")


def test_service_area_popups_agree_with_the_merged_service_areas(built, result) -> None:
    for cat in result.categories.values():
        areas = layer(built, cmap.service_area_layer_name(cat)).data["stats"]
        values = layer(built, cmap.walking_layer_name(cat)).refs[0].data
        by_facility = {
            fid: dict(zip(areas["labels"], row, strict=True))
            for (fid, _), row in zip(values["fac"], areas["values"], strict=True)
        }
        # Oracle: the analysis's own service areas (cells merged with GEOS).
        for _, row in service_areas(result.cells, cat).iterrows():
            got = by_facility[row["facility_id"]]
            assert (
                got[f"服务人口 Residents served ({cat.cohort_label})"]
                == f"{row['population']:,.0f}"
            )
            assert got["网格数 Cells"] == f"{row['cells']:,.0f}"
            assert got["面积 Area (km²)"] == f"{row['area_km2']:.2f}"
            assert got["平均步行时间 Mean walking time (min)"] == f"{row['mean_min']:.1f}"


def test_gap_layer_keeps_the_most_populous(result: CoverageResult, monkeypatch) -> None:
    from circle15.outputs.webmap import build as wbuild
    from circle15.outputs.webmap import layers as wlayers

    cat = result.categories["childcare"]
    cells = result.cells
    rng = np.random.default_rng(7)
    population = rng.permutation(60).astype(float) + 1  # distinct, so the top 10 is unique
    order = np.argsort(-population, kind="stable")
    gaps = gpd.GeoDataFrame(
        {
            "category": cat.key,
            "gap_id": [f"g{k}" for k in range(60)],
            "rank": np.argsort(order) + 1,
            "district": "蛟川街道",
            "population": population,
            "cells": 1,
            "area_km2": 0.01,
            "mean_min": 20.0,
            "nearest_facility": "F2",
            "nearest_name": "x",
            "nearest_min": 20.0,
        },
        geometry=[cells.geometry.iloc[k % len(cells)] for k in range(60)],
        crs=CRS,
    )
    monkeypatch.setattr(wlayers, "MAX_MAP_GAPS", 10)
    monkeypatch.setattr("circle15.outputs.webmap.legend.MAX_MAP_GAPS", 10)
    m = wbuild.build_map(replace(result, gaps=gaps))
    drawn = {v[1] for v in layer(m, cmap.gap_layer_name(cat)).data["popup"]["values"]}
    # Oracle: the 10 largest populations, by pandas.
    assert drawn == set(gaps.nlargest(10, "population")["gap_id"])
    assert "the 10 most populous of 60 gaps are outlined" in m.get_root().render()


def test_gap_popup_gives_the_walking_distance(built, result) -> None:
    gap = layer(built, cmap.gap_layer_name(result.categories["childcare"])).data["popup"]
    row = dict(zip(gap["labels"], gap["values"][0], strict=True))
    # the childcare gap: 16.5 min at 4 km/h
    assert row["到最近设施距离 Walking distance to it (m)"] == "1,100"
    assert row["平均步行时间 Mean walking time (min)"] == "不可达 unreachable"
    assert row["最近设施 Nearest facility"] == "蛟川托育园 (F2)"


def test_network_issues_are_drawn_with_their_popups(result: CoverageResult) -> None:
    with_issues = make_result()
    with_issues.network_issues = network_issues()
    m = cmap.build_map(with_issues)
    data = layer(m, cmap.ISSUES_LAYER_NAME).data
    assert data["kinds"] == [1, 2, 2] and data["cls"] == [0, 1, 1]
    popup = data["popup"]
    assert popup["titles"] == [
        "孤立路网 separate piece of network",
        "断头路 loose end",
        "断头路 loose end",
    ]
    first = dict(zip(popup["labels"], popup["values"][0], strict=True))
    assert first["受影响人口 Residents affected"] == "120"
    assert first["长度 Length (m)"] == "850"
    assert (
        dict(zip(popup["labels"], popup["values"][2], strict=True))["受影响人口 Residents affected"]
        == "—"
    )
    page = m.get_root().render()
    assert "路网问题 Network issues" in page and "断头路 loose end (a street" in page
    assert cmap.ISSUES_LAYER_NAME not in cmap.render_map(result)  # none without the attribute


def test_many_network_issues_keep_those_with_most_residents(monkeypatch) -> None:
    issues = pd.concat([network_issues()] * 4, ignore_index=True)
    issues["population"] = np.arange(len(issues), dtype=float)
    monkeypatch.setattr("circle15.outputs.webmap.layers.MAX_MAP_ISSUES", 5)
    data = issue_data(gpd.GeoDataFrame(issues, crs=CRS))
    people = [float(v[2]) for v in data["popup"]["values"]]
    assert people == [11, 10, 9, 8, 7] and data["total"] == 12
    assert MAX_MAP_ISSUES >= 1_000


def test_legend_shows_facility_icons(result: CoverageResult) -> None:
    page = cmap.render_map(result)
    legend = page[page.index('class="c15-legend leaflet-control"') :]
    legend = legend[: legend.index("</details>")]
    for cat in result.categories.values():
        assert cat.label in legend
    assert legend.count('class="c15-icon"') == len(result.categories) + 1  # + the hollow one
    assert re.findall(r'data-layers="([^"]+)"', legend)


def test_layers_are_circle15_layers(built) -> None:
    factories = {c.factory for c in built._children.values() if isinstance(c, DataLayer)}
    assert factories == {"facilities", "walking", "serviceAreas", "vectors"}
