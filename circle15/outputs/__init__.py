"""Outputs: map, report, GeoPackage, CSV, XLSX and manifest, each written atomically."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..progress import QUIET, Progress
from .index_tables import has_index, write_equity_csv, write_index_csv
from .manifest import write_manifest
from .reproducible import run_date
from .staging import staged_outputs
from .tables import write_districts_csv, write_geopackage

if TYPE_CHECKING:
    from ..result import CoverageResult


def write_outputs(result: CoverageResult, out_dir: Path, *, config: Path,
                  inputs: dict[str, Path], started: datetime,
                  progress: Progress = QUIET) -> dict[str, Path]:
    """Write every output of a run into ``out_dir`` and return their paths.

    All or nothing: the files are written into a hidden staging folder inside ``out_dir``
    and renamed into place once all are complete, the manifest last, so an interrupted
    run leaves the previous outputs as they were (see :mod:`circle15.outputs.staging`).
    """
    out_dir = Path(out_dir)
    with staged_outputs(out_dir) as stage:
        staged = _write_into(result, stage, config=config, inputs=inputs, started=started,
                             progress=progress, final_dir=out_dir)
    return {name: out_dir / path.relative_to(stage) for name, path in staged.items()}


def _write_into(result: CoverageResult, out_dir: Path, *, config: Path,
                inputs: dict[str, Path], started: datetime, progress: Progress,
                final_dir: Path) -> dict[str, Path]:
    """Write every output into ``out_dir`` (the staging folder), the manifest last."""
    from .report import write_report
    from .webmap.build import write_map  # folium is the slowest import: load it when needed
    from .workbook import write_workbook

    shown = run_date(started)  # SOURCE_DATE_EPOCH pins the date shown in report and xlsx
    paths: dict[str, Path] = {}
    with progress.step("writing districts.csv and results.gpkg"):
        paths["districts.csv"] = write_districts_csv(result, out_dir / "districts.csv")
        paths["results.gpkg"] = write_geopackage(result, out_dir / "results.gpkg")
    if has_index(result):
        with progress.step("writing index.csv and equity.csv"):
            paths["index.csv"] = write_index_csv(result, out_dir / "index.csv")
            paths["equity.csv"] = write_equity_csv(result, out_dir / "equity.csv")
    if result.comparison is not None:
        from .comparison import write_comparison

        with progress.step("writing the comparison with the reference"):
            paths.update(write_comparison(result.comparison, out_dir, title=result.title,
                                          synthetic=result.synthetic, notice=result.notice))
    with progress.step("writing map.html"):
        paths["map.html"] = write_map(result, out_dir / "map.html")
    with progress.step("writing report.html and results.xlsx"):
        paths["report.html"] = write_report(result, out_dir / "report.html", inputs=inputs,
                                            config=config, started=shown, map_file="map.html")
        paths["results.xlsx"] = write_workbook(result, out_dir / "results.xlsx", started=shown)
    paths["manifest.json"] = write_manifest(
        out_dir / "manifest.json", study=result.name, config=config, inputs=inputs,
        outputs=dict(paths), parameters=result.parameters, diagnostics=result.diagnostics,
        timings=progress.timings, started=started, synthetic=result.synthetic,
        output_dir=final_dir, run_date=shown,
    )
    return paths
