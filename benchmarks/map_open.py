"""How long a written ``map.html`` takes to open in Chromium (Debian's, headless, offline).

``python -m benchmarks.map_open MAP.html [--repeats 3]`` prints the figures as JSON.

Each repeat opens the page in a fresh tab of one browser that can resolve no host name (the
basemap tiles fail as they do offline), and measures from the start of navigation:

- ``fcp_s``: the first contentful paint (the title bar);
- ``load_s``: the load event (every script has run, the opening layers are built);
- ``drawn_s``: the cells' canvas first drawn (``performance.mark("circle15-cells-drawn")``
  set by the map runtime), when the map has cells;
- ``open_s``: the first frame painted after the load event (two animation frames later):
  what a user waits for before the map is on screen and answers clicks.

The median of the repeats is reported, with every repeat's figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

#: Chromium switches: no network activity of its own, no GPU (as in tests/outputs/test_browser.py),
#: and every host name unresolvable, as on a network without internet: the basemap's tile
#: requests fail at once inside the browser (intercepting them from Python would time the
#: interception instead).
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
    "--host-resolver-rules=MAP * ~NOTFOUND",
]
VIEWPORT = {"width": 1400, "height": 900}

_TIMES_JS = """() => new Promise(resolve => {
    const done = () => {
        const nav = performance.getEntriesByType("navigation")[0];
        const mark = performance.getEntriesByName("circle15-cells-drawn")[0];
        const paint = performance.getEntriesByName("first-contentful-paint")[0];
        resolve({load_ms: nav.loadEventEnd, drawn_ms: mark ? mark.startTime : null,
                 fcp_ms: paint ? paint.startTime : null, open_ms: performance.now()});
    };
    requestAnimationFrame(() => requestAnimationFrame(done));
})"""


def chromium() -> str | None:
    """Debian's Chromium (or ``$CIRCLE15_CHROMIUM``), if installed."""
    for path in (
        os.environ.get("CIRCLE15_CHROMIUM"),
        shutil.which("chromium"),
        "/usr/bin/chromium",
    ):
        if path and Path(path).is_file() and os.access(path, os.X_OK):
            return path
    return None


def open_times(path: Path, repeats: int = 3) -> dict:
    """Median seconds to load, draw and open ``path`` in headless Chromium.

    Returns ``{"error": ...}`` when Chromium or Playwright is missing.
    """
    exe = chromium()
    if exe is None:
        return {"error": "no chromium"}
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"error": "playwright not installed"}
    runs = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=FLAGS)
        for _ in range(repeats):
            page = browser.new_page(viewport=VIEWPORT)
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            start = time.perf_counter()
            page.goto(Path(path).resolve().as_uri(), wait_until="load", timeout=600_000)
            times = page.evaluate(_TIMES_JS)
            wall = time.perf_counter() - start
            runs.append(
                {
                    "load_s": times["load_ms"] / 1000,
                    "fcp_s": None if times["fcp_ms"] is None else times["fcp_ms"] / 1000,
                    "drawn_s": None if times["drawn_ms"] is None else times["drawn_ms"] / 1000,
                    "open_s": times["open_ms"] / 1000,
                    "wall_s": wall,
                    "errors": errors[:3],
                }
            )
            page.close()
        version = browser.version
        browser.close()
    out = {key: statistics.median(r[key] for r in runs) for key in ("load_s", "open_s", "wall_s")}
    for key in ("drawn_s", "fcp_s"):
        known = [r[key] for r in runs if r[key] is not None]
        out[key] = statistics.median(known) if known else None
    out.update(runs=runs, chromium=version, bytes=Path(path).stat().st_size)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.map_open",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("map", type=Path)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    result = open_times(args.map, args.repeats)
    print(json.dumps(result, indent=1))
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
