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


def read_network(path: Path, crs: CRS, nodes_layer: str = "nodes",
                 edges_layer: str = "edges") -> WalkingNetwork:
    """Read a walking network in the layout ``osmnx.save_graph_geopackage`` writes.

    Parameters
    ----------
    path : Path
        GeoPackage with a node layer (``osmid``, Point) and an edge layer (``u``, ``v``,
        optional ``length`` in metres, LineString).
    crs : pyproj.CRS
        Projected study CRS.

    Returns
    -------
    WalkingNetwork
        Edges oriented from ``u`` to ``v``, with ``length_m``; motorways dropped; one-way
        tags ignored (pedestrians walk both ways).
    """
    what = "network"
    nodes = read_vector(path, nodes_layer, what).to_crs(crs)
    edges = read_vector(path, edges_layer, what).to_crs(crs)
    require_columns(nodes, ["osmid"], path, f"{what} layer {nodes_layer!r} of")
    require_columns(edges, ["u", "v"], path, f"{what} layer {edges_layer!r} of")
    return network_from_frames(nodes, edges, crs, f"network {path}",
                               f"layer {nodes_layer!r}", f"layer {edges_layer!r}")


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
    for col in ("highway", "name", "bridge", "tunnel", "layer"):
        if col in edges.columns:
            edges[col] = edges[col].apply(
                lambda v: ";".join(map(str, v)) if isinstance(v, list) else v)
    return network_from_frames(nodes, edges, crs, f"network {source}", "nodes", "edges")


def network_from_frames(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, crs: CRS,
                        what: str, nodes_name: str = "nodes",
                        edges_name: str = "edges") -> WalkingNetwork:
    """A ``WalkingNetwork`` from osmnx-style node (``osmid``) and edge (``u``, ``v``) frames.

    Motorways are dropped; edge lines are oriented from ``u`` to ``v``; ``length`` (metres)
    is used where present, else the drawn length in ``crs``.
    """
    if nodes["osmid"].duplicated().any():
        raise InputError(f"{what}: node ids (osmid) are not unique")
    check_geometries(nodes.geometry.to_numpy(), ("point",), f"{what} {nodes_name}",
                     rows=("osmid " + nodes["osmid"].astype(str)).to_numpy())
    check_geometries(edges.geometry.to_numpy(), ("line",), f"{what} {edges_name}",
                     rows=np.arange(1, len(edges) + 1), allow_missing=True)

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
        raise InputError(f"{what}: {len(rows)} edge(s) of {edges_name} have a negative length "
                         f"or an infinite or absurd one (edge {shown}); correct the length "
                         "column or delete it to use the drawn lengths")

    keep = [c for c in ("highway", "bridge", "tunnel", "layer", "name") if c in edges.columns]
    edge_frame = gpd.GeoDataFrame(
        {"u": u, "v": v, "length_m": length, **{c: edges[c].to_numpy() for c in keep}},
        geometry=geometry, crs=crs,
    )
    node_frame = gpd.GeoDataFrame({"node_id": nodes["osmid"].to_numpy()},
                                  geometry=nodes.geometry.to_numpy(), crs=crs)
    return WalkingNetwork(nodes=node_frame, edges=edge_frame)


def _oriented_lines(lines: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Lines drawn from their ``u`` node to their ``v`` node (straight where missing)."""
    lines = lines.copy()
    empty = shapely.is_missing(lines) | shapely.is_empty(lines)
    if empty.any():
        lines[empty] = shapely.linestrings(
            np.stack([start[empty], end[empty]], axis=1))
    first = shapely.get_point(lines, 0)
    d_u = shapely.distance(first, shapely.points(start))
    d_v = shapely.distance(first, shapely.points(end))
    flip = d_v < d_u
    lines[flip] = shapely.reverse(lines[flip])
    return lines
