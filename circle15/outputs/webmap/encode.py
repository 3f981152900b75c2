"""Compact encodings of what a map draws: typed arrays, quantised numbers, geometries, cells.

A city of 200,000 populated cells cannot travel as GeoJSON (one polygon per cell and
category is hundreds of megabytes). Here every array becomes a little-endian typed array in
base64 (``{"t": "u2", "b": "..."}``, decoded by ``L.Circle15.array`` in the map runtime),
numbers are quantised to the smallest unsigned type that holds them, geometries are
zigzag-varint deltas of coordinates in 1e-6 degree, and cells on a regular grid are sent as
their grid indexes plus a coarse lattice of WGS84 control points (the runtime blends
corners bilinearly, which is exact to well under a centimetre over a lattice tile).
"""

from __future__ import annotations

import base64
import math
import re
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from .style import WGS84, column

__all__ = [
    "DECIMALS",
    "encode_cells",
    "encode_geometry",
    "quantised",
    "to_wgs84",
    "typed",
]

#: Decimal places kept in longitude/latitude (1e-6 degree is about 0.1 m).
DECIMALS = 6
_METRES_PER_DEGREE = 111_320.0
#: Control points of the cell grid: about every kilometre, at most 256 tiles a side.
_CONTROL_M = 1_000.0
_CONTROL_TILES = 256
_UINT = (np.uint8, np.uint16, np.uint32)
_CODES = {
    np.dtype(np.uint8): "u1",
    np.dtype(np.uint16): "u2",
    np.dtype(np.uint32): "u4",
    np.dtype(np.float32): "f4",
}
_NUMBERED = re.compile(r"^(.*?)(\d{1,9})$", re.DOTALL)


def typed(values: np.ndarray) -> dict[str, str]:
    """A numeric array as ``{"t": type code, "b": base64 of its little-endian bytes}``."""
    arr = np.ascontiguousarray(values)
    code = _CODES[arr.dtype]
    return {
        "t": code,
        "b": base64.b64encode(arr.astype(arr.dtype.newbyteorder("<")).tobytes()).decode("ascii"),
    }


def smallest_uint(largest: int) -> type[np.unsignedinteger]:
    """The smallest unsigned type holding ``0..largest`` plus one spare value (the sentinel)."""
    for dtype in _UINT:
        if largest < np.iinfo(dtype).max:
            return dtype
    raise ValueError(f"{largest} does not fit in 32 bits")


def quantised(values: np.ndarray | pd.Series, scale: float) -> dict[str, Any]:
    """Non-negative numbers as integers of ``value * scale`` (rounded).

    Missing and negative values become the type's largest value, which the runtime reads as
    missing; the type is the smallest that holds the rest (values beyond 32 bits are capped).
    """
    x = np.asarray(values)
    if x.dtype.kind not in "fiu":
        x = pd.to_numeric(pd.Series(x, dtype=object), errors="coerce")
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x) & (x >= 0)
    ints = np.zeros(len(x), dtype=np.int64)
    ints[ok] = np.minimum(np.rint(x[ok] * scale), np.iinfo(np.uint32).max - 1).astype(np.int64)
    dtype = smallest_uint(int(ints.max()) if len(ints) else 0)
    out = ints.astype(dtype)
    out[~ok] = np.iinfo(dtype).max
    return {**typed(out), "s": scale}


def index_array(codes: np.ndarray) -> dict[str, str]:
    """Indexes (``-1`` for none) in the smallest unsigned type; none is the largest value."""
    codes = np.asarray(codes, dtype=np.int64)
    dtype = smallest_uint(int(codes.max()) if len(codes) else 0)
    out = codes.astype(dtype)
    out[codes < 0] = np.iinfo(dtype).max
    return typed(out)


