"""Read a walking network stored as an osmnx-style GeoPackage (``nodes`` + ``edges`` layers)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import InputError
from ..model import WalkingNetwork
from ._files import read_vector, require_columns
from .geometry_checks import check_geometries

if TYPE_CHECKING:
    import networkx as nx

#: Ways nobody may walk on, as matched against the ``highway`` tag.
NOT_WALKABLE = ("motorway", "motorway_link")
#: Way classes with steps (OSM ``highway=steps``; 台阶/楼梯/梯道/踏步 in centreline files).
STEP_CLASSES = ("steps", "台阶", "楼梯", "梯道", "踏步")
#: Values of a steps column (``[network] steps_field``) that mean "this way has steps".
STEP_TRUE = ("yes", "true", "t", "y", "1", "是", "有", "√", "steps", "台阶", "楼梯")
#: Edge tags kept on the network: the street's class, level and name, and what a step-free
#: walk needs to know (``wheelchair=no``; ``ramp:wheelchair=yes`` makes steps passable).
KEPT_EDGE_TAGS = ("highway", "bridge", "tunnel", "layer", "name", "wheelchair", "ramp:wheelchair")


def read_network(
    path: Path,
    crs: CRS,
    nodes_layer: str = "nodes",
    edges_layer: str = "edges",
    *,
    steps_field: str | None = None,
) -> WalkingNetwork:
    """Read a walking network in the layout ``osmnx.save_graph_geopackage`` writes.

    Parameters
    ----------
    path : Path
        GeoPackage with a node layer (``osmid``, Point) and an edge layer (``u``, ``v``,
        optional ``length`` in metres, LineString).
    crs : pyproj.CRS
        Projected study CRS.
    steps_field : str, optional
        Edge column whose true values mark ways with steps (see :func:`step_ways`).

    Returns
    -------
    WalkingNetwork
        Edges oriented from ``u`` to ``v``, with ``length_m``; motorways dropped; one-way
        tags ignored (pedestrians walk both ways); ``steps`` where the file says.
    """
    what = "network"
    nodes = read_vector(path, nodes_layer, what).to_crs(crs)
    edges = read_vector(path, edges_layer, what).to_crs(crs)
    require_columns(nodes, ["osmid"], path, f"{what} layer {nodes_layer!r} of")
    require_columns(edges, ["u", "v"], path, f"{what} layer {edges_layer!r} of")
    return network_from_frames(
        nodes,
        edges,
        crs,
        f"network {path}",
        f"layer {nodes_layer!r}",
        f"layer {edges_layer!r}",
        steps_field=steps_field,
    )


def network_from_graph(graph: nx.MultiDiGraph, crs: CRS, source: str = "") -> WalkingNetwork:
    """A ``WalkingNetwork`` from an osmnx graph (online download or OSM file).

    Reciprocal edges of the directed graph become one street segment; tags that osmnx
    merged into lists while simplifying are joined with ``;``.
    """
    import osmnx as ox  # imported here: it takes seconds, and most studies never need it

    if graph.number_of_edges() == 0:
        raise InputError(f"network {source}: the OpenStreetMap graph has no streets")
    undirected = ox.convert.to_undirected(graph)
    nodes, edges = ox.graph_to_gdfs(undirected)
    nodes = nodes.reset_index().to_crs(crs)
    edges = edges.reset_index().to_crs(crs)
    for col in KEPT_EDGE_TAGS:
        if col in edges.columns:
            edges[col] = edges[col].apply(
                lambda v: ";".join(map(str, v)) if isinstance(v, list) else v
            )
    return network_from_frames(nodes, edges, crs, f"network {source}", "nodes", "edges")


def network_from_frames(
    nodes: gpd.GeoDataFrame,
    edges: gpd.GeoDataFrame,
    crs: CRS,
    what: str,
    nodes_name: str = "nodes",
    edges_name: str = "edges",
    *,
    steps_field: str | None = None,
) -> WalkingNetwork:
    """A ``WalkingNetwork`` from osmnx-style node (``osmid``) and edge (``u``, ``v``) frames.

    Motorways are dropped; edge lines are oriented from ``u`` to ``v``; ``length`` (metres)
    is used where present, else the drawn length in ``crs``.
    """
    if nodes["osmid"].duplicated().any():
        raise InputError(f"{what}: node ids (osmid) are not unique")
    check_geometries(
        nodes.geometry.to_numpy(),
        ("point",),
        f"{what} {nodes_name}",
        rows=("osmid " + nodes["osmid"].astype(str)).to_numpy(),
    )
    check_geometries(
        edges.geometry.to_numpy(),
        ("line",),
        f"{what} {edges_name}",
        rows=np.arange(1, len(edges) + 1),
        allow_missing=True,
    )

    if steps_field is not None and steps_field not in edges.columns:
        raise InputError(f"{what}: network.steps_field: {edges_name} has no column {steps_field!r}")
    if "highway" in edges.columns:
        tag = edges["highway"].astype(str)
        edges = edges[~tag.str.contains("|".join(NOT_WALKABLE), regex=True)]
    if len(edges) == 0:
        raise InputError(f"{what}: {edges_name} has no walkable street segments")

    position = pd.Series(np.arange(len(nodes)), index=nodes["osmid"].to_numpy())
    u = position.reindex(edges["u"].to_numpy()).to_numpy()
    v = position.reindex(edges["v"].to_numpy()).to_numpy()
    missing = np.isnan(u) | np.isnan(v)
    if missing.any():
        bad = edges.iloc[int(np.flatnonzero(missing)[0])]
        raise InputError(
            f"{what}: {int(missing.sum())} edges end at nodes missing from "
            f"{nodes_name} (first: u={bad['u']}, v={bad['v']})"
        )
    u, v = u.astype(np.int64), v.astype(np.int64)

    node_xy = shapely.get_coordinates(nodes.geometry.to_numpy())
    geometry = _oriented_lines(edges.geometry.to_numpy(), node_xy[u], node_xy[v])
    if "length" in edges.columns:
        length = pd.to_numeric(edges["length"], errors="coerce").to_numpy(dtype=float)
        length = np.where(np.isnan(length), shapely.length(geometry), length)  # blank: drawn
    else:
        length = shapely.length(geometry)
    bad = (length < 0) | ~np.isfinite(length) | (length > 1e7)
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = ", ".join(f"{i + 1} ({length[i]:g})" for i in rows[:5])
        raise InputError(
            f"{what}: {len(rows)} edge(s) of {edges_name} have a negative length "
            f"or an infinite or absurd one (edge {shown}); correct the length "
            "column or delete it to use the drawn lengths"
        )

    keep = [c for c in KEPT_EDGE_TAGS if c in edges.columns]
    columns = {c: edges[c].to_numpy() for c in keep}
    steps = step_ways(edges, steps_field)
    if steps is not None:  # the file can say where steps are
        columns["steps"] = steps
    edge_frame = gpd.GeoDataFrame(
        {"u": u, "v": v, "length_m": length, **columns},
        geometry=geometry,
        crs=crs,
    )
    node_frame = gpd.GeoDataFrame(
        {"node_id": nodes["osmid"].to_numpy()}, geometry=nodes.geometry.to_numpy(), crs=crs
    )
    return WalkingNetwork(nodes=node_frame, edges=edge_frame)


def step_ways(
    edges: pd.DataFrame, steps_field: str | None = None, classes: pd.Series | None = None
) -> np.ndarray | None:
    """Which ways a step-free walk avoids: steps, or tagged ``wheelchair=no``.

    A way counts when its class (``highway``, or ``classes`` for centrelines) has steps
    (``steps``; 台阶, 楼梯 … in Chinese files) and no ``ramp:wheelchair=yes`` or
    ``wheelchair=yes``, when ``wheelchair`` is ``no``, or when ``steps_field`` (or a
    ``steps`` column) holds a true value (是, yes, 1 …). Ways merged by osmnx carry every
    part's tag (``footway;steps``): one part with steps makes the whole way count.

    Returns
    -------
    ndarray of bool, or None
        None when the frame has no column that could say (no class, wheelchair or steps
        column): then nobody knows where steps are.
    """
    n = len(edges)
    known = False
    out = np.zeros(n, dtype=bool)

    def text(col: str) -> pd.Series:
        return edges[col].astype("string").fillna("").str.lower()

    cls = classes if classes is not None else (edges["highway"] if "highway" in edges else None)
    if cls is not None:
        known = True
        value = (
            pd.Series(np.asarray(cls, dtype=object), index=edges.index)
            .astype("string")
            .fillna("")
            .str.lower()
        )
        has_steps = value.str.contains("|".join(STEP_CLASSES), regex=True).to_numpy()
        ramp = np.zeros(n, dtype=bool)
        for col in ("ramp:wheelchair", "wheelchair"):
            if col in edges:
                ramp |= text(col).str.contains(r"(?:^|;)\s*yes", regex=True).to_numpy()
        out |= has_steps & ~ramp
    if "wheelchair" in edges:
        known = True
        out |= text("wheelchair").str.contains(r"(?:^|;)\s*no\b", regex=True).to_numpy()
    for col in dict.fromkeys([c for c in (steps_field, "steps") if c and c in edges]):
        known = True
        values = edges[col]
        if values.dtype == bool:
            out |= values.to_numpy(dtype=bool)
        else:
            out |= text(col).str.strip().isin(STEP_TRUE).to_numpy()
    return out if known else None


def _oriented_lines(lines: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Lines drawn from their ``u`` node to their ``v`` node (straight where missing)."""
    lines = lines.copy()
    empty = shapely.is_missing(lines) | shapely.is_empty(lines)
    if empty.any():
        lines[empty] = shapely.linestrings(np.stack([start[empty], end[empty]], axis=1))
    first = shapely.get_point(lines, 0)
    d_u = shapely.distance(first, shapely.points(start))
    d_v = shapely.distance(first, shapely.points(end))
    flip = d_v < d_u
    lines[flip] = shapely.reverse(lines[flip])
    return lines
