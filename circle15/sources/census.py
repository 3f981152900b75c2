"""Census tables (one row per area) spread over grid cells, every total kept exactly.

A census gives counts per county, town or community (区县/乡镇街道/社区), by age group
and often by sex. The counts of each area are shared out over the grid cells inside it in
proportion to weights: the floor area of residential buildings, or the area of residential
land use, where such a layer is given; else plain land area. Integer counts stay integers
(largest-remainder rounding), so that every area's total, and every age group's total,
is the same in the cells as in the table.
"""

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
from ..model import OPEN_AGE, Districts, PopulationGrid
from ._encoding import Encoding
from ._files import read_vector
from .alignment import check_alignment
from .boundaries import read_outline
from .columns import find_column
from .population import population_from_frame
from .tables import (
    Problems,
    parse_number,
    parse_numbers,
    read_messy_table,
    read_table,
    typed_frame,
)

#: Area key columns tried in a census table and in an areas file.
KEY_NAMES = (
    "区划代码",
    "adcode",
    "code",
    "行政区划代码",
    "代码",
    "area_id",
    "gb",
    "id",
    "名称",
    "区县",
    "乡镇街道",
    "街道",
    "社区",
    "name",
    "district",
)
TOTAL_NAMES = (
    "pop_total",
    "人口数_合计",
    "人口数合计",
    "总人口",
    "常住人口",
    "人口数",
    "合计",
    "population",
    "total",
    "pop",
)

_SEX = r"(?:(?:男|女|male|female|m|f)[_\s-]*)?"
_SEX_TAIL = r"(?:[_\s-]*(?:男|女|male|female))?"
_AGE_RANGE = re.compile(
    rf"^{_SEX}(?:age[_\s]*)?(\d+)\s*(?:到|-|–|—|~|～|至|_)\s*(\d+)\s*(?:岁|years?)?{_SEX_TAIL}$",
    re.IGNORECASE,
)
_AGE_OPEN = re.compile(
    rf"^{_SEX}(?:age[_\s]*)?(\d+)\s*(?:岁)?\s*(?:及以上|以上|\+|_?plus|years?\s*and\s*over)"
    rf"{_SEX_TAIL}$",
    re.IGNORECASE,
)
_AGE_ONE = re.compile(rf"^{_SEX}(?:age[_\s]*)?(\d+)\s*(?:岁|years?)?{_SEX_TAIL}$", re.IGNORECASE)


def age_group(header: str) -> tuple[int, int] | None:
    """The ages a column counts, from headers such as ``男_1到4岁``, ``0-4岁``, ``85岁以上``,
    ``age_60_plus`` or ``female 5-9 years``; ``None`` for any other column.

    The whole header must be an age group: ``人口比重_0-14岁`` (a share) is not one.
    """
    text = str(header).strip()
    if m := _AGE_RANGE.match(text):
        lo, hi = int(m[1]), int(m[2])
        return (lo, hi) if hi >= lo else None
    if m := _AGE_OPEN.match(text):
        return int(m[1]), OPEN_AGE
    if text.lower().startswith("age") or "岁" in text:
        if m := _AGE_ONE.match(text):
            return int(m[1]), int(m[1])
    return None


def age_columns(
    table: pd.DataFrame,
    what: str,
    problems: Problems | None = None,
    lines: np.ndarray | None = None,
) -> dict[str, pd.Series]:
    """Counts per age band (sexes added up), as ``age_<lo>_<hi>``/``age_<lo>_plus`` columns.

    Cells are read by :func:`circle15.sources.tables.parse_number` (``1,200``, ``１２``);
    with ``problems`` every bad cell is collected there (row ``lines``) instead of raised.

    Raises
    ------
    InputError
        When age groups overlap (e.g. both ``0-14`` and ``0-4``) or hold non-numbers,
        NaN, infinities or negative counts.
    """
    groups: dict[tuple[int, int], list[str]] = {}
    for col in table.columns:
        band = age_group(col)
        if band is not None:
            groups.setdefault(band, []).append(col)
    bands = sorted(groups)
    for a, b in itertools.pairwise(bands):
        if b[0] <= a[1]:
            raise InputError(
                f"{what}: age groups in columns {groups[a][0]!r} and "
                f"{groups[b][0]!r} overlap; keep one set of age groups"
            )
    own = problems is None
    problems = problems if problems is not None else Problems(what, None)
    lines = lines if lines is not None else np.arange(2, len(table) + 2)
    out = {}
    for lo, hi in bands:
        name = (
            f"age_{lo}" if lo == hi else (f"age_{lo}_plus" if hi >= OPEN_AGE else f"age_{lo}_{hi}")
        )
        total = np.zeros(len(table))
        for col in groups[(lo, hi)]:
            values, _ = parse_numbers(table[col], col, problems, lines, required=True, minimum=0)
            total += np.nan_to_num(values)
        out[name] = pd.Series(total, index=table.index)
    if own:
        problems.raise_if_any("Correct these cells and run again")
    return out


