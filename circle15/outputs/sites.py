"""Site-selection outputs: ``sites.csv``, ``sites.gpkg`` and the before/after ``sites_map.html``.

The map is built by :mod:`circle15.outputs.webmap.sites` (``sites_map`` is re-exported here).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .atomic import atomic_path, write_text
from .coordinates import OutputCRS, output_crs
from .reproducible import fixed_gdal_date
from .spreadsheet import write_csv
from .webmap.sites import sites_map

if TYPE_CHECKING:
    from ..planning.sites import SiteSelection
    from ..result import CoverageResult

__all__ = ["SITES_COLUMNS", "sites_map", "sites_table", "write_sites"]

#: Columns of ``sites.csv``, in order; ``lon, lat`` are written in the study's
#: ``[outputs] crs`` under its own names (``lon_wgs84, lat_wgs84`` by default, see
#: :mod:`circle15.outputs.coordinates`).
SITES_COLUMNS = [
    "rank",
    "site_id",
    "name",
    "district",
    "lon",
    "lat",
    "capacity",
    "marginal_gain",
    "cumulative_gain",
    "coverage_after",
    "served",
    "category",
    "target_min",
]


def sites_table(selection: SiteSelection, coordinates: OutputCRS | None = None) -> pd.DataFrame:
    """The ranked sites as written to ``sites.csv`` (rounded), positions in
    ``coordinates`` (default: the study's ``[outputs] crs``, else WGS84)."""
    out = coordinates or output_crs(selection.before)
    table = pd.DataFrame(selection.sites.drop(columns="geometry"))[SITES_COLUMNS].copy()
    for col in ("marginal_gain", "cumulative_gain", "served", "capacity"):
        table[col] = table[col].round(2)
    table["coverage_after"] = table["coverage_after"].round(4)
    x, y = out.from_lonlat(table["lon"].to_numpy(float), table["lat"].to_numpy(float))
    table["lon"], table["lat"] = x, y
    return table.rename(columns={"lon": out.columns[0], "lat": out.columns[1]})


def write_sites(
    selection: SiteSelection, out_dir: Path | str, **map_kwargs: Any
) -> dict[str, Path]:
    """Write ``sites.csv``, ``sites.gpkg`` and ``sites_map.html`` into ``out_dir``.

    ``sites.gpkg`` has layers ``sites`` (the chosen sites), ``candidates`` (every
    candidate with its solo gain), ``gaps_before`` and ``gaps_after`` (the category's gaps),
    and ``districts`` (the per-district change, without geometry).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["sites.csv"] = write_csv(sites_table(selection), out_dir / "sites.csv")

    key = selection.category

    def gaps(result: CoverageResult) -> gpd.GeoDataFrame:
        return result.gaps[result.gaps["category"] == key] if len(result.gaps) else result.gaps

    layers: dict[str, gpd.GeoDataFrame | pd.DataFrame] = {
        "sites": selection.sites,
        "candidates": selection.candidates,
        "gaps_before": gaps(selection.before),
        "gaps_after": gaps(selection.after),
        "districts": selection.delta(),
    }
    gpkg = out_dir / "sites.gpkg"
    with atomic_path(gpkg) as tmp, fixed_gdal_date():
        for name, frame in layers.items():
            frame = frame.copy()
            for col in frame.columns:
                if frame[col].dtype == bool:
                    frame[col] = frame[col].astype(np.int8)
            if isinstance(frame, gpd.GeoDataFrame):
                if len(frame):
                    frame.to_file(tmp, layer=name, driver="GPKG")
            else:
                gpd.GeoDataFrame(frame).to_file(tmp, layer=name, driver="GPKG")
    paths["sites.gpkg"] = gpkg
    page = sites_map(selection, **map_kwargs).get_root().render()
    paths["sites_map.html"] = write_text(out_dir / "sites_map.html", page)
    return paths
