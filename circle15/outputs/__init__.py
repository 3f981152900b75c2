"""Outputs: map, report, GeoPackage, CSV, XLSX and manifest, each written atomically."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ..progress import QUIET, Progress
from ..result import CoverageResult
from .index_tables import has_index, write_equity_csv, write_index_csv
from .manifest import write_manifest
from .tables import write_districts_csv, write_geopackage


def write_outputs(result: CoverageResult, out_dir: Path, *, config: Path,
                  inputs: dict[str, Path], started: datetime,
                  progress: Progress = QUIET) -> dict[str, Path]:
    """Write every output of a run into ``out_dir`` and return their paths.

    The manifest is written last, so a folder with a manifest is a complete run.
    """
    from .map import write_map  # folium is the slowest import; load it when needed
    from .report import write_report
    from .workbook import write_workbook

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    with progress.step("writing districts.csv and results.gpkg"):
        paths["districts.csv"] = write_districts_csv(result, out_dir / "districts.csv")
        paths["results.gpkg"] = write_geopackage(result, out_dir / "results.gpkg")
    if has_index(result):
        with progress.step("writing index.csv and equity.csv"):
            paths["index.csv"] = write_index_csv(result, out_dir / "index.csv")
            paths["equity.csv"] = write_equity_csv(result, out_dir / "equity.csv")
    if result.comparison is not None:
        from .comparison import write_comparison  # matplotlib: load it only when needed

        with progress.step("writing the comparison with the reference"):
            paths.update(write_comparison(result.comparison, out_dir, title=result.title,
                                          synthetic=result.synthetic))
    with progress.step("writing map.html"):
        paths["map.html"] = write_map(result, out_dir / "map.html")
    with progress.step("writing report.html and results.xlsx"):
        paths["report.html"] = write_report(result, out_dir / "report.html", inputs=inputs,
                                            config=config, started=started, map_file="map.html")
        paths["results.xlsx"] = write_workbook(result, out_dir / "results.xlsx", started=started)
    paths["manifest.json"] = write_manifest(
        out_dir / "manifest.json", study=result.name, config=config, inputs=inputs,
        outputs=dict(paths), parameters=result.parameters, diagnostics=result.diagnostics,
        timings=progress.timings, started=started, synthetic=result.synthetic,
    )
    return paths
