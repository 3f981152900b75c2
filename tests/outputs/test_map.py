"""The interactive map: one self-contained HTML page with every layer, legend and banner.

What the page does in a browser is checked in ``test_browser.py`` (the demo),
``test_map_scale.py`` (every cell of a city-sized grid) and ``test_map_security.py``
(hostile names); these tests check what the page is written with.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import replace
from importlib import resources
from pathlib import Path

import folium
import numpy as np
import pandas as pd
import pytest

from circle15.outputs import map as cmap
from circle15.outputs.offline import (
    OfflineAssetError,
    asset_text,
    find_external_assets,
    inline_assets,
    vendored_urls,
)
from circle15.outputs.webmap.elements import DataLayer, Shared
from circle15.result import CoverageResult

from ..factories.pages import TagChecker, layer
from ..factories.results import NOTICE, make_result


@pytest.fixture(scope="module")
def result() -> CoverageResult:
    return make_result()


@pytest.fixture(scope="module")
def page(result: CoverageResult, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = cmap.write_map(result, tmp_path_factory.mktemp("map") / "map.html")
    return path.read_text(encoding="utf-8")


def _script_blocks(html: str) -> list[str]:
    return re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.S | re.I)


def _js_name(name: str) -> str:
    """How a layer name is written into the page's script (JSON, UTF-8 kept)."""
    return json.dumps(name, ensure_ascii=False)


# --------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------
def test_page_loads_nothing_from_outside(page: str) -> None:
    assert find_external_assets(page) == []
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I)
    links = [m for m in re.findall(r"<link\b[^>]*>", page, re.I) if "stylesheet" in m.lower()]
    assert links == []
    # no http(s) URL in any script or stylesheet tag attribute
    assert not re.search(r"<(script|link)\b[^>]*https?://", page, re.I)


def test_page_inlines_leaflet_plugins_and_runtime(page: str) -> None:
    assert "Leaflet 1.9.3, a JS library for interactive maps" in page
    assert ".leaflet-container" in page  # the stylesheet
    assert "data:image/png;base64," in page  # layer-control icon from the vendored CSS
    assert "markerClusterGroup" in page and ".leaflet-cluster-anim" in page
    assert "L.Circle15 = {}" in page and "C15.CellCanvas" in page  # the runtime, inline
    assert "sourceMappingURL" not in page
    for dropped in (
        "jquery",
        "bootstrap",
        "awesome-markers",
        "fontawesome",
        "font-awesome",
        "groupedlayercontrol",
    ):
        assert dropped not in page.lower()


