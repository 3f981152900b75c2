"""Run the benchmark suite and print a table of ratios.

``python -m benchmarks [--sizes demo,10k,100k,1m,porto,chengdu] [--peers pandana,networkx,
osmnx-recipe] [--ingest porto,porto-25km,chengdu,synthetic-5m] [--cap-seconds 300]
[--json FILE] [--map]``

``porto`` and ``chengdu`` are the real streets of ``../shared/data/real`` (synthetic
residents and facilities; skipped when the data are absent). ``--ingest`` adds the
ingestion table (``benchmarks.ingest``): the walking network read from the OSM file by
circle15 (cold and cached), pyrosm and osmnx, side by side.

Each (task, size) runs in its own process (``benchmarks.worker``): its peak memory is its
own and a peer past the time cap is stopped and reported as "did not finish in N s". The
cap starts once a task's inputs are built. Ratios are peer time / circle15 time in the
same run; circle15's time is its whole pipeline (snap + walking times + district table),
a peer's is its network work alone on circle15's already-snapped graph.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from datetime import date
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = "demo,10k,100k,1m,porto,chengdu"
DEFAULT_PEERS = "pandana,pandana-15min,networkx,osmnx-recipe"
#: Address-space limit of a peer process: a peer that needs more fails instead of
#: pushing a shared machine into swap.
PEER_MEMORY_LIMIT_GB = 12


def _limit_memory() -> None:  # runs in the child before exec
    limit = PEER_MEMORY_LIMIT_GB * 1024**3
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def run_task(task: str, size: str, cap_s: float, log=sys.stderr, *, open_map: bool = False) -> dict:
    """Run one worker; its RESULT, or a did-not-finish / failure record."""
    cmd = [sys.executable, "-m", "benchmarks.worker", task, size, *(["--map"] if open_map else [])]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=None if task == "circle15" else _limit_memory,
    )
    errors: list[str] = []
    drain = threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True)
    drain.start()
    ready = threading.Event()
    result: dict = {}

    def read() -> None:
        for line in proc.stdout:
            if line.startswith("READY"):
                ready.set()
            elif "RESULT {" in line:
                result.update(json.loads(line[line.index("RESULT {") + 7 :]))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # Building a 1M-node city takes a while; the cap counts from READY.
    while not ready.is_set() and proc.poll() is None:
        ready.wait(0.2)
    started = time.perf_counter()
    try:
        proc.wait(timeout=cap_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return {"peer": task, "size": size, "dnf": cap_s}
    reader.join(5)
    drain.join(5)
    if not result:
        tail = "".join(errors[-5:]).strip().splitlines()
        why = tail[-1] if tail else f"no result (exit code {proc.returncode})"
        if "MemoryError" in why or "bad_alloc" in why:
            why = f"ran out of memory (limit {PEER_MEMORY_LIMIT_GB} GB)"
        return {"peer": task, "size": size, "error": why}
    result["wall_s"] = time.perf_counter() - started
    print(f"  {task} {size}: done in {result['wall_s']:.1f} s", file=log, flush=True)
    return result


def _peer_cell(r: dict, ours: float, shared: float = 0.0) -> str:
    if "dnf" in r:
        return f"did not finish in {r['dnf']:.0f} s"
    if "error" in r:
        return r["error"].strip().splitlines()[0][:27]
    total = r["timings"]["total"] + shared
    return f"{total:8.2f} s {total / ours:6.1f}x"


def _shared(core: dict) -> float:
    """circle15 steps a peer needs too: snapping and splicing the points into the streets
    (none of the peers snaps to edges) and the district table (none makes one)."""
    return core["snap"] + core["graph"] + core["aggregate"]


def _fmt_size(r: dict) -> str:
    return f"{r['nodes']:,} nodes, {r['cells']:,} cells, {r['facilities']:,} facilities"


def format_tables(runs: dict[str, dict], peers: list[str]) -> str:
    """The report: ratios first, then circle15's own steps."""
    lines = []
    head = f"{'size':<8}{'circle15':>10}  " + "".join(f"{p:>26}" for p in peers)
    lines += [
        "End to end (seconds, and peer / circle15): circle15 = snap + splice + walking "
        "times + district table;",
        "a peer = its network work on circle15's snapped "
        "graph + circle15's snap, splice and table (which it lacks)",
        head,
        "-" * len(head),
    ]
    for size, run in runs.items():
        ours = run["circle15"]
        if "core" not in ours:
            lines.append(f"{size:<8}{'failed: ' + ours.get('error', '?')}")
            continue
        t, shared = ours["core"]["total"], _shared(ours["core"])
        row = f"{size:<8}{t:>8.3f} s  "
        row += "".join(
            f"{_peer_cell(run.get(p, {'error': 'not run'}), t, shared):>26}" for p in peers
        )
        lines.append(row)
    lines.append("")
    lines += [
        "Network work only: circle15 = splice + walking times; a peer = build + "
        "(precompute) + search",
        head,
        "-" * len(head),
    ]
    for size, run in runs.items():
        ours = run["circle15"]
        if "core" not in ours:
            continue
        t = ours["core"]["graph"] + ours["core"]["times"]
        row = f"{size:<8}{t:>8.3f} s  "
        row += "".join(f"{_peer_cell(run.get(p, {'error': 'not run'}), t):>26}" for p in peers)
        lines.append(row)
    lines.append("")
    lines.append("Peers' steps (seconds) and checks")
    for size, run in runs.items():
        for p in peers:
            r = run.get(p)
            if r and "timings" in r:
                steps = ", ".join(f"{k} {v:.2f}" for k, v in r["timings"].items())
                lines.append(
                    f"  {size:<5} {p:<13} {steps}; peak {r['peak_rss_mb']:,.0f} MB; {r['check']}"
                )
    lines.append("")
    opened = any("map_open" in run["circle15"] for run in runs.values())
    head2 = (
        f"{'size':<8}{'snap':>7}{'graph':>7}{'times':>7}{'agg':>7}{'core':>7}"
        f"{'full':>8}{'what-if ms':>26}{'siting':>8}{'map':>7}{'MB':>7}"
        + (f"{'open':>7}" if opened else "")
        + f"{'peak MB':>9}"
    )
    lines += [
        "circle15 steps, seconds. core = snap + graph + times + agg (the end-to-end "
        "figure above); full = Study.run",
        "with gaps, supply, equity and index; "
        "what-if = open one site: engine / coverage / full result (warm);",
        "siting = choose 3 of 1,000 candidates (greedy); map = write map.html (MB its "
        "size" + ("; open = Chromium opens it, median of 3" if opened else "") + ");",
        "peak = the whole run's peak memory",
        head2,
        "-" * len(head2),
    ]
    for size, run in runs.items():
        r = run["circle15"]
        if "core" not in r:
            continue
        c = r["core"]
        whatif = " / ".join(
            f"{r[k] * 1000:,.1f}" if k in r else "-"
            for k in ("whatif_engine_s", "whatif_coverage_s", "whatif_s")
        )
        lines.append(
            f"{size:<8}{c['snap']:>7.2f}{c['graph']:>7.2f}{c['times']:>7.2f}"
            f"{c['aggregate']:>7.2f}{c['total']:>7.2f}{r['full_run_s']:>8.2f}"
            f"{whatif:>26}{r['siting_s']:>8.2f}{r['map_s']:>7.2f}{r['map_mb']:>7.1f}"
            + (f"{_open_cell(r):>7}" if opened else "")
            + f"{r['peak_rss_mb']:>9,.0f}"
        )
    lines.append("")
    for size, run in runs.items():
        r = run["circle15"]
        if "core" in r:
            first = (
                f"; what-if first call {r['whatif_first_s'] * 1000:.0f} ms"
                if "whatif_first_s" in r
                else ""
            )
            cpu = f" ({r['map_cpu_s']:.2f} s CPU)" if "map_cpu_s" in r else ""
            lines.append(
                f"  {size:<5} {_fmt_size(r)}; {r['categories']} categories"
                f"{first}; map {r['map_mb']:.1f} MB written in {r['map_s']:.2f} s{cpu}"
            )
            if "map_open" in r and "error" not in r["map_open"]:
                o = r["map_open"]
                drawn = f", cells drawn {o['drawn_s']:.2f} s" if o.get("drawn_s") else ""
                lines.append(
                    f"        map.html in {o['chromium']}: load event {o['load_s']:.2f} s"
                    f"{drawn}, first frame after load {o['open_s']:.2f} s "
                    "(median of 3, from navigation start)"
                )
    return "\n".join(lines)