# --------------------------------------------------------------------------------------
# Varints and geometries
# --------------------------------------------------------------------------------------
def _varints(values: np.ndarray) -> str:
    """Signed integers as zigzag LEB128 varints, base64."""
    v = np.asarray(values, dtype=np.int64)
    z = ((v << 1) ^ (v >> 63)).astype(np.uint64)
    nbytes = np.ones(len(z), dtype=np.int64)
    rest = z >> np.uint64(7)
    while rest.any():
        nbytes += rest > 0
        rest >>= np.uint64(7)
    start = np.cumsum(nbytes) - nbytes
    out = np.zeros(int(nbytes.sum()), dtype=np.uint8)
    for k in range(int(nbytes.max()) if len(nbytes) else 0):
        sel = nbytes > k
        low = ((z[sel] >> np.uint64(7 * k)) & np.uint64(0x7F)).astype(np.uint8)
        out[start[sel] + k] = low | np.where(nbytes[sel] > k + 1, 0x80, 0).astype(np.uint8)
    return base64.b64encode(out.tobytes()).decode("ascii")


def geometry_kinds(geoms: np.ndarray) -> np.ndarray:
    """0 for (multi)polygons, 1 for (multi)lines, 2 for (multi)points, per geometry."""
    type_id = shapely.get_type_id(geoms)
    return np.select([np.isin(type_id, (3, 6)), np.isin(type_id, (1, 2, 5))], [0, 1], 2)


