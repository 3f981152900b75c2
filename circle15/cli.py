"""The ``circle15`` command: a thin layer over the Python API."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
import traceback
import warnings
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from . import __version__
from .arguments import check_environment, finite_number, whole_number
from .errors import Circle15Error, Circle15Warning, ConfigError

#: Help for --wait, on every command that writes an output folder.
WAIT_HELP = (
    "wait for another circle15 writing to the same output folder to finish "
    "(default: stop with exit code 2, naming it)"
)
NO_CACHE_HELP = (
    "build an OSM or centreline network afresh, not from the network cache "
    "(also: [network] cache = false, CIRCLE15_NO_CACHE=1)"
)

EXIT_BAD_INPUT = 2
EXIT_INTERNAL_ERROR = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="circle15",
        description="15-minute public-service circle analysis: who reaches childcare, "
        "schools, elderly canteens and sports venues within a short walk.",
    )
    parser.add_argument("--version", action="version", version=f"circle15 {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a coverage study (no CONFIG: the Zhenhai demo)")
    run.add_argument(
        "config",
        nargs="?",
        type=Path,
        help="study TOML file; omit it to run the embedded Zhenhai demo",
    )
    run.add_argument("--out", type=Path, help="output folder (default: out/<study name>)")
    run.add_argument(
        "--scenario",
        type=Path,
        help="scenario TOML (facilities to add/move/remove): write the outputs "
        "with it applied, and scenario_gain.csv (default folder: "
        "out/<study>_<scenario>)",
    )
    run.add_argument("--wait", action="store_true", help=WAIT_HELP)
    run.add_argument("--no-cache", action="store_true", help=NO_CACHE_HELP)
    run.add_argument("--quiet", action="store_true", help="no progress messages")
    run.add_argument("--debug", action="store_true", help="show tracebacks on errors")

    sites = sub.add_parser(
        "sites",
        help="choose new sites for a category that bring the most residents within the target time",
    )
    sites.add_argument(
        "config",
        nargs="?",
        type=Path,
        help="study TOML file; omit it to use the embedded Zhenhai demo",
    )
    sites.add_argument("--category", required=True, help="category key, e.g. childcare")
    sites.add_argument(
        "--add",
        type=whole_number(1, 10_000),
        required=True,
        metavar="P",
        help="new sites to choose",
    )
    sites.add_argument(
        "--candidates",
        type=Path,
        help="candidate sites (CSV/XLSX with lon/lat, or points/parcels in "
        "GeoJSON/GPKG/SHP); default: street points inside the gap areas",
    )
    sites.add_argument(
        "--candidates-crs",
        metavar="CRS",
        help="coordinate system of the candidates: GCJ-02 (Amap/Tencent), "
        "BD-09 (Baidu), WGS84 (default) or an EPSG code",
    )
    sites.add_argument(
        "--capacity",
        type=finite_number(0, 1e9, above=True),
        help="capacity of each new site (when the candidates have none): each "
        "serves at most this many people",
    )
    sites.add_argument(
        "--exact",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also solve exactly and report greedy's gap (default: when small)",
    )
    sites.add_argument(
        "--out", type=Path, help="output folder (default: out/<study name>/sites_<category>)"
    )
    sites.add_argument("--wait", action="store_true", help=WAIT_HELP)
    sites.add_argument("--no-cache", action="store_true", help=NO_CACHE_HELP)
    sites.add_argument("--quiet", action="store_true", help="no progress messages")
    sites.add_argument("--debug", action="store_true", help="show tracebacks on errors")

    compare = sub.add_parser(
        "compare", help="compare a study's index and coverage with a reference index table"
    )
    compare.add_argument(
        "config",
        nargs="?",
        type=Path,
        help="study TOML file; omit it to use the embedded Zhenhai demo",
    )
    compare.add_argument(
        "--reference",
        type=Path,
        help="reference table (CSV/XLSX): unit, indicator, value "
        "(default: [compare] reference in the study file)",
    )
    compare.add_argument("--sheet", help="sheet of an XLSX reference (default: the first)")
    compare.add_argument(
        "--tolerance",
        type=finite_number(0, 1e9),
        help="flag differences larger than this for every indicator "
        "(default: per indicator, see the README)",
    )
    compare.add_argument("--out", type=Path, help="output folder (default: out/<study name>)")
    compare.add_argument("--wait", action="store_true", help=WAIT_HELP)
    compare.add_argument("--no-cache", action="store_true", help=NO_CACHE_HELP)
    compare.add_argument("--quiet", action="store_true", help="no progress messages")
    compare.add_argument("--debug", action="store_true", help="show tracebacks on errors")

    from .batch.cli import add_batch_parser  # circle15 batch BATCH.toml (circle15.batch)

    add_batch_parser(sub)

    from .serve.cli import add_serve_parser  # circle15 serve [CONFIG] (circle15.serve)

    add_serve_parser(sub)

    from .diffing import add_diff_parser  # circle15 diff BEFORE AFTER (circle15.diffing)

    add_diff_parser(sub)

    demo = sub.add_parser("demo", help="rebuild the synthetic Zhenhai demo data from its seed")
    demo.add_argument("--out", type=Path, required=True, help="folder to write the demo into")
    demo.add_argument("--debug", action="store_true", help="show tracebacks on errors")

    fetch = sub.add_parser(
        "fetch",
        help="download a district's walking network and facilities from "
        "OpenStreetMap into a study folder",
    )
    where = fetch.add_mutually_exclusive_group(required=True)
    where.add_argument("--adcode", help="Chinese county/city adcode, e.g. 330211 (offline)")
    where.add_argument(
        "--name", dest="admin_name", help="Chinese county/city name, e.g. 宁波市镇海区 (offline)"
    )
    where.add_argument("--polygon", type=Path, help="file with the study-area polygon")
    where.add_argument("--bbox", help="west,south,east,north in WGS84 degrees")
    where.add_argument("--place", help="place name geocoded by Nominatim, e.g. 'Kallio, Helsinki'")
    fetch.add_argument("--out", type=Path, required=True, help="study folder to write")
    fetch.add_argument("--study-name", help="study name (default: from the area)")
    fetch.add_argument(
        "--buffer-m",
        type=finite_number(0, 100_000),
        default=1500.0,
        help="take streets and facilities this far beyond the area (1500)",
    )
    fetch.add_argument(
        "--categories",
        help="comma-separated categories (default: every "
        "category with an OpenStreetMap tag mapping)",
    )
    fetch.add_argument(
        "--population",
        type=Path,
        help="population grid, raster or census table to name in the config",
    )
    fetch.add_argument(
        "--cache", type=Path, help="osmnx HTTP cache folder (default ~/.cache/circle15/osmnx)"
    )
    fetch.add_argument("--overpass-url", help="Overpass API endpoint (default: osmnx's)")
    fetch.add_argument("--wait", action="store_true", help=WAIT_HELP)
    fetch.add_argument("--quiet", action="store_true", help="no progress messages")
    fetch.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    return parser


def _fetch(args: argparse.Namespace) -> int:
    from .fetch import Area, fetch_study, parse_bbox
    from .progress import Progress

    area = Area(
        adcode=args.adcode,
        admin_name=args.admin_name,
        polygon=args.polygon,
        bbox=parse_bbox(args.bbox) if args.bbox else None,
        place=args.place,
    )
    categories = (
        [c.strip() for c in args.categories.split(",") if c.strip()] if args.categories else None
    )
    toml = fetch_study(
        args.out,
        area,
        name=args.study_name,
        buffer_m=args.buffer_m,
        categories=categories,
        population=args.population,
        cache=args.cache,
        overpass_url=args.overpass_url,
        progress=Progress(enabled=not args.quiet),
        wait=args.wait,
    )
    print(f"study folder written: {toml.parent.resolve()}")
    if args.population is None:
        print(f"next: add a population file (see README.md there), then circle15 run {toml}")
    else:
        print(f"next: circle15 run {toml}")
    return 0


def _study_file(config: Path | None, progress) -> Path:
    """The study file a command names, or the embedded demo's when it names none."""
    if config is not None:
        return config
    from .demo.locate import demo_config_path

    return demo_config_path(progress)


