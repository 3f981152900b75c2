"""Maps of city-sized grids: above MAX_MAP_CELLS, walking-time tiers are merged polygons."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from circle15.outputs import map as cmap
from circle15.outputs.map_tiers import tier_polygons
from circle15.result import CoverageResult
from circle15.standards import load_standards
from tests.test_map import make_result

CRS = "EPSG:32651"
CELL_M = 100.0
SIDE = 200  # 200 x 200 = 40,000 cells, above MAX_MAP_CELLS
SPEED_M_PER_MIN = 80.0


def _tier_label(t: np.ndarray) -> np.ndarray:
    """Tier labels written by hand (a time on a bound is in the tier below it)."""
    out = np.full(len(t), "unreachable", dtype=object)
    reach = ~np.isnan(t)
    out[reach & (t <= 5)] = "0-5"
    out[reach & (t > 5) & (t <= 10)] = "5-10"
    out[reach & (t > 10) & (t <= 15)] = "10-15"
    out[reach & (t > 15)] = ">15"
    return out


def big_result() -> CoverageResult:
    """A synthetic 20 km x 20 km grid of 100 m cells, times = straight-line walk to a site."""
    cats = dict(list(load_standards().categories.items())[:2])
    x, y = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(121.6, 29.98)
    x0, y0 = round(x, -2), round(y, -2)
    i, j = np.meshgrid(np.arange(SIDE), np.arange(SIDE))
    i, j = i.ravel(), j.ravel()
    geoms = shapely.box(x0 + i * CELL_M, y0 + j * CELL_M,
                        x0 + (i + 1) * CELL_M, y0 + (j + 1) * CELL_M)
    cx, cy = (i + 0.5) * CELL_M, (j + 0.5) * CELL_M
    rng = np.random.default_rng(15)
    data: dict[str, object] = {
        "cell_id": [f"c{k}" for k in range(len(i))],
        "district": np.where(i < SIDE // 2, "招宝山街道", "蛟川街道"),
        "pop_total": rng.integers(1, 400, len(i)).astype(float),
    }
    sites = {}
    for n, key in enumerate(cats):
        site = np.array([[4_000.0 + 6_000 * n, 5_000.0], [14_000.0, 15_000.0 - 4_000 * n]])
        dist = np.min(np.hypot(cx[:, None] - site[:, 0], cy[:, None] - site[:, 1]), axis=1)
        t = dist / SPEED_M_PER_MIN
        t[(i > SIDE - 20) & (j > SIDE - 20)] = np.nan  # a corner cut off from the streets
        data[f"pop_{key}"] = rng.integers(0, 40, len(i)).astype(float)
        data[f"t_{key}"] = t
        data[f"tier_{key}"] = _tier_label(t)
        data[f"nearest_{key}"] = np.where(np.isnan(t), None, f"{key}-1")
        sites[key] = site
    cells = gpd.GeoDataFrame(data, geometry=geoms, crs=CRS)
    facilities = gpd.GeoDataFrame(
        {"category": [k for k in cats for _ in range(2)],
         "facility_id": [f"{k}-{m}" for k in cats for m in (1, 2)],
         "name": [f"{cats[k].label} {m}" for k in cats for m in (1, 2)],
         "capacity": 100.0, "snapped": True, "snap_m": 10.0},
        geometry=shapely.points(np.vstack([sites[k] for k in cats]) + np.array([x0, y0])),
        crs=CRS,
    )
    return CoverageResult(
        name="scale", title="合成城市 Synthetic city", categories=cats, cells=cells,
        districts=None, gaps=None, facilities=facilities, zones=None,
        area=shapely.box(x0, y0, x0 + SIDE * CELL_M, y0 + SIDE * CELL_M),
        synthetic=True, notice="合成数据 synthetic grid for a test",
    )


@pytest.fixture(scope="module")
def result() -> CoverageResult:
    return big_result()


@pytest.fixture(scope="module")
def built(result: CoverageResult) -> tuple[object, str]:
    m = cmap.build_map(result, tiles=None)
    return m, m.get_root().render()


def _tier_features(m, category) -> list[dict]:
    """The GeoJSON features of a category's walking-time layer in a built map."""
    name = cmap.walking_layer_name(category)
    groups = [c for c in m._children.values() if getattr(c, "layer_name", None) == name]
    assert len(groups) == 1, f"one walking-time layer for {category.key}"
    layers = [c for c in groups[0]._children.values() if hasattr(c, "data")]
    return json.loads(layers[0].data)["features"]


def test_threshold_is_above_the_demo():
    assert cmap.MAX_MAP_CELLS > 5_377


def test_page_is_small_and_says_cells_were_merged(result, built, tmp_path):
    _, page = built
    assert len(result.cells) > cmap.MAX_MAP_CELLS
    # Drawn cell by cell this page is 5.3 MB; merged by tier it is about 0.3 MB.
    assert len(page.encode("utf-8")) < 3_000_000
    assert "40,000个网格按分级合并显示" in page
    assert "40,000 cells are too many to draw one by one" in page
    assert "Circle15CellGrid" not in page and "circle15_cell_grid" not in page
    written = cmap.write_map(result, tmp_path / "map.html", tiles=None)
    assert written.stat().st_size < 3_000_000


