"""Regenerate docs/img/map.png: the demo's ``map.html`` in Chromium, offline.

Run from the repository root (needs Playwright from the ``test`` extra and Debian's
``chromium``)::

    .venv/bin/python docs/make_map_screenshot.py

The map is written without the OpenStreetMap basemap (``tiles=None``) and opened with
every request that is not a local file blocked, as a planner without internet sees it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from circle15 import Study
from circle15.outputs.webmap import write_map

OUT = Path(__file__).resolve().parent / "img" / "map.png"


def main() -> None:
    result = Study.demo().run()
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        path = write_map(result, Path(tmp) / "map.html", tiles=None)
        browser = p.chromium.launch(
            executable_path=exe,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith("file://")
                else route.abort("internetdisconnected")
            ),
        )
        page.goto(Path(path).as_uri(), wait_until="load", timeout=120_000)
        page.wait_for_function(
            "performance.getEntriesByType('navigation')[0].loadEventEnd > 0", timeout=60_000
        )
        page.mouse.move(10, 450)  # no tooltip in the picture
        page.wait_for_timeout(1500)  # let the canvas and the clusters settle
        OUT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT))
        browser.close()
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