def read_census_population(
    table_path: Path,
    crs: CRS,
    districts: Districts,
    *,
    areas: Path | None = None,
    areas_layer: str | None = None,
    area_field: str | None = None,
    table_field: str | None = None,
    cell_size_m: float = 200.0,
    weights: Path | None = None,
    weight_field: str | None = None,
    residential_values: list[str] | None = None,
    areas_crs: str | None = None,
    sheet: str | None = None,
    encoding: Encoding | None = None,
) -> PopulationGrid:
    """Disaggregate a census table to grid cells inside the study area.

    Parameters
    ----------
    table_path : Path
        CSV/XLSX, one row per area: a key column, a total and/or age-group columns (by sex
        or not: ``男_0岁``, ``女_1到4岁`` …, ``85岁以上``; sexes are added up).
    crs : pyproj.CRS
        Projected study CRS.
    districts : Districts
        Study area and sub-districts.
    areas : Path, optional
        Polygons of the census areas, joined on ``area_field`` = ``table_field``. Without
        it, a one-row table covers the whole study area, and a table whose keys are the
        sub-district names covers the sub-district zones.
    cell_size_m : float
        Side of the square cells, metres.
    weights : Path, optional
        Residential buildings or land-use polygons. Each cell's share of its area's
        residents is proportional to the weight inside it: polygon area × ``weight_field``
        (e.g. floors), or, with ``residential_values``, the area of polygons whose
        ``weight_field`` is one of those classes. Areas without any weight fall back to
        land area.
    areas_crs : str, optional
        Coordinate system of the ``areas`` file when it has none or mislabels it
        (``GCJ-02`` for polygons from Amap or Aliyun DataV, ``BD-09``, an EPSG code).
        Undeclared polygons in longitude/latitude are checked against the sub-districts:
        a conclusive GCJ-02/BD-09 shift stops the run, an inconclusive check is a note.
    sheet : str, optional
        Sheet of a workbook.
    encoding : Encoding, optional
        Text encoding of a CSV/TXT table (found from the bytes otherwise).

    Returns
    -------
    PopulationGrid
        Cells (pieces of grid squares cut by area borders) with ``pop_total`` and
        ``age_*`` columns; per area and per column the cells add up to the table.
    """
    what = f"census table {table_path}"
    read = read_messy_table(
        table_path, "census table", sheet, encoding=encoding, known=KEY_NAMES + TOTAL_NAMES
    )
    notes = list(read.notes)
    table = typed_frame(read)
    key_col = find_column(table.columns, table_field, KEY_NAMES)
    if key_col is None:
        raise InputError(
            f"{what}: no area key column; name it with population.table_field "
            f"(columns: {', '.join(map(str, table.columns[:12]))} …)"
        )
    problems = Problems("census table", table_path)
    bands = age_columns(table, what, problems, read.lines)
    total_col = find_column(table.columns, None, TOTAL_NAMES)
    counts = pd.DataFrame(bands)
    if total_col is not None:
        total, _ = parse_numbers(
            table[total_col], total_col, problems, read.lines, required=True, minimum=0
        )
        problems.raise_if_any("Correct these cells and run again")
        total = pd.Series(total, index=table.index)
        if bands:
            rest = total - counts.sum(axis=1)
            if (rest < -1e-6).any():
                i = int(np.flatnonzero(rest < -1e-6)[0])
                raise InputError(
                    f"{what}: row {read.lines[i]}: the age groups add up to more than {total_col}"
                )
            if (rest > 1e-6).any():
                counts["age_unknown"] = rest  # kept in the total, in no age band
        else:
            counts["pop_total"] = total
    elif not bands:
        raise InputError(
            f"{what}: needs a total column (人口数/常住人口/pop_total …) or "
            "age-group columns (0-4岁, 男_5到9岁 …)"
        )
    problems.raise_if_any("Correct these cells and run again")
    counts.index = _as_key(table[key_col])

    polygons = _area_polygons(
        counts.index,
        districts,
        crs,
        areas,
        areas_layer,
        area_field,
        key_col,
        what,
        areas_crs,
        notes,
    )
    pieces = _grid_pieces(polygons, cell_size_m)
    weight = _weights(pieces, crs, weights, weight_field, residential_values)
    frame = _allocate(pieces, weight, counts.loc[polygons["key"]].reset_index(drop=True))
    grid = population_from_frame(frame, crs, districts, what, "cell_id", str(table_path))
    if "age_unknown" in grid.cells.columns:
        grid.cells = grid.cells.drop(columns="age_unknown")
    grid.notes[:0] = notes
    spread_by = (
        "land area"
        if weights is None
        else "residential land use"
        if residential_values
        else f"building floor area ({weight_field} × footprint)"
        if weight_field
        else "building footprint area"
    )
    grid.method = {
        "source": "census",
        "file": str(table_path),
        "residents": f"census table of {len(counts)} areas spread over {cell_size_m:g} m cells",
        "spread_by": spread_by,
        "weights_file": None if weights is None else str(weights),
        "age_structure": (
            "the census table's age groups, area by area" if bands else "none: totals only"
        ),
    }
    return grid