def test_every_tier_has_a_polygon_and_populations_add_up(result, built):
    m, _ = built
    cells = result.cells
    for key, cat in result.categories.items():
        features = _tier_features(m, cat)
        names = cmap.tier_names(cat)
        # Oracle: a pandas groupby of the cells by their (hand-written) tier labels.
        labels = [*cmap.tier_labels(cat), "unreachable"]
        by_tier = cells.groupby(f"tier_{key}")[f"pop_{key}"].agg(["sum", "size"])
        expected = {names[labels.index(lab)]: row for lab, row in by_tier.iterrows()}
        got = {f["properties"]["tier_name"]: f for f in features}
        assert set(got) == set(expected)
        for tier, row in expected.items():
            props = got[tier]["properties"]
            assert props["population"] == f"{row['sum']:,.0f}"
            assert props["cells"] == f"{row['size']:,.0f}"
            assert props["area_km2"] == f"{row['size'] * CELL_M**2 / 1e6:,.2f}"
            assert got[tier]["geometry"]["type"] in ("Polygon", "MultiPolygon")
        total = sum(float(f["properties"]["population"].replace(",", "")) for f in features)
        assert total == pytest.approx(cells[f"pop_{key}"].sum())


def test_tier_polygons_cover_their_cells_without_overlap(result):
    cells = result.cells
    cat = next(iter(result.categories.values()))
    tier = cmap.tier_index(cells, cat)
    merged = tier_polygons(cells, tier, cells[f"pop_{cat.key}"].to_numpy(),
                           cells_form_coverage=True)
    counts = np.bincount(tier)
    geoms = merged.geometry.to_numpy()
    # Each tier's polygon has exactly its cells' area (100 m cells: 1 ha each) ...
    np.testing.assert_allclose(shapely.area(geoms), counts[merged["tier"]] * CELL_M**2)
    # ... and the tiers do not overlap: together they are the whole grid.
    assert shapely.area(shapely.union_all(geoms)) == pytest.approx(SIDE * SIDE * CELL_M**2)
    general = tier_polygons(cells, tier, cells[f"pop_{cat.key}"].to_numpy(),
                            cells_form_coverage=False)
    assert shapely.equals(general.geometry.to_numpy(), geoms).all()
    # The map's 5 m simplification only drops vertices along straight edges of the grid.
    simplified = tier_polygons(cells, tier, cells[f"pop_{cat.key}"].to_numpy(),
                               cells_form_coverage=True, simplify=5.0).geometry.to_numpy()
    assert shapely.is_valid(simplified).all()
    np.testing.assert_allclose(shapely.area(simplified), shapely.area(geoms))
    assert (shapely.get_num_coordinates(simplified) <= shapely.get_num_coordinates(geoms)).all()


def test_small_results_keep_drawing_cells(monkeypatch):
    small = make_result()
    page = cmap.render_map(small, tiles=None)
    assert "circle15_cell_grid" in page and "cells merged by tier" not in page
    monkeypatch.setattr(cmap, "MAX_MAP_CELLS", 5)
    merged = cmap.render_map(small, tiles=None)
    assert "circle15_cell_grid" not in merged
    assert "12个网格按分级合并显示" in merged
    # The merged layer's popups give tier, area and population.
    assert re.search(r'"tier_name":\s*"5分钟内 within 5 min"', merged)
    assert "面积 Area (km²)" in merged and "网格数 Cells" in merged


def test_only_the_most_populous_gaps_are_outlined(result, monkeypatch):
    cat = next(iter(result.categories.values()))
    cells = result.cells
    far = cells[cells[f"tier_{cat.key}"] == ">15"].iloc[:300]
    rng = np.random.default_rng(7)
    population = rng.permutation(300).astype(float) + 1  # distinct, so the top 50 is unique
    order = np.argsort(-population, kind="stable")
    gaps = gpd.GeoDataFrame(
        {"category": cat.key, "gap_id": [f"g{k}" for k in range(300)],
         "rank": np.argsort(order) + 1, "district": far["district"].to_numpy(),
         "population": population, "cells": 1, "area_km2": 0.01, "mean_min": 20.0,
         "nearest_facility": f"{cat.key}-1", "nearest_name": "x", "nearest_min": 20.0},
        geometry=far.geometry.to_numpy(), crs=CRS,
    )
    monkeypatch.setattr(cmap, "MAX_MAP_GAPS", 50)
    layer = cmap._gap_layer(gaps, cat)
    drawn = {f["properties"]["gap_id"] for f in layer.data["features"]}
    # Oracle: the 50 largest populations, by pandas.
    expected = set(gaps.nlargest(50, "population")["gap_id"])
    assert drawn == expected
    page = cmap.render_map(replace(result, gaps=gaps), tiles=None)
    assert "the 50 most populous of 300 gaps are outlined" in page


def test_merged_tiers_draw_and_open_popups_in_chromium(result, tmp_path):
    """The merged layer's own script runs in a real browser (skips without Chromium)."""
    from tests.test_browser import FLAGS, VIEWPORT, chromium_binary

    exe = chromium_binary()
    if exe is None:
        pytest.skip("no Chromium binary found (install Debian's `chromium`)")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Without facilities: with tiles=None the marker clusters stop the page's script
    # ("Map has no maxZoom specified"), a separate problem of the facility layer.
    path = cmap.write_map(replace(result, facilities=None), tmp_path / "map.html", tiles=None)
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=FLAGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(path.as_uri(), wait_until="load")
        # Only the first category is shown on opening: one path per tier it has.
        tiers = result.cells[f"tier_{next(iter(result.categories))}"].nunique()
        assert page.locator("path.leaflet-interactive").count() >= tiers
        box = page.locator(".folium-map").bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
        popup = page.locator(".leaflet-popup-content").first
        popup.wait_for(timeout=5_000)
        text = popup.inner_text()
        browser.close()
    assert errors == []
    assert "分级 Tier" in text and "面积 Area (km²)" in text
