"""``circle15 diff BEFORE AFTER``: progress between two vintages of a district's data.

Each of BEFORE and AFTER is a run folder (written by ``circle15 run``) or a study file,
which is run first. The command matches the facilities, compares the tables, checks the
targets and writes the files of :mod:`circle15.outputs.diff_tables`, published as one set
with a manifest like every command's outputs.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ._version import __version__
from .arguments import finite_number
from .errors import ConfigError

__all__ = ["add_diff_parser", "run_diff_command", "targets_file"]

WAIT_HELP = (
    "wait for another circle15 writing to the same output folder to finish "
    "(default: stop with exit code 2, naming it)"
)


def add_diff_parser(sub: Any) -> None:
    """Add ``circle15 diff`` to the command line."""
    from .settings import MOVED_M, NAME_MATCH_M, PLACE_MATCH_M

    diff = sub.add_parser(
        "diff",
        help="what changed between two vintages: facilities opened, closed and "
        "moved, coverage, time, supply and index per sub-district, targets",
    )
    diff.add_argument("before", type=Path, help="the earlier run folder, or its study file")
    diff.add_argument("after", type=Path, help="the later run folder, or its study file")
    diff.add_argument("--out", type=Path, help="output folder (default: out/diff_<before>_<after>)")
    diff.add_argument(
        "--targets",
        type=Path,
        help="a TOML file whose [targets] to check (a study or scenario file; "
        "default: the targets the AFTER run recorded)",
    )
    diff.add_argument(
        "--name-m",
        type=finite_number(0, 100_000),
        default=NAME_MATCH_M,
        help=f"match facilities of the same name within this many metres ({NAME_MATCH_M:g})",
    )
    diff.add_argument(
        "--place-m",
        type=finite_number(0, 10_000),
        default=PLACE_MATCH_M,
        help=f"match facilities at the same place within this many metres ({PLACE_MATCH_M:g})",
    )
    diff.add_argument(
        "--moved-m",
        type=finite_number(0, 10_000),
        default=MOVED_M,
        help=f"a matched facility farther than this has moved ({MOVED_M:g})",
    )
    diff.add_argument("--wait", action="store_true", help=WAIT_HELP)
    diff.add_argument("--quiet", action="store_true", help="no progress messages")
    diff.add_argument("--debug", action="store_true", help="show tracebacks on errors")


def _vintage(path: Path, progress: Any) -> Any:
    """A run folder read back, or a study file run now."""
    from .outputs.run_folder import is_run_folder, read_run_folder

    if path.is_dir():
        if not is_run_folder(path):
            raise ConfigError(
                f"{path}: not a circle15 run folder (no manifest.json); give "
                "the folder `circle15 run` wrote, or a study file"
            )
        with progress.step(f"reading the run in {path}"):
            return read_run_folder(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such run folder or study file")
    from .study import Study

    study = Study.from_config(path, progress)
    return study.run()


def _label(path: Path) -> str:
    return path.name if path.is_dir() else path.stem


def targets_file(path: Path, categories: list[str]) -> tuple:
    """The ``[targets]`` of a TOML file (a study or scenario file)."""
    from .config import read_toml
    from .targets import CategoryTargets, resolve_targets

    document = read_toml(path, "targets file")
    section = document.get("targets")
    if not isinstance(section, dict) or not section:
        raise ConfigError(f"{path}: has no [targets] section")
    try:
        parsed = {str(k): CategoryTargets.model_validate(v) for k, v in section.items()}
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: targets: {field}: {first['msg']}") from None
    return resolve_targets(parsed, categories, str(path))


def run_diff_command(args: argparse.Namespace) -> int:
    """``circle15 diff``: compare, write the outputs as one set, print what changed."""
    from .analysis.diff import diff_runs
    from .analysis.targets import describe_targets, evaluate_targets, targets_from_parameters
    from .outputs.diff_tables import DIFF_OUTPUTS, write_diff
    from .outputs.manifest import file_record
    from .outputs.staging import Publication
    from .progress import Progress

    started = datetime.now(UTC)
    progress = Progress(enabled=not args.quiet)
    before_path, after_path = args.before, args.after
    out = args.out or Path("out") / f"diff_{before_path.stem}_{after_path.stem}"
    for path in (before_path, after_path):
        if path.is_dir() and out.resolve() == path.resolve():
            raise ConfigError(
                f"--out {out}: is the run folder {path} being compared; write "
                "the comparison into a folder of its own"
            )
    inputs = [p / "manifest.json" if p.is_dir() else p for p in (before_path, after_path)]
    if args.targets is not None:
        inputs.append(args.targets)
    with Publication(
        out,
        kind="diff",
        outputs=DIFF_OUTPUTS,
        wait=args.wait,
        inputs=[p for p in inputs if p.is_file()],
        progress=progress,
    ) as publication:
        before = _vintage(before_path, progress)
        after = _vintage(after_path, progress)
        with progress.step("matching facilities and comparing the tables"):
            diff = diff_runs(
                before, after, name_m=args.name_m, place_m=args.place_m, moved_m=args.moved_m
            )
        # name the vintages as the user gave them (two runs of one study share its name)
        diff.before, diff.after = _label(before_path), _label(after_path)
        targets = (
            targets_file(args.targets, list(diff.categories))
            if args.targets
            else tuple(
                t
                for t in targets_from_parameters(after.parameters)
                if t.category in diff.categories
            )
        )
        if targets:
            diff.targets = evaluate_targets(
                targets, after, before, facilities=diff.facilities, categories=diff.categories
            )
        with progress.step("writing the tables, diff.html and diff_map.html"):
            written = write_diff(diff, publication.folder, started=started)
        publication.write_manifest(
            {
                "command": "diff",
                "before": str(before_path),
                "after": str(after_path),
                "synthetic_data": diff.synthetic,
                "started_utc": started.isoformat(timespec="seconds"),
                "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                "inputs": {str(p): file_record(p) for p in inputs if p.is_file()},
                "parameters": {
                    "name_m": args.name_m,
                    "place_m": args.place_m,
                    "moved_m": args.moved_m,
                },
                "summary": diff.summary(),
                "notes": diff.notes,
                "targets": [] if diff.targets is None else describe_targets(diff.targets),
            },
            order=list(written),
        )
        paths = publication.publish()
    print(f"circle15 {__version__}: {diff.title}: {diff.before} -> {diff.after}")
    if diff.synthetic:
        print(
            "NOTE: synthetic data — "
            + (diff.notice or "the figures do not come from real locations")
        )
    for line in diff.summary():
        print(f"  {line}")
    if diff.targets is not None:
        for line in describe_targets(diff.targets):
            print(f"  {line}")
    for note in diff.notes:
        print(f"  note: {note}")
    seconds = (datetime.now(UTC) - started).total_seconds()
    print(f"outputs in {publication.out} ({', '.join(paths)}) — {seconds:.1f} s")
    return 0
