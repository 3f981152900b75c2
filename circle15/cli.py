"""The ``circle15`` command: a thin layer over the Python API."""

from __future__ import annotations

import argparse
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

from . import __version__
from .errors import Circle15Error

EXIT_BAD_INPUT = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="circle15",
        description="15-minute public-service circle analysis: who reaches childcare, "
                    "schools, elderly canteens and sports venues within a short walk.",
    )
    parser.add_argument("--version", action="version", version=f"circle15 {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a coverage study (no CONFIG: the Zhenhai demo)")
    run.add_argument("config", nargs="?", type=Path,
                     help="study TOML file; omit it to run the embedded Zhenhai demo")
    run.add_argument("--out", type=Path, help="output folder (default: out/<study name>)")
    run.add_argument("--quiet", action="store_true", help="no progress messages")
    run.add_argument("--debug", action="store_true", help="show tracebacks on errors")

    demo = sub.add_parser("demo", help="rebuild the synthetic Zhenhai demo data from its seed")
    demo.add_argument("--out", type=Path, required=True, help="folder to write the demo into")
    demo.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    return parser


def _run(args: argparse.Namespace) -> int:
    from .outputs import write_outputs
    from .progress import Progress
    from .study import Study

    started = datetime.now(UTC)
    progress = Progress(enabled=not args.quiet)
    study = (Study.from_config(args.config, progress) if args.config
             else Study.demo(progress))
    result = study.run()
    out_dir = args.out or Path("out") / result.name
    paths = write_outputs(result, out_dir, config=study.config.path,
                          inputs=study.config.input_files(), started=started,
                          progress=progress)
    all_rows = result.districts[result.districts["district"] == "ALL"]
    print(f"circle15 {__version__}: {result.title}")
    if result.synthetic:
        print("NOTE: synthetic demo data — " + result.notice)
    for _, row in all_rows.iterrows():
        cat = result.categories[row["category"]]
        print(f"  {cat.label:<32} {row['coverage']:7.1%} of {row['population']:>10,.0f} "
              f"({cat.cohort_label}) within {row['target_min']:g} min")
    for line in _warnings(result.diagnostics):
        print(f"WARNING: {line}")
    seconds = (datetime.now(UTC) - started).total_seconds()
    print(f"outputs in {out_dir.resolve()} ({', '.join(paths)}) — {seconds:.1f} s")
    return 0


def _warnings(diagnostics: dict) -> list[str]:
    """Plain-language warnings a planner should read next to the coverage figures."""
    out = []
    if diagnostics.get("unsnapped_cells"):
        out.append(
            f"{diagnostics['unsnapped_cells']:,} populated cells "
            f"({diagnostics['unsnapped_population']:,.0f} residents) are farther than the snap "
            "limit from every street; they count as unreachable (see analysis.max_snap_m)")
    if diagnostics.get("population_off_main_network"):
        out.append(
            f"the walking network has {diagnostics['network_pieces']:,} separate pieces; "
            f"{diagnostics['population_off_main_network']:,.0f} residents live on pieces other "
            "than the largest")
    for key, ids in diagnostics.get("unsnapped_facilities", {}).items():
        if ids:
            shown = ", ".join(ids[:5]) + (" …" if len(ids) > 5 else "")
            out.append(f"{len(ids)} {key} facilities are too far from any street and were "
                       f"left out: {shown}")
    return out


def _demo(args: argparse.Namespace) -> int:
    from .demo.build import build_demo

    build_demo(args.out)
    print(f"demo data written to {args.out.resolve()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``circle15`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    handler = {"run": _run, "demo": _demo}[args.command]
    try:
        return handler(args)
    except Circle15Error as exc:
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(f"circle15: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("circle15: interrupted; outputs already written are complete, others untouched",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
