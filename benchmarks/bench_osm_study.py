"""A study on a real OSM extract, run twice as a user would: the second run's network read.

```bash
.venv/bin/python -m benchmarks.bench_osm_study [--extract porto-25km] [--runs 3]
```

Writes a study on the real streets of an extract of ``../shared/data/real`` (outline,
SYNTHETIC residents and facilities, labelled so; ``benchmarks.real.write_study``) into a
temporary folder and runs ``circle15 run`` on it in fresh processes with an empty
network cache: the first run builds the network from the file and stores it, the next
ones read it from the cache. Prints, per run, the "reading walking network" step and the
whole run (from ``manifest.json``), and the cache status the manifest records.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEP = "reading walking network"


def run_twice(extract: str, runs: int = 3, log=sys.stderr) -> list[dict]:
    """``runs`` runs of ``circle15 run`` on a study of ``extract``; one record each."""
    from .real import EXTRACTS, write_study

    if not EXTRACTS[extract].available:
        raise SystemExit(f"{EXTRACTS[extract].path} is absent")
    out = []
    with tempfile.TemporaryDirectory(prefix="circle15-osm-study-") as tmp:
        tmp = Path(tmp)
        toml = write_study(extract, tmp / "study")
        env = {**os.environ, "CIRCLE15_CACHE": str(tmp / "cache")}
        env.pop("CIRCLE15_NO_CACHE", None)
        for i in range(runs):
            start = time.perf_counter()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "circle15.cli",
                    "run",
                    str(toml),
                    "--out",
                    str(tmp / "out"),
                    "--quiet",
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            wall = time.perf_counter() - start
            if proc.returncode != 0:
                raise SystemExit(proc.stderr[-2000:])
            manifest = json.loads((tmp / "out" / "manifest.json").read_text("utf-8"))
            source = manifest["diagnostics"]["network_source"]
            out.append(
                {
                    "run": i + 1,
                    "network_s": manifest["step_seconds"][STEP],
                    "cache": source["cache"],
                    "wall_s": wall,
                    "nodes": manifest["diagnostics"]["network_nodes"],
                    "edges": manifest["diagnostics"]["network_edges"],
                }
            )
            print(
                f"[osm-study] run {i + 1}: network {out[-1]['network_s']:.2f} s "
                f"({source['cache']}), whole run {wall:.1f} s",
                file=log,
                flush=True,
            )
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_osm_study",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--extract", default="porto-25km")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    from .run import environment

    records = run_twice(args.extract, args.runs)
    print(environment())
    print(
        f"circle15 run on {args.extract} ({records[0]['nodes']:,} nodes, "
        f"{records[0]['edges']:,} edges), each run a fresh process"
    )
    print(f"{'run':<5}{'network cache':>15}{'reading walking network':>26}{'whole run':>12}")
    for r in records:
        print(f"{r['run']:<5}{r['cache']:>15}{r['network_s']:>24.2f} s{r['wall_s']:>10.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
