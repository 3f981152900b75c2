"""Time ``circle15 batch`` on a synthetic batch: local processes against a Dask LocalCluster.

```bash
.venv/bin/python -m benchmarks.bench_batch [--nodes 40000] [--columns 4] [--rows 3]
```

Writes a seeded synthetic city (labelled synthetic) cut into ``columns x rows`` regions,
then runs the batch as a user would, ``circle15 batch`` in a fresh process, three ways:
on local processes (the default), on a Dask LocalCluster (``--scheduler local``), both
with ``--rerun`` and the same number of workers, and once more on local processes
without ``--rerun`` (every region up to date: the resume check only). Prints the wall
time of each and the peak resident memory of every worker (from the batch manifest),
and checks that both executors wrote the same combined tables.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .synthetic_batch import write_synthetic_batch


def _run(toml: Path, out: Path, *extra: str) -> tuple[float, dict]:
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "circle15.cli",
            "batch",
            str(toml),
            "--out",
            str(out),
            "--quiet",
            *extra,
        ],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(
            f"circle15 batch failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return seconds, json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=40_000, help="street nodes of the city")
    parser.add_argument("--columns", type=int, default=4)
    parser.add_argument("--rows", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--folder", type=Path, help="where to write (default: a temp folder)")
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="circle15-bench-batch-"))
    toml = write_synthetic_batch(
        folder / "inputs", n_nodes=args.nodes, columns=args.columns, rows=args.rows
    )
    workers = ["--workers", str(args.workers)]
    runs = {
        "local processes": _run(toml, folder / "local", "--rerun", *workers),
        "Dask LocalCluster": _run(
            toml, folder / "dask", "--rerun", "--scheduler", "local", *workers
        ),
        "local processes, all up to date": _run(toml, folder / "local", *workers),
    }
    same = all(
        (folder / "local" / name).read_bytes() == (folder / "dask" / name).read_bytes()
        for name in ("districts.csv", "index.csv", "totals.csv")
    )
    regions = runs["local processes"][1]["regions"]
    print(
        f"synthetic batch: {len(regions)} regions, city of ~{args.nodes:,} street nodes, "
        f"{args.workers} workers; combined tables identical: {same}"
    )
    print(f"{'executor':<34} {'wall s':>7}  peak memory per worker (MB)")
    for name, (seconds, manifest) in runs.items():
        peaks = manifest["executor"].get("peak_memory_mb_by_worker") or {}
        shown = ", ".join(f"{mb:,.0f}" for _, mb in sorted(peaks.items())) or "—"
        print(f"{name:<34} {seconds:7.1f}  {shown}")
    seconds = [r["seconds"] for r in regions if r["seconds"]]
    print(
        f"per region (local processes): {min(seconds):.1f}–{max(seconds):.1f} s, "
        f"sum {sum(seconds):.1f} s; outputs in {folder}"
    )
    if not same:
        raise SystemExit("the two executors wrote different combined tables")


if __name__ == "__main__":
    main()
