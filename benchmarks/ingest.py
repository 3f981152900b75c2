"""Ingestion: the walking network from an OSM file — circle15 against pyrosm and osmnx.

``python -m benchmarks.ingest [--datasets porto,porto-25km,chengdu,synthetic-5m]
[--rounds 3] [--cap-seconds 900] [--json FILE]`` (also part of ``python -m benchmarks``).

Every measurement runs in a fresh process (pyrosm keeps what it parsed in memory, so a
second call in one process would be free), with the tool's modules imported before the
clock starts, the tools taking turns round after round, so that they share the
machine's ups and downs; the table gives each tool's best time and the median. The file
is read once beforehand, so every tool finds it in the page cache.

- *circle15 cold*: ``circle15.sources.inputs.read_walking_network`` with the network
  cache off — read the extract, build osmnx's simplified walk graph of the study area
  plus buffer, project it;
- *circle15 cached*: the same call when the network cache holds the entry (the second
  run of a study);
- *pyrosm*: ``pyrosm.OSM(file).get_network("walking")``, pyrosm's whole-file parse into
  its walking network (its own filter; not simplified, not clipped);
- *osmnx*: the osmnx recipe circle15 used before (``benchmarks.osm_peers``): pyosmium
  writes the walkable ways near the area as OSM XML, osmnx builds, truncates and
  simplifies the graph, ``to_undirected``. Run once (it is slow), stopped at the cap.

circle15's graph is checked against osmnx's whenever osmnx finished: same nodes, same
edges, every length within 1 mm.

A second table compares the parsers alone, the choice behind circle15's reader: the
walkable ways of the whole file as arrays of way ids, node ids, coordinates and tags,
(a) circle15's (libosmium handlers in C++ write OPL text, Arrow parses it) and (b) the
usual pyosmium loop (``FileProcessor.with_locations()``, a Python dict of tags and a
list of node references per way); both must find the same ways and references.

``synthetic-5m`` is a SYNTHETIC extract of 5 million OSM nodes written by
``benchmarks.synthetic_osm`` (seeded) into a temporary folder for the run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATASETS = "porto,porto-25km,chengdu,synthetic-5m"
TOOLS = ("circle15", "circle15-cached", "pyrosm", "parse-circle15", "parse-pyosmium")
MAIN_TOOLS = TOOLS[:3]


def datasets(names: list[str], folder: Path, log=sys.stderr) -> dict[str, dict]:
    """Specs of the datasets: file, study box, CRS, buffer (absent real files skipped)."""
    from .real import EXTRACTS

    out = {}
    for name in names:
        if name.startswith("synthetic-"):
            from .synthetic_osm import synthetic_extract

            n_nodes = _node_count(name)
            print(
                f"[ingest] writing the synthetic extract ({n_nodes:,} nodes)", file=log, flush=True
            )
            start = time.perf_counter()
            ex = synthetic_extract(folder, n_nodes)
            out[name] = {
                "path": str(ex.path),
                "box": ex.study_box(),
                "crs": "EPSG:32651",
                "buffer_m": 1500.0,
                "osm_nodes": ex.nodes,
                "osm_ways": ex.ways,
                "about": f"SYNTHETIC, seeded: {ex.nodes:,} OSM nodes, {ex.ways:,} "
                f"ways; study area the middle 60 % + 1.5 km",
                "generated_s": round(time.perf_counter() - start, 1),
            }
        elif name in EXTRACTS:
            ex = EXTRACTS[name]
            if not ex.available:
                print(f"[ingest] {name}: {ex.path} is absent, skipped", file=log)
                continue
            out[name] = {
                "path": str(ex.path),
                "box": ex.study_box,
                "crs": ex.crs,
                "buffer_m": ex.buffer_m,
                "about": ex.about,
            }
        else:
            raise SystemExit(
                f"unknown dataset {name!r}; choose from "
                f"{', '.join(EXTRACTS)}, synthetic-5m (or -50k, -1m …)"
            )
        out[name]["bytes"] = Path(out[name]["path"]).stat().st_size
    return out


def _node_count(name: str) -> int:
    """``synthetic-5m`` -> 5,000,000; ``synthetic-50k`` -> 50,000."""
    size = name.removeprefix("synthetic-").lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(size[-1:], 1)
    try:
        return int(float(size.rstrip("km")) * scale)
    except ValueError:
        raise SystemExit(f"{name}: give the size as synthetic-5m or synthetic-50k") from None


# --------------------------------------------------------------------------------------
# One measurement (in its own process)


def _study_parts(spec: dict, cache: bool):
    """A LoadedConfig and Districts for ``read_walking_network`` on the spec's area."""
    import geopandas as gpd
    from shapely.geometry import box

    from circle15.config import LoadedConfig, StudyConfig
    from circle15.model import Districts
    from circle15.standards import load_standards

    area = gpd.GeoSeries([box(*spec["box"])], crs=4326).to_crs(spec["crs"]).iloc[0]
    raw = {
        "study": {"name": "ingest", "crs": spec["crs"]},
        "boundary": {"outline": "x"},
        "network": {"path": spec["path"], "buffer_m": spec["buffer_m"], "cache": cache},
        "population": {"path": "x"},
        "facilities": {"kindergarten": {"path": "x"}},
    }
    loaded = LoadedConfig(Path("ingest.toml"), StudyConfig.model_validate(raw), load_standards())
    zones = gpd.GeoDataFrame({"district": ["area"]}, geometry=[area], crs=spec["crs"])
    return loaded, Districts(name="ingest", zones=zones, area=area)


