"""Progress between two vintages written out: CSV tables, a workbook, a page and a map.

``circle15 diff`` writes ``diff_facilities.csv`` (every facility opened, closed, moved or
kept, with how it was matched and where it is, WGS84), ``diff_districts.csv`` (per
sub-district and category each figure before, after and its change), ``diff_index.csv``
(the index), ``diff_targets.csv`` (targets met or not), ``diff_cells.csv`` (when the runs
share their cells: each cell's walking time before and after), ``diff.xlsx`` (all of it,
one sheet each), ``diff.html`` and ``diff_map.html``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from .atomic import write_text
from .spreadsheet import write_csv, write_xlsx

if TYPE_CHECKING:
    from datetime import datetime

    from ..analysis.diff import RunDiff

__all__ = ["DIFF_OUTPUTS", "diff_frames", "write_diff"]

#: Every file ``circle15 diff`` may write.
DIFF_OUTPUTS = (
    "diff_facilities.csv",
    "diff_districts.csv",
    "diff_index.csv",
    "diff_targets.csv",
    "diff_cells.csv",
    "diff.xlsx",
    "diff.html",
    "diff_map.html",
    "manifest.json",
)


def _round(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype.kind != "f" or col.startswith(("lon_", "lat_")):
            continue
        share = col.startswith(("coverage", "score_")) or "ratio" in col
        out[col] = out[col].round(4 if share else 2)
    return out


def diff_frames(diff: RunDiff) -> dict[str, pd.DataFrame]:
    """The tables of a diff as written (rounded; facilities with WGS84 lon/lat)."""
    fac = diff.facilities
    table = pd.DataFrame(fac.drop(columns=fac.geometry.name))
    if len(fac):
        lonlat = gpd.GeoSeries(fac.geometry, crs=fac.crs).to_crs(4326)
        table["lon_wgs84"], table["lat_wgs84"] = lonlat.x.round(6), lonlat.y.round(6)
    table.insert(
        1, "category_zh", table["category"].map({k: c.name_zh for k, c in diff.categories.items()})
    )
    out = {"facilities": _round(table), "districts": _round(diff.districts)}
    if diff.index is not None:
        out["index"] = _round(diff.index)
    if diff.targets is not None and len(diff.targets):
        out["targets"] = _round(diff.targets)
    if diff.cells is not None:
        out["cells"] = _round(pd.DataFrame(diff.cells.drop(columns=diff.cells.geometry.name)))
    return out


def write_diff(diff: RunDiff, folder: Path, *, started: datetime | None = None) -> dict[str, Path]:
    """Write the diff's files into ``folder`` (a run folder of a publication)."""
    from .report.diff_page import build_diff_page
    from .webmap.diffmap import diff_map

    folder = Path(folder)
    frames = diff_frames(diff)
    paths = {
        f"diff_{name}.csv": write_csv(frame, folder / f"diff_{name}.csv")
        for name, frame in frames.items()
    }
    about = pd.DataFrame(
        [
            ("compared", f"{diff.before} -> {diff.after}"),
            ("synthetic data", f"YES — {diff.notice}" if diff.synthetic else "no"),
            *[("summary", line) for line in diff.summary()],
            *[("note", line) for line in diff.notes],
            (
                "facilities",
                "one row per facility of either vintage: status opened, closed, "
                "moved or kept; matched_by id, name (within 500 m) or place (within "
                "25 m); capacity before and after",
            ),
            (
                "districts",
                "per sub-district and category each figure before, after and the "
                "change (after minus before); opened, closed, moved there",
            ),
        ],
        columns=["item", "value"],
    )
    sheets = {"about": about, **{n: f for n, f in frames.items() if n != "cells"}}
    paths["diff.xlsx"] = write_xlsx(sheets, folder / "diff.xlsx", started=started)
    paths["diff.html"] = write_text(folder / "diff.html", build_diff_page(diff))
    paths["diff_map.html"] = write_text(
        folder / "diff_map.html", diff_map(diff).get_root().render()
    )
    return paths
