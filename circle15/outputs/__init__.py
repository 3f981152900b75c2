"""Outputs: map, GeoPackage, CSV and manifest, each written atomically."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ..progress import QUIET, Progress
from ..result import CoverageResult
from .manifest import write_manifest
from .tables import write_districts_csv, write_geopackage


def write_outputs(result: CoverageResult, out_dir: Path, *, config: Path,
                  inputs: dict[str, Path], started: datetime,
                  progress: Progress = QUIET) -> dict[str, Path]:
    """Write every output of a run into ``out_dir`` and return their paths.

    The manifest is written last, so a folder with a manifest is a complete run.
    """
    from .map import write_map  # folium is the slowest import; load it when needed

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    with progress.step("writing districts.csv and results.gpkg"):
        paths["districts.csv"] = write_districts_csv(result, out_dir / "districts.csv")
        paths["results.gpkg"] = write_geopackage(result, out_dir / "results.gpkg")
    with progress.step("writing map.html"):
        paths["map.html"] = write_map(result, out_dir / "map.html")
    paths["manifest.json"] = write_manifest(
        out_dir / "manifest.json", study=result.name, config=config, inputs=inputs,
        outputs=dict(paths), parameters=result.parameters, diagnostics=result.diagnostics,
        timings=progress.timings, started=started, synthetic=result.synthetic,
    )
    return paths