def _import_first(tool: str) -> None:
    """Import what a tool uses before its clock starts (imports are not reading)."""
    import geopandas  # noqa: F401

    if tool == "pyrosm":
        import pyrosm  # noqa: F401
    elif tool == "osmnx":
        import osmium
        import osmnx  # noqa: F401
    else:
        import osmium  # noqa: F401
        import pyarrow.compute
        import pyarrow.csv
        import pyarrow.parquet  # noqa: F401

        import circle15.sources.network_cache
        import circle15.sources.osm  # noqa: F401


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: its own, not the parent's before exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(tool: str, spec: dict, dump: Path | None = None) -> dict:
    """Time one tool on one dataset (in this process)."""
    from pyproj import CRS

    _import_first(tool)

    if tool.startswith("parse-"):
        parse = _parse_with_libosmium if tool == "parse-circle15" else _parse_with_pyosmium
        start = time.perf_counter()
        ways, refs = parse(Path(spec["path"]))
        seconds = time.perf_counter() - start
        out = {"ways": ways, "refs": refs}
    elif tool == "pyrosm":
        import pyrosm

        start = time.perf_counter()
        edges = pyrosm.OSM(spec["path"]).get_network("walking")
        seconds = time.perf_counter() - start
        out = {"edges": len(edges)}
    elif tool == "osmnx":
        from .osm_peers import osmnx_walk_network

        loaded, districts = _study_parts(spec, cache=False)
        from circle15.sources.osm import study_polygon_wgs84

        polygon = study_polygon_wgs84(districts.area, spec["crs"], spec["buffer_m"])
        start = time.perf_counter()
        net = osmnx_walk_network(Path(spec["path"]), CRS(spec["crs"]), polygon)
        seconds = time.perf_counter() - start
        out = _network_summary(net, dump)
    else:
        from circle15.sources.inputs import read_walking_network

        loaded, districts = _study_parts(spec, cache=tool != "circle15")
        start = time.perf_counter()
        net = read_walking_network(loaded, CRS(spec["crs"]), districts)
        seconds = time.perf_counter() - start
        out = _network_summary(net, dump)
        out["cache"] = net.provenance.get("cache")
    out.update(tool=tool, seconds=seconds, peak_rss_mb=peak_rss_mb())
    return out


def _parse_with_libosmium(path: Path) -> tuple[int, int]:
    from circle15.sources.osm_filter import WALK_FILTER
    from circle15.sources.osm_ways import read_walk_ways

    ways = read_walk_ways(path, WALK_FILTER)
    return ways.n_ways, len(ways.node_id)


def _parse_with_pyosmium(path: Path) -> tuple[int, int]:
    """The walkable ways as arrays, the way pyosmium's documentation reads them."""
    import osmium

    from circle15.sources.osm_filter import WALK_FILTER, compile_filter
    from circle15.sources.osm_ways import WAY_TAGS

    keep = compile_filter(WALK_FILTER)
    way_ids, counts, refs, tags = [], [], [], {k: [] for k in WAY_TAGS}
    processor = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    for way in processor:
        way_tags = {t.k: t.v for t in way.tags}
        if not keep(way_tags):
            continue
        nodes = [(n.ref, n.lon, n.lat) for n in way.nodes if n.location.valid()]
        if len(nodes) < 2:
            continue
        way_ids.append(way.id)
        counts.append(len(nodes))
        refs.extend(nodes)
        for k in WAY_TAGS:
            tags[k].append(way_tags.get(k))
    table = np.asarray(refs, dtype=float).reshape(-1, 3)
    return len(np.asarray(way_ids)), len(table)


