"""The streets noded into a planar walking network, kept connected, in osmnx layout."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .area import Area
from .common import (
    HIGHWAY_RANK,
    PROV_SYNTHETIC,
    SNAP_M,
    WGS84,
    Lines,
    nearest_line,
    segments,
    to_lonlat,
)
from .streets import (
    arterial_grid,
    choose_bridges,
    core_streets,
    cut_at_canal,
    footways,
    hamlet_streets,
    industrial_streets,
    locate_hamlet,
    village_streets,
)

# =========================================================================== planar graph


@dataclass
class Network:
    """A planar street network (UTM): node coordinates and edges between them."""

    xy: np.ndarray  # (n, 2) node coordinates
    u: np.ndarray
    v: np.ndarray
    geoms: np.ndarray  # LineString from node u to node v
    attrs: pd.DataFrame  # highway, hamlet, bridge

    @property
    def main(self) -> np.ndarray:
        """Boolean mask of the edges of the connected main network (not the hamlet)."""
        return ~self.attrs["hamlet"].to_numpy()


def planarize(lines: Lines, area: Area) -> Network:
    """Node all lines at their crossings, snap ends within ``SNAP_M`` and build a graph.

    Each noded piece takes the attributes of the most important source line it lies on;
    pieces of helper lines (the canal banks) are dropped, having split the bridges.
    """
    pieces = shapely.get_parts(shapely.union_all(lines.geoms))
    pieces = pieces[shapely.length(pieces) > 0]
    source = _source_lines(pieces, lines)
    attrs = lines.attrs.iloc[source].reset_index(drop=True)
    keep = (attrs["highway"] != "helper").to_numpy()
    pieces, attrs = pieces[keep], attrs[keep].reset_index(drop=True)

    coords, index = shapely.get_coordinates(pieces, return_index=True)
    first = np.searchsorted(index, np.arange(len(pieces)))
    last = np.r_[first[1:], len(coords)] - 1
    xy, node = _snap_nodes(np.concatenate([coords[first], coords[last]]))
    u, v = node[: len(pieces)], node[len(pieces) :]
    # Move the piece ends onto their node so every edge starts at u and ends at v exactly.
    coords[first], coords[last] = xy[u], xy[v]
    geoms = shapely.linestrings(coords, indices=index)

    # A piece between the banks is a bridge if it crosses the canal, and a stub left in
    # the water (near a bridge, where nothing was cut) otherwise.
    on_water = shapely.within(
        shapely.line_interpolate_point(geoms, 0.5, normalized=True), area.canal_strip
    )
    bridge = on_water & shapely.intersects(geoms, area.canal)
    ok = (u != v) & (shapely.length(geoms) > 0) & (bridge | ~on_water)
    attrs = attrs[ok].reset_index(drop=True)
    attrs["bridge"] = np.where(bridge[ok], "yes", "")
    return Network(xy, u[ok], v[ok], geoms[ok], attrs)


def _source_lines(pieces: np.ndarray, lines: Lines) -> np.ndarray:
    """Index of the most important input line each noded piece lies on."""
    mid = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    which, line = shapely.STRtree(lines.geoms).query(mid, predicate="dwithin", distance=0.05)
    rank = lines.attrs["highway"].map(HIGHWAY_RANK).to_numpy()[line]
    order = np.lexsort((line, rank, which))  # per piece: best rank, then lowest index
    which, line = which[order], line[order]
    first = np.unique(which, return_index=True)[1]
    source = np.full(len(pieces), -1, dtype=np.int64)
    source[which[first]] = line[first]
    lost = source < 0  # a crossing point computed off both lines: fall back to the nearest
    source[lost] = nearest_line(shapely.STRtree(lines.geoms), mid[lost])[0]
    return source


def _snap_nodes(ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge street ends closer than ``SNAP_M`` into nodes.

    Returns
    -------
    xy : ndarray, shape (n, 2)
        Node coordinates, sorted (x, then y) so node numbering is reproducible.
    node : ndarray of int
        Node of every end.
    """
    unique, inverse = np.unique(ends, axis=0, return_inverse=True)
    pairs = cKDTree(unique).query_pairs(SNAP_M, output_type="ndarray")
    graph = coo_matrix(
        (np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(unique), len(unique))
    )
    _, cluster = connected_components(graph, directed=False)
    # Each cluster is represented by its first member in sorted order.
    first = np.unique(cluster, return_index=True)[1]
    rep = np.sort(first)
    renumber = np.empty(len(first), dtype=np.int64)
    renumber[cluster[rep]] = np.arange(len(rep))
    return unique[rep], renumber[cluster[inverse.ravel()]]