def _area_polygons(
    keys: pd.Index,
    districts: Districts,
    crs: CRS,
    areas: Path | None,
    layer: str | None,
    field: str | None,
    key_col: str,
    what: str,
    areas_crs: str | None = None,
    notes: list[str] | None = None,
) -> gpd.GeoDataFrame:
    """One polygon per census area that touches the study area, with its table key."""
    if areas is None:
        if len(keys) == 1:
            polys = gpd.GeoDataFrame({"key": keys}, geometry=[districts.area], crs=crs)
        else:
            zones = districts.zones
            if not set(zones["district"]).issubset(set(keys)):
                raise InputError(
                    f"{what}: has {len(keys)} rows; give the areas' polygons as "
                    "population.areas, or key the rows by sub-district name"
                )
            polys = gpd.GeoDataFrame(
                {"key": zones["district"].to_numpy()}, geometry=zones.geometry.to_numpy(), crs=crs
            )
    else:
        raw = read_outline(
            areas,
            areas_crs,
            "census areas",
            layer=layer,
            crs_field="[population] areas_crs",
            notes=notes,
        )
        if areas_crs is None:
            check_alignment(
                raw, districts, crs, "census areas", areas, "[population] areas_crs", notes
            )
        raw = raw.to_crs(crs)
        col = find_column(raw.columns, field or key_col, KEY_NAMES)
        if col is None:
            raise InputError(
                f"census areas {areas}: no key column {field or key_col!r}; set "
                "population.area_field"
            )
        polys = gpd.GeoDataFrame(
            {"key": _as_key(raw[col])}, geometry=raw.geometry.make_valid().to_numpy(), crs=crs
        )
        polys = polys.dissolve("key", as_index=False)
        polys["key"] = polys["key"].astype(str)
        missing = sorted(set(polys["key"]) - set(keys))
        polys = polys[polys["key"].isin(keys)]
        if polys.empty:
            raise InputError(
                f"census areas {areas}: no key matches the table's {key_col} "
                f"(e.g. {missing[:3]} vs {list(keys[:3])})"
            )
    touching = shapely.intersects(polys.geometry.to_numpy(), districts.area)
    polys = polys[touching].reset_index(drop=True)
    if polys.empty:
        raise InputError(f"{what}: none of its areas overlaps the study area")
    return polys


def _as_key(column: pd.Series) -> pd.Series:
    """Keys as text: ``330211.0`` read from a float column becomes ``330211``, and a
    Tianditu GB code ``156330211`` (China's country code in front) the adcode ``330211``."""
    numbers = pd.to_numeric(column, errors="coerce")
    whole = numbers.notna() & (numbers == np.floor(numbers))
    text = column.astype(str).str.strip()
    text = text.where(~whole, numbers.astype("Int64").astype(str))
    return text.str.replace(r"^156(\d{6})$", r"\1", regex=True)


def _grid_pieces(polygons: gpd.GeoDataFrame, size: float) -> gpd.GeoDataFrame:
    """Square cells aligned to multiples of ``size``, cut by each area's polygon."""
    west, south, east, north = polygons.total_bounds
    xs = np.arange(np.floor(west / size) * size, east, size)
    ys = np.arange(np.floor(south / size) * size, north, size)
    gx, gy = np.meshgrid(xs, ys)
    squares = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + size, gy.ravel() + size)
    area_idx, cell_idx = shapely.STRtree(squares).query(
        polygons.geometry.to_numpy(), predicate="intersects"
    )
    cut = shapely.intersection(squares[cell_idx], polygons.geometry.to_numpy()[area_idx])
    keep = shapely.area(cut) > 0
    area_idx, cell_idx, cut = area_idx[keep], cell_idx[keep], cut[keep]
    col = np.rint((gx.ravel()[cell_idx] - xs[0]) / size).astype(int)
    row = np.rint((gy.ravel()[cell_idx] - ys[0]) / size).astype(int)
    keys = polygons["key"].to_numpy()[area_idx]
    return gpd.GeoDataFrame(
        {
            "area": area_idx,
            "cell_id": [f"{k}-{r:04d}-{c:04d}" for k, r, c in zip(keys, row, col, strict=True)],
        },
        geometry=cut,
        crs=polygons.crs,
    )