def _network_summary(net, dump: Path | None) -> dict:
    if dump is not None:
        ids = net.nodes["node_id"].to_numpy().astype(np.int64)
        np.savez(
            dump,
            nodes=np.sort(ids),
            u=ids[net.edges["u"].to_numpy()],
            v=ids[net.edges["v"].to_numpy()],
            length=net.edges["length_m"].to_numpy(),
        )
    return {"nodes": net.n_nodes, "edges": net.n_edges}


def compare_dumps(ours: Path, theirs: Path) -> str:
    """Raise unless two networks have the same nodes, edges and lengths (1 mm)."""
    a, b = np.load(ours), np.load(theirs)
    if not np.array_equal(a["nodes"], b["nodes"]):
        raise AssertionError("node sets differ")

    def edges(d):
        lo, hi = np.minimum(d["u"], d["v"]), np.maximum(d["u"], d["v"])
        order = np.lexsort((d["length"], hi, lo))
        return lo[order], hi[order], d["length"][order]

    (lo1, hi1, l1), (lo2, hi2, l2) = edges(a), edges(b)
    if not (np.array_equal(lo1, lo2) and np.array_equal(hi1, hi2)):
        raise AssertionError("edge sets differ")
    worst = float(np.abs(l1 - l2).max()) if len(l1) else 0.0
    if worst > 1e-3:
        raise AssertionError(f"lengths differ by up to {worst:.4f} m")
    return (
        f"same {len(a['nodes']):,} nodes and {len(lo1):,} edges as osmnx, lengths within "
        f"{worst * 1000:.1e} mm"
    )


def worker(argv: list[str]) -> int:
    """``python -m benchmarks.ingest --worker TOOL SPEC_JSON [DUMP]``: one measurement."""
    tool, spec = argv[0], json.loads(argv[1])
    dump = Path(argv[2]) if len(argv) > 2 else None
    result = measure(tool, spec, dump)
    sys.__stdout__.write("RESULT " + json.dumps(result) + "\n")
    return 0


# --------------------------------------------------------------------------------------
# The run


def _run(tool: str, spec: dict, cache_dir: Path, cap_s: float, dump: Path | None = None) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.ingest", "--worker", tool, json.dumps(spec)]
    if dump is not None:
        cmd.append(str(dump))
    env = {**os.environ, "CIRCLE15_CACHE": str(cache_dir)}
    env.pop("CIRCLE15_NO_CACHE", None)
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=cap_s)
    except subprocess.TimeoutExpired:
        return {"tool": tool, "dnf": cap_s}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    tail = proc.stderr.strip().splitlines()
    return {"tool": tool, "error": tail[-1] if tail else f"exit code {proc.returncode}"}


def run_ingest(
    names: list[str], rounds: int = 3, cap_s: float = 900.0, log=sys.stderr, parse_rounds: int = 1
) -> dict:
    """Measure every tool on every dataset; a dict of results by dataset.

    The parsers alone (second table) run in the first ``parse_rounds`` rounds.
    """
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="circle15-ingest-") as tmp:
        tmp = Path(tmp)
        specs = datasets(names, tmp, log)
        for name, spec in specs.items():
            Path(spec["path"]).read_bytes()  # into the page cache, for every tool alike
            cache_dir = tmp / f"cache-{name}"
            runs: dict[str, list[dict]] = {t: [] for t in (*TOOLS, "osmnx")}
            stored = _run("circle15-cached", spec, cache_dir, cap_s)  # fills the cache
            print(
                f"[ingest] {name}: cache entry {stored.get('cache', stored)}", file=log, flush=True
            )
            for r in range(rounds):
                for tool in TOOLS if r < parse_rounds else MAIN_TOOLS:
                    runs[tool].append(_run(tool, spec, cache_dir, cap_s))
                    print(
                        f"[ingest] {name} round {r + 1} {tool}: {_seconds_text(runs[tool][-1])}",
                        file=log,
                        flush=True,
                    )
            ours, theirs = tmp / f"{name}-circle15.npz", tmp / f"{name}-osmnx.npz"
            _run("circle15", spec, cache_dir, cap_s, ours)
            runs["osmnx"].append(_run("osmnx", spec, cache_dir, cap_s, theirs))
            print(
                f"[ingest] {name} osmnx: {_seconds_text(runs['osmnx'][-1])}", file=log, flush=True
            )
            check = "osmnx did not finish: not compared"
            if "seconds" in runs["osmnx"][-1]:
                try:
                    check = compare_dumps(ours, theirs)
                except AssertionError as exc:
                    check = f"DIFFERENT from osmnx: {exc}"
            results[name] = {"spec": spec, "runs": runs, "check": check}
    return results


