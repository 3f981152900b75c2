"""The demo's map.html and report.html in a real headless Chromium, with no internet.

Chromium is Debian's (``apt-get install chromium``; ``.ci/run`` installs it), driven by
Playwright for Python through ``executable_path`` (Playwright's own browser download is never
used). Every request that is not a local file is aborted and recorded. A test fails on any
JavaScript error or console error, except the failed loads of the optional basemap tiles that
were blocked here. Screenshots and render timings are written to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed (test extra)"
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
#: Chromium switches: no network activity of its own, no GPU, a fresh profile (see fixture).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]
#: The optional basemap: the only thing a page may try to fetch from the internet.
TILE_URL = re.compile(r"^https?://([a-z0-9-]+\.)*tile\.openstreetmap\.org/\d+/\d+/\d+\.png$")
LOCAL = re.compile(r"^(file|data|blob|about):|^https?://(localhost|127\.0\.0\.1)(:\d+)?/")
VIEWPORT = {"width": 1400, "height": 900}


def chromium_binary() -> str | None:
    """Debian's Chromium (or ``$CIRCLE15_CHROMIUM``), if installed and runnable."""
    candidates = [
        os.environ.get("CIRCLE15_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/bin/chromium",
    ]
    for path in candidates:
        if path and Path(path).is_file() and os.access(path, os.X_OK):
            return path
    return None


@dataclass
class Visit:
    """A page opened in the browser, with what it logged and tried to fetch."""

    page: sync_api.Page
    messages: list[tuple[str, str, str]] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    seconds_to_load: float = float("nan")

    def errors(self) -> list[str]:
        """JavaScript and console errors, less the failed loads of blocked basemap tiles."""
        out = []
        for kind, text, url in self.messages:
            if kind == "pageerror":
                out.append(f"uncaught: {text}")
            elif kind == "error":
                tile = (
                    text.startswith("Failed to load resource")
                    and url in self.blocked
                    and TILE_URL.match(url)
                )
                if not tile:
                    out.append(f"console.error: {text} ({url})")
        return out

    def outside_requests(self) -> list[str]:
        """Blocked requests that were not basemap tiles (should be none)."""
        return [u for u in self.blocked if not TILE_URL.match(u)]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sync_api.BrowserContext]:
    exe = chromium_binary()
    if exe is None and os.environ.get("CI"):
        pytest.fail("CI must run the browser tests: .ci/run installs Debian's chromium")
    if exe is None:
        pytest.skip(
            "no Chromium binary found: install Debian's `chromium` (CI's .ci/run does) "
            "or set CIRCLE15_CHROMIUM"
        )
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    profile = tmp_path_factory.mktemp("chromium-profile")  # fresh user-data-dir
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=exe,
            headless=True,
            args=FLAGS,
            viewport=VIEWPORT,
            service_workers="block",
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        context.circle15_version = version.stdout.strip()  # type: ignore[attr-defined]
        yield context
        context.close()


def visit(context: sync_api.BrowserContext, path: Path) -> Visit:
    """Open ``path`` with every non-local request aborted; wait for the load event."""
    page = context.new_page()
    v = Visit(page)
    page.on("console", lambda m: v.messages.append((m.type, m.text, m.location.get("url", ""))))
    page.on("pageerror", lambda e: v.messages.append(("pageerror", str(e), "")))

    def route(r: sync_api.Route) -> None:
        if LOCAL.match(r.request.url):
            r.continue_()
        else:
            v.blocked.append(r.request.url)
            r.abort("internetdisconnected")

    page.route("**/*", route)
    start = time.perf_counter()
    page.goto(path.as_uri(), wait_until="load", timeout=120_000)
    v.seconds_to_load = time.perf_counter() - start
    page.wait_for_function(
        "performance.getEntriesByType('navigation')[0].loadEventEnd > 0", timeout=60_000
    )
    return v


def record_timing(context: sync_api.BrowserContext, name: str, v: Visit, path: Path) -> dict:
    """Navigation timings of the page, written to ``test-artifacts/render-<name>.json``."""
    timing = v.page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        return {first_contentful_paint_ms: fcp ? Math.round(fcp.startTime) : null,
                dom_content_loaded_ms: Math.round(nav.domContentLoadedEventEnd),
                load_event_end_ms: Math.round(nav.loadEventEnd)};
    }""")
    timing.update(
        file=path.name,
        bytes=path.stat().st_size,
        seconds_goto_to_load=round(v.seconds_to_load, 3),
        chromium=getattr(context, "circle15_version", ""),
    )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"render-{name}.json").write_text(
        json.dumps(timing, indent=2) + "\n", encoding="utf-8"
    )
    print(f"\n{name}: {timing}")
    return timing


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


_STATE_JS = """() => {
    const map = Object.values(window).find(o => o instanceof L.Map);
    const control = Object.values(window).find(o => o instanceof L.Circle15.LayerControl);
    window.__c15 = {map, control};
    const on = {}, full = {};
    for (const [name, layer] of Object.entries(control.circle15Layers)) {
        on[name] = map.hasLayer(layer);
    }
    for (const obj of control._layers) {
        full[obj.circle15Id] = obj.group ? obj.group + " · " + obj.name : obj.name;
    }
    const inputs = [...control.getContainer().querySelectorAll(
        "input.leaflet-control-layers-selector[type=checkbox]")].map(i => {
            const obj = control._getLayer(i.layerId);
            return {group: obj.group || "", name: obj.name, checked: i.checked};
        });
    const legend = [...document.querySelectorAll(".c15-legend [data-layers]")].map(el => ({
        names: el.getAttribute("data-layers").split(" ").map(id => full[id]),
        hidden: el.hidden, shown: el.offsetParent !== null}));
    return {on, inputs, legend};
}"""


def _state(v: Visit) -> dict:
    return v.page.evaluate(_STATE_JS)


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