def test_page_is_well_formed_html(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    checker = TagChecker()
    checker.feed(page)
    checker.close()
    assert checker.errors == []
    assert checker.stack == []
    assert "<title>镇海区测试 Zhenhai test map</title>" in page
    assert any(t == "div" and "folium-map" in (a.get("class") or "") for t, a in checker.tags)


def test_page_has_title_and_synthetic_banner(page: str) -> None:
    assert '<div class="c15-title">镇海区测试 Zhenhai test map</div>' in page
    assert f"合成数据 SYNTHETIC DATA — {NOTICE}" in page
    assert 'class="c15-banner" role="alert"' in page


def test_no_banner_for_real_data() -> None:
    page = cmap.render_map(make_result(synthetic=False))
    assert "SYNTHETIC" not in page
    assert "合成数据" not in page
    assert 'class="c15-banner"' not in page
    assert '<div class="c15-title">镇海区测试 Zhenhai test map</div>' in page


def test_page_names_every_category_and_layer(page: str, result: CoverageResult) -> None:
    for cat in result.categories.values():
        assert cat.label in page  # legend, raw UTF-8
        # the control lists each layer under its category's heading
        for short in (
            cmap.FACILITIES_SHORT,
            cmap.WALKING_SHORT,
            cmap.SERVICE_AREAS_SHORT,
            cmap.GAPS_SHORT,
            cmap.CHOROPLETH_SHORT,
        ):
            assert f"{_js_name(short)}, {_js_name(cat.label)}" in page
    for name in (cmap.ZONES_LAYER_NAME, cmap.STUDY_LAYER_NAME, cmap.NO_BASEMAP_NAME):
        assert _js_name(name) in page
    assert '"collapsed":false' in page
    assert "L.control.scale()" in page
    assert ".fitBounds([[" in page and "{animate: false}" in page


def test_only_first_category_is_shown(result: CoverageResult) -> None:
    m = cmap.build_map(result)
    shown = {c.layer_name: c.show for c in m._children.values() if isinstance(c, DataLayer)}
    first, second = result.categories.values()
    assert shown[cmap.walking_layer_name(first)] is True
    assert shown[cmap.walking_layer_name(second)] is False
    assert shown[cmap.choropleth_layer_name(first)] is False
    assert shown[cmap.ZONES_LAYER_NAME] is True


def test_legend(page: str, result: CoverageResult) -> None:
    assert "图例 Legend" in page
    assert 'class="c15-legend leaflet-control" hidden' in page
    cat = next(iter(result.categories.values()))
    for name in cmap.tier_names(cat):
        assert name in page
    assert "15分钟内 within 15 min" in page
    assert "不可达 unreachable" in page
    for name in cmap.coverage_class_names():
        assert name in page
    assert "无数据 no data" in page
    assert "全区覆盖率 Study-wide coverage" in page
    all_row = result.districts.query("district == 'ALL' and category == @cat.key").iloc[0]
    assert f"{cat.label}: {all_row.coverage:.1%}" in page


def test_cells_travel_as_arrays_shared_by_every_category(result: CoverageResult) -> None:
    m = cmap.build_map(result)
    shared = [c for c in m._children.values() if isinstance(c, Shared) and c.factory]
    assert len(shared) == 1  # one cell geometry for both categories
    cells = shared[0].data
    assert cells["n"] == 12 and cells["poly"] is None
    assert cells["grid"]["ni"] == 4 and cells["grid"]["nj"] == 3
    assert cells["ids"] == {"prefix": "c", "width": 3, "start": 0}
    assert cells["districts"] == ["招宝山街道", "蛟川街道"]
    for cat in result.categories.values():
        walking = layer(m, cmap.walking_layer_name(cat))
        assert walking.factory == "walking" and walking.refs[1] is shared[0]
        assert layer(m, cmap.service_area_layer_name(cat)).refs == walking.refs


def test_user_text_is_data_not_markup(page: str) -> None:
    # names travel as JSON strings with "<" escaped; the runtime writes them as text
    assert "<托育>" not in page
    assert "A\\u0026B \\u003c托育\\u003e 中心" in page
    assert "&lt;" not in page.split("<script>", 1)[1]  # no HTML-escaping inside scripts


def test_page_is_the_same_every_time(result: CoverageResult) -> None:
    page = cmap.render_map(result)
    assert page == cmap.render_map(result)
    # branca's element names are numbered in order, not random
    ids = set(re.findall(r"(?<=_)[0-9a-f]{32}(?![0-9a-f])", page))
    assert ids and all(int(i, 16) < 1000 for i in ids)


def test_coordinates_are_wgs84_and_rounded(result: CoverageResult) -> None:
    m = cmap.build_map(result)
    facilities = layer(m, cmap.facility_layer_name(next(iter(result.categories.values()))))
    lats, lngs = facilities.data["lat"], facilities.data["lng"]
    assert all(29.9 < v < 30.1 for v in lats) and all(121.5 < v < 121.7 for v in lngs)
    assert all(round(v, 6) == v for v in lats + lngs)


def test_tiles_are_optional(result: CoverageResult) -> None:
    page = cmap.render_map(result, tiles=None)
    assert "tile.openstreetmap.org" not in page
    assert "L.tileLayer" not in page
    assert _js_name(cmap.NO_BASEMAP_NAME) not in page
    assert find_external_assets(page) == []
    with_tiles = cmap.render_map(result)
    assert "tile.openstreetmap.org" in with_tiles


def test_html_is_small(page: str) -> None:
    assert len(page.encode("utf-8")) < 300_000


def test_map_object_saves_offline(result: CoverageResult, tmp_path: Path) -> None:
    m = cmap.build_map(result, tiles=None)
    m.save(str(tmp_path / "saved.html"))
    saved = (tmp_path / "saved.html").read_text(encoding="utf-8")
    assert find_external_assets(saved) == []
    assert "Leaflet 1.9.3" in saved
    assert "Leaflet 1.9.3" in m._repr_html_()  # notebook display is offline too
    assert result.map().get_root().render() == cmap.render_map(result)


def test_write_map_is_atomic_and_overwrites(result: CoverageResult, tmp_path: Path) -> None:
    target = tmp_path / "out" / "map.html"
    target.parent.mkdir()
    target.write_text("old", encoding="utf-8")
    assert cmap.write_map(result, target, tiles=None) == target
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in target.parent.iterdir()) == ["map.html"]


