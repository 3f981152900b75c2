"""Edit latency of the planning studio: server time per edit and click-to-update in Chromium.

Run from the repository root (needs the ``studio`` extra; the browser part needs Debian's
``chromium`` and Playwright, and is skipped without them)::

    .venv/bin/python benchmarks/bench_studio.py [--sizes demo,100k] [--edits 15] [--json FILE]

For each size (the Zhenhai demo; seeded synthetic cities of ``benchmarks/synthetic.py``)
the study is loaded and run once, and the studio is served by uvicorn on 127.0.0.1 in this
process. Then, on one category (elderly canteens), at street points inside its gaps:

- *python*: ``result.add_facilities`` (the planning layer alone, supply and index redone);
- *edit*: ``POST /api/edit`` adding one canteen, the server's own time (``Server-Timing``:
  from the request's arrival to the answer's first byte, JSON included) and the round trip;
  every third edit is followed by a move of the new canteen and an undo;
- *what-if*: ``POST /api/whatif`` (stateless, the same site on the baseline);
- *browser*: in Chromium, in add mode, a click on the map until the page shows the new
  coverage, cells, table and index (the page's own ``performance.now()`` around it).

Times are medians (and 90th percentiles) of the runs after one warm-up edit (the first
edit of a session builds the cell adjacency and the catchments, as the first what-if of a
run does). The machine is shared: its load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from benchmarks.workload import load_workload  # noqa: E402
from circle15.planning.sites import gap_candidates  # noqa: E402
from circle15.serve import BackgroundServer, Studio, create_app  # noqa: E402

KEY = "elderly_canteen"
TARGET_MS = {"demo": 150.0, "100k": 500.0}


def server_ms(answer: httpx.Response, metric: str = "app") -> float:
    """The server's wall (``app``) or CPU (``cpu``) time for a request, from its
    ``Server-Timing`` header."""
    for part in answer.headers.get("server-timing", "").split(","):
        name, _, value = part.strip().partition(";dur=")
        if name == metric:
            return float(value)
    return float("nan")


def summary(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=float)
    return {
        "median": float(np.median(a)),
        "p90": float(np.percentile(a, 90)),
        "min": float(a.min()),
        "n": len(a),
    }


def spots_for(result, n: int, seed: int = 15) -> list[tuple[float, float]]:
    """``n`` street points inside the category's gaps (WGS84), spread over the area."""
    frame = gap_candidates(result, KEY).to_crs(4326)
    pick = np.random.default_rng(seed).choice(len(frame), min(n, len(frame)), replace=False)
    return [(float(p.x), float(p.y)) for p in frame.geometry.iloc[pick]]


def bench_server(client: httpx.Client, result, spots) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {
        "edit": [],
        "edit_cpu": [],
        "edit_round_trip": [],
        "move": [],
        "undo": [],
        "whatif": [],
        "python": [],
        "python_cpu": [],
    }
    for lon, lat in spots[:3]:  # warm-up: caches of the first what-ifs
        client.post("/api/edit", json={"category": KEY, "add": [{"lon": lon, "lat": lat}]})
        client.post("/api/undo", json={"category": KEY})
        result.add_facilities(KEY, [(lon, lat)])
    for i, (lon, lat) in enumerate(spots):
        start = time.perf_counter()
        answer = client.post("/api/edit", json={"category": KEY, "add": [{"lon": lon, "lat": lat}]})
        out["edit_round_trip"].append((time.perf_counter() - start) * 1000)
        answer.raise_for_status()
        out["edit"].append(server_ms(answer))
        out["edit_cpu"].append(server_ms(answer, "cpu"))
        if i % 3 == 2:
            new = [f for f in answer.json()["layer"]["facilities"] if f["status"] == "new"][-1]
            to = spots[(i + 1) % len(spots)]
            moved = client.post(
                "/api/edit",
                json={"category": KEY, "move": [{"id": new["id"], "lon": to[0], "lat": to[1]}]},
            )
            moved.raise_for_status()
            out["move"].append(server_ms(moved))
            undo = client.post("/api/undo", json={"category": KEY})
            out["undo"].append(server_ms(undo))
        whatif = client.post(
            "/api/whatif", json={"category": KEY, "add": [{"lon": lon, "lat": lat}]}
        )
        whatif.raise_for_status()
        out["whatif"].append(server_ms(whatif))
        start, cpu = time.perf_counter(), time.process_time()
        result.add_facilities(KEY, [(lon, lat)])
        out["python"].append((time.perf_counter() - start) * 1000)
        out["python_cpu"].append((time.process_time() - cpu) * 1000)
    client.post("/api/reset", json={"category": KEY})
    return out


def chromium() -> str | None:
    for path in (
        os.environ.get("CIRCLE15_CHROMIUM"),
        shutil.which("chromium"),
        "/usr/bin/chromium",
    ):
        if path and Path(path).is_file() and os.access(path, os.X_OK):
            return path
    return None


