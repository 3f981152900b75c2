"""``circle15 batch BATCH.toml``: the command's arguments and what it prints."""

from __future__ import annotations

import argparse
import unicodedata
from pathlib import Path

from .. import __version__
from ..arguments import MAX_WORKERS, memory_argument, whole_number


def add_batch_parser(sub) -> argparse.ArgumentParser:
    """Add the ``batch`` subcommand to the ``circle15`` parser's subparsers."""
    batch = sub.add_parser(
        "batch",
        help="run one study per region (a city's districts, a province's counties) "
        "with shared inputs and standards, and combine them",
    )
    batch.add_argument("config", type=Path, help="batch TOML file (see the README)")
    batch.add_argument("--out", type=Path, help="output folder (default: out/<batch name>)")
    batch.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on Dask: 'local' starts a LocalCluster, or the address of a "
        "running scheduler, e.g. tcp://10.0.0.5:8786 (default: local "
        "processes, no Dask)",
    )
    batch.add_argument(
        "--workers",
        type=whole_number(0, MAX_WORKERS),
        help="worker processes (local processes and --scheduler local; "
        "default: one per core, at most one per region; 0: one region "
        "after another in this process)",
    )
    batch.add_argument(
        "--memory-limit",
        metavar="SIZE",
        type=memory_argument,
        help="memory per worker, e.g. 4GB (default: the memory available, "
        "shared out among the workers)",
    )
    batch.add_argument(
        "--rerun",
        action="store_true",
        help="run every region, also those whose inputs and outputs are "
        "unchanged since their last run",
    )
    batch.add_argument(
        "--wait",
        action="store_true",
        help="wait for another circle15 writing to the same folder to finish "
        "(default: stop with exit code 2, naming it)",
    )
    batch.add_argument("--quiet", action="store_true", help="no progress messages")
    batch.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    return batch


def run_batch_command(args: argparse.Namespace) -> int:
    """Run the batch, print a table of the regions, and return the exit code."""
    from ..progress import Progress
    from .run import run_batch

    progress = Progress(enabled=not args.quiet)
    run = run_batch(
        args.config,
        args.out,
        scheduler=args.scheduler,
        workers=args.workers,
        memory_limit=args.memory_limit,
        resume=not args.rerun,
        progress=progress,
        wait=args.wait,
    )
    print(f"circle15 {__version__}: batch {run.batch.name} — {run.batch.title}")
    if run.batch.section.synthetic:
        print("NOTE: synthetic data — " + run.batch.section.notice)
    n, workers = len(run.summaries), run.executor.get("workers")
    print(
        f"{n} region{'s' * (n != 1)} on {run.executor.get('executor')} "
        f"({workers} worker{'s' * (workers != 1)})"
    )
    for line in summary_lines(run):
        print(line)
    peaks = run.executor.get("peak_memory_mb_by_worker") or {}
    if peaks:
        shown = ", ".join(f"{w} {mb:,.0f} MB" for w, mb in sorted(peaks.items()))
        print(f"peak memory per worker: {shown}")
    failed = run.failed()
    if failed:
        print(
            f"{len(failed)} of {len(run.summaries)} regions did not finish; the combined "
            "tables leave them out (reasons above and in regions.csv)"
        )
    print(
        f"outputs in {run.out_dir} ({', '.join(run.paths)}; one folder per region) — "
        f"{run.seconds:.1f} s"
    )
    return run.exit_code


def summary_lines(run) -> list[str]:
    """The regions table: key, name, status, seconds, peak memory, coverage, reason."""
    import pandas as pd

    table = run.tables["regions"]
    coverage = [c for c in table.columns if c.startswith("coverage_")]
    head = f"  {'region':<14} {'name':<16} {'status':<8} {'seconds':>8} {'peak MB':>8}"
    head += "".join(f" {c[len('coverage_') :][:14]:>14}" for c in coverage)
    lines = [head]
    for _, row in table.iterrows():
        seconds = f"{row['seconds']:.1f}" if pd.notna(row["seconds"]) else "—"
        peak = f"{row['peak_memory_mb']:,.0f}" if pd.notna(row["peak_memory_mb"]) else "—"
        line = (
            f"  {_fit(row['region'], 14)} {_fit(row['region_name'], 16)} "
            f"{row['status']:<8} {seconds:>8} {peak:>8}"
        )
        line += "".join(
            f" {row[c]:>14.1%}" if pd.notna(row[c]) else f" {'—':>14}" for c in coverage
        )
        if row["status"] in ("failed", "error"):
            reason = str(row["reason"])
            line += f"\n      reason: {reason[:400]}{'…' if len(reason) > 400 else ''}"
        lines.append(line)
    return lines


def _fit(text, width: int) -> str:
    """``text`` cut and padded to ``width`` columns; Chinese characters take two."""
    out, used = "", 0
    for char in str(text):
        w = 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
        if used + w > width:
            break
        out, used = out + char, used + w
    return out + " " * (width - used)
