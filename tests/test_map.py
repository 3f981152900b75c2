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
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import ClassVar

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import Point, box

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
from circle15.standards import load_standards

CRS = "EPSG:32651"
CELL_M = 250.0
NOTICE = "人口与设施为演示用合成数据 population and facilities are made up for the demo"


# --------------------------------------------------------------------------------------
# Fixture: 4 x 3 cells of 250 m near lon 121.6, lat 29.98; two sub-districts
# --------------------------------------------------------------------------------------
def _origin() -> tuple[float, float]:
    x, y = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(121.6, 29.98)
    return round(x, -2), round(y, -2)


def make_result(*, synthetic: bool = True) -> CoverageResult:
    """A small hand-made CoverageResult with two categories."""
    cats = dict(list(load_standards().categories.items())[:2])
    k1, k2 = cats
    x0, y0 = _origin()
    cols, rows = 4, 3
    ij = [(i, j) for j in range(rows) for i in range(cols)]
    geoms = [
        box(x0 + i * CELL_M, y0 + j * CELL_M, x0 + (i + 1) * CELL_M, y0 + (j + 1) * CELL_M)
        for i, j in ij
    ]
    n = len(ij)
    west = np.array([i < 2 for i, _ in ij])
    t1 = np.array([2.0, 4.5, 6.0, 8.0, 3.0, 5.0, 9.5, 12.0, 7.0, 14.0, 16.5, np.nan])
    t2 = np.array([1.0, 3.0, 5.5, 7.5, 2.5, 4.0, 10.5, 11.0, 6.0, 13.0, 18.0, 22.0])

    def tier(t: np.ndarray) -> list[str]:
        out = []
        for v in t:
            out.append(
                "unreachable"
                if np.isnan(v)
                else "0-5"
                if v <= 5
                else "5-10"
                if v <= 10
                else "10-15"
                if v <= 15
                else ">15"
            )
        return out

    cells = gpd.GeoDataFrame(
        {
            "cell_id": [f"c{i:03d}" for i in range(n)],
            "district": np.where(west, "招宝山街道", "蛟川街道"),
            "pop_total": np.full(n, 400.0),
            f"pop_{k1}": np.linspace(3.0, 14.0, n),
            f"t_{k1}": t1,
            f"nearest_{k1}": ["F1" if w else "F2" for w in west[:-1]] + [None],
            f"tier_{k1}": tier(t1),
            f"pop_{k2}": np.linspace(5.0, 27.0, n),
            f"t_{k2}": t2,
            f"nearest_{k2}": ["K1" if w else "K2" for w in west],
            f"tier_{k2}": tier(t2),
        },
        geometry=geoms,
        crs=CRS,
    )
    zones = gpd.GeoDataFrame(
        {"district": ["招宝山街道", "蛟川街道"], "name_en": ["Zhaobaoshan", "Jiaochuan"]},
        geometry=[
            box(x0, y0, x0 + 2 * CELL_M, y0 + rows * CELL_M),
            box(x0 + 2 * CELL_M, y0, x0 + cols * CELL_M, y0 + rows * CELL_M),
        ],
        crs=CRS,
    )
    area = zones.union_all()
    gaps = gpd.GeoDataFrame(
        {
            "category": [k1, k2],
            "gap_id": [f"{k1}-1", f"{k2}-1"],
            "rank": [1, 1],
            "district": ["蛟川街道", "蛟川街道"],
            "population": [25.2, 49.0],
            "cells": [2, 2],
            "area_km2": [0.125, 0.125],
            "mean_min": [np.nan, 20.0],
            "nearest_facility": ["F2", "K2"],
            "nearest_name": ["蛟川托育园", "蛟川幼儿园"],
            "nearest_min": [16.5, 18.0],
        },
        geometry=[box(x0 + 2 * CELL_M, y0 + 2 * CELL_M, x0 + 4 * CELL_M, y0 + 3 * CELL_M)] * 2,
        crs=CRS,
    )
    facilities = gpd.GeoDataFrame(
        {
            "category": [k1, k1, k2, k2],
            "facility_id": ["F1", "F2", "K1", "K2"],
            "name": ["招宝山托育园", "A&B <托育> 中心", "招宝山幼儿园", "蛟川幼儿园"],
            "capacity": [60, 40, 270, np.nan],
            "snapped": [True, True, True, False],
            "snap_m": [12.0, 30.5, 8.0, 420.0],
        },
        geometry=[
            Point(x0 + 100, y0 + 100),
            Point(x0 + 800, y0 + 300),
            Point(x0 + 300, y0 + 500),
            Point(x0 + 900, y0 + 650),
        ],
        crs=CRS,
    )
    records = []
    for key, cat in cats.items():
        t = cells[f"t_{key}"].to_numpy()
        pop = cells[f"pop_{key}"].to_numpy()
        for name, mask in [("招宝山街道", west), ("蛟川街道", ~west), ("ALL", np.ones(n, bool))]:
            tt, pp = t[mask], pop[mask]
            total = pp.sum()
            reach = ~np.isnan(tt)
            covered = pp[reach & (tt <= cat.target_min)].sum()
            records.append(
                {
                    "district": name,
                    "category": key,
                    "population": total,
                    "pop_within_5": pp[reach & (tt <= 5)].sum(),
                    "pop_within_10": pp[reach & (tt <= 10)].sum(),
                    "pop_within_15": covered,
                    "target_min": cat.target_min,
                    "covered_population": covered,
                    "coverage": covered / total,
                    "mean_min": np.average(tt[reach], weights=pp[reach]),
                    "p90_min": float(np.nanpercentile(tt, 90)),
                    "unreachable_population": pp[~reach].sum(),
                }
            )
    return CoverageResult(
        name="test",
        title="镇海区测试 Zhenhai test map",
        categories=cats,
        cells=cells,
        districts=pd.DataFrame(records),
        gaps=gaps,
        facilities=facilities,
        zones=zones,
        area=area,
        synthetic=synthetic,
        notice=NOTICE if synthetic else "",
    )


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


def layer(m: folium.Map, name: str) -> DataLayer:
    """The circle15 layer called ``name`` in a built map."""
    found = [c for c in m._children.values() if isinstance(c, DataLayer) and c.layer_name == name]
    assert len(found) == 1, f"one layer named {name!r}, found {len(found)}"
    return found[0]


class _Checker(HTMLParser):
    """Record tags, and check that non-void elements are closed in order."""

    VOID: ClassVar[set[str]] = {
        "meta",
        "link",
        "br",
        "img",
        "input",
        "hr",
        "source",
        "wbr",
        "area",
        "base",
        "col",
    }

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


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
    checker = _Checker()
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
