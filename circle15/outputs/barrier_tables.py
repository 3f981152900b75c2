"""Where steps cut people off: ``barriers.csv``, workbook sheets and GeoPackage layers.

Written for runs with categories walked step-free (``step_free = true``); see
:mod:`circle15.analysis.barriers` for what each column means.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from .coordinates import OutputCRS, output_crs, point_coordinates
from .spreadsheet import write_csv

if TYPE_CHECKING:
    from ..result import CoverageResult

__all__ = [
    "add_barrier_layers",
    "barrier_areas_sheet",
    "barrier_steps_sheet",
    "barriers_frame",
    "has_barriers",
    "write_barriers_csv",
]

#: What the workbook's ``about`` sheet says of the barrier sheets.
ABOUT = {
    "barriers": "categories walked step-free (strollers, walkers, wheelchairs): per "
    "sub-district the cohort within the target with steps and without; "
    "barrier_population = within the target only by using steps",
    "barrier_areas": "those residents' cells merged into areas per sub-district, ranked by "
    "cohort; a point inside each area",
    "barrier_steps": "the flights of steps (and ways tagged wheelchair=no) on their walks, "
    "with the cohort whose walk within the target takes each one: where a "
    "ramp or lift would help",
}


def has_barriers(result: CoverageResult) -> bool:
    """True when the run walks some category step-free."""
    return getattr(result, "barriers", None) is not None


def _rounded(table: pd.DataFrame) -> pd.DataFrame:
    for col in table.columns:
        if table[col].dtype.kind != "f":
            continue
        if col.endswith(("share", "coverage_with_steps", "coverage_step_free")):
            table[col] = table[col].round(4)
        elif col == "area_km2":
            table[col] = table[col].round(4)
        else:
            table[col] = table[col].round(2)
    return table


def _named(result: CoverageResult, table: pd.DataFrame) -> pd.DataFrame:
    table.insert(
        table.columns.get_loc("category") + 1,
        "category_zh",
        table["category"].map({k: c.name_zh for k, c in result.categories.items()}),
    )
    return table


def barriers_frame(result: CoverageResult) -> pd.DataFrame:
    """The barrier table as written: rounded, with the categories' Chinese names."""
    return _rounded(_named(result, result.barriers.copy()))


def write_barriers_csv(result: CoverageResult, path: Path) -> Path:
    """Write ``barriers.csv``: one row per (sub-district, category walked step-free)."""
    return write_csv(barriers_frame(result), path)


def barrier_areas_sheet(
    result: CoverageResult, coordinates: OutputCRS | None = None
) -> pd.DataFrame:
    """The barrier areas with a point inside each, in the study's ``[outputs] crs``."""
    out = coordinates or output_crs(result)
    areas = result.barrier_areas
    table = _named(result, pd.DataFrame(areas.drop(columns=areas.geometry.name)))
    table[out.columns[0]], table[out.columns[1]] = point_coordinates(areas, out, inside=True)
    return _rounded(table)


def barrier_steps_sheet(
    result: CoverageResult, coordinates: OutputCRS | None = None
) -> pd.DataFrame:
    """The steps on cut-off residents' walks, with their middle point."""
    out = coordinates or output_crs(result)
    steps = result.barrier_steps
    table = _named(result, pd.DataFrame(steps.drop(columns=steps.geometry.name)))
    table[out.columns[0]], table[out.columns[1]] = point_coordinates(steps, out)
    return _rounded(table)


def add_barrier_layers(layers: dict[str, gpd.GeoDataFrame], result: CoverageResult) -> None:
    """Add the ``barriers`` (areas) and ``barrier_steps`` layers when the run has them."""
    if not has_barriers(result):
        return
    layers["barriers"] = _rounded(result.barrier_areas.copy())
    layers["barrier_steps"] = _rounded(result.barrier_steps.copy())
