"""The demo's map.html and report.html in a real headless Chromium, with no internet.

Chromium is Debian's (``apt-get install chromium``; ``.ci/run`` installs it), driven by
Playwright for Python through ``executable_path`` (Playwright's own browser download is never
used). Every request that is not a local file is aborted and recorded. A test fails on any
JavaScript error or console error, except the failed loads of the optional basemap tiles that
were blocked here. Screenshots and render timings are written to ``test-artifacts/``. The
``browser`` fixture and ``visit`` are in ``tests/factories/browser.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..factories.browser import ARTIFACTS, MAP_STATE_JS, Visit, record_timing, visit

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed (test extra)"
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


# --------------------------------------------------------------------------------------
# map.html
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def map_visit(browser: sync_api.BrowserContext, demo_run) -> Iterator[Visit]:
    out, _ = demo_run
    path = out / "map.html"
    v = visit(browser, path)
    v.page.wait_for_function(
        "() => !!window.L && Object.values(window).some(o => o instanceof L.Circle15.LayerControl)"
    )
    record_timing(browser, "map", v, path)
    yield v
    v.page.close()


def _state(v: Visit) -> dict:
    return v.page.evaluate(MAP_STATE_JS)


def _full(group: str, name: str) -> str:
    return f"{group} · {name}" if group else name


def _check_legend(state: dict) -> None:
    """Each legend entry is shown exactly while one of the layers it names is on the map."""
    for entry in state["legend"]:
        any_on = any(state["on"][n] for n in entry["names"])
        assert entry["hidden"] is (not any_on), entry


def test_map_renders_offline_without_errors(map_visit: Visit, demo_run) -> None:
    v = map_visit
    assert v.errors() == []
    assert v.outside_requests() == []
    page = v.page
    assert page.title().startswith("镇海区 15分钟公共服务圈")
    assert page.locator(".c15-banner").inner_text().startswith("合成数据 SYNTHETIC DATA")
    assert page.locator(".c15-banner").is_visible()
    assert page.locator(".leaflet-control-scale-line").count() >= 1
    assert page.locator(".c15-legend").is_visible()
    assert page.locator(
        ".leaflet-control-layers-group-name", has_text="托育 Childcare"
    ).is_visible()
    # the walking-time cells are drawn on a canvas, the facilities as clustered SVG icons
    assert page.locator(".leaflet-pane canvas").count() >= 1
    assert page.locator(".c15-cluster, .c15-fac-icon").count() >= 1
    assert page.locator(".c15-fac-icon svg, .c15-cluster div").count() >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map.png"))
    out, _ = demo_run
    assert (out / "map.html").stat().st_size < 8_000_000


def test_map_without_basemap_draws_every_layer(
    browser: sync_api.BrowserContext, tmp_path: Path
) -> None:
    """``tiles=None`` (no tile server at all) still gives a working page with markers."""
    from circle15 import Study
    from circle15.outputs.map import write_map

    path = write_map(Study.demo().run(), tmp_path / "map_no_tiles.html", tiles=None)
    v = visit(browser, path)
    try:
        assert v.errors() == []
        assert v.page.locator(".c15-cluster, .c15-fac-icon").count() >= 1
        assert v.page.locator(".leaflet-tile").count() == 0
    finally:
        v.page.close()


def test_every_layer_in_the_control_toggles(map_visit: Visit) -> None:
    v = map_visit
    state = _state(v)
    named = set(state["on"])
    listed = [_full(i["group"], i["name"]) for i in state["inputs"]]
    assert len(listed) == len(named) >= 30  # 6 categories x 5 layers + 2 outlines
    assert set(listed) == named
    _check_legend(state)
    # every legend entry names layers that exist in the control
    assert {n for e in state["legend"] for n in e["names"]} <= named
    boxes = v.page.locator(
        ".leaflet-control-layers-overlays input.leaflet-control-layers-selector[type=checkbox]"
    )
    assert boxes.count() == len(listed)
    for i, name in enumerate(listed):
        before = _state(v)["on"][name]
        boxes.nth(i).click()
        after = _state(v)
        assert after["on"][name] is (not before), f"clicking {name!r} did not toggle it"
        assert after["inputs"][i]["checked"] is (not before)
        _check_legend(after)
        if not before:  # an entry for this layer is now visible in the legend
            entries = [e for e in after["legend"] if name in e["names"]]
            assert entries and all(e["shown"] for e in entries), name
        boxes.nth(i).click()
        assert _state(v)["on"][name] is before, f"clicking {name!r} again did not restore it"
    assert v.errors() == []


def test_category_heading_toggles_its_group(map_visit: Visit) -> None:
    v = map_visit
    headings = v.page.locator("input.leaflet-control-layers-group-selector")
    assert headings.count() == 9  # one group per demo category
    second = (
        v.page.locator(".leaflet-control-layers-group")
        .filter(has=v.page.locator("input.leaflet-control-layers-group-selector"))
        .nth(1)
    )
    group = second.locator(".leaflet-control-layers-group-name").inner_text().strip()
    mine = [n for n in _state(v)["on"] if n.startswith(group + " · ")]
    assert len(mine) == 5
    second.locator("input.leaflet-control-layers-group-selector").click()
    state = _state(v)
    assert all(state["on"][n] for n in mine)
    _check_legend(state)
    assert second.locator("input.leaflet-control-layers-group-selector").is_checked()
    v.page.screenshot(path=str(ARTIFACTS / "map-category-group.png"))
    second.locator("input.leaflet-control-layers-group-selector").click()
    assert not any(_state(v)["on"][n] for n in mine)
    assert v.errors() == []


def test_popups_and_tooltips(map_visit: Visit) -> None:
    v = map_visit
    page = v.page
    first = page.evaluate("""() => Object.keys(window.__c15.control.circle15Layers)
        .find(n => n.endsWith("· 设施 facilities"))""")
    group = first.split(" · ")[0]
    # a facility: zoom until its cluster opens, then open its popup
    page.evaluate(
        """(name) => new Promise(resolve => {
        const {control} = window.__c15;
        let cluster;
        control.circle15Layers[name].eachLayer(l => { cluster = l; });
        const marker = cluster.getLayers()[0];
        cluster.zoomToShowLayer(marker, () => { marker.openPopup(); resolve(); });
    })""",
        first,
    )
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    for label in (
        "容量 Capacity",
        "服务人口 Serves",
        "最近设施人口 Nearest facility for",
        "路网 Street",
    ):
        assert label in text
    page.wait_for_timeout(300)  # let the popup fade in
    page.screenshot(path=str(ARTIFACTS / "map-facility-popup.png"))
    # a gap and a sub-district: the popup and the tooltip of their first feature
    checks = {
        f"{group} · 服务缺口 gaps": ("popup", "到最近设施距离 Walking distance to it (m)"),
        f"{group} · 街道覆盖率 coverage by sub-district": ("tooltip", "Coverage within 15 min"),
    }
    for name, (kind, label) in checks.items():
        got = page.evaluate(
            """([name, kind]) => {
            const {map, control} = window.__c15;
            const group = control.circle15Layers[name];
            const wasOn = map.hasLayer(group);
            map.addLayer(group);
            let feature;
            group.eachLayer(f => { if (!feature) { feature = f; } });
            map.fitBounds(feature.getBounds(), {animate: false});
            map.closePopup();
            // what a click or a hover on the shape does: the event bubbles to its layer
            const latlng = feature.getBounds().getCenter();
            feature.fire(kind === "popup" ? "click" : "mouseover", {latlng}, true);
            const overlay = kind === "popup" ? feature.getPopup() : feature.getTooltip();
            const el = overlay && overlay.isOpen() ? overlay.getElement() : null;
            const text = el ? el.innerText : "";
            if (kind === "popup") { map.closePopup(); } else { feature.closeTooltip(); }
            if (!wasOn) { map.removeLayer(group); }
            return text;
        }""",
            [name, kind],
        )
        assert label in got, (name, got)
    # the cells: a real click on a cell of the walking-time layer, then on one of a service
    # area (its own layer alone), and a hover over the service area for its tooltip
    for short, label in (
        ("步行可达 walking access", "步行时间 Walking time"),
        ("服务范围 service areas", "服务人口 Residents served"),
    ):
        name = f"{group} · {short}"
        at = page.evaluate(_CELL_AT_JS, name)
        page.wait_for_function("() => !document.querySelector('.leaflet-popup')")
        page.mouse.click(at["x"], at["y"])
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        assert label in popup.inner_text(), (name, popup.inner_text())
        if short.startswith("服务范围"):
            page.mouse.move(at["x"] + 1, at["y"] + 1)
            page.locator(".c15-tooltip").wait_for()
            assert "服务范围 Service area" in page.locator(".c15-tooltip").inner_text()
        page.evaluate(
            "(name) => window.__c15.map.removeLayer(window.__c15.control.circle15Layers[name])",
            name,
        )
    page.evaluate("() => window.__c15.map.closePopup()")
    assert v.errors() == []


# Show only the named cell layer, centre the map on its first drawn cell, return where it is.
_CELL_AT_JS = """(name) => {
    const {map, control} = window.__c15;
    map.closePopup();
    for (const layer of Object.values(control.circle15Layers)) { map.removeLayer(layer); }
    const layer = control.circle15Layers[name];
    map.addLayer(layer);
    const cls = layer._classes();
    const k = cls.findIndex(c => c >= 0);
    const xs = new Float64Array(4), ys = new Float64Array(4);
    layer._cells.quad(map, k, xs, ys);
    const centre = map.unproject([(xs[0] + xs[2]) / 2, (ys[0] + ys[2]) / 2], 0);
    map.setView(centre, 16, {animate: false});
    const c = map.latLngToContainerPoint(centre), box = map.getContainer().getBoundingClientRect();
    return {x: box.left + c.x, y: box.top + c.y};
}"""


def test_map_screenshot_with_service_areas(map_visit: Visit) -> None:
    v = map_visit
    v.page.evaluate("""() => {
        const {map, control} = window.__c15;
        const names = Object.keys(control.circle15Layers);
        const group = names.find(n => n.endsWith("· 设施 facilities")).split(" · ")[0];
        for (const n of names) {
            const on = !n.includes(" · ") || n === `${group} · 服务范围 service areas`
                || n === `${group} · 设施 facilities`;
            if (on) { map.addLayer(control.circle15Layers[n]); }
            else { map.removeLayer(control.circle15Layers[n]); }
        }
        map.setZoom(13);
    }""")
    v.page.wait_for_timeout(400)  # let the zoom animation settle
    _check_legend(_state(v))
    v.page.screenshot(path=str(ARTIFACTS / "map-service-areas.png"))
    assert v.errors() == []


# --------------------------------------------------------------------------------------
# report.html
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def report_visit(browser: sync_api.BrowserContext, demo_run) -> Iterator[Visit]:
    out, _ = demo_run
    path = out / "report.html"
    v = visit(browser, path)
    record_timing(browser, "report", v, path)
    yield v
    v.page.close()


def test_report_renders_without_errors(report_visit: Visit) -> None:
    v = report_visit
    page = v.page
    assert v.errors() == []
    assert page.locator(".c15-banner").is_visible()
    assert page.locator("svg.c15-chart").count() >= 14  # 2 summary + 2 per category ...
    assert page.locator("h3").filter(has_text="托育 Childcare").count() >= 1
    for anchor in ("summary", "map", "categories", "sources", "parameters"):
        assert page.locator(f"nav.c15-toc a[href='#{anchor}']").count() == 1
        assert page.locator(f"#{anchor}").count() == 1
    # every chart has room: laid out with a non-zero size
    sizes = page.evaluate("""() => [...document.querySelectorAll('svg.c15-chart')]
        .map(s => s.getBoundingClientRect().width * s.getBoundingClientRect().height)""")
    assert min(sizes) > 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-top.png"))
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)


def test_report_embeds_the_map(report_visit: Visit) -> None:
    v = report_visit
    page = v.page
    frame_el = page.locator("iframe.c15-map")
    frame_el.scroll_into_view_if_needed()
    frame = frame_el.element_handle().content_frame()
    assert frame is not None and frame.url.endswith("/map.html")
    frame.wait_for_function(
        "() => !!window.L && Object.values(window).some(o => o instanceof L.Map)", timeout=60_000
    )
    frame.locator(".c15-banner").wait_for()
    assert v.errors() == []
    assert v.outside_requests() == []
    page.screenshot(path=str(ARTIFACTS / "report-map.png"))
