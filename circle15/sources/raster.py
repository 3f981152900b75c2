"""Population rasters (WorldPop, GHSL, national grids): residents per pixel, any CRS.

Each pixel becomes a cell with its count. Only the window around the study area is read,
so a country-wide GeoTIFF is fine. A multi-band raster whose band descriptions are age
bands (``age_0``, ``age_1_4`` …, ``age_60_plus``) gives cohorts directly; a single-band
raster of totals can take its age structure from a census table row (the same shares in
every pixel, a stated assumption).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import rasterio.windows
import shapely
from pyproj import CRS
from rasterio.errors import RasterioIOError

from ..errors import InputError
from ..model import Districts, PopulationGrid
from .population import _BAND, population_from_frame


def read_raster_population(
    path: Path,
    crs: CRS,
    districts: Districts,
    *,
    source_crs: str | None = None,
    age_shares: dict[str, float] | None = None,
) -> PopulationGrid:
    """Residents per pixel of a GeoTIFF, as cells inside the study area.

    Parameters
    ----------
    path : Path
        GeoTIFF (or any raster GDAL reads) of counts per pixel; nodata pixels are empty.
    crs : pyproj.CRS
        Projected study CRS.
    districts : Districts
        Study area and sub-districts.
    source_crs : str, optional
        CRS of a raster that has none.
    age_shares : dict, optional
        ``{"age_0": 0.0078, …}``: the share of each age band, applied to every pixel of a
        single-band raster (see :func:`circle15.sources.census.age_shares`).

    Returns
    -------
    PopulationGrid
        Pixels whose centre is inside the study area, with ``pop_total`` (and age bands);
        counts are kept as they are (fractional for WorldPop), so the area's total is the
        sum of those pixels.

    Raises
    ------
    InputError
        When the file cannot be read, has no CRS, does not cover the study area, or holds
        negative counts.
    """
    what = f"population raster {path}"
    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise InputError(f"{what}: cannot be opened as a raster ({exc})") from None
    with src:
        raster_crs = (
            CRS.from_user_input(source_crs)
            if source_crs
            else (CRS.from_user_input(src.crs.to_wkt()) if src.crs else None)
        )
        if raster_crs is None:
            raise InputError(
                f"{what}: has no coordinate reference system; set "
                "population.crs (e.g. EPSG:4326 for WorldPop)"
            )
        west, south, east, north = (
            gpd.GeoSeries([districts.area], crs=crs).to_crs(raster_crs).total_bounds
        )
        window = rasterio.windows.from_bounds(west, south, east, north, src.transform)
        col0, row0 = np.floor(window.col_off), np.floor(window.row_off)
        window = rasterio.windows.Window(
            col0,
            row0,
            np.ceil(window.col_off + window.width) - col0,
            np.ceil(window.row_off + window.height) - row0,
        )  # whole pixels, all of the area
        try:
            window = window.intersection(rasterio.windows.Window(0, 0, src.width, src.height))
        except rasterio.errors.WindowError:
            raise InputError(f"{what}: does not cover the study area") from None
        data = src.read(window=window, masked=True).astype(float)
        transform = src.window_transform(window)
        names = _band_names(src.descriptions, src.count, age_shares is not None, what)
    counts = np.ma.filled(data, 0.0)
    if np.isinf(counts).any() or (counts > 1e9).any():
        b, r, c = (int(i[0]) for i in np.nonzero(np.isinf(counts) | (counts > 1e9)))
        raise InputError(
            f"{what}: pixel (row {int(window.row_off) + r}, column "
            f"{int(window.col_off) + c}) of band {b + 1} is {counts[b, r, c]:g}; "
            "counts must be finite (is the nodata value set?)"
        )
    counts[np.isnan(counts)] = 0.0  # NaN is how many rasters mark "no data"
    if (counts < 0).any():
        b, r, c = (int(i[0]) for i in np.nonzero(counts < 0))
        raise InputError(
            f"{what}: pixel (row {int(window.row_off) + r}, column "
            f"{int(window.col_off) + c}) of band {b + 1} is negative; counts must be "
            ">= 0 (is the nodata value set?)"
        )
    rows, cols = np.nonzero(counts.sum(axis=0) > 0)
    x0, y0 = transform @ (cols, rows)
    x1, y1 = transform @ (cols + 1, rows + 1)
    cells = shapely.box(
        np.minimum(x0, x1), np.minimum(y0, y1), np.maximum(x0, x1), np.maximum(y0, y1)
    )
    columns = {name: counts[b, rows, cols] for b, name in enumerate(names)}
    if age_shares:
        total = columns.pop("pop_total")
        columns.update({band: total * share for band, share in age_shares.items()})
        columns["pop_total"] = total
    frame = gpd.GeoDataFrame(
        {
            "cell_id": [
                f"R{int(window.row_off) + r:06d}-{int(window.col_off) + c:06d}"
                for r, c in zip(rows, cols, strict=True)
            ],
            **columns,
        },
        geometry=cells,
        crs=raster_crs,
    )
    grid = population_from_frame(frame, crs, districts, what, "cell_id", str(path))
    grid.method = {
        "source": "raster",
        "file": str(path),
        "residents": "counts per pixel of the raster, as given",
        "age_structure": ("the raster's own age bands" if len(names) > 1 else "none: totals only"),
    }
    return grid


def _band_names(descriptions: tuple, count: int, shares: bool, what: str) -> list[str]:
    """``pop_total`` for a single band; age-band names from descriptions otherwise."""
    if count == 1:
        return ["pop_total"]
    names = [str(d or "") for d in descriptions]
    if shares or not all(_BAND.match(n) for n in names):
        raise InputError(
            f"{what}: has {count} bands; name each band after its age band "
            "(age_0, age_1_4 … age_60_plus) in the band descriptions, or give "
            "one band of totals"
        )
    return names
