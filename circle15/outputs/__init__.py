"""Outputs: map, report, GeoPackage, CSV, XLSX and manifest, published as one set."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..progress import QUIET, Progress
from .barrier_tables import has_barriers, write_barriers_csv
from .index_tables import has_index, write_equity_csv, write_index_csv
from .manifest import run_document, write_folder_manifest
from .reproducible import run_date
from .spreadsheet import write_csv
from .staging import Publication
from .tables import write_districts_csv, write_geopackage

if TYPE_CHECKING:
    from ..result import CoverageResult

#: Every file ``circle15 run`` writes; with a reference also ``COMPARISON_OUTPUTS``, with a
#: scenario also ``SCENARIO_OUTPUTS``.
RUN_OUTPUTS = (
    "districts.csv",
    "gaps.csv",
    "results.gpkg",
    "index.csv",
    "equity.csv",
    "barriers.csv",
    "targets.csv",
    "map.html",
    "report.html",
    "results.xlsx",
    "manifest.json",
)
COMPARISON_OUTPUTS = (
    "comparison.csv",
    "comparison_spearman.csv",
    "comparison.svg",
    "comparison_unmatched.csv",
    "comparison.xlsx",
    "comparison.html",
)
SCENARIO_OUTPUTS = ("scenario_gain.csv",)


def write_outputs(
    result: CoverageResult,
    out: Path | Publication,
    *,
    config: Path,
    inputs: dict[str, Path],
    started: datetime,
    progress: Progress = QUIET,
) -> dict[str, Path]:
    """Write every output of a run into an output folder as one set.

    All or nothing: the files are written into a run folder and published in one step
    once all are complete and listed in ``manifest.json`` (see
    :mod:`circle15.outputs.staging`), so an interrupted run leaves the previous outputs
    as they were.

    Parameters
    ----------
    result : CoverageResult
        The run.
    out : Path or Publication
        The output folder, or a :class:`~circle15.outputs.staging.Publication` already
        opened on it (the command line opens it before reading any input, and may have
        written further files, e.g. ``scenario_gain.csv``, into its run folder).
    config : Path
        The study file, recorded in the manifest.
    inputs : dict
        Input files by config field (``Study.input_files()``), hashed into the manifest.
    started : datetime
        When the run started, for the manifest and the report.
    progress : Progress, optional
        Where to report progress; quiet by default.

    Returns
    -------
    dict
        The published path of every file written, by its name (``map.html``,
        ``districts.csv`` …).

    Raises
    ------
    OutputError
        When the folder cannot be written, is locked by another circle15, or holds a file
        of the user's where an output would go.
    """
    if not isinstance(out, Publication):
        names = [*RUN_OUTPUTS, *(COMPARISON_OUTPUTS if result.comparison is not None else ())]
        with Publication(out, kind="run", outputs=names, progress=progress) as opened:
            return write_outputs(
                result, opened, config=config, inputs=inputs, started=started, progress=progress
            )
    written = write_run_files(
        result,
        out.folder,
        published=out.out,
        config=config,
        inputs=inputs,
        started=started,
        progress=progress,
        manifest=False,
    )
    document = _document(result, out.folder, out.out, config, inputs, started, progress)
    out.write_manifest(
        document, order=[p.relative_to(out.folder).as_posix() for p in written.values()]
    )
    with progress.step("publishing the outputs"):
        published = out.publish()
    return {rel: published[rel] for rel in published}


def write_run_files(
    result: CoverageResult,
    folder: Path,
    *,
    published: Path,
    config: Path,
    inputs: dict[str, Path],
    started: datetime,
    progress: Progress = QUIET,
    manifest: bool = True,
) -> dict[str, Path]:
    """Write a run's outputs into ``folder`` (a run folder nobody reads yet), the manifest last.

    ``published``: where the folder will be read; the manifest's paths point there. A
    batch region writes this way into its folder of the batch's run.
    """
    # folium is the slowest import: load the writers when they are needed
    from .report import write_report
    from .webmap.build import write_map
    from .workbook import gaps_sheet, write_workbook

    folder = Path(folder)
    shown = run_date(started)  # SOURCE_DATE_EPOCH pins the date shown in report and xlsx
    paths: dict[str, Path] = {}
    with progress.step("writing districts.csv, gaps.csv and results.gpkg"):
        paths["districts.csv"] = write_districts_csv(result, folder / "districts.csv")
        # every gap, for planners without GIS (the workbook lists the most populous)
        gaps = gaps_sheet(result)
        paths["gaps.csv"] = write_csv(gaps, folder / "gaps.csv")
        paths["results.gpkg"] = write_geopackage(result, folder / "results.gpkg")
    if has_index(result):
        with progress.step("writing index.csv and equity.csv"):
            paths["index.csv"] = write_index_csv(result, folder / "index.csv")
            paths["equity.csv"] = write_equity_csv(result, folder / "equity.csv")
    if has_barriers(result):
        paths["barriers.csv"] = write_barriers_csv(result, folder / "barriers.csv")
    if getattr(result, "targets", None) is not None:  # the study's (or plan's) targets
        paths["targets.csv"] = write_csv(result.targets, folder / "targets.csv")
    if result.comparison is not None:
        from .comparison import write_comparison

        with progress.step("writing the comparison with the reference"):
            paths.update(
                write_comparison(
                    result.comparison,
                    folder,
                    title=result.title,
                    synthetic=result.synthetic,
                    notice=result.notice,
                )
            )
    with progress.step("writing map.html"):
        paths["map.html"] = write_map(result, folder / "map.html")
    with progress.step("writing report.html and results.xlsx"):
        paths["report.html"] = write_report(
            result,
            folder / "report.html",
            inputs=inputs,
            config=config,
            started=shown,
            map_file="map.html",
        )
        paths["results.xlsx"] = write_workbook(
            result, folder / "results.xlsx", started=shown, gaps=gaps
        )
    if manifest:
        document = _document(result, folder, published, config, inputs, started, progress)
        paths["manifest.json"] = write_folder_manifest(
            folder,
            {"command": "run", **document},
            published=published,
            order=[p.relative_to(folder).as_posix() for p in paths.values()],
        )
    return paths


def _document(
    result: CoverageResult,
    folder: Path,
    published: Path,
    config: Path,
    inputs: dict[str, Path],
    started: datetime,
    progress: Progress,
) -> dict:
    return run_document(
        study=result.name,
        config=config,
        inputs=inputs,
        parameters=result.parameters,
        diagnostics=result.diagnostics,
        timings=progress.timings,
        started=started,
        synthetic=result.synthetic,
        folder=folder,
        published=published,
        run_date=run_date(started),
    )