def bench_browser(url: str, spots, clicks: int, screenshot: Path | None) -> dict:
    """Click-to-update latency in Chromium; None when no Chromium or Playwright."""
    exe = chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "Playwright is not installed"}
    if exe is None:
        return {"skipped": "no chromium binary"}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=exe,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1500, "height": 950})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        start = time.perf_counter()
        page.goto(url)
        page.wait_for_selector("body[data-ready]:not([data-busy])", timeout=600_000)
        load_s = time.perf_counter() - start
        page.select_option("[data-testid=category]", KEY)
        page.wait_for_selector("body[data-ready]:not([data-busy])", timeout=600_000)
        page.click("[data-testid=mode-add]")
        for lon, lat in spots[:clicks]:
            x, y = page.evaluate(
                """([lon, lat]) => {
                const p = window.studio.map.latLngToContainerPoint([lat, lon]);
                const r = document.getElementById('map').getBoundingClientRect();
                return [Math.round(r.left + p.x), Math.round(r.top + p.y)];
            }""",
                [lon, lat],
            )
            page.mouse.click(x, y)
            page.wait_for_selector("body[data-ready]:not([data-busy])", timeout=600_000)
        timings = [t for t in page.evaluate("window.studio.timings") if t["action"] == "add"]
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
        browser.close()
    ms = [t["ms"] for t in timings[1:]]  # the first click warms the page's code up
    return {
        "load_s": load_s,
        "click_to_update": summary(ms),
        "server": summary([t["server_ms"] for t in timings[1:]]),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="demo,100k")
    parser.add_argument("--edits", type=int, default=15)
    parser.add_argument("--clicks", type=int, default=8)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--screenshot", type=Path, help="save the page after the demo's clicks (PNG)"
    )
    args = parser.parse_args()
    rows = {}
    for size in args.sizes.split(","):
        work = load_workload(size)
        start = time.perf_counter()
        result = work.study.run()
        run_s = time.perf_counter() - start
        spots = spots_for(result, args.edits + 3)
        studio = Studio(result, out_dir=Path("/nonexistent-studio-bench"))
        with (
            BackgroundServer(create_app(studio)) as server,
            httpx.Client(base_url=server.url, timeout=600) as client,
        ):
            start = time.perf_counter()
            study_bytes = len(client.get("/api/study").content)
            study_s = time.perf_counter() - start
            layer = client.get(f"/api/layers/{KEY}")
            times = bench_server(client, result, spots)
            shot = args.screenshot if size == "demo" else None
            browser = bench_browser(server.url, spots, args.clicks, shot)
        rows[size] = {
            "nodes": int(work.study.network.n_nodes),
            "cells": len(result.cells),
            "run_s": run_s,
            "study_payload_bytes": study_bytes,
            "study_payload_s": study_s,
            "layer_bytes": len(layer.content),
            **{k: summary(v) for k, v in times.items() if v},
            "browser": browser,
            "load_average": os.getloadavg(),
        }
        print(f"{size}: done", file=sys.stderr, flush=True)
    print(
        f"\nStudio edit latency, ms (median / p90); load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
    )
    head = (
        f"{'size':<6}{'nodes':>9}{'cells':>8}{'python':>15}{'python cpu':>13}"
        f"{'edit (server)':>17}{'edit cpu':>13}{'round trip':>15}{'what-if':>15}"
        f"{'move':>15}{'undo':>13}{'browser':>17}{'target':>9}"
    )
    print(head)
    print("-" * len(head))
    for size, r in rows.items():

        def cell(k: str, r: dict = r) -> str:
            return f"{r[k]['median']:.0f} / {r[k]['p90']:.0f}" if k in r else "—"

        b = r["browser"]
        click = (
            f"{b['click_to_update']['median']:.0f} / {b['click_to_update']['p90']:.0f}"
            if "click_to_update" in b
            else b.get("skipped", "—")
        )
        target = TARGET_MS.get(size)
        verdict = (
            "—"
            if target is None
            else (f"{'ok' if r['edit']['median'] <= target else 'OVER'} {target:.0f}")
        )
        print(
            f"{size:<6}{r['nodes']:>9,}{r['cells']:>8,}{cell('python'):>15}"
            f"{cell('python_cpu'):>13}{cell('edit'):>17}{cell('edit_cpu'):>13}"
            f"{cell('edit_round_trip'):>15}{cell('whatif'):>15}{cell('move'):>15}"
            f"{cell('undo'):>13}{click:>17}{verdict:>9}"
        )
    for size, r in rows.items():
        b = r["browser"]
        extra = f"; page ready in {b['load_s']:.1f} s" if "load_s" in b else ""
        print(
            f"  {size}: study payload {r['study_payload_bytes'] / 1e6:.2f} MB "
            f"({r['study_payload_s']:.2f} s), layer {r['layer_bytes'] / 1e3:.0f} kB, "
            f"run {r['run_s']:.1f} s{extra}"
            + (f"; page errors: {b['errors']}" if b.get("errors") else "")
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
