"""Tables of supply, equity and the index: ``index.csv``, ``equity.csv`` and GeoPackage layers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from ..analysis.coverage import ALL
from ..analysis.index import DIMENSIONS
from .spreadsheet import write_csv

if TYPE_CHECKING:
    from ..result import CoverageResult

#: Decimals of the columns added by supply and the index to ``districts.csv``.
SUPPLY_DECIMALS = {
    "capacity": 2,
    "supply_ratio": 4,
    "provision": 4,
    "accessible_provision": 4,
    "norm": 4,
    "norm_ratio": 4,
    **{f"score_{d}": 2 for d in DIMENSIONS},
}
_SCORE_DECIMALS = 2
_MEASURE_DECIMALS = 4


def round_supply_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Round the supply and score columns of a district table, where present."""
    for col, decimals in SUPPLY_DECIMALS.items():
        if col in table.columns:
            table[col] = table[col].astype(float).round(decimals)
    return table


def index_frame(result: CoverageResult) -> pd.DataFrame:
    """The index table as written: scores rounded, Chinese dimension names in the header."""
    table = result.index.copy()
    for dim in [*DIMENSIONS, "composite"]:
        table[dim] = table[dim].round(_SCORE_DECIMALS)
    return table


def equity_frame(result: CoverageResult) -> pd.DataFrame:
    """The equity table, with the min/mean coverage ratio on each category's ``ALL`` rows."""
    eq = result.equity
    table = eq.table.merge(
        eq.coverage_balance.assign(district=ALL), on=["district", "category"], how="left"
    )
    for col in table.columns:
        if table[col].dtype.kind == "f":
            decimals = 2 if col.endswith("population") else _MEASURE_DECIMALS
            table[col] = table[col].round(decimals)
    return table


def write_index_csv(result: CoverageResult, path: Path) -> Path:
    """Write ``index.csv``: one row per sub-district plus ``ALL``."""
    return write_csv(index_frame(result), path)


def write_equity_csv(result: CoverageResult, path: Path) -> Path:
    """Write ``equity.csv``: Gini, Theil T and its decomposition per district and category."""
    return write_csv(equity_frame(result), path)


def index_layer(result: CoverageResult) -> gpd.GeoDataFrame:
    """The index per sub-district as a polygon layer; ``ALL`` takes the study outline."""
    table = index_frame(result)
    shapes = dict(zip(result.zones["district"], result.zones.geometry, strict=False))
    shapes[ALL] = result.area
    geometry = [shapes.get(d) for d in table["district"]]
    frame = gpd.GeoDataFrame(table, geometry=geometry, crs=result.zones.crs)
    frame["rank"] = frame["rank"].astype(float)  # GPKG has no nullable integers
    return frame


def add_index_layers(layers: dict[str, gpd.GeoDataFrame], result: CoverageResult) -> None:
    """Add the ``index`` layer to the GeoPackage layers when the run has an index."""
    if result.index is not None:
        layers["index"] = index_layer(result)


def has_index(result: CoverageResult) -> bool:
    """True when the run computed supply, equity and the index."""
    return result.index is not None and result.equity is not None