def _weights(
    pieces: gpd.GeoDataFrame,
    crs: CRS,
    path: Path | None,
    field: str | None,
    classes: list[str] | None,
) -> np.ndarray:
    """Weight of each piece: residential floor/land area inside it, else its land area."""
    land = shapely.area(pieces.geometry.to_numpy())
    if path is None:
        return land
    layer = read_vector(path, what="population weights").to_crs(crs)
    layer = layer[layer.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    factor = np.ones(len(layer))
    if field is not None:
        if field not in layer.columns:
            raise InputError(f"population weights {path}: no column {field!r}")
        if classes:
            layer = layer[layer[field].astype(str).isin([str(c) for c in classes])]
            factor = np.ones(len(layer))
        else:
            factor = pd.to_numeric(layer[field], errors="coerce").fillna(1.0).clip(lower=0)
            factor = factor.to_numpy(dtype=float)
    geoms = layer.geometry.make_valid().to_numpy()
    piece_idx, poly_idx = shapely.STRtree(geoms).query(
        pieces.geometry.to_numpy(), predicate="intersects"
    )
    overlap = shapely.area(
        shapely.intersection(pieces.geometry.to_numpy()[piece_idx], geoms[poly_idx])
    )
    weight = np.bincount(piece_idx, weights=overlap * factor[poly_idx], minlength=len(pieces))
    area = pieces["area"].to_numpy()
    per_area = np.bincount(area, weights=weight)
    empty = per_area[area] <= 0  # no building in the whole area: fall back to land area
    return np.where(empty, land, weight)


def _allocate(
    pieces: gpd.GeoDataFrame, weight: np.ndarray, counts: pd.DataFrame
) -> gpd.GeoDataFrame:
    """Share each area's counts over its pieces by weight, integers kept integers."""
    area = pieces["area"].to_numpy()
    total_w = np.bincount(area, weights=weight, minlength=len(counts))
    share = np.divide(weight, total_w[area], out=np.zeros_like(weight), where=total_w[area] > 0)
    out = {"cell_id": pieces["cell_id"].to_numpy()}
    for col in counts.columns:
        values = counts[col].to_numpy(dtype=float)
        quota = values[area] * share
        if np.allclose(values, np.round(values)):
            out[col] = _largest_remainder(quota, area, np.round(values))
        else:
            out[col] = quota
    if "pop_total" not in out:  # bands plus residents of unknown age
        out["pop_total"] = np.sum([out[c] for c in counts.columns], axis=0)
    return gpd.GeoDataFrame(out, geometry=pieces.geometry.to_numpy(), crs=pieces.crs)


def _largest_remainder(quota: np.ndarray, group: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Integers per piece adding up exactly to ``totals`` per group (Hamilton's method)."""
    base = np.floor(quota)
    left = totals - np.bincount(group, weights=base, minlength=len(totals))
    frac = quota - base
    order = np.lexsort((-frac, group))  # by group, largest remainder first
    g = group[order]
    start = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    rank = np.arange(len(g)) - np.repeat(start, np.diff(np.r_[start, len(g)]))
    extra = np.zeros(len(quota))
    extra[order] = rank < left[g]
    return base + extra


def age_shares(table_path: Path, area: str, table_field: str | None = None) -> dict[str, float]:
    """Each age band's share of the residents of one census area (e.g. ``"330211"``).

    Used to give a raster of totals an age structure: the same shares in every pixel.
    """
    what = f"census table {table_path}"
    table = read_table(table_path, "census table", drop_totals=True)
    key_col = find_column(table.columns, table_field, KEY_NAMES)
    if key_col is None:
        raise InputError(f"{what}: no area key column; set population.table_field")
    row = table[_as_key(table[key_col]) == str(area)]
    if len(row) == 0:
        text_cols = [c for c in table.columns if (table[c].astype(str) == str(area)).any()]
        hint = (
            f"; {area!r} is in column {text_cols[0]!r}: set population.table_field = "
            f'"{text_cols[0]}"'
            if text_cols
            else f"; age_area is looked up in column {key_col!r} (set population.table_field "
            'to the column that holds it, e.g. table_field = "名称" to look it up by '
            "name)"
        )
        raise InputError(f"{what}: no row has {key_col} = {area!r} (population.age_area){hint}")
    if len(row) != 1:
        raise InputError(
            f"{what}: {len(row)} rows have {key_col} = {area!r}; expected one "
            "(set population.table_field to a column whose values are unique)"
        )
    bands = {k: float(v.iloc[0]) for k, v in age_columns(row, what).items()}
    total_col = find_column(table.columns, None, TOTAL_NAMES)
    total = parse_number(row[total_col].iloc[0])[0] if total_col else None
    total = sum(bands.values()) if total is None else float(total)
    if not bands or total <= 0:
        raise InputError(f"{what}: row {area!r} has no age groups to take shares from")
    return {k: v / total for k, v in bands.items()}