def _pieces(net: Network) -> tuple[np.ndarray, np.ndarray]:
    """Connected piece of every edge, and the pieces to keep (the largest and the hamlet)."""
    n = len(net.xy)
    graph = coo_matrix((np.ones(len(net.u)), (net.u, net.v)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    edge_label = label[net.u]
    sizes = np.bincount(edge_label, minlength=label.max() + 1)
    wanted = np.unique(np.r_[np.argmax(sizes), edge_label[~net.main]])
    return edge_label, wanted


def link_fragments(net: Network, area: Area, max_link_m: float = 200.0) -> Lines:
    """Short links joining stray pieces of network to the main network.

    Random gaps in the grids leave islands of streets; a real one would have a lane out.
    Each island of three or more edges gets the shortest link to the main network if it is
    at most ``max_link_m`` long and crosses no water; the rest are dropped later.
    """
    label, wanted = _pieces(net)
    main = shapely.multilinestrings(net.geoms[label == np.bincount(label).argmax()])
    stray = np.setdiff1d(np.unique(label), wanted)
    counts = np.bincount(label)[stray]
    stray = stray[counts >= 3]
    islands = np.array(
        [shapely.multilinestrings(net.geoms[label == k]) for k in stray], dtype=object
    )
    links = shapely.shortest_line(islands, main)
    ends = shapely.get_coordinates(links).reshape(-1, 2, 2)
    ok = shapely.length(links) <= max_link_m
    ok &= ~shapely.intersects(links, area.canal_strip.buffer(5.0))
    ends = ends[ok]
    # Overshoot both ends by 0.5 m so that noding finds the crossings (see _alleys).
    step = ends[:, 1] - ends[:, 0]
    step = 0.5 * step / np.maximum(np.linalg.norm(step, axis=1), 1e-9)[:, None]
    return Lines.of(segments(ends[:, 0] - step, ends[:, 1] + step), "residential")


def keep_connected(net: Network) -> tuple[Network, dict[str, int]]:
    """Keep the largest connected piece and the hamlet; drop accidental fragments.

    Returns
    -------
    Network
        Renumbered nodes (only those with edges).
    stats : dict
        ``dropped_pieces``, ``dropped_edges``.
    """
    label, wanted = _pieces(net)
    keep = np.isin(label, wanted)
    used = np.unique(np.concatenate([net.u[keep], net.v[keep]]))
    renumber = np.full(len(net.xy), -1, dtype=np.int64)
    renumber[used] = np.arange(len(used))
    stats = {
        "dropped_pieces": len(np.unique(label)) - len(wanted),
        "dropped_edges": int((~keep).sum()),
    }
    return Network(
        net.xy[used],
        renumber[net.u[keep]],
        renumber[net.v[keep]],
        net.geoms[keep],
        net.attrs[keep].reset_index(drop=True),
    ), stats


def build_network(area: Area) -> tuple[Network, dict[str, int]]:
    """All streets of the demo as a planar walking network (UTM)."""
    arterials = arterial_grid(area)
    locate_hamlet(area, arterials)
    cores = core_streets(area, arterials)
    villages, sites = village_streets(area, arterials)
    others = Lines.concat([cores, villages, industrial_streets(area), footways(area)])
    others = others.replace(
        shapely.difference(others.geoms, area.hamlet.buffer(area.hamlet_clearance_m))
    )
    streets = Lines.concat([arterials, others, hamlet_streets(area)])
    streets = streets.replace(shapely.intersection(streets.geoms, area.outline))
    bridges = choose_bridges(area, arterials, cores)
    streets = cut_at_canal(area, streets, bridges)
    banks = Lines.of(shapely.get_parts(area.canal_strip.boundary), "helper")
    streets = Lines.concat([streets, banks])
    # Join the islands left by random gaps, then node everything again.
    links = link_fragments(planarize(streets, area), area)
    net, stats = keep_connected(planarize(Lines.concat([streets, links]), area))
    stats.update(villages=len(sites), bridge_sites=len(bridges), links=len(links))
    return net, stats


def network_frames(net: Network) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Nodes and edges in the osmnx GeoPackage layout (WGS84, lengths in metres).

    Returns
    -------
    nodes : GeoDataFrame
        ``osmid``, ``y``, ``x``, ``street_count``, ``provenance``, Point geometry.
    edges : GeoDataFrame
        ``u``, ``v``, ``key``, ``highway``, ``bridge``, ``wheelchair`` (when marked),
        ``length``, ``provenance``, LineString geometry from node ``u`` to node ``v``.
    """
    lonlat = to_lonlat(net.xy)
    osmid = np.arange(1, len(net.xy) + 1, dtype=np.int64)
    degree = np.bincount(np.concatenate([net.u, net.v]), minlength=len(net.xy))
    nodes = gpd.GeoDataFrame(
        {
            "osmid": osmid,
            "y": lonlat[:, 1],
            "x": lonlat[:, 0],
            "street_count": degree,
            "provenance": PROV_SYNTHETIC,
        },
        geometry=shapely.points(lonlat),
        crs=WGS84,
    )
    pair = pd.DataFrame({"a": np.minimum(net.u, net.v), "b": np.maximum(net.u, net.v)})
    edges = gpd.GeoDataFrame(
        {
            "u": osmid[net.u],
            "v": osmid[net.v],
            "key": pair.groupby(["a", "b"]).cumcount().to_numpy(dtype=np.int64),
            "highway": net.attrs["highway"].to_numpy(),
            "bridge": net.attrs["bridge"].to_numpy(),
            **(
                {"wheelchair": net.attrs["wheelchair"].to_numpy()}
                if "wheelchair" in net.attrs
                else {}
            ),
            "length": np.round(shapely.length(net.geoms), 3),
            "provenance": PROV_SYNTHETIC,
        },
        geometry=shapely.transform(net.geoms, to_lonlat),
        crs=WGS84,
    )
    return nodes, edges