def _with_outline(study, inputs: dict[str, Path]) -> dict[str, Path]:
    """``inputs`` with the outline file looked up by adcode or name, for the manifest."""
    return {**study.input_files(), **inputs}


def _run(args: argparse.Namespace) -> int:
    from .config import load_config
    from .outputs import COMPARISON_OUTPUTS, RUN_OUTPUTS, SCENARIO_OUTPUTS, write_outputs
    from .outputs.staging import Publication
    from .progress import Progress
    from .study import Study

    started = datetime.now(UTC)
    progress = Progress(enabled=not args.quiet)
    # The study file and the scenario are read first (small files): they name the output
    # folder and the inputs, which are checked before any input is read.
    study_file = _study_file(args.config, progress)
    loaded = load_config(study_file)
    inputs = loaded.input_files()
    scenario = None
    if args.scenario:
        from .planning.scenario import load_scenario

        scenario = load_scenario(args.scenario)
        inputs["scenario"] = args.scenario
    name = loaded.name if scenario is None else f"{loaded.name}_{scenario.scenario.name}"
    out_dir = args.out or Path("out") / name
    reference = _configured_reference(loaded)
    if reference is not None:
        inputs["compare.reference"] = reference
    scenario_lines: list[str] = []
    names = [
        *RUN_OUTPUTS,
        *(COMPARISON_OUTPUTS if reference is not None else ()),
        *(SCENARIO_OUTPUTS if scenario is not None else ()),
    ]
    with Publication(
        out_dir,
        kind="run",
        outputs=names,
        wait=args.wait,
        inputs=[study_file, *inputs.values()],
        progress=progress,
    ) as publication:
        study = Study.from_config(study_file, progress, cache=not args.no_cache)
        inputs = _with_outline(study, inputs)
        result = study.run()
        if scenario is not None:
            from .planning.scenario import run_scenario, write_scenario_gain

            with progress.step("applying the scenario"):
                result, gain, scenario_lines = run_scenario(result, args.scenario)
            write_scenario_gain(gain, publication.folder / "scenario_gain.csv")
        if reference is not None:  # [compare] reference: the comparison joins the outputs
            with progress.step("comparing with the reference"):
                result.comparison = _comparison(study, result, reference, None, None)
        paths = write_outputs(
            result,
            publication,
            config=loaded.path,
            inputs=inputs,
            started=started,
            progress=progress,
        )
    all_rows = result.districts[result.districts["district"] == "ALL"]
    print(f"circle15 {__version__}: {result.title}")
    if result.synthetic:
        print(
            "NOTE: synthetic data — "
            + (result.notice or "the figures do not come from real locations")
        )
    for _, row in all_rows.iterrows():
        cat = result.categories[row["category"]]
        print(
            f"  {cat.label:<32} {row['coverage']:7.1%} of {row['population']:>10,.0f} "
            f"({cat.cohort_label}) within {row['target_min']:g} min"
        )
    for line in scenario_lines:
        print(line)
    if result.targets is not None and scenario is None:
        from .analysis.targets import describe_targets

        for line in describe_targets(result.targets):
            print(f"  {line}")
    for line in result.diagnostics.get("warnings", []):
        print(f"WARNING: {line}")  # circle15.checks: the same lines as in the manifest
    if result.index is not None:
        whole = result.index[result.index["district"] == "ALL"].iloc[0]
        print(
            f"  index (whole area): 可及 accessibility {whole['accessibility']:.1f}, "
            f"均衡 balance {whole['balance']:.1f}, 优质 quality {whole['quality']:.1f}, "
            f"composite {whole['composite']:.1f} (index.csv)"
        )
    if result.comparison is not None:
        flagged = int(result.comparison.table["flag"].sum())
        print(
            f"  compared with {result.comparison.reference}: {flagged} of "
            f"{len(result.comparison.table)} values beyond tolerance (comparison.csv)"
        )
        for line in result.comparison.notes():
            print(f"    {line}")
    seconds = (datetime.now(UTC) - started).total_seconds()
    print(f"outputs in {publication.out} ({', '.join(paths)}) — {seconds:.1f} s")
    return 0


