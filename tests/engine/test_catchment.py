"""Bounded catchment searches and attaching new points, against a networkx oracle."""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point

from circle15.engine import build_routing_graph, node_catchments, point_catchments
from circle15.engine.snapping import EdgeIndex
from circle15.model import WalkingNetwork


def _grid(n: int = 6, step: float = 100.0) -> WalkingNetwork:
    xy = [(i * step, j * step) for i in range(n) for j in range(n)]
    edges = []
    for i in range(n):
        for j in range(n):
            a = i * n + j
            if i + 1 < n:
                edges.append((a, a + n))
            if j + 1 < n and (i, j) != (2, 2):  # one missing link makes routes uneven
                edges.append((a, a + 1))
    nodes = gpd.GeoDataFrame(geometry=[Point(p) for p in xy], crs=32651)
    frame = gpd.GeoDataFrame(
        {"u": [a for a, _ in edges], "v": [b for _, b in edges], "length_m": [step] * len(edges)},
        geometry=[LineString([xy[a], xy[b]]) for a, b in edges],
        crs=32651,
    )
    return WalkingNetwork(nodes, frame)


def _oracle(net: WalkingNetwork, graph_points: list[np.ndarray], snaps) -> nx.Graph:
    """The routing graph rebuilt in networkx from the snaps alone (independent splice)."""
    g = nx.Graph()
    u, v = net.edges["u"].to_numpy(), net.edges["v"].to_numpy()
    w = net.edges["length_m"].to_numpy()
    on_edge: dict[int, list[tuple[float, object]]] = {}
    for s_i, snap in enumerate(snaps):
        for p_i in np.flatnonzero(snap.snapped):
            on_edge.setdefault(int(snap.edge[p_i]), []).append((snap.offset_m[p_i], (s_i, p_i)))
            g.add_edge(("foot", s_i, p_i), ("pt", s_i, p_i), weight=snap.leg_m[p_i])
    for e in range(len(u)):
        feet = sorted((o, ("foot", *k)) for o, k in on_edge.get(e, []))
        chain = [(0.0, int(u[e])), *feet, (w[e], int(v[e]))]
        for (o1, a), (o2, b) in itertools.pairwise(chain):
            if g.has_edge(a, b):
                g[a][b]["weight"] = min(g[a][b]["weight"], o2 - o1)
            else:
                g.add_edge(a, b, weight=o2 - o1)
    return g


@pytest.mark.parametrize("limit", [150.0, 420.0, 5000.0])
def test_node_catchments_equal_networkx_within_the_limit(limit):
    net = _grid()
    index = EdgeIndex(net)
    rng = np.random.default_rng(7)
    cells = index.snap(shapely.points(rng.uniform(-20, 520, (40, 2))), 60)
    facs = index.snap(shapely.points(rng.uniform(0, 500, (5, 2))), 60)
    graph = build_routing_graph(net, [cells, facs])
    got = node_catchments(graph, graph.point_nodes[1], graph.point_nodes[0], limit).toarray()
    g = _oracle(net, graph.point_nodes, [cells, facs])
    for f in range(5):
        if not facs.snapped[f]:
            assert not got[f].any()
            continue
        d = nx.single_source_dijkstra_path_length(g, ("pt", 1, f))
        for c in range(40):
            truth = d.get(("pt", 0, c), np.inf)
            if truth <= limit - 1e-9:
                assert got[f, c] == pytest.approx(truth, abs=1e-6)
            elif truth > limit + 1e-9:
                assert got[f, c] == 0  # absent entry


def test_point_catchments_equal_splicing_the_point_in():
    net = _grid()
    index = EdgeIndex(net)
    rng = np.random.default_rng(11)
    cells = index.snap(shapely.points(rng.uniform(-20, 520, (60, 2))), 60)
    facs = index.snap(shapely.points(rng.uniform(0, 500, (4, 2))), 60)
    graph = build_routing_graph(net, [cells, facs])
    # New sites, some on edges that already carry cells, one exactly on a cell's foot.
    new_xy = np.vstack(
        [
            rng.uniform(0, 500, (12, 2)),
            shapely.get_coordinates(
                shapely.line_interpolate_point(
                    net.edges.geometry.iloc[int(cells.edge[0])], cells.offset_m[0]
                )
            ),
        ]
    )
    new = index.snap(shapely.points(new_xy), 60)
    got = point_catchments(graph, graph.attach(new), graph.point_nodes[0], 600.0).toarray()
    # Oracle: splice the new sites into a graph together with the cells, then search.
    g = _oracle(net, [], [cells, new])
    for k in range(len(new)):
        d = nx.single_source_dijkstra_path_length(g, ("pt", 1, k))
        for c in range(60):
            truth = d.get(("pt", 0, c), np.inf)
            if truth <= 600 - 1e-9:
                assert got[k, c] == pytest.approx(truth, abs=1e-6), (k, c)
            elif truth > 600 + 1e-9:
                assert got[k, c] == 0


def test_unsnapped_new_point_reaches_nobody():
    net = _grid()
    index = EdgeIndex(net)
    cells = index.snap(shapely.points([[50, 10], [250, 30]]), 60)
    graph = build_routing_graph(net, [cells])
    far = index.snap(shapely.points([[5000, 5000]]), 60)
    assert point_catchments(graph, graph.attach(far), graph.point_nodes[0], 1e6).nnz == 0
