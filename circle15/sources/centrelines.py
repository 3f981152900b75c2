"""Road centrelines from planners' own files (SHP, GPKG, GeoJSON) made into a routable network.

Centreline files are drawings, not graphs: lines cross without a junction, share vertices,
stop a few centimetres short of each other, and bridges pass over the roads below. The
topology is built in three vectorised steps:

1. a loose line end within ``snap_tolerance_m`` of another line is moved onto it
   (closing digitising gaps);
2. all lines are noded together with GEOS (``shapely.node``): split at every shared vertex
   and every crossing;
3. pieces meeting at a point join there, except, with ``grade_separation``, pieces on
   different levels (``layer``, ``bridge``, ``tunnel``) that merely cross: levels join
   only where one of the original lines ends (a bridge's ramp meeting the road).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from ..errors import InputError
from ..model import WalkingNetwork
from ._encoding import Encoding
from ._files import read_vector
from .chinese_crs import parse_crs, with_declared_crs
from .facilities import find_column
from .network import NOT_WALKABLE, step_ways

LAYER_NAMES = ("layer", "层", "层级", "z_level", "zlevel")
BRIDGE_NAMES = ("bridge", "桥梁", "是否桥梁", "桥", "is_bridge")
TUNNEL_NAMES = ("tunnel", "隧道", "是否隧道", "is_tunnel")
CLASS_NAMES = (
    "highway",
    "fclass",
    "class",
    "type",
    "道路等级",
    "等级",
    "道路类型",
    "道路类别",
    "路段类型",
    "类型",
    "kind",
    "roadclass",
    "road_class",
)
NAME_NAMES = ("name", "名称", "道路名称", "路名")
#: Road classes nobody may walk on: OSM's motorways, and Chinese 高速公路.
CHINESE_NOT_WALKABLE = ("高速公路", "高速")
_PRECISION_M = 0.001
#: Part of the network cache key: bump when the noding changes what it builds.
CENTRELINES_VERSION = "centrelines-2"
#: The parts of a shapefile besides ``.shp``: a change to any of them changes the network.
SHAPEFILE_PARTS = (".shx", ".dbf", ".prj", ".cpg")
_TRUE = {
    "yes",
    "true",
    "t",
    "y",
    "1",
    "是",
    "有",
    "√",
    "viaduct",
    "covered",
    "culvert",
    "building_passage",
    "aqueduct",
    "cantilever",
    "movable",
    "boardwalk",
    "桥",
    "桥梁",
    "高架",
    "隧道",
}
#: Road classes that are themselves a level: 高架/桥 above the streets, 隧道/地下 below.
_CLASS_ABOVE = ("高架", "桥", "viaduct", "bridge")
_CLASS_BELOW = ("隧道", "地下", "tunnel", "underpass")


def read_centrelines(
    path: Path,
    crs: CRS,
    *,
    layer: str | None = None,
    source_crs: str | None = None,
    area: BaseGeometry | None = None,
    grade_separation: bool = True,
    snap_tolerance_m: float = 0.5,
    encoding: Encoding | None = None,
    steps_field: str | None = None,
) -> WalkingNetwork:
    """Routable walking network from a file of road centrelines.

    Parameters
    ----------
    path : Path
        SHP, GPKG, GeoJSON … of LineStrings/MultiLineStrings in any CRS (e.g. CGCS2000
        EPSG:4490 or a Gauss-Kruger zone such as EPSG:4549).
    crs : pyproj.CRS
        Projected study CRS.
    layer : str, optional
        Layer of a multi-layer file.
    source_crs : str, optional
        CRS of a file without one (a shapefile without ``.prj``) or that mislabels its
        own; ``GCJ-02``/``BD-09`` for lines traced from Amap/Baidu.
    area : shapely geometry, optional
        Keep lines touching this polygon (study CRS): the study area plus its buffer.
    grade_separation : bool
        Keep lines on different levels (``layer``, ``bridge``, ``tunnel`` columns) from
        joining where they only cross.
    snap_tolerance_m : float
        A line end this close (metres) to another line but not touching it is moved onto
        it before noding (closing digitising gaps; 0 to keep the ends as drawn).
    encoding : Encoding, optional
        Text encoding of the attributes (``[network] encoding``); for a shapefile without
        ``.cpg`` it is found from the bytes and said in the network's ``notes``, so that
        Chinese road classes (高速公路) and bridge flags (是) are read as written.
    steps_field : str, optional
        Column whose true values (是, yes, 1, 台阶 …) mark lines with steps, which a
        step-free walk avoids (``[network] steps_field``). Without it, a road class of
        steps (``steps``, 台阶, 楼梯, 梯道, 踏步), a ``steps`` column and ``wheelchair = no``
        mark them when the file has such columns.

    Returns
    -------
    WalkingNetwork
        Edges between junctions and dead ends, ``length_m`` measured in ``crs``; motorways
        (``highway``/``fclass`` motorway, ``高速公路``) dropped.

    Raises
    ------
    InputError
        When the file has no lines, or none near the study area.
    """
    what = f"network (centrelines) {path}"
    declared = parse_crs(source_crs, f"{what}: crs") if source_crs else None
    notes: list[str] = []
    raw = read_vector(
        path,
        layer,
        "network (centrelines)",
        allow_missing_crs=declared is not None,
        crs_field="[network] crs",
        encoding=encoding,
        notes=notes,
    )
    raw = with_declared_crs(raw, declared)
    lines = raw[raw.geometry.geom_type.isin(["LineString", "MultiLineString"])]
    if lines.empty:
        raise InputError(
            f"{what}: has no LineString features (found "
            f"{', '.join(sorted(set(raw.geometry.geom_type.dropna()))) or 'none'})"
        )
    lines = lines.explode(index_parts=False).to_crs(crs).reset_index(drop=True)
    if steps_field is not None and steps_field not in lines.columns:
        columns = ", ".join(map(str, lines.columns.drop(lines.geometry.name)))
        raise InputError(
            f"{what}: network.steps_field: no column {steps_field!r}; the columns are {columns}"
        )
    lines = _walkable(lines)
    if area is not None:
        shapely.prepare(area)
        lines = lines[shapely.intersects(area, lines.geometry.to_numpy())]
    if lines.empty:
        raise InputError(
            f"{what}: no walkable line lies within the study area and its buffer;"
            " check the file's CRS"
        )
    level = _levels(lines) if grade_separation else np.zeros(len(lines), dtype=np.int64)
    # Millimetre precision merges vertices that differ by floating-point noise only.
    geoms = shapely.set_precision(lines.geometry.to_numpy(), _PRECISION_M)
    keep = ~shapely.is_empty(geoms) & (shapely.length(geoms) > 0)
    geoms, level = geoms[keep], level[keep]
    if snap_tolerance_m > 0:
        geoms = _close_gaps(geoms, snap_tolerance_m)
    names = _column(lines[keep], NAME_NAMES)
    class_col = find_column(lines.columns, None, CLASS_NAMES)
    steps = step_ways(
        lines[keep], steps_field, classes=lines.loc[keep, class_col] if class_col else None
    )
    network = _topology(geoms, level, names, crs, _PRECISION_M, steps)
    network.notes[:0] = notes
    return network


def centreline_files(path: Path) -> list[Path]:
    """The files a centreline network is read from: a shapefile's parts, else the file."""
    path = Path(path)
    if path.suffix.lower() != ".shp":
        return [path]
    parts = [path]
    for suffix in SHAPEFILE_PARTS:
        for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
            if candidate.is_file():
                parts.append(candidate)
                break
    return parts


