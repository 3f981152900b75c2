"""Maps of city-sized grids and of irregular areas: every cell drawn and found under a click.

A 200 x 200 grid of 100 m cells (40,000 cells) and a set of census-like polygons are drawn
in a real Chromium; at sampled cells the canvas pixel has the cell's tier colour and a real
mouse click opens the popup of that very cell. The oracle is the cells' own table: tier
labels written by hand from straight-line walking times, cell ids, and their positions
projected with pyproj.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from circle15.outputs import map as cmap
from circle15.result import CoverageResult
from circle15.standards import load_standards

CRS = "EPSG:32651"
CELL_M = 100.0
SIDE = 200  # 200 x 200 = 40,000 cells
SPEED_M_PER_MIN = 80.0
#: Sampled cells per map, spread over the grid (and the cut-off corner).
SAMPLES = 24


def _tier_label(t: np.ndarray) -> np.ndarray:
    """Tier labels written by hand (a time on a bound is in the tier below it)."""
    out = np.full(len(t), "unreachable", dtype=object)
    reach = ~np.isnan(t)
    out[reach & (t <= 5)] = "0-5"
    out[reach & (t > 5) & (t <= 10)] = "5-10"
    out[reach & (t > 10) & (t <= 15)] = "10-15"
    out[reach & (t > 15)] = ">15"
    return out


def _result(geoms: np.ndarray, centres: np.ndarray, ids: list[str], title: str) -> CoverageResult:
    """Cells with straight-line walking times to two sites per category."""
    cats = dict(list(load_standards().categories.items())[:2])
    x0, y0 = centres.min(axis=0)
    rng = np.random.default_rng(15)
    n = len(geoms)
    data: dict[str, object] = {
        "cell_id": ids,
        "district": np.where(centres[:, 0] < np.median(centres[:, 0]), "招宝山街道", "蛟川街道"),
        "pop_total": rng.integers(1, 400, n).astype(float),
    }
    span = centres.max(axis=0) - centres.min(axis=0)
    sites = {}
    for k, key in enumerate(cats):
        site = np.array([[0.2 + 0.3 * k, 0.25], [0.7, 0.75 - 0.2 * k]]) * span + [x0, y0]
        dist = np.min(
            np.hypot(centres[:, None, 0] - site[:, 0], centres[:, None, 1] - site[:, 1]), axis=1
        )
        t = dist / SPEED_M_PER_MIN
        far = (centres[:, 0] > x0 + 0.9 * span[0]) & (centres[:, 1] > y0 + 0.9 * span[1])
        t[far] = np.nan  # a corner cut off from the streets
        data[f"pop_{key}"] = rng.integers(0, 40, n).astype(float)
        data[f"t_{key}"] = t
        data[f"tier_{key}"] = _tier_label(t)
        data[f"nearest_{key}"] = np.where(np.isnan(t), None, f"{key}-1")
        sites[key] = site
    cells = gpd.GeoDataFrame(data, geometry=geoms, crs=CRS)
    facilities = gpd.GeoDataFrame(
        {
            "category": [k for k in cats for _ in range(2)],
            "facility_id": [f"{k}-{m}" for k in cats for m in (1, 2)],
            "name": [f"{cats[k].label} {m}" for k in cats for m in (1, 2)],
            "capacity": 100.0,
            "snapped": True,
            "snap_m": 10.0,
        },
        geometry=shapely.points(np.vstack([sites[k] for k in cats])),
        crs=CRS,
    )
    return CoverageResult(
        name="scale",
        title=title,
        categories=cats,
        cells=cells,
        districts=None,
        gaps=None,
        facilities=facilities,
        zones=None,
        area=shapely.union_all(geoms).envelope,
        synthetic=True,
        notice="合成数据 synthetic grid for a test",
    )


def _origin() -> tuple[float, float]:
    x, y = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(121.6, 29.98)
    return round(x, -2), round(y, -2)


def big_result() -> CoverageResult:
    """A synthetic 20 km x 20 km grid of 100 m cells."""
    x0, y0 = _origin()
    i, j = np.meshgrid(np.arange(SIDE), np.arange(SIDE))
    i, j = i.ravel(), j.ravel()
    geoms = shapely.box(
        x0 + i * CELL_M, y0 + j * CELL_M, x0 + (i + 1) * CELL_M, y0 + (j + 1) * CELL_M
    )
    centres = np.column_stack([x0 + (i + 0.5) * CELL_M, y0 + (j + 0.5) * CELL_M])
    return _result(geoms, centres, [f"c{k}" for k in range(len(i))], "合成城市 Synthetic city")


def census_result() -> CoverageResult:
    """Irregular areas (clipped Voronoi cells, one with a hole) and some clipped grid cells."""
    x0, y0 = _origin()
    rng = np.random.default_rng(4)
    points = shapely.points(rng.uniform(0, 3_000, (60, 2)) + np.array([x0, y0]))
    box = shapely.box(x0, y0, x0 + 3_000, y0 + 3_000)
    areas = shapely.intersection(
        shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points))), box
    )
    areas[0] = shapely.difference(areas[0], shapely.buffer(shapely.centroid(areas[0]), 60))
    i, j = np.meshgrid(np.arange(10), np.arange(10))
    squares = shapely.box(
        x0 + 3_500 + i.ravel() * 200,
        y0 + j.ravel() * 200,
        x0 + 3_700 + i.ravel() * 200,
        y0 + 200 + j.ravel() * 200,
    )
    squares = shapely.intersection(squares, shapely.buffer(shapely.Point(x0 + 3_500, y0), 1_700))
    squares = squares[~shapely.is_empty(squares)]
    geoms = np.concatenate([areas, squares])
    centres = shapely.get_coordinates(shapely.point_on_surface(geoms))
    ids = [f"区-{k}" for k in range(len(areas))] + [f"sq{k:03d}" for k in range(len(squares))]
    return _result(geoms, centres, ids, "普查区 Census areas")


def test_every_cell_travels_and_the_page_stays_small(tmp_path) -> None:
    result = big_result()
    page = cmap.render_map(result, tiles=None)
    # 40,000 cells, two categories: about a megabyte (GeoJSON cells would be ~20 MB).
    assert len(page.encode("utf-8")) < 2_000_000
    assert "merged" not in page
    m = cmap.build_map(result, tiles=None)
    grid = next(c for c in m._children.values() if getattr(c, "factory", None) == "Cells").data
    assert grid["n"] == SIDE * SIDE and grid["poly"] is None
    assert (grid["grid"]["ni"], grid["grid"]["nj"]) == (SIDE, SIDE)


def _samples(result: CoverageResult) -> list[int]:
    """Cells spread over the map, always including unreachable ones."""
    key = next(iter(result.categories))
    unreachable = np.flatnonzero(result.cells[f"tier_{key}"] == "unreachable")
    spread = np.linspace(0, len(result.cells) - 1, SAMPLES - 3).astype(int)
    return sorted(
        set(spread.tolist()) | set(unreachable[:: max(1, len(unreachable) // 3)][:3].tolist())
    )


_PROBE = """([lat, lng]) => {
    const map = Object.values(window).find(o => o instanceof L.Map);
    map.closePopup();
    map.setView([lat, lng], 17, {animate: false});
    const layer = Object.values(map._layers).find(l => l instanceof L.Circle15.CellCanvas);
    const p = map.latLngToLayerPoint([lat, lng]).subtract(layer._bounds.min);
    const r = window.devicePixelRatio || 1;
    const px = layer._ctx.getImageData(Math.round(p.x * r), Math.round(p.y * r), 1, 1).data;
    const c = map.latLngToContainerPoint([lat, lng]);
    const box = map.getContainer().getBoundingClientRect();
    return {rgb: [px[0], px[1], px[2]], alpha: px[3], x: box.left + c.x, y: box.top + c.y};
}"""


def _hex(rgb: list[int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _check_in_chromium(result: CoverageResult, path) -> int:
    """Sample cells: pixel colour and the popup of a real click. Returns cells checked."""
    from ..factories.browser import FLAGS, VIEWPORT, chromium_binary

    exe = chromium_binary()
    if exe is None:
        pytest.skip("no Chromium binary found (install Debian's `chromium`)")
    sync_api = pytest.importorskip("playwright.sync_api")
    cat = next(iter(result.categories.values()))
    names = cmap.tier_names(cat)
    colours = cmap.tier_colours(len(cat.tiers_min))
    labels = [*cmap.tier_labels(cat), "unreachable"]
    centres = gpd.GeoSeries(result.cells.geometry.representative_point(), crs=CRS).to_crs(4326)
    errors: list[str] = []
    checked = 0
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=FLAGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(path.as_uri(), wait_until="load")
        for k in _samples(result):
            row = result.cells.iloc[k]
            point = centres.iloc[k]
            probe = page.evaluate(_PROBE, [point.y, point.x])
            page.wait_for_function("() => !document.querySelector('.leaflet-popup')")
            tier = labels.index(row[f"tier_{cat.key}"])
            assert probe["alpha"] == 255, (k, probe)
            assert _hex(probe["rgb"]) == colours[tier], (k, row["cell_id"], probe)
            page.mouse.click(probe["x"], probe["y"])
            popup = page.locator(".leaflet-popup-content")
            popup.wait_for(timeout=5_000)
            text = popup.text_content()
            assert f"网格 Cell{row['cell_id']}" in text, (k, text)
            assert f"分级 Tier{names[tier]}" in text, (k, text)
            t = row[f"t_{cat.key}"]
            walk = "不可达 unreachable" if np.isnan(t) else f"{t:.1f} 分钟 min"
            assert f"步行时间 Walking time{walk}" in text, (k, text)
            checked += 1
        browser.close()
    assert errors == []
    return checked


def test_every_cell_is_drawn_and_clickable_in_chromium(tmp_path) -> None:
    result = big_result()
    path = cmap.write_map(result, tmp_path / "map.html", tiles=None)
    assert _check_in_chromium(result, path) >= SAMPLES - 3


def test_irregular_areas_are_drawn_and_clickable_in_chromium(tmp_path) -> None:
    result = census_result()
    m = cmap.build_map(result, tiles=None)
    grid = next(c for c in m._children.values() if getattr(c, "factory", None) == "Cells").data
    assert grid["poly"] is not None and grid["grid"] is not None  # both kinds present
    path = cmap.write_map(result, tmp_path / "census.html", tiles=None)
    assert _check_in_chromium(result, path) >= SAMPLES - 3
    assert re.search("区-0", path.read_text(encoding="utf-8"))
