"""Tables for planners: ``districts.csv`` and the ``results.gpkg`` layers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from .atomic import atomic_path
from .barrier_tables import add_barrier_layers
from .index_tables import add_index_layers, round_supply_columns
from .reproducible import fixed_gdal_date
from .spreadsheet import write_csv

if TYPE_CHECKING:
    from ..result import CoverageResult

#: Decimals kept in written tables: people to 0.01, minutes to 0.01, shares to 0.0001.
_POPULATION_DECIMALS = 2
_MINUTE_DECIMALS = 2
_SHARE_DECIMALS = 4


def districts_frame(result: CoverageResult) -> pd.DataFrame:
    """The district table as written: rounded, with bilingual category names."""
    table = result.districts.copy()
    names = {k: c for k, c in result.categories.items()}
    table.insert(2, "category_zh", table["category"].map(lambda k: names[k].name_zh))
    for col in table.columns:
        if col.startswith("pop") or col.endswith("population"):
            table[col] = table[col].round(_POPULATION_DECIMALS)
        elif col.endswith("_min"):
            table[col] = table[col].round(_MINUTE_DECIMALS)
    table["coverage"] = table["coverage"].round(_SHARE_DECIMALS)
    return round_supply_columns(table)


def write_districts_csv(result: CoverageResult, path: Path) -> Path:
    """Write ``districts.csv`` (UTF-8 with BOM so that Excel shows the Chinese names; no
    cell can run as a formula, see :mod:`circle15.outputs.spreadsheet`)."""
    return write_csv(districts_frame(result), path)


def write_geopackage(result: CoverageResult, path: Path) -> Path:
    """Write ``results.gpkg`` with layers ``cells``, ``districts``, ``gaps``, ``facilities``
    (plus the index layers, ``barriers`` and ``barrier_steps`` and ``network_issues`` when
    the run has them)."""
    zones = result.zones.merge(
        districts_frame(result)
        .pivot_table(index="district", columns="category", values="coverage", aggfunc="first")
        .add_prefix("coverage_")
        .reset_index(),
        on="district",
        how="left",
    )
    layers: dict[str, gpd.GeoDataFrame] = {
        "cells": result.cells,
        "districts": gpd.GeoDataFrame(zones, geometry="geometry", crs=result.zones.crs),
        "gaps": result.gaps,
        "facilities": result.facilities,
    }
    add_index_layers(layers, result)
    add_barrier_layers(layers, result)  # where steps cut people off (step-free categories)
    if result.network_issues is not None:  # separate network pieces and loose ends
        layers["network_issues"] = result.network_issues
    with atomic_path(path) as tmp, fixed_gdal_date():  # no write time: same bytes each run
        for name, frame in layers.items():
            frame = frame.copy()
            for col in frame.columns:
                if frame[col].dtype == bool:
                    frame[col] = frame[col].astype(np.int8)
            frame.to_file(tmp, layer=name, driver="GPKG")
    return path