def _close_gaps(lines: np.ndarray, tol: float) -> np.ndarray:
    """Move each loose line end onto the nearest other line within ``tol`` metres.

    A loose end touches no other line; digitising leaves many a few centimetres short of
    the street they meet (undershoots). Ends that already touch are left alone.
    """
    n = len(lines)
    ends = np.concatenate([shapely.get_point(lines, 0), shapely.get_point(lines, -1)])
    owner = np.tile(np.arange(n), 2)
    tree = shapely.STRtree(lines)
    end_idx, line_idx = tree.query(ends, predicate="dwithin", distance=tol)
    other = line_idx != owner[end_idx]
    end_idx, line_idx = end_idx[other], line_idx[other]
    gap = shapely.distance(ends[end_idx], lines[line_idx])
    touching = np.zeros(len(ends), dtype=bool)
    touching[end_idx[gap <= _PRECISION_M]] = True
    loose = ~touching[end_idx]
    end_idx, line_idx, gap = end_idx[loose], line_idx[loose], gap[loose]
    if len(end_idx) == 0:
        return lines
    order = np.lexsort((gap, end_idx))  # nearest other line first, per end
    end_idx, line_idx = end_idx[order], line_idx[order]
    first = np.r_[True, end_idx[1:] != end_idx[:-1]]
    end_idx, line_idx = end_idx[first], line_idx[first]
    target = shapely.line_interpolate_point(
        lines[line_idx], shapely.line_locate_point(lines[line_idx], ends[end_idx])
    )
    coords, index = shapely.get_coordinates(lines, return_index=True)
    starts = np.r_[0, np.flatnonzero(np.diff(index)) + 1]
    stops = np.r_[starts[1:], len(index)] - 1
    which = owner[end_idx]
    position = np.where(end_idx < n, starts[which], stops[which])
    coords[position] = shapely.get_coordinates(target)
    return shapely.linestrings(coords, indices=index)


