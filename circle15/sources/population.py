"""Read a population grid: cells with a total and counts by age band."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import InputError
from ..model import OPEN_AGE, AgeBand, Districts, PopulationGrid
from ._encoding import Encoding
from ._files import read_vector
from .chinese_crs import parse_crs, with_declared_crs
from .geometry_checks import check_geometries

_BAND = re.compile(r"^age_(\d+)(?:_(\d+|plus))?$")


def age_bands(columns: list[str]) -> tuple[AgeBand, ...]:
    """Age bands named like ``age_0``, ``age_1_4`` or ``age_60_plus``, youngest first."""
    bands = []
    for col in columns:
        m = _BAND.match(str(col))
        if m:
            lo = int(m.group(1))
            hi = (
                lo
                if m.group(2) is None
                else (OPEN_AGE if m.group(2) == "plus" else int(m.group(2)))
            )
            bands.append(AgeBand(str(col), lo, hi))
    bands.sort(key=lambda b: b.age_min)
    return tuple(bands)


def read_population(
    path: Path,
    crs: CRS,
    districts: Districts,
    *,
    layer: str | None = None,
    cell_id_field: str = "cell_id",
    source_crs: str | None = None,
    encoding: Encoding | None = None,
) -> PopulationGrid:
    """Read a population grid and give each cell its sub-district.

    Cells whose centre lies outside the study area are dropped: population is counted
    inside the area only. Each cell belongs to the sub-district containing its centre.
    ``source_crs`` (``[population] crs``) is the system of a file without one, or that
    mislabels it (``GCJ-02``/``BD-09`` move the cells to WGS84).

    Raises
    ------
    InputError
        When counts are missing, negative, infinite or not numbers, or age bands overlap.
    """
    declared = parse_crs(source_crs, f"population grid {path}: crs") if source_crs else None
    notes: list[str] = []
    raw = read_vector(
        path,
        layer,
        "population grid",
        allow_missing_crs=declared is not None,
        crs_field="[population] crs",
        encoding=encoding,
        notes=notes,
    )
    raw = with_declared_crs(raw, declared)
    grid = grid_from_layer(raw, path, crs, districts, cell_id_field)
    grid.notes[:0] = notes
    return grid


def grid_from_layer(
    raw: gpd.GeoDataFrame,
    path: Path,
    crs: CRS,
    districts: Districts,
    cell_id_field: str = "cell_id",
) -> PopulationGrid:
    """A population grid from a layer as read from ``path`` (or the part of it read by a
    batch region), checked as :func:`read_population` checks it."""
    what = "population grid"
    rows = (
        ("cell " + raw[cell_id_field].astype(str)).to_numpy()
        if cell_id_field in raw
        else np.arange(1, len(raw) + 1)
    )
    geometry, notes = check_geometries(
        raw.geometry.to_numpy(), ("polygon", "point"), f"{what} {path}", rows=rows, single_kind=True
    )
    raw = raw.set_geometry(gpd.GeoSeries(geometry, index=raw.index, crs=raw.crs))
    grid = population_from_frame(raw, crs, districts, f"{what} {path}", cell_id_field, str(path))
    grid.notes[:0] = notes
    grid.method = {
        "source": "grid",
        "file": str(path),
        "residents": "counts per cell of the grid file, as given",
        "age_structure": ("the grid's own age bands" if grid.bands else "none: totals only"),
    }
    return grid


def population_from_frame(
    raw: gpd.GeoDataFrame,
    crs: CRS,
    districts: Districts,
    what: str,
    cell_id_field: str = "cell_id",
    source: str = "",
) -> PopulationGrid:
    """A ``PopulationGrid`` from cells with ``pop_total`` and/or ``age_*`` columns.

    Shared by every population reader (grid, raster, census): drops cells whose centre
    is outside the study area or that are empty, and gives each cell its sub-district.
    """
    bands = age_bands(list(raw.columns))
    for a, b in itertools.pairwise(bands):
        if b.age_min <= a.age_max:
            raise InputError(f"{what}: age bands {a.column} and {b.column} overlap")
    counts = {}
    for col in [b.column for b in bands] + (["pop_total"] if "pop_total" in raw.columns else []):
        values = pd.to_numeric(raw[col], errors="coerce")
        bad = values.isna() | (values < 0) | ~np.isfinite(values.fillna(0)) | (values > 1e9)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            value = raw[col].iloc[i]
            shown = (
                "blank"
                if pd.isna(value)
                else repr(value.item() if isinstance(value, np.generic) else value)
            )
            raise InputError(
                f"{what}: cell {i + 1} ({cell_id_field}="
                f"{raw[cell_id_field].iloc[i] if cell_id_field in raw else '?'}): {col} is "
                f"{shown}; counts must be finite numbers >= 0"
            )
        counts[col] = values.to_numpy(dtype=float)
    if "pop_total" not in counts:
        if not bands:
            raise InputError(f"{what}: needs a pop_total column or age_* columns")
        counts["pop_total"] = np.sum([counts[b.column] for b in bands], axis=0)

    ids = (
        raw[cell_id_field].astype(str)
        if cell_id_field in raw.columns
        else pd.Series([f"C{i:06d}" for i in range(len(raw))])
    )
    if ids.duplicated().any():
        raise InputError(f"{what}: cell id {ids[ids.duplicated()].iloc[0]!r} repeats")
    cells = gpd.GeoDataFrame(
        {"cell_id": ids.to_numpy(), **counts}, geometry=raw.to_crs(crs).geometry.to_numpy(), crs=crs
    )
    centre = _centre(cells.geometry)
    inside = centre.within(districts.area).to_numpy()
    populated = cells["pop_total"].to_numpy() > 0
    notes = _outside_notes(cells, inside, populated, districts, what)
    keep = inside & populated
    cells = cells[keep].reset_index(drop=True)
    cells.insert(1, "district", _district_of(centre[keep].reset_index(drop=True), districts))
    return PopulationGrid(cells=cells, bands=bands, source=source, notes=notes)


def _outside_notes(
    cells: gpd.GeoDataFrame,
    inside: np.ndarray,
    populated: np.ndarray,
    districts: Districts,
    what: str,
) -> list[str]:
    """Stop when no resident lives inside the study area; note how many were left out.

    A grid wholly outside the area is a wrong file or a wrong CRS, not an empty district;
    a large share outside is worth a look too (a grid for the city, not the district).
    """
    pop = cells["pop_total"].to_numpy(dtype=float)
    if len(cells) == 0:
        raise InputError(f"{what}: has no cells")
    if not populated.any():
        raise InputError(f"{what}: every cell has 0 residents; check the population columns")
    if populated.any() and not (inside & populated).any():
        # cells.total_bounds is in the study CRS: say how far off the grid lies
        gap_km = shapely.distance(shapely.box(*cells.total_bounds), districts.area) / 1000
        raise InputError(
            f"{what}: none of its {int(populated.sum()):,} populated cells has its centre "
            f"inside the study area (the grid lies {gap_km:,.1f} km from it); check that the "
            "file covers the study area and that its coordinate system is right"
        )
    outside = populated & ~inside
    if outside.any():
        share = pop[outside].sum() / pop[populated].sum()
        return [
            f"{what}: {int(outside.sum()):,} populated cells ({pop[outside].sum():,.0f} "
            f"residents, {share:.1%}) lie outside the study area and are not counted"
        ]
    return []


def _centre(cells: gpd.GeoSeries) -> gpd.GeoSeries:
    """Each cell's centroid, or a point inside it when a concave piece (a cell cut by a
    census-area border) has its centroid outside itself."""
    centre = cells.centroid
    polygonal = cells.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    off = polygonal & ~cells.contains(centre).to_numpy()
    if off.any():
        centre = centre.copy()
        centre[off] = cells[off].representative_point()
    return centre


def _district_of(points: gpd.GeoSeries, districts: Districts) -> np.ndarray:
    """Name of the sub-district containing each point (nearest one for slivers)."""
    zones = districts.zones
    hit = gpd.sjoin(
        gpd.GeoDataFrame(geometry=points.to_numpy(), crs=zones.crs),
        zones[["district", "geometry"]],
        how="left",
        predicate="within",
    )
    hit = hit[~hit.index.duplicated(keep="first")]
    names = hit["district"].to_numpy(dtype=object)
    lost = pd.isna(names)
    if lost.any():
        # Centres on a shared border or in a gap between zones go to the nearest zone.
        near = gpd.sjoin_nearest(
            gpd.GeoDataFrame(geometry=points.to_numpy()[lost], crs=zones.crs),
            zones[["district", "geometry"]],
            how="left",
        )
        near = near[~near.index.duplicated(keep="first")]
        names[lost] = near["district"].to_numpy()
    return names


def population_summary(method: dict) -> str:
    """One sentence on how the residents and their ages were obtained."""
    if not method:
        return "population: read as given"
    text = f"population: {method.get('residents', method.get('source', ''))}"
    if method.get("spread_by"):
        text += f", spread by {method['spread_by']}"
    if method.get("age_structure"):
        text += f"; ages: {method['age_structure']}"
    return text
