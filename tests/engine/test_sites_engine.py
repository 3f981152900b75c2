"""Nearest site among sites outside the routing graph, against networkx on a spliced graph."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point

from circle15.engine import build_routing_graph
from circle15.engine.sites import SiteSet, nearest_site
from circle15.engine.snapping import EdgeIndex
from circle15.model import WalkingNetwork


def _network(seed: int) -> WalkingNetwork:
    """A 7 x 7 street grid with uneven lengths, a few missing links and a detached strip."""
    rng = np.random.default_rng(seed)
    n, step = 7, 100.0
    xy = [(i * step, j * step) for i in range(n) for j in range(n)]
    edges = []
    for i in range(n):
        for j in range(n):
            a = i * n + j
            if i + 1 < n and i != 4 and rng.random() > 0.1:  # no street from x=400 to x=500
                edges.append((a, a + n))
            if j + 1 < n and rng.random() > 0.1:
                edges.append((a, a + 1))
    nodes = gpd.GeoDataFrame(geometry=[Point(p) for p in xy], crs=32651)
    frame = gpd.GeoDataFrame(
        {
            "u": [a for a, _ in edges],
            "v": [b for _, b in edges],
            "length_m": rng.uniform(1.0, 1.5, len(edges)) * step,
        },
        geometry=[LineString([xy[a], xy[b]]) for a, b in edges],
        crs=32651,
    )
    return WalkingNetwork(nodes, frame)


def _nx(graph) -> nx.Graph:
    coo = graph.csr.tocoo()
    g = nx.Graph()
    g.add_nodes_from(range(graph.n_nodes))
    g.add_weighted_edges_from(
        zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    )
    return g


@pytest.mark.parametrize("seed", range(8))
def test_nearest_site_equals_networkx_with_the_sites_spliced_in(seed):
    net = _network(seed)
    index = EdgeIndex(net)
    rng = np.random.default_rng(100 + seed)
    cells = index.snap(shapely.points(rng.uniform(-30, 630, (60, 2))), 40)
    old = index.snap(shapely.points(rng.uniform(0, 600, (3, 2))), 40)
    new = index.snap(shapely.points(rng.uniform(0, 600, (4, 2))), 40)
    # The subject: the run's graph, new sites only attached.
    graph = build_routing_graph(net, [cells, old])
    sites = SiteSet.from_nodes(graph.point_nodes[1]).concat(
        SiteSet.from_attachment(graph.attach(new))
    )
    got = nearest_site(graph, graph.point_nodes[0], sites)
    # The oracle: every point spliced into one graph, searched by networkx.
    full = build_routing_graph(net, [cells, old, new])
    site_nodes = np.concatenate([full.point_nodes[1], full.point_nodes[2]])
    g = _nx(full)
    usable = [int(s) for s in site_nodes if s >= 0]
    dist = nx.multi_source_dijkstra_path_length(g, usable) if usable else {}
    per_site = [
        nx.single_source_dijkstra_path_length(g, int(s)) if s >= 0 else {} for s in site_nodes
    ]
    for c, node in enumerate(full.point_nodes[0]):
        truth = dist.get(int(node), np.inf) if node >= 0 else np.inf
        if np.isinf(truth):
            assert np.isinf(got.distance_m[c]) and got.facility[c] == -1
            continue
        assert got.distance_m[c] == pytest.approx(truth, abs=1e-6)
        # The site named is one at that distance (any of them on a tie).
        assert per_site[got.facility[c]][int(node)] == pytest.approx(truth, abs=1e-6)


def test_a_limit_stops_the_search_and_zero_costs_are_edges():
    net = _network(3)
    index = EdgeIndex(net)
    cells = index.snap(shapely.points([[0.0, 10.0], [600.0, 590.0]]), 40)
    graph = build_routing_graph(net, [cells])
    # A site exactly on the first cell's street foot: zero walk to the street.
    at_foot = graph.attach(index.snap(shapely.points([[0.0, 10.0]]), 40))
    sites = SiteSet.from_attachment(at_foot)
    got = nearest_site(graph, graph.point_nodes[0], sites, limit_m=50.0)
    assert got.distance_m[0] == pytest.approx(0.0, abs=1e-6)
    assert got.facility[0] == 0
    assert np.isinf(got.distance_m[1]) and got.facility[1] == -1


def test_unsnapped_sites_are_ignored():
    net = _network(1)
    index = EdgeIndex(net)
    cells = index.snap(shapely.points([[50.0, 10.0]]), 40)
    graph = build_routing_graph(net, [cells])
    far = graph.attach(index.snap(shapely.points([[5000.0, 5000.0]]), 40))
    got = nearest_site(graph, graph.point_nodes[0], SiteSet.from_attachment(far))
    assert np.isinf(got.distance_m).all() and (got.facility == -1).all()