def _topology(
    lines: np.ndarray,
    level: np.ndarray,
    names: np.ndarray,
    crs: CRS,
    tol: float,
    steps: np.ndarray | None = None,
) -> WalkingNetwork:
    """Node the lines together and join the pieces at shared points (see module doc)."""
    pieces = shapely.get_parts(shapely.node(shapely.multilinestrings(lines)))
    pieces = pieces[shapely.length(pieces) > 0]
    # Each piece lies along one original line: find it from the piece's midpoint.
    mid = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    tree = shapely.STRtree(lines)
    piece_idx, line_idx = tree.query(mid, predicate="dwithin", distance=tol)
    owner = np.full(len(pieces), -1)
    owner[piece_idx[::-1]] = line_idx[::-1]  # first match wins
    owner = np.where(owner < 0, 0, owner)
    piece_level = level[owner]

    start = shapely.get_coordinates(shapely.get_point(pieces, 0))
    end = shapely.get_coordinates(shapely.get_point(pieces, -1))
    ends_of_lines = np.vstack(
        [
            shapely.get_coordinates(shapely.get_point(lines, 0)),
            shapely.get_coordinates(shapely.get_point(lines, -1)),
        ]
    )
    grid = np.round(np.vstack([start, end]) / tol).astype(np.int64)
    line_ends = np.round(ends_of_lines / tol).astype(np.int64)
    # A point joins all levels where an original line ends there; elsewhere only its own.
    at_line_end = np.isin(_row_keys(grid), _row_keys(line_ends))
    key_level = np.where(at_line_end, np.iinfo(np.int64).min, np.tile(piece_level, 2))
    keys = np.column_stack([grid, key_level])
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    n = len(pieces)
    u, v = inverse[:n], inverse[n:]
    first = np.unique(inverse, return_index=True)[1]
    node_xy = np.vstack([start, end])[first]
    nodes = gpd.GeoDataFrame(
        {"node_id": np.arange(len(unique))}, geometry=shapely.points(node_xy), crs=crs
    )
    columns = {
        "u": u,
        "v": v,
        "length_m": shapely.length(pieces),
        "layer": piece_level,
        "name": names[owner] if len(names) else None,
    }
    if steps is not None:  # each piece has the steps of the line it lies along
        columns["steps"] = steps[owner]
    edges = gpd.GeoDataFrame(columns, geometry=pieces, crs=crs)
    return WalkingNetwork(nodes=nodes, edges=edges)


def _row_keys(a: np.ndarray) -> np.ndarray:
    """Each row of an integer array as one comparable value (for ``np.isin``)."""
    a = np.ascontiguousarray(a)
    return a.view(np.dtype((np.void, a.dtype.itemsize * a.shape[1]))).ravel()


def _walkable(lines: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    col = find_column(lines.columns, None, CLASS_NAMES)
    if col is None:
        return lines
    value = lines[col].astype(str).str.lower()
    banned = value.str.contains("|".join(NOT_WALKABLE + CHINESE_NOT_WALKABLE), regex=True)
    return lines[~banned.to_numpy()]


def _levels(lines: gpd.GeoDataFrame) -> np.ndarray:
    """Vertical level of each line: ``layer`` when given, else +1 bridge, -1 tunnel, 0."""
    n = len(lines)
    layer_col = find_column(lines.columns, None, LAYER_NAMES)
    layer = (
        pd.to_numeric(lines[layer_col], errors="coerce").to_numpy(dtype=float)
        if layer_col
        else np.full(n, np.nan)
    )
    bridge = _flag(lines, BRIDGE_NAMES)
    tunnel = _flag(lines, TUNNEL_NAMES)
    col = find_column(lines.columns, None, CLASS_NAMES)
    if col is not None:  # a road class such as 高架路 or 隧道 is a level of its own
        value = lines[col].astype(str).str.lower()
        bridge = bridge | value.str.contains("|".join(_CLASS_ABOVE), regex=True).to_numpy()
        tunnel = tunnel | value.str.contains("|".join(_CLASS_BELOW), regex=True).to_numpy()
    implied = np.where(bridge, 1, np.where(tunnel, -1, 0))
    return np.where(np.isfinite(layer), layer, implied).astype(np.int64)


def _flag(lines: gpd.GeoDataFrame, names: tuple[str, ...]) -> np.ndarray:
    col = find_column(lines.columns, None, names)
    if col is None:
        return np.zeros(len(lines), dtype=bool)
    return lines[col].astype(str).str.strip().str.lower().isin(_TRUE).to_numpy()


def _column(lines: gpd.GeoDataFrame, names: tuple[str, ...]) -> np.ndarray:
    col = find_column(lines.columns, None, names)
    return (
        lines[col].astype(str).to_numpy(dtype=object)
        if col
        else np.full(len(lines), None, dtype=object)
    )
