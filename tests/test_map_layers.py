"""Map layers added for meetings: grouped control, clustered SVG markers, service areas, legend.

The browser behaviour (toggling, popups, clustering) is checked in ``test_browser.py``; these
tests check what the page is written with.
"""

from __future__ import annotations

import html
import json
import re

import pytest

from circle15.outputs import map as cmap
from circle15.outputs.layer_control import full_layer_name
from circle15.outputs.markers import (
    CATEGORY_GLYPHS,
    category_icon_svg,
    facility_popups,
    marker_html,
)
from circle15.result import CoverageResult
from circle15.standards import load_standards

from .test_map import make_result


@pytest.fixture(scope="module")
def result() -> CoverageResult:
    return make_result()


@pytest.fixture(scope="module")
def page(result: CoverageResult) -> str:
    return cmap.render_map(result)


def _control_names(page: str) -> list[str]:
    block = re.search(r"var named = \{(.*?)\};", page, re.S).group(1)
    return [json.loads(k) for k in re.findall(r'^\s*("(?:[^"\\]|\\.)*"):', block, re.M)]


def _legend_names(page: str) -> list[list[str]]:
    return [json.loads(html.unescape(v)) for v in re.findall(r'data-layers="([^"]*)"', page)]


def test_control_lists_five_layers_per_category(page: str, result: CoverageResult) -> None:
    names = _control_names(page)
    expected = [cmap.ZONES_LAYER_NAME, cmap.STUDY_LAYER_NAME]
    for cat in result.categories.values():
        expected += cmap.layer_names(cat)
    assert names == expected
    assert "L.control.groupedLayers(" in page
    assert '"groupCheckboxes": true' in page
    # headings are the category labels; short names under them
    first = next(iter(result.categories.values()))
    assert json.dumps(first.label) + ": {" in page
    assert cmap.facility_layer_name(first) == full_layer_name(first.label, "设施 facilities")


def test_every_legend_entry_names_a_layer_in_the_control(page: str) -> None:
    control = set(_control_names(page))
    entries = _legend_names(page)
    assert entries
    named = {n for names in entries for n in names}
    assert named <= control
    # every kind of layer has a legend entry
    kinds = {n.split(" · ")[-1] for n in named}
    assert {"设施 facilities", "步行可达 walking access", "服务范围 service areas",
            "服务缺口 gaps", "街道覆盖率 coverage by sub-district"} <= kinds
    assert {cmap.ZONES_LAYER_NAME, cmap.STUDY_LAYER_NAME} <= named


def test_first_category_opens_with_facilities_cells_and_gaps(result: CoverageResult) -> None:
    m = cmap.build_map(result)
    shown = {child.layer_name for child in m._children.values()
             if getattr(child, "overlay", False) and getattr(child, "show", False)}
    first, second = result.categories.values()
    assert {cmap.facility_layer_name(first), cmap.walking_layer_name(first),
            cmap.gap_layer_name(first)} <= shown
    assert cmap.service_area_layer_name(first) not in shown
    assert not any(name.startswith(second.label) for name in shown)


def test_plugins_are_inlined(page: str) -> None:
    assert "L.MarkerClusterGroup" in page or "markerClusterGroup" in page
    assert "L.Control.GroupedLayers" in page
    assert ".leaflet-cluster-anim" in page  # MarkerCluster.css
    assert "cdnjs.cloudflare.com" not in page and "cdn.jsdelivr.net" not in page


def test_facility_popups_say_who_they_serve(result: CoverageResult) -> None:
    cat = result.categories["childcare"]
    fac = result.facilities[result.facilities["category"] == "childcare"]
    popups = dict(zip(fac["facility_id"], facility_popups(fac, result.cells, cat), strict=True))
    # by hand from the fixture (see test_workbook): F1 serves 45 children 0-2 within
    # 15 min, F2 serves 30 and is the nearest facility for 43 at any time
    serves = "<th>服务人口 Serves (ages 0-2, nearest facility, ≤ 15 min)</th>"
    assert f"{serves}<td>45</td>" in popups["F1"]
    assert "<td>30</td>" in popups["F2"] and "<td>43</td>" in popups["F2"]
    assert "60 托位 places" in popups["F1"]
    assert "<td>0.8</td>" in popups["F1"]  # 45 served / 60 places
    assert "A&amp;B &lt;托育&gt; 中心" in popups["F2"] and "<托育>" not in popups["F2"]
    assert "已接入路网 snapped to a street (12 m)" in popups["F1"]


def test_icons_are_inline_svg_without_fonts() -> None:
    for key in load_standards().categories:
        assert key in CATEGORY_GLYPHS
        svg = category_icon_svg(key)
        assert svg.startswith("<svg") and 'stroke="currentColor"' in svg
        assert "href" not in svg and "font" not in svg
    assert "<circle" in category_icon_svg("library")  # unknown categories get a dot
    assert "c15-hollow" in marker_html("childcare", "#d95f02", hollow=True)
    with pytest.raises(ValueError, match="rrggbb"):
        marker_html("childcare", "red;background:url(x)")


def test_service_areas_and_gap_distance_in_the_page(page: str, result: CoverageResult) -> None:
    scripts = page
    assert json.dumps("服务人口 Residents served (ages 0-2)") in scripts
    assert json.dumps("到最近设施距离 Walking distance to it (m)") in scripts
    # the childcare gap: 16.5 min at 4 km/h
    assert '"nearest_m": "1,100"' in scripts


def test_legend_shows_facility_icons(page: str, result: CoverageResult) -> None:
    legend = page[page.index('class="c15-legend leaflet-control"'):]
    legend = legend[: legend.index("</details>")]
    for cat in result.categories.values():
        assert cat.label in legend
    assert legend.count('class="c15-icon"') == len(result.categories) + 1  # + the hollow one