def test_write_map_leaves_no_temp_file_on_error(
    result: CoverageResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        cmap.write_map(result, tmp_path / "map.html", tiles=None)
    assert list(tmp_path.iterdir()) == []


def test_sparse_result_still_maps(result: CoverageResult) -> None:
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
    page = cmap.render_map(bare, tiles=None)
    assert find_external_assets(page) == []
    assert "全区覆盖率" not in page


# --------------------------------------------------------------------------------------
# Classes
# --------------------------------------------------------------------------------------
def test_tiers(result: CoverageResult) -> None:
    cat = next(iter(result.categories.values()))
    assert cmap.tier_labels(cat) == ["0-5", "5-10", "10-15", ">15"]
    assert cmap.tier_names(cat)[0] == "5分钟内 within 5 min"
    assert len(cmap.tier_colours(3)) == 5
    cells = result.cells
    idx = cmap.tier_index(cells, cat)
    assert idx.tolist() == [0, 0, 1, 1, 0, 0, 1, 2, 1, 2, 3, 4]
    # without the tier column, tiers come from the minutes
    no_tier = cells.drop(columns=[f"tier_{cat.key}"])
    assert cmap.tier_index(no_tier, cat).tolist() == idx.tolist()


def test_coverage_class() -> None:
    got = cmap.coverage_class([0.0, 0.19, 0.2, 0.55, 0.8, 1.0, np.nan])
    assert got.tolist() == [0, 0, 1, 2, 4, 4, -1]


# --------------------------------------------------------------------------------------
# Offline assets
# --------------------------------------------------------------------------------------
def test_folium_leaflet_is_vendored() -> None:
    """A folium upgrade that moves Leaflet must come with a newly vendored copy."""
    urls = dict(folium.Map.default_js) | dict(folium.Map.default_css)
    assert urls["leaflet"] in vendored_urls()
    assert urls["leaflet_css"] in vendored_urls()


def test_inline_assets_replaces_vendored_links() -> None:
    js, css = dict(folium.Map.default_js)["leaflet"], dict(folium.Map.default_css)["leaflet_css"]
    page = (
        f'<!DOCTYPE html><html><head><script src="{js}"></script>'
        f'<link rel="stylesheet" href="{css}"/></head><body></body></html>'
    )
    out = inline_assets(page)
    assert find_external_assets(out) == []
    assert asset_text(js) in out
    assert "url(images/layers.png)" not in out


@pytest.mark.parametrize(
    "tag",
    [
        '<script src="https://cdn.example.org/plugin.js"></script>',
        '<script src="//cdn.example.org/plugin.js"></script>',
        '<script defer src="plugin.js"></script>',
        '<link rel="stylesheet" href="https://cdn.example.org/plugin.css"/>',
        "<style>@import url('https://fonts.example.org/css');</style>",
        "<style>.x { background: url(https://cdn.example.org/a.png) }</style>",
    ],
)
def test_inline_assets_refuses_remote_assets(tag: str) -> None:
    page = f"<!DOCTYPE html><html><head>{tag}</head><body></body></html>"
    with pytest.raises(OfflineAssetError, match="npm pack"):
        inline_assets(page)


def test_inline_assets_keeps_harmless_links() -> None:
    page = (
        '<html><head><link rel="icon" href="data:,"/><script>var a = 1;</script></head>'
        '<body><a href="https://www.openstreetmap.org/copyright">OSM</a></body></html>'
    )
    assert inline_assets(page) == page


def test_vendored_files_match_manifest_and_readme() -> None:
    static = resources.files("circle15").joinpath("_static")
    manifest = json.loads(static.joinpath("manifest.json").read_text(encoding="utf-8"))
    readme = static.joinpath("README.md").read_text(encoding="utf-8")
    for relpath, entry in manifest["files"].items():
        node = static
        for part in relpath.split("/"):
            node = node.joinpath(part)
        assert hashlib.sha256(node.read_bytes()).hexdigest() == entry["sha256"], relpath
        assert entry["package"] in manifest["packages"]
        assert f"`{relpath}`" in readme and entry["sha256"] in readme
    for package, info in manifest["packages"].items():
        assert package in readme and info["license"] in readme
    assert set(manifest["urls"].values()) <= set(manifest["files"])


def test_rendering_twice_adds_header_and_legend_once(result: CoverageResult) -> None:
    root = cmap.build_map(result, tiles=None).get_root()
    first = root.render()
    page = root.render()
    assert page == first
    assert page.count('class="c15-banner"') == 1
    assert page.count('class="c15-legend leaflet-control"') == 1
    assert page.count("Leaflet 1.9.3, a JS library") == 1
    assert page.count("L.Circle15 = {}") == 1


def test_categories_with_their_own_tiers(result: CoverageResult) -> None:
    first, second = result.categories.values()
    other = replace(second, tiers_min=(10.0, 20.0), target_min=20.0)
    cells = result.cells.drop(columns=[f"tier_{other.key}"])
    mixed = replace(result, categories={first.key: first, other.key: other}, cells=cells)
    page = cmap.render_map(mixed, tiles=None)
    assert "超过20分钟 over 20 min" in page and "超过15分钟 over 15 min" in page
    assert f"({first.label})" in page and f"({other.label})" in page
    assert cmap.tier_index(cells, other).tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 2]
