"""A batch's combined outputs: tables over all regions, the overview map, the manifest.

Written into ``out/<batch>/`` beside the regions' own folders, each file atomically:
``districts.csv``, ``index.csv``, ``totals.csv``, ``regions.csv``, ``map.html`` and,
last, ``manifest.json`` (the batch file and every input with SHA-256, each region's
status and the SHA-256 of its own manifest, how and where the batch ran).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from ..standards import Category
from .manifest import write_folder_manifest
from .spreadsheet import write_csv

if TYPE_CHECKING:
    from .staging import Publication

#: The batch-level files, in the order they are written (the manifest last).
BATCH_FILES = (
    "districts.csv",
    "index.csv",
    "totals.csv",
    "regions.csv",
    "map.html",
    "manifest.json",
)


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write a CSV (UTF-8 with BOM, so that Excel shows the Chinese names) atomically; no
    cell can run as a formula (see :mod:`circle15.outputs.spreadsheet`)."""
    return write_csv(frame, path)


def write_batch_outputs(
    out_dir: Path,
    *,
    tables: dict[str, pd.DataFrame],
    regions: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame | None,
    categories: dict[str, Category],
    title: str,
    synthetic: bool,
    notice: str,
    manifest: dict[str, Any],
    publication: Publication | None = None,
) -> dict[str, Path]:
    """Write the combined tables, the overview map and the batch manifest.

    Parameters
    ----------
    out_dir : Path
        The batch folder (the batch's run folder when it is published as a unit).
    tables : dict
        ``districts``, ``index``, ``totals`` and ``regions`` frames.
    regions : GeoDataFrame
        Region outlines with ``region``, ``region_name``, ``status``, ``reason``.
    zones : GeoDataFrame, optional
        Every region's sub-districts (``region``, ``region_name``, ``district``,
        ``name_en``), for the map.
    categories : dict
        Categories by key.
    title, synthetic, notice
        As on a study's map.
    manifest : dict
        The manifest's content; ``outputs`` (every file of the folder, the regions' too,
        with SHA-256) and ``finished_utc`` are added.
    publication : Publication, optional
        The publication ``out_dir`` belongs to (its manifest carries the run's id).

    Returns
    -------
    dict
        File name → path.
    """
    from .overview_map import write_overview_map  # folium: load it only when needed

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in ("districts", "index", "totals", "regions"):
        paths[f"{name}.csv"] = write_table(tables[name], out_dir / f"{name}.csv")
    paths["map.html"] = write_overview_map(
        out_dir / "map.html",
        regions,
        tables["districts"],
        categories,
        title=title,
        zones=zones,
        synthetic=synthetic,
        notice=notice,
    )
    document = {**manifest, "finished_utc": datetime.now(UTC).isoformat(timespec="seconds")}
    order = list(paths)
    if publication is not None:
        paths["manifest.json"] = publication.write_manifest(document, order=order)
    else:
        paths["manifest.json"] = write_folder_manifest(
            out_dir, {"command": "batch", **document}, order=order
        )
    return paths
