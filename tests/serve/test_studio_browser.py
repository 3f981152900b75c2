"""The studio in a real headless Chromium against ``circle15 serve`` (a real uvicorn server).

A planner's session, step by step: load, switch category, add a canteen by clicking the
map, drag it elsewhere, close a canteen, undo, ask for suggestions and accept one, save the
scenario and run ``circle15 run --scenario`` on it. After each step the coverage shown on the
page must equal the Python API's what-if for the same points (itself tested equal to a full
re-run); the saved scenario's run must print the same coverage. Any console error fails the
test; every request that is not to the studio itself is blocked.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed (test extra)"
)
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from circle15 import Study  # noqa: E402
from circle15.planning.sites import select_sites  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
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
LOCAL = re.compile(r"^(data|blob|about):|^https?://(localhost|127\.0\.0\.1)(:\d+)?/")
KEY = "elderly_canteen"
IDLE = "body[data-ready]:not([data-busy])"


def chromium_binary() -> str | None:
    """Debian's Chromium (or ``$CIRCLE15_CHROMIUM``), as tests/outputs/test_browser.py finds it."""
    for path in (
        os.environ.get("CIRCLE15_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/bin/chromium",
    ):
        if path and Path(path).is_file() and os.access(path, os.X_OK):
            return path
    return None


@pytest.fixture(scope="module")
def demo():
    return Study.demo().run()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``circle15 serve --no-browser --port 0`` in its own process; its URL and folder."""
    out = tmp_path_factory.mktemp("studio-browser") / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "circle15.cli",
            "serve",
            "--no-browser",
            "--port",
            "0",
            "--out",
            str(out),
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path_factory.getbasetemp(),
    )
    url, lines, deadline = None, [], time.monotonic() + 600
    while url is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        found = re.search(r"studio at (http://\S+)", line)
        url = found.group(1) if found else None
    if url is None:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail("circle15 serve did not start:\n" + "".join(lines) + err)
    yield url, out
    proc.terminate()
    try:
        proc.communicate(timeout=30)  # waits, and closes the pipes
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


@pytest.fixture(scope="module")
def page(server, tmp_path_factory):
    exe = chromium_binary()
    if exe is None and os.environ.get("CI"):
        pytest.fail("CI must run the browser tests: .ci/run installs Debian's chromium")
    if exe is None:
        pytest.skip("no Chromium binary found: install Debian's `chromium`")
    url, _ = server
    profile = tmp_path_factory.mktemp("chromium-profile-studio")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=exe,
            headless=True,
            args=FLAGS,
            viewport={"width": 1500, "height": 950},
            service_workers="block",
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        pg = context.new_page()
        pg.messages, pg.blocked = [], []
        pg.on("console", lambda m: pg.messages.append((m.type, m.text)))
        pg.on("pageerror", lambda e: pg.messages.append(("pageerror", str(e))))

        def route(r):
            if LOCAL.match(r.request.url):
                r.continue_()
            else:
                pg.blocked.append(r.request.url)
                r.abort("internetdisconnected")

        pg.route("**/*", route)
        pg.goto(url, wait_until="load", timeout=120_000)
        pg.wait_for_selector(IDLE, timeout=300_000)
        yield pg
        context.close()


# ---------------------------------------------------------------------------- helpers


def idle(page) -> None:
    page.wait_for_selector(IDLE, timeout=300_000)


def shown(page) -> str:
    return page.text_content("[data-testid=coverage]")


def pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def pixel(page, lon: float, lat: float) -> tuple[float, float]:
    """Page coordinates of a point on the map, in whole pixels (as mouse events have)."""
    return tuple(
        round(v)
        for v in page.evaluate(
            """([lon, lat]) => {
        const p = window.studio.map.latLngToContainerPoint([lat, lon]);
        const r = document.getElementById('map').getBoundingClientRect();
        return [r.left + p.x, r.top + p.y];
    }""",
            [lon, lat],
        )
    )


def latlng_at(page, x: float, y: float) -> tuple[float, float]:
    """The map's lon, lat under a page pixel, as Leaflet reads a mouse event there."""
    return tuple(
        page.evaluate(
            """([x, y]) => {
        const ll = window.studio.map.mouseEventToLatLng({clientX: x, clientY: y});
        return [ll.lng, ll.lat];
    }""",
            [x, y],
        )
    )


def facilities(page) -> list[dict]:
    return page.evaluate(f"window.studio.current['{KEY}'].facilities")


def page_coverage(page) -> float:
    return page.evaluate(f"""window.studio.current['{KEY}'].districts
        .find((r) => r.district === 'ALL').coverage""")


def errors(page) -> list[str]:
    return [f"{k}: {t}" for k, t in page.messages if k in ("error", "pageerror")]


# ---------------------------------------------------------------------------- the session


def test_a_planners_session(page, server, demo, tmp_path):
    out = server[1]
    result = demo
    # load: the first category, the synthetic banner, the category keys
    assert page.is_visible("[data-testid=synthetic-banner]")
    keys = page.eval_on_selector_all("[data-testid=category] option", "os => os.map(o => o.value)")
    assert keys == list(result.categories)
    assert shown(page) == pct(result.coverage(keys[0]))
    assert page.locator("#districts tbody tr").count() == len(result.zones) + 1

    # switch category
    page.select_option("[data-testid=category]", KEY)
    idle(page)
    assert shown(page) == pct(result.coverage(KEY))
    page.select_option("[data-testid=view]", "baseline")
    page.select_option("[data-testid=view]", "current")

    # add by click, where a canteen would bring many residents within 15 minutes (the two
    # best street points of gap cells: the places only fix where the test clicks)
    best = select_sites(result, KEY, 2, exact=False).sites
    first, second = (SimpleNamespace(x=r["lon"], y=r["lat"]) for _, r in best.iterrows())
    page.click("[data-testid=mode-add]")
    x, y = pixel(page, first.x, first.y)
    page.mouse.click(x, y)
    idle(page)
    new = [f for f in facilities(page) if f["status"] == "new"]
    assert len(new) == 1
    lon, lat = latlng_at(page, x, y)
    assert (new[0]["lon"], new[0]["lat"]) == pytest.approx((lon, lat), abs=1e-6)
    r1 = result.add_facilities(KEY, [(new[0]["lon"], new[0]["lat"])])
    assert shown(page) == pct(r1.coverage(KEY)) != pct(result.coverage(KEY))
    assert page_coverage(page) == pytest.approx(r1.coverage(KEY), abs=1e-12)

    # move: drag the new canteen to another gap cell's street point
    page.click("[data-testid=mode-move]")
    x0, y0 = pixel(page, new[0]["lon"], new[0]["lat"])
    x1, y1 = pixel(page, second.x, second.y)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=8)
    page.mouse.up()
    idle(page)
    moved = next(f for f in facilities(page) if f["id"] == new[0]["id"])
    assert (moved["lon"], moved["lat"]) != pytest.approx((new[0]["lon"], new[0]["lat"]))
    assert (moved["lon"], moved["lat"]) == pytest.approx(latlng_at(page, x1, y1), abs=1e-6)
    r2 = r1.move_facilities(KEY, {new[0]["id"]: (moved["lon"], moved["lat"])})
    assert page_coverage(page) == pytest.approx(r2.coverage(KEY), abs=1e-12)
    assert shown(page) == pct(r2.coverage(KEY))

    # remove: the canteen nearest to the most residents aged 60+ (zoomed in to click it)
    busiest = str(result.cells.groupby(f"nearest_{KEY}")[f"pop_{KEY}"].sum().idxmax())
    target = next(f for f in facilities(page) if f["id"] == busiest)
    page.evaluate(
        "([lat, lon]) => window.studio.map.setView([lat, lon], 17, {animate: false})",
        [target["lat"], target["lon"]],
    )
    page.wait_for_timeout(300)
    page.click("[data-testid=mode-remove]")
    page.mouse.click(*pixel(page, target["lon"], target["lat"]))
    idle(page)
    assert busiest not in [f["id"] for f in facilities(page)]
    r3 = r2.remove_facilities(KEY, busiest)
    assert page_coverage(page) == pytest.approx(r3.coverage(KEY), abs=1e-12)
    assert shown(page) == pct(r3.coverage(KEY))

    # undo the closure
    page.click("[data-testid=undo]")
    idle(page)
    assert page_coverage(page) == pytest.approx(r2.coverage(KEY), abs=1e-12)
    assert busiest in [f["id"] for f in facilities(page)]
    page.evaluate("window.studio.map.fitBounds(window.studio.study.bounds, {animate: false})")

    # a hostile name stays text
    page.click("[data-testid=mode-add]")
    page.fill("#add-name", '<img src=x onerror="window.pwned=1">')
    page.mouse.click(*pixel(page, second.x, second.y))
    idle(page)
    assert '<img src=x onerror="window.pwned=1">' in page.text_content("[data-testid=edits]")
    assert page.evaluate("window.pwned === undefined")
    assert page.locator("img[src=x]").count() == 0
    page.fill("#add-name", "")
    page.click("[data-testid=undo]")
    idle(page)
    page.click("[data-testid=mode-inspect]")

    # suggest two sites and accept the first
    page.fill("[data-testid=suggest-p]", "2")
    page.click("[data-testid=suggest]")
    idle(page)
    items = page.locator("[data-testid=suggestions] li")
    assert items.count() == 2
    suggestion = page.evaluate("window.studio.suggestions.sites[0]")
    page.click("[data-testid=accept-1]")
    idle(page)
    r4 = r2.add_facilities(KEY, [(suggestion["lon"], suggestion["lat"])])
    assert page_coverage(page) == pytest.approx(r4.coverage(KEY), abs=1e-12)
    assert page_coverage(page) == pytest.approx(suggestion["coverage_after"], abs=1e-9)
    assert shown(page) == pct(r4.coverage(KEY))

    # save the scenario and run it with the command line
    page.fill("[data-testid=scenario-name]", "browser_plan")
    page.click("[data-testid=save-scenario]")
    idle(page)
    saved = out / "scenarios" / "browser_plan.toml"
    assert saved.is_file() and str(saved) in page.text_content("[data-testid=files]")
    run_dir = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "circle15.cli",
            "run",
            "--scenario",
            str(saved),
            "--out",
            str(run_dir),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    with open(run_dir / "districts.csv", encoding="utf-8-sig") as f:
        rows = {(r["district"], r["category"]): float(r["coverage"]) for r in csv.DictReader(f)}
    assert rows[("ALL", KEY)] == pytest.approx(round(r4.coverage(KEY), 4), abs=1e-9)
    assert pct(rows[("ALL", KEY)]) == shown(page)
    for key in result.categories:  # the other categories are as in the baseline
        if key != KEY:
            assert rows[("ALL", key)] == pytest.approx(round(result.coverage(key), 4), abs=1e-9)

    # the cell popup, the change view, and nothing went wrong on the way
    page.select_option("[data-testid=view]", "change")
    x, y = pixel(page, suggestion["lon"], suggestion["lat"])
    page.mouse.click(x, y)  # the accepted suggestion's marker
    page.wait_for_selector(".leaflet-popup-content", timeout=10_000)
    assert "suggestion #1 (已采纳 accepted)" in page.text_content(".leaflet-popup-content")
    page.mouse.click(x + 40, y + 40)  # a cell beside it
    page.wait_for_selector(".leaflet-popup-content >> text=/walk/", timeout=10_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "studio.png"))
    timings = page.evaluate("window.studio.timings")
    (ARTIFACTS / "studio-timings.json").write_text(
        json.dumps(timings, indent=2) + "\n", encoding="utf-8"
    )
    edits = [t for t in timings if t["action"] in ("add", "move", "remove", "accept")]
    print(
        "\nin-browser edit latency (ms):",
        [round(t["ms"]) for t in edits],
        "server:",
        [round(t["server_ms"]) for t in edits],
        "median",
        np.median([t["ms"] for t in edits]),
    )
    assert not errors(page), errors(page)
    assert page.blocked == []