#: Every file ``circle15 sites`` and ``circle15 compare`` write.
SITES_OUTPUTS = ("sites.csv", "sites.gpkg", "sites_map.html", "manifest.json")


def _sites(args: argparse.Namespace) -> int:
    from .config import load_config
    from .outputs.manifest import file_record
    from .outputs.sites import write_sites
    from .outputs.staging import Publication
    from .planning.sites import select_sites
    from .progress import Progress
    from .study import Study

    started = datetime.now(UTC)
    progress = Progress(enabled=not args.quiet)
    study_file = _study_file(args.config, progress)
    loaded = load_config(study_file)
    if args.category not in loaded.categories:  # before the run, and before any folder
        raise ConfigError(
            f"--category {args.category!r}: not a category of this study; "
            f"use one of {', '.join(loaded.categories)}"
        )
    inputs = loaded.input_files()
    if args.candidates is not None:
        inputs["candidates"] = args.candidates
    out_dir = args.out or Path("out") / loaded.name / f"sites_{args.category}"
    with Publication(
        out_dir,
        kind="sites",
        outputs=SITES_OUTPUTS,
        wait=args.wait,
        inputs=[study_file, *inputs.values()],
        progress=progress,
    ) as publication:
        study = Study.from_config(study_file, progress, cache=not args.no_cache)
        inputs = _with_outline(study, inputs)
        result = study.run()
        with progress.step(f"choosing {args.add} {args.category} site(s)"):
            choice = select_sites(
                result,
                args.category,
                args.add,
                candidates=args.candidates,
                capacity=args.capacity,
                exact=args.exact,
                candidates_crs=args.candidates_crs,
            )
        for note in choice.notes:
            progress.say(f"warning: {note}")
        with progress.step("writing sites.csv, sites.gpkg and sites_map.html"):
            written = write_sites(choice, publication.folder)
            publication.write_manifest(
                {
                    "study": result.name,
                    "synthetic_data": result.synthetic,
                    "started_utc": started.isoformat(timespec="seconds"),
                    "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                    "config": file_record(loaded.path),
                    "inputs": {k: file_record(Path(p)) for k, p in inputs.items()},
                    "parameters": {
                        "category": args.category,
                        "add": args.add,
                        "capacity": args.capacity,
                        "exact": args.exact,
                        "candidates": "file" if args.candidates else "gap streets",
                    },
                    "summary": choice.summary(),
                },
                order=list(written),
            )
            paths = publication.publish()
    print(f"circle15 {__version__}: {result.title}")
    if result.synthetic:
        print(
            "NOTE: synthetic data — "
            + (result.notice or "the figures do not come from real locations")
        )
    for line in choice.summary():
        print(line)
    seconds = (datetime.now(UTC) - started).total_seconds()
    print(f"outputs in {publication.out} ({', '.join(paths)}) — {seconds:.1f} s")
    return 0