def _seconds_text(r: dict) -> str:
    if "dnf" in r:
        return f"did not finish in {r['dnf']:.0f} s"
    if "error" in r:
        return f"failed: {r['error'][:60]}"
    return f"{r['seconds']:.2f} s"


def _best(runs: list[dict]) -> float | None:
    times = [r["seconds"] for r in runs if "seconds" in r]
    return min(times) if times else None


def _median(runs: list[dict]) -> float | None:
    times = [r["seconds"] for r in runs if "seconds" in r]
    return statistics.median(times) if times else None


def format_ingest(results: dict) -> str:
    """The ingestion table."""
    lines = [
        "Ingestion: the walking network of the study area from the OSM file (seconds: "
        "best / median of the rounds, each in a fresh process; osmnx once)",
        "ratio = circle15 cold / pyrosm (target <= 2); osmnx x = osmnx / circle15 cold",
    ]
    head = (
        f"{'dataset':<14}{'circle15 cold':>16}{'cached':>15}{'pyrosm':>16}{'ratio':>7}{'osmnx':>24}"
    )
    lines += [head, "-" * len(head)]
    for name, res in results.items():
        runs = res["runs"]
        cells = []
        for tool in MAIN_TOOLS:
            best, med = _best(runs[tool]), _median(runs[tool])
            cells.append(
                f"{best:.2f} / {med:.2f}"
                if best is not None
                else _seconds_text(runs[tool][-1])[:14]
            )
        ours, pyrosm = _best(runs["circle15"]), _best(runs["pyrosm"])
        ratio = f"{ours / pyrosm:.2f}" if ours and pyrosm else "-"
        o = runs["osmnx"][-1]
        osmnx = (
            f"{o['seconds']:.1f} s {o['seconds'] / ours:6.1f}x"
            if "seconds" in o and ours
            else _seconds_text(o)
        )
        lines.append(f"{name:<14}{cells[0]:>16}{cells[1]:>15}{cells[2]:>16}{ratio:>7}{osmnx:>24}")
    lines.append("")
    for name, res in results.items():
        runs, spec = res["runs"], res["spec"]
        ours = next((r for r in runs["circle15"] if "nodes" in r), {})
        pyrosm = next((r for r in runs["pyrosm"] if "edges" in r), {})
        peak = {
            t: max((r.get("peak_rss_mb", 0) for r in runs[t]), default=0)
            for t in (*MAIN_TOOLS, "osmnx")
        }
        lines.append(f"  {name}: {spec['about']}; file {spec['bytes'] / 1e6:.1f} MB")
        lines.append(
            f"    circle15 {ours.get('nodes', 0):,} nodes / {ours.get('edges', 0):,} "
            f"edges (simplified); pyrosm {pyrosm.get('edges', 0):,} edges "
            f"(unsimplified, whole file); {res['check']}"
        )
        lines.append("    peak memory MB: " + ", ".join(f"{t} {peak[t]:,.0f}" for t in peak))
    lines += [
        "",
        "Parsers alone: the walkable ways of the whole file as arrays (seconds, best "
        "of the rounds): circle15 (libosmium -> OPL -> Arrow) against the pyosmium loop",
        f"{'dataset':<14}{'circle15':>12}{'pyosmium':>12}{'x':>8}   ways / references",
    ]
    for name, res in results.items():
        runs = res["runs"]
        ours, theirs = _best(runs["parse-circle15"]), _best(runs["parse-pyosmium"])
        if ours is None or theirs is None:
            continue
        a = next(r for r in runs["parse-circle15"] if "ways" in r)
        b = next(r for r in runs["parse-pyosmium"] if "ways" in r)
        same = "same" if (a["ways"], a["refs"]) == (b["ways"], b["refs"]) else "DIFFERENT"
        lines.append(
            f"{name:<14}{ours:>10.2f} s{theirs:>10.2f} s{theirs / ours:>7.1f}x   "
            f"{a['ways']:,} / {a['refs']:,} ({same})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        return worker(argv[1:])
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.ingest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--datasets", default=DEFAULT_DATASETS)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cap-seconds", type=float, default=900.0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    from .run import environment

    results = run_ingest(
        [d.strip() for d in args.datasets.split(",") if d.strip()], args.rounds, args.cap_seconds
    )
    print(environment())
    print(format_ingest(results))
    if args.json:
        args.json.write_text(
            json.dumps({"environment": environment(), "ingest": results}, indent=1)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