def encode_geometry(geoms: np.ndarray | gpd.GeoSeries, decimals: int = DECIMALS) -> dict[str, Any]:
    """Polygons, lines and points (WGS84) for ``L.Circle15.geometry``.

    Each feature is a list of parts (polygons: exterior ring then holes, without the closing
    vertex; lines: one ring; points: one vertex); the count stream holds, in order, per
    feature its number of parts, per part its rings, per ring its vertices. Coordinates
    are ``lat, lng`` in ``10**-decimals`` degree, each a delta from the one before.
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    parts, part_feature = shapely.get_parts(geoms, return_index=True)
    is_poly = shapely.get_type_id(parts) == 3
    rings, ring_part = shapely.get_rings(parts[is_poly], return_index=True)
    ring_part = np.flatnonzero(is_poly)[ring_part]
    other = np.flatnonzero(~is_poly)
    all_rings = np.concatenate([rings, parts[other]])
    all_part = np.concatenate([ring_part, other])
    order = np.argsort(all_part, kind="stable")  # rings of a part stay in order
    all_rings, all_part = all_rings[order], all_part[order]
    closed = np.concatenate([np.ones(len(rings), bool), np.zeros(len(other), bool)])[order]

    coords, coord_ring = shapely.get_coordinates(all_rings, return_index=True)
    last = np.r_[coord_ring[1:] != coord_ring[:-1], True]
    keep = ~(last & closed[coord_ring])  # Leaflet closes polygons itself
    coords, coord_ring = coords[keep], coord_ring[keep]
    verts = np.bincount(coord_ring, minlength=len(all_rings))

    n_parts = np.bincount(part_feature, minlength=n)
    n_rings = np.bincount(all_part, minlength=len(parts))
    # Positions in the count stream: feature f, then for each of its parts the part's
    # ring count followed by its rings' vertex counts.
    parts_before = np.cumsum(n_parts) - n_parts
    rings_before_part = np.cumsum(n_rings) - n_rings
    rings_before_feature = np.r_[0, np.cumsum(n_rings)][parts_before]
    stream = np.zeros(n + len(parts) + len(all_rings), dtype=np.int64)
    stream[np.arange(n) + parts_before + rings_before_feature] = n_parts
    stream[part_feature + 1 + np.arange(len(parts)) + rings_before_part] = n_rings
    ring_feature = part_feature[all_part]
    stream[ring_feature + 1 + all_part + 1 + np.arange(len(all_rings))] = verts

    q = 10**decimals
    latlng = np.rint(coords[:, ::-1] * q).astype(np.int64).ravel()
    deltas = latlng.copy()
    deltas[2:] -= latlng[:-2]  # each latitude from the one before, each longitude too
    return {"n": n, "c": _varints(stream), "xy": _varints(deltas), "q": q}


def to_wgs84(
    frame: gpd.GeoDataFrame, simplify_m: float = 0.0, *, preserve_topology: bool = True
) -> gpd.GeoDataFrame:
    """Simplify (metres, in the frame's CRS), convert to WGS84; empty geometries dropped.

    ``preserve_topology=False`` is plain Douglas-Peucker, many times faster on the staircase
    outlines of merged grid cells, where a tolerance far below the cell size only removes
    vertices along straight edges.
    """
    if frame.crs is None:
        raise ValueError("a layer of the coverage result has no CRS; cannot place it on a map")
    geoms = frame.geometry
    if simplify_m > 0:
        tolerance = simplify_m / _METRES_PER_DEGREE if frame.crs.is_geographic else simplify_m
        geoms = geoms.simplify(tolerance, preserve_topology=preserve_topology)
    out = gpd.GeoDataFrame(
        frame.drop(columns=frame.geometry.name), geometry=geoms.to_crs(WGS84).to_numpy(), crs=WGS84
    )
    return out[_drawable(out.geometry.to_numpy())]


def _drawable(geoms: np.ndarray) -> np.ndarray:
    """Geometries that exist, are not empty and have finite coordinates only."""
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    finite = np.ones(len(geoms), dtype=bool)
    finite[index[~np.isfinite(coords).all(axis=1)]] = False
    return finite & ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))


# --------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------
def encode_ids(ids: pd.Series) -> dict[str, Any]:
    """Cell ids: ``prefix + number`` (zero-padded or not) as numbers, else a list of text.

    The compact form is used only when it gives back every id exactly.
    """
    text = ids.astype(str).tolist()
    match = _NUMBERED.match(text[0]) if text else None
    if match is not None:
        prefix, digits = match.groups()
        width = len(digits) if digits.startswith("0") and len(digits) > 1 else 0
        first = int(digits)
        if text == [prefix + str(n).zfill(width) for n in range(first, first + len(text))]:
            return {"prefix": prefix, "width": width, "start": first}  # numbered in order
        start = len(prefix)
        tails = [t[start:] if t.startswith(prefix) else "" for t in text]
        if all(t.isascii() and t.isdigit() and len(t) <= 9 for t in tails):
            numbers = np.array(tails, dtype=np.int64)
            again = [prefix + str(n).zfill(width) for n in numbers.tolist()]
            if again == text:
                if np.array_equal(numbers, numbers[0] + np.arange(len(numbers))):
                    return {"prefix": prefix, "width": width, "start": int(numbers[0])}
                return {"prefix": prefix, "width": width, "num": typed(numbers.astype(np.uint32))}
    return {"list": text}


def _grid_positions(geoms: np.ndarray) -> tuple[np.ndarray, dict[str, float]] | None:
    """Grid (i, j) of each cell that is an axis-aligned rectangle of the common size.

    Returns the positions (``-1`` where a cell is not on the grid) and the grid's origin and
    cell size, or None when no cell is.
    """
    bounds = shapely.bounds(geoms)
    width, height = bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]
    ok = np.isfinite(width) & (width > 0) & (height > 0)
    if not ok.any():
        return None
    w, h = float(np.median(width[ok])), float(np.median(height[ok]))
    tol = 1e-6 * max(w, h)
    area = shapely.area(geoms)
    rect = (
        ok
        & (np.abs(width - w) <= tol)
        & (np.abs(height - h) <= tol)
        & (np.abs(area - width * height) <= 1e-6 * w * h)
    )
    if not rect.any():
        return None
    x0, y0 = float(bounds[rect, 0].min()), float(bounds[rect, 1].min())
    fi, fj = (bounds[:, 0] - x0) / w, (bounds[:, 1] - y0) / h
    i, j = np.rint(np.nan_to_num(fi)), np.rint(np.nan_to_num(fj))
    rect &= (np.abs(fi - i) < 1e-4) & (np.abs(fj - j) < 1e-4)
    if not rect.any():
        return None
    ij = np.where(rect[:, None], np.column_stack([i, j]), -1).astype(np.int64)
    # Two cells at one grid position: the later ones are drawn as polygons.
    key = np.where(rect, ij[:, 1] * (int(i[rect].max()) + 1) + ij[:, 0], -1)
    _, first = np.unique(key, return_index=True)
    duplicate = rect.copy()
    duplicate[first] = False
    ij[duplicate] = -1
    return ij, {"x0": x0, "y0": y0, "w": w, "h": h}


def encode_cells(cells: gpd.GeoDataFrame) -> dict[str, Any]:
    """The cells' ids, sub-districts and geometry for ``L.Circle15.Cells``.

    Cells that are axis-aligned rectangles of one size on one grid (in the cells' CRS) are
    sent as their grid positions (``pos``: ``j * ni + i`` as varint deltas, in cell order,
    skipping the cells listed in ``off``) with a lattice of WGS84 control points every
    ``step`` grid lines (1e-7 degree, as one line through them row by row);
    all other cells (census areas, cells clipped by the outline) as polygons.
    """
    if cells.crs is None:
        raise ValueError("the cells of the coverage result have no CRS")
    geoms = cells.geometry.to_numpy()
    present = _drawable(geoms)  # a cell without a usable geometry is not drawn
    if not np.isin(shapely.get_type_id(geoms[present]), (3, 6)).all():
        raise ValueError("cells must be Polygon or MultiPolygon geometries to be mapped")
    district_code, district_names = pd.factorize(column(cells, "district", None))
    spec: dict[str, Any] = {
        "n": len(cells),
        "ids": encode_ids(column(cells, "cell_id", None).fillna("")),
        "district": index_array(district_code),
        "districts": [str(d) for d in district_names],
        "grid": None,
        "poly": None,
    }
    found = _grid_positions(geoms) if present.any() else None
    on_grid = np.zeros(len(cells), bool)
    if found is not None:
        ij, g = found
        on_grid = (ij[:, 0] >= 0) & present
        ni, nj = int(ij[on_grid, 0].max()) + 1, int(ij[on_grid, 1].max()) + 1
        # Control points every ~1 km (a blend in Web Mercator is then within ~1.5 cm), at
        # most _CONTROL_TILES tiles a side for grids of coarse cells.
        metres = g["w"] * (_METRES_PER_DEGREE if cells.crs.is_geographic else 1.0)
        step = max(1, min(math.ceil(max(ni, nj) / _CONTROL_TILES), math.floor(_CONTROL_M / metres)))
        cni, cnj = math.ceil(ni / step) + 1, math.ceil(nj / step) + 1
        ci, cj = np.meshgrid(np.arange(cni) * step, np.arange(cnj) * step)  # row-major by j
        to_wgs = Transformer.from_crs(cells.crs, WGS84, always_xy=True)
        lng, lat = to_wgs.transform(g["x0"] + ci.ravel() * g["w"], g["y0"] + cj.ravel() * g["h"])
        lattice = shapely.linestrings(np.column_stack([lng, lat]))  # in row order
        # Grid positions as j * ni + i, each from the one before (cells usually come row by
        # row: one byte a cell), and which cells are not on the grid.
        position = ij[on_grid, 1] * ni + ij[on_grid, 0]
        spec["grid"] = {
            "ni": ni,
            "nj": nj,
            "step": step,
            "cni": cni,
            "cnj": cnj,
            "lattice": encode_geometry(np.array([lattice], dtype=object), decimals=7),
            "pos": _varints(np.diff(position, prepend=0)),
            "off": _varints(np.diff(np.flatnonzero(~on_grid), prepend=0)),
        }
    rest = np.flatnonzero(present & ~on_grid)
    if len(rest):
        polygons = gpd.GeoSeries(geoms[rest], crs=cells.crs).to_crs(WGS84).to_numpy()
        keep = _drawable(polygons)
        rest, polygons = rest[keep], polygons[keep]
    if len(rest):
        spec["poly"] = {"geom": encode_geometry(polygons), "cell": typed(rest.astype(np.uint32))}
    return spec