def _open_cell(r: dict) -> str:
    o = r.get("map_open")
    if not o:
        return "-"
    return o["error"][:6] if "error" in o else f"{o['open_s']:.2f}"


def environment() -> str:
    """Machine, versions and date, for the record."""
    names = [
        "numpy",
        "scipy",
        "shapely",
        "networkx",
        "osmnx",
        "pandana",
        "geopandas",
        "osmium",
        "pyrosm",
        "pyarrow",
    ]
    versions = []
    for name in names:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    cpu = platform.processor() or platform.machine()
    return (
        f"{date.today().isoformat()}; {os.cpu_count()} cores ({cpu}); "
        f"Python {platform.python_version()}; " + ", ".join(versions)
    )


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--sizes",
        default=DEFAULT_SIZES,
        help=f"comma-separated: demo, 2k, 10k, 100k, 1m (default {DEFAULT_SIZES})",
    )
    ap.add_argument(
        "--peers",
        default=DEFAULT_PEERS,
        help=f"comma-separated, or 'none' (default {DEFAULT_PEERS})",
    )
    ap.add_argument(
        "--cap-seconds", type=float, default=300.0, help="time cap of each peer run (default 300)"
    )
    from .ingest import DEFAULT_DATASETS

    ap.add_argument(
        "--ingest",
        default=DEFAULT_DATASETS,
        help="datasets of the ingestion table, or 'none' (default "
        f"{DEFAULT_DATASETS}; real ones skipped when absent)",
    )
    ap.add_argument(
        "--ingest-rounds", type=int, default=3, help="rounds of the ingestion table (default 3)"
    )
    ap.add_argument("--json", type=Path, help="also write every measurement to this file")
    ap.add_argument(
        "--map",
        action="store_true",
        help="also open circle15's map.html in headless Chromium and time it",
    )
    args = ap.parse_args(argv)
    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    peers = [] if args.peers == "none" else [p.strip() for p in args.peers.split(",")]
    from .peers import PEERS

    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        ap.error(f"unknown peer {unknown[0]!r}; choose from {', '.join(PEERS)}")
    from .real import EXTRACTS

    runs: dict[str, dict] = {}
    for size in sizes:
        if size in EXTRACTS and not EXTRACTS[size].available:
            print(f"[bench] {size}: {EXTRACTS[size].path} is absent, skipped", file=sys.stderr)
            continue
        print(f"[bench] {size}", file=sys.stderr, flush=True)
        runs[size] = {
            "circle15": run_task("circle15", size, max(args.cap_seconds, 600), open_map=args.map)
        }
        for peer in peers:
            runs[size][peer] = run_task(peer, size, args.cap_seconds)
    ingest = {}
    if args.ingest != "none":
        from .ingest import run_ingest

        print("[bench] ingestion", file=sys.stderr, flush=True)
        ingest = run_ingest(
            [d.strip() for d in args.ingest.split(",") if d.strip()],
            args.ingest_rounds,
            max(args.cap_seconds, 900),
        )
    print(environment())
    print(format_tables(runs, peers))
    if ingest:
        from .ingest import format_ingest

        print()
        print(format_ingest(ingest))
    if args.json:
        args.json.write_text(
            json.dumps({"environment": environment(), "runs": runs, "ingest": ingest}, indent=1)
        )
    return 0
