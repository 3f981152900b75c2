"""Hostile names in every map: shown as text, never run (issue 13, item 3).

Every string a map shows from input or config (facility, district, category names incl. a
category's ``name_zh``, cell and gap ids, the planner's extra columns, network-issue notes,
region names and keys, site names, the title and the synthetic notice) is replaced by an
attack: markup with event handlers, ``</script>``, attribute breakouts, ``javascript:``
URLs, template expressions, ``<!--`` and the JavaScript line separators. The maps —
``map.html``, ``sites_map.html``, the batch overview, and the map as framed in
``report.html`` — are opened in Debian's headless Chromium; every layer of the layer
control is shown alone, every feature (a sample of cells) is hovered and clicked with the
real mouse, and the test asserts that no script ran (a ``window.__pwned`` counter that
every payload would increment, dialogs, injected elements or handlers) and that each
payload appeared as text.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from circle15.outputs import map as cmap
from circle15.outputs.overview_map import write_overview_map
from circle15.outputs.sites import sites_map
from circle15.planning.sites import SiteSelection
from circle15.result import CoverageResult

from ..factories.results import CRS, make_result, network_issues

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed (test extra)"
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PWN = "window.__pwned=(window.__pwned||0)+1"
PAYLOADS = {
    "img": f'<img src=x onerror="{PWN}">',
    "script": f"</script><script>{PWN}</script>",
    "attr": f'"onmouseover="{PWN}" data-x="',
    "quote": f"'-{PWN}-'",
    "url": f"javascript:{PWN}",
    "template": "{{7*7}}{{ this.__class__.__name__ }}",
    "comment": "<!-- <script>",
    "lines": "行\u2028分\u2029段",
    "svg": f"<svg/onload={PWN}>",
    "link": f'<a href="javascript:{PWN}">点</a>',
}
#: Cells tried per cell layer (every vector feature and marker is tried).
CELLS_PER_LAYER = 4


def _hostile_result() -> CoverageResult:
    """The small hand-made result with an attack in every text a map shows."""
    r = make_result()
    p = PAYLOADS
    first, second = r.categories.values()
    cats = {
        first.key: replace(first, name_zh=f"托育{p['svg']}"),
        second.key: replace(second, name_en=f"Kindergarten {p['attr']}"),
    }
    west, east = f"招宝山{p['img']}", f"蛟川{p['lines']}"
    rename = {"招宝山街道": west, "蛟川街道": east}
    fac_ids = {
        "F1": f"F1{p['url']}",
        "F2": f"F2{p['quote']}",
        "K1": f"K1{p['comment']}",
        "K2": "K2",
    }
    cells = r.cells.copy()
    cells["district"] = cells["district"].map(rename)
    cells["cell_id"] = [f"c{k}{p['script'] if k % 2 else p['template']}" for k in range(len(cells))]
    for key in cats:
        cells[f"nearest_{key}"] = (
            cells[f"nearest_{key}"]
            .map(lambda v: None if v is None or pd.isna(v) else fac_ids[v])
            .astype(object)
        )
    zones = r.zones.copy()
    zones["district"] = zones["district"].map(rename)
    zones["name_en"] = [p["quote"], p["link"]]
    districts = r.districts.copy()
    districts["district"] = districts["district"].replace(rename)
    gaps = r.gaps.copy()
    gaps["district"] = gaps["district"].map(rename)
    gaps["gap_id"] = [f"gap{p['img']}", f"gap{p['template']}"]
    gaps["nearest_facility"] = gaps["nearest_facility"].map(fac_ids)
    gaps["nearest_name"] = [p["script"], p["lines"]]
    facilities = r.facilities.copy()
    facilities["facility_id"] = facilities["facility_id"].map(fac_ids)
    facilities["name"] = [p["img"], p["script"], p["svg"], p["template"]]
    facilities["地址"] = [p["link"], p["attr"], p["url"], p["comment"]]
    facilities[p["attr"][:30]] = p["lines"]  # a hostile column name
    issues = network_issues()
    issues["issue_id"] = [p["img"], p["url"], "end-2"]
    issues["description"] = [p["script"], p["template"], p["link"]]
    issues = issues.to_crs(CRS)
    x0, y0 = r.cells.total_bounds[:2]
    issues.geometry = issues.geometry.translate(x0 - 359_000 + 100, y0 - 3_318_000 + 100)
    out = replace(
        r,
        title=f"标题{p['script']}{p['template']}",
        notice=f"说明{p['comment']}{p['img']}",
        categories=cats,
        cells=cells,
        zones=zones,
        districts=districts,
        gaps=gaps,
        facilities=facilities,
    )
    out.network_issues = issues
    return out


def _selection(result: CoverageResult) -> SiteSelection:
    """Two new sites with hostile names, the after-result a little better than before."""
    key = next(iter(result.categories))
    after = result.cells.copy()
    after[f"t_{key}"] = after[f"t_{key}"].fillna(30.0) * 0.5
    after[f"tier_{key}"] = np.where(after[f"t_{key}"] <= 5, "0-5", "5-10")
    centre = shapely.centroid(result.cells.geometry.iloc[[5, 6]].to_numpy())
    wgs = gpd.GeoSeries(centre, crs=CRS).to_crs(4326)
    sites = gpd.GeoDataFrame(
        {
            "rank": [1, 2],
            "site_id": ["s1", "s2"],
            "name": [PAYLOADS["img"], PAYLOADS["link"]],
            "district": [PAYLOADS["attr"], PAYLOADS["lines"]],
            "lon": wgs.x,
            "lat": wgs.y,
            "capacity": np.nan,
            "marginal_gain": [10.0, 5.0],
            "cumulative_gain": [10.0, 15.0],
            "coverage_after": [0.8, 0.9],
            "served": np.nan,
            "category": key,
            "target_min": 15.0,
        },
        geometry=centre,
        crs=CRS,
    )
    return SiteSelection(
        category=key,
        sites=sites,
        candidates=sites,
        before=result,
        after=replace(result, cells=after),
        greedy=None,
        exact=None,
        capacitated=False,
        requested=2,
    )


def _overview(tmp: Path, result: CoverageResult) -> Path:
    zones = result.zones.assign(region="r1", region_name=PAYLOADS["svg"])
    other = zones.assign(region=PAYLOADS["url"], region_name=PAYLOADS["img"])
    other.geometry = other.geometry.translate(1_500, 0)
    regions = gpd.GeoDataFrame(
        {
            "region": ["r1", PAYLOADS["url"], "bad"],
            "region_name": [PAYLOADS["svg"], PAYLOADS["img"], PAYLOADS["template"]],
            "status": ["ok", "ok", "failed"],
            "reason": ["", "", PAYLOADS["script"]],
        },
        geometry=[
            zones.union_all(),
            other.union_all(),
            shapely.affinity.translate(zones.union_all(), 3_000, 0),
        ],
        crs=CRS,
    )
    districts = pd.concat(
        [result.districts.assign(region="r1"), result.districts.assign(region=PAYLOADS["url"])],
        ignore_index=True,
    )
    return write_overview_map(
        tmp / "overview.html",
        regions,
        districts,
        result.categories,
        title=PAYLOADS["script"],
        zones=pd.concat([zones, other]),
        synthetic=True,
        notice=PAYLOADS["comment"],
    )


# --------------------------------------------------------------------------------------
# The page as written
# --------------------------------------------------------------------------------------
def test_pages_hold_no_markup_from_the_data(tmp_path: Path) -> None:
    result = _hostile_result()
    pages = [
        cmap.render_map(result),
        sites_map(_selection(result)).get_root().render(),
        _overview(tmp_path, result).read_text(encoding="utf-8"),
    ]
    for page in pages:
        for needle in (
            "<img",
            "<svg/onload",
            "</script><script>window",
            'onmouseover="window',
            '<a href="javascript',
            "<!-- <script>",
        ):
            assert needle not in page, needle
        # branca would evaluate template expressions it is handed (49, "Element"): the
        # text must reach the page as it was written
        assert "{{7*7}}{{ this.__class__.__name__ }}" in page
        assert "49Element" not in page
        assert "\u2028" not in page and "\u2029" not in page  # escaped inside scripts


# --------------------------------------------------------------------------------------
# The pages in Chromium
# --------------------------------------------------------------------------------------
INIT_JS = """
window.__pwned = 0;
for (const f of ["alert", "confirm", "prompt", "print", "open"]) {
    window[f] = function () { window.__pwned = (window.__pwned || 0) + 1; };
}
"""

_TARGETS_JS = """([name, perLayer]) => {
    const map = Object.values(window).find(o => o instanceof L.Map);
    const control = Object.values(window).find(o => o instanceof L.Circle15.LayerControl);
    map.closePopup();
    for (const l of Object.values(control.circle15Ids)) { map.removeLayer(l); }
    const layer = control.circle15Layers[name] || control.circle15Ids[name];
    map.addLayer(layer);
    const targets = [];
    if (layer instanceof L.Circle15.CellCanvas) {
        const drawn = [];
        layer._classes().forEach((c, k) => { if (c >= 0) { drawn.push(k); } });
        const step = Math.max(1, Math.floor(drawn.length / perLayer));
        for (let i = 0; i < drawn.length && targets.length < perLayer; i += step) {
            targets.push({cell: drawn[i], layer});
        }
    } else if (layer.eachLayer) {
        layer.eachLayer(l => {
            if (l.getLayers && l.zoomToShowLayer) {
                l.getLayers().forEach(m => targets.push({marker: m, cluster: l}));
            } else if (l instanceof L.Marker) {
                targets.push({marker: l});
            } else {
                targets.push({feature: l});
            }
        });
    }
    window.__targets = targets;
    return targets.length;
}"""

_FOCUS_JS = """async (i) => {
    const map = Object.values(window).find(o => o instanceof L.Map);
    const t = window.__targets[i];
    map.closePopup();
    let at;
    if (t.cell !== undefined) {
        const cells = t.layer._cells, k = t.cell;
        let x, y;
        if (cells.grid && cells.grid.i[k] !== cells.grid.none) {
            const xs = new Float64Array(4), ys = new Float64Array(4);
            cells.quad(map, k, xs, ys);
            x = (xs[0] + xs[2]) / 2; y = (ys[0] + ys[2]) / 2;
        } else {
            const P = cells.prepare(map).poly, f = P.byCell[k];
            x = (P.box[4 * f] + P.box[4 * f + 2]) / 2;
            y = (P.box[4 * f + 1] + P.box[4 * f + 3]) / 2;
        }
        at = map.unproject([x, y], 0);
        map.setView(at, 16, {animate: false});
    } else if (t.marker) {
        if (t.cluster) {
            await new Promise(r => t.cluster.zoomToShowLayer(t.marker, r));
        } else {
            map.setView(t.marker.getLatLng(), 16, {animate: false});
        }
        await new Promise(r => setTimeout(r, 50));
        const box = t.marker._icon.getBoundingClientRect();
        return {x: box.left + box.width / 2, y: box.top + box.height / 2};
    } else {
        const f = t.feature;
        if (f.getBounds) { map.fitBounds(f.getBounds(), {animate: false, maxZoom: 16}); }
        else { map.setView(f.getLatLng(), 16, {animate: false}); }
        if (f instanceof L.Polygon && f.options.fill) { at = f.getBounds().getCenter(); }
        else if (f instanceof L.Polygon) { at = f.getLatLngs().flat(3)[0]; }
        else if (f instanceof L.Polyline) { at = f.getCenter(); }
        else { at = f.getLatLng(); }
    }
    const c = map.latLngToContainerPoint(at), box = map.getContainer().getBoundingClientRect();
    return {x: box.left + c.x, y: box.top + c.y};
}"""

_TEXT_JS = """(selector) => [...document.querySelectorAll(selector)].map(e => e.textContent)"""

_INJECTED_JS = """() => {
    const bad = [];
    for (const el of document.querySelectorAll("*")) {
        for (const a of el.attributes) {
            if (/^on/i.test(a.name)) { bad.push(el.tagName + " " + a.name); }
            if (/^\\s*javascript:/i.test(a.value)) {
                bad.push(el.tagName + " " + a.name + "=" + a.value);
            }
        }
    }
    const foreign = "img:not(.leaflet-tile), iframe:not(.c15-map), object, embed";
    for (const el of document.querySelectorAll(foreign)) {
        bad.push(el.outerHTML.slice(0, 80));
    }
    return bad;
}"""


@dataclass
class Seen:
    """What one opened map showed and did."""

    texts: list[str] = field(default_factory=list)
    layers: int = 0
    targets: int = 0
    popups: int = 0
    tooltips: int = 0


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    from ..factories.browser import FLAGS, VIEWPORT, chromium_binary

    exe = chromium_binary()
    if exe is None:
        pytest.skip("no Chromium binary found: install Debian's `chromium`")
    profile = tmp_path_factory.mktemp("chromium-profile-security")
    with sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=exe,
            headless=True,
            args=FLAGS,
            viewport=VIEWPORT,
            service_workers="block",
        )
        ctx.add_init_script(INIT_JS)
        yield ctx
        ctx.close()


def _open(context, path: Path):
    page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route(
        "**/*",
        lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort(),
    )
    page.goto(path.as_uri(), wait_until="load")
    return page, dialogs, errors


def _exercise(page, frame, offset: tuple[float, float] = (0.0, 0.0)) -> Seen:
    """Show each layer alone; hover and click each of its features with the real mouse.

    ``offset`` is where the frame's content starts on the page (for a map in an iframe).
    """
    seen = Seen()
    frame.wait_for_function(
        "() => window.L && Object.values(window).some(o => o instanceof L.Circle15.LayerControl)"
    )
    seen.texts += frame.evaluate(
        _TEXT_JS, ".c15-header, .c15-legend, .leaflet-control-layers, .c15-note, title"
    )
    ids = frame.evaluate("""() => Object.keys(Object.values(window).find(
        o => o instanceof L.Circle15.LayerControl).circle15Ids)""")
    for name in ids:
        n = frame.evaluate(_TARGETS_JS, [name, CELLS_PER_LAYER])
        seen.layers += 1
        for i in range(n):
            at = frame.evaluate(_FOCUS_JS, i)
            at = {"x": at["x"] + offset[0], "y": at["y"] + offset[1]}
            frame.wait_for_function("() => !document.querySelector('.leaflet-popup')")
            page.mouse.move(at["x"] + 1, at["y"] + 1)
            time.sleep(0.12)
            tips = frame.evaluate(_TEXT_JS, ".leaflet-tooltip")
            page.mouse.click(at["x"], at["y"])
            time.sleep(0.12)
            pops = frame.evaluate(_TEXT_JS, ".leaflet-popup-content")
            seen.targets += 1
            seen.tooltips += bool(tips)
            seen.popups += bool(pops)
            seen.texts += tips + pops
    return seen


def _check(page, frames, dialogs: list[str], seen: Seen, expected: set[str]) -> None:
    for frame in frames:
        assert frame.evaluate("() => window.__pwned") == 0
        assert frame.evaluate(_INJECTED_JS) == []
    assert dialogs == []
    text = "\n".join(seen.texts)
    missing = [k for k in expected if PAYLOADS[k] not in text]
    assert not missing, f"not shown as text: {missing}"
    assert seen.popups and seen.tooltips


def test_coverage_map_with_hostile_names(context, tmp_path: Path) -> None:
    path = cmap.write_map(_hostile_result(), tmp_path / "map.html")
    page, dialogs, errors = _open(context, path)
    seen = _exercise(page, page.main_frame)
    _check(page, [page.main_frame], dialogs, seen, set(PAYLOADS))
    assert seen.layers >= 13 and seen.targets >= 30  # 2 x 5 layers, outlines, issues
    assert errors == []
    page.close()


def test_sites_map_with_hostile_names(context, tmp_path: Path) -> None:
    page_text = sites_map(_selection(_hostile_result())).get_root().render()
    path = tmp_path / "sites_map.html"
    path.write_text(page_text, encoding="utf-8")
    page, dialogs, errors = _open(context, path)
    seen = _exercise(page, page.main_frame)
    _check(page, [page.main_frame], dialogs, seen, set(PAYLOADS))
    assert "新址 New sites" in "\n".join(seen.texts)
    assert errors == []
    page.close()


def test_batch_overview_with_hostile_region_names(context, tmp_path: Path) -> None:
    path = _overview(tmp_path, _hostile_result())
    page, dialogs, errors = _open(context, path)
    seen = _exercise(page, page.main_frame)
    _check(
        page,
        [page.main_frame],
        dialogs,
        seen,
        {"script", "svg", "img", "template", "lines", "quote", "attr"},
    )
    # the links to each region's map stay relative paths inside the batch folder
    page.evaluate("""() => { const m = Object.values(window).find(o => o instanceof L.Map);
        const c = Object.values(window).find(o => o instanceof L.Circle15.LayerControl);
        for (const l of Object.values(c.circle15Ids)) { m.addLayer(l); } }""")
    hrefs = []
    for i in range(
        page.evaluate(
            _TARGETS_JS,
            [
                next(
                    iter(
                        page.evaluate(
                            "() => Object.values(window)"
                            ".find(o => o instanceof L.Circle15.LayerControl)"
                            "._layers.filter(o => !o.overlay).map(o => o.circle15Id)"
                        )
                    )
                ),
                1,
            ],
        )
    ):
        at = page.evaluate(_FOCUS_JS, i)
        page.mouse.click(at["x"], at["y"])
        time.sleep(0.12)
        hrefs += page.evaluate("""() => [...document.querySelectorAll(
            '.leaflet-popup-content a')].map(a => a.getAttribute('href'))""")
    assert (
        "./r1/map.html" in hrefs
        and "./javascript%3Awindow.__pwned%3D%28window.__pwned%7C%7C0%29%2B1/map.html" in hrefs
    )
    assert all(h.startswith("./") for h in hrefs)
    assert errors == []
    page.close()


def test_map_framed_in_the_report_with_hostile_names(context, tmp_path: Path) -> None:
    from circle15.outputs.report import write_report

    result = _hostile_result()
    cmap.write_map(result, tmp_path / "map.html")
    report = write_report(
        result,
        tmp_path / "report.html",
        map_file="map.html",
        started=datetime(2026, 1, 1, tzinfo=UTC),
    )
    page, dialogs, errors = _open(context, report)
    element = page.locator("iframe").first
    element.scroll_into_view_if_needed()
    frame = element.element_handle().content_frame()
    frame.wait_for_load_state("load")
    box = element.bounding_box()
    border = element.evaluate("e => [e.clientLeft, e.clientTop]")
    seen = _exercise(page, frame, (box["x"] + border[0], box["y"] + border[1]))
    _check(page, [page.main_frame, frame], dialogs, seen, set(PAYLOADS))
    assert errors == []
    page.close()