def _configured_reference(loaded) -> Path | None:
    """The study file's ``[compare] reference``, relative to the study file."""
    section = loaded.config.compare
    if section.reference is None:
        return None
    path = section.reference
    path = path if path.is_absolute() else loaded.path.parent / path
    if not path.is_file():
        raise ConfigError(
            f"{loaded.path}: compare.reference: file not found: {path} "
            "(paths are relative to the study file)"
        )
    return path


def _comparison(study, result, path: Path, sheet: str | None, tolerance: float | None):
    """Read the reference at ``path`` and compare ``result`` with it."""
    from .analysis.compare import compare_with_reference
    from .sources.reference import read_reference

    section = study.config.config.compare
    table = read_reference(path, sheet or section.sheet)
    return compare_with_reference(
        result, table, tolerance=section.tolerance, tolerance_all=tolerance, source=path.name
    )


def _compare(args: argparse.Namespace) -> int:
    from .config import load_config
    from .outputs import COMPARISON_OUTPUTS
    from .outputs.comparison import write_comparison
    from .outputs.manifest import file_record
    from .outputs.staging import Publication
    from .progress import Progress
    from .sources.reference import read_reference
    from .study import Study

    started = datetime.now(UTC)
    progress = Progress(enabled=not args.quiet)
    study_file = _study_file(args.config, progress)
    loaded = load_config(study_file)
    reference = args.reference or _configured_reference(loaded)
    if reference is None:
        raise ConfigError(
            "compare: give --reference FILE, or name the reference table in "
            'the study file under [compare] reference = "<file>"'
        )
    inputs = {**loaded.input_files(), "compare.reference": reference}
    out_dir = args.out or Path("out") / loaded.name
    with Publication(
        out_dir,
        kind="compare",
        wait=args.wait,
        outputs=[*COMPARISON_OUTPUTS, "manifest.json"],
        inputs=[study_file, *inputs.values()],
        progress=progress,
    ) as publication:
        read_reference(reference, args.sheet)  # a bad reference fails before the run
        study = Study.from_config(study_file, progress, cache=not args.no_cache)
        inputs = _with_outline(study, inputs)
        result = study.run()
        with progress.step("comparing with the reference"):
            comparison = _comparison(study, result, reference, args.sheet, args.tolerance)
        result.comparison = comparison
        with progress.step("writing the comparison"):
            written = write_comparison(
                comparison,
                publication.folder,
                title=result.title,
                synthetic=result.synthetic,
                notice=result.notice,
            )
            publication.write_manifest(
                {
                    "study": result.name,
                    "synthetic_data": result.synthetic,
                    "started_utc": started.isoformat(timespec="seconds"),
                    "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                    "config": file_record(loaded.path),
                    "inputs": {k: file_record(Path(p)) for k, p in inputs.items()},
                    "parameters": {
                        "sheet": args.sheet,
                        "tolerance": args.tolerance,
                        "tolerances": dict(loaded.config.compare.tolerance),
                    },
                },
                order=list(written),
            )
            paths = publication.publish()
    table = comparison.table
    print(f"circle15 {__version__}: {result.title}")
    if result.synthetic:
        print(
            "NOTE: synthetic data — "
            + (result.notice or "the figures do not come from real locations")
        )
    print(
        f"compared {len(table)} values of {table['indicator'].nunique()} indicators "
        f"in {table['district'].nunique()} units with {reference.name}"
    )
    print(f"  {'indicator':<34} {'units':>5} {'Spearman ρ':>11}  beyond tolerance")
    counts = table.groupby("indicator", sort=False).size()
    for _, row in comparison.spearman.iterrows():
        rho = f"{row['rho']:.2f}" if row["rho"] == row["rho"] else "n/a"
        print(
            f"  {row['indicator']:<34} {row['units']:>5} {rho:>11}  "
            f"{row['flagged']} of {counts[row['indicator']]}"
        )
    if len(comparison.unmatched):
        print(f"left out {len(comparison.unmatched)} reference rows (comparison_unmatched.csv):")
    for line in comparison.notes():
        print(f"  {line}")
    seconds = (datetime.now(UTC) - started).total_seconds()
    shown = [p for p in paths if p.startswith("comparison")]
    print(f"outputs in {publication.out} ({', '.join(shown)}) — {seconds:.1f} s")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo.build import build_demo

    build_demo(args.out)
    print(f"demo data written to {args.out.resolve()}")
    return 0


