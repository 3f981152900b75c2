"""Debian's Chromium driven by Playwright, offline, for the tests that open pages.

Playwright's own browser download is never used: ``chromium_binary`` finds Debian's
``chromium`` (``.ci/run`` installs it) or ``$CIRCLE15_CHROMIUM``. ``visit`` aborts and
records every request that is not local; ``Visit.errors`` lists JavaScript and console
errors but the failed loads of the blocked basemap tiles. Playwright is imported when a
browser starts, so the constants serve tests that launch Chromium their own way.
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
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright import sync_api


def _playwright():
    return pytest.importorskip(
        "playwright.sync_api", reason="Playwright for Python is not installed (test extra)"
    )


ROOT = Path(__file__).resolve().parents[2]
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
    """Debian's Chromium through Playwright: a fresh profile, no GPU, no network of its own."""
    sync_api = _playwright()
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


#: The map's state in the page: layers on, layer-control inputs, legend entries shown.
MAP_STATE_JS = """() => {
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