@contextmanager
def _terminate_like_ctrl_c():
    """Let ``kill`` (SIGTERM) end a run like Ctrl-C, so that temporary files are removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``circle15`` console script; returns the exit code."""
    for stream in (sys.stdout, sys.stderr):  # a terminal that cannot show Chinese
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")
    args = _parser().parse_args(argv)
    from .batch.cli import run_batch_command

    # The command prints the run's warnings itself, after its figures.
    warnings.filterwarnings("ignore", category=Circle15Warning)
    logging.basicConfig(level=logging.WARNING, format="circle15: %(message)s")

    from .diffing import run_diff_command
    from .serve.cli import run_serve_command

    handler = {
        "run": _run,
        "compare": _compare,
        "demo": _demo,
        "fetch": _fetch,
        "sites": _sites,
        "batch": run_batch_command,
        "serve": run_serve_command,
        "diff": run_diff_command,
    }[args.command]
    try:
        with _terminate_like_ctrl_c():
            check_environment()  # before numpy is imported: it reads SOURCE_DATE_EPOCH too
            from .outputs import lock, staging

            # Named to a second command that finds an output folder locked; and nothing
            # published yet by this command (main may run several times in one process).
            lock.COMMAND = " ".join(["circle15", *(sys.argv[1:] if argv is None else argv)])
            staging.PUBLISHED.clear()
            return handler(args)
    except Circle15Error as exc:
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(f"circle15: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        from .outputs.staging import interrupted_message

        print(f"circle15: {interrupted_message()}", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: say so instead of a bare traceback
        if getattr(args, "debug", False):
            traceback.print_exc()
        where = (
            ""
            if getattr(args, "debug", False)
            else ("; run the same command with --debug to see the traceback")
        )
        from .outputs.staging import PUBLISHED

        kept = (
            f" The new outputs were published in {PUBLISHED[-1]} before it happened"
            if PUBLISHED
            else " The output folder keeps the files of the previous run"
        )
        print(
            f"circle15: internal error, please report it with the command you ran "
            f"({type(exc).__name__}: {exc}){where}.{kept}",
            file=sys.stderr,
        )
        return EXIT_INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
