"""The city-scale engine paths against independent oracles.

- Snapping many points (the widening ``dwithin`` rounds) against a brute-force distance
  from every point to every street.
- Catchments computed group by group on reached subgraphs (``engine.local``) against
  ``networkx.single_source_dijkstra_path_length`` with a cutoff, on a graph big enough
  for many groups, with zero-length edges and pieces cut off from the rest.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import shapely

from circle15.engine import build_routing_graph, node_catchments, point_catchments
from circle15.engine.local import local_searches
from circle15.engine.snapping import EdgeIndex
from circle15.model import WalkingNetwork

CRS = "EPSG:32651"


def _lattice(n: int, step: float, drop: float, seed: int) -> WalkingNetwork:
    """A jittered n x n street lattice with a share ``drop`` of its streets removed."""
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    xy = np.column_stack([jj.ravel(), ii.ravel()]) * step + rng.normal(0, step / 10, (n * n, 2))
    node = np.arange(n * n).reshape(n, n)
    u = np.concatenate([node[:, :-1].ravel(), node[:-1, :].ravel()])
    v = np.concatenate([node[:, 1:].ravel(), node[1:, :].ravel()])
    keep = rng.random(len(u)) >= drop
    u, v = u[keep], v[keep]
    geoms = shapely.linestrings(np.stack([xy[u], xy[v]], axis=1))
    nodes = gpd.GeoDataFrame({"node_id": np.arange(n * n)}, geometry=shapely.points(xy), crs=CRS)
    edges = gpd.GeoDataFrame(
        {"u": u, "v": v, "length_m": shapely.length(geoms)}, geometry=geoms, crs=CRS
    )
    return WalkingNetwork(nodes, edges)


def test_snapping_many_points_matches_brute_force():
    net = _lattice(30, 100.0, 0.3, seed=1)
    rng = np.random.default_rng(2)
    # Most points near streets, some in holes left by removed streets, some far outside
    # (beyond the snap limit, or needing several widening rounds to find a street).
    xy = np.vstack([rng.uniform(0, 2900, (3000, 2)), rng.uniform(-400, -60, (300, 2))])
    points = shapely.points(xy)
    max_snap = 150.0
    snap = EdgeIndex(net).snap(points, max_snap)

    geoms = net.edges.geometry.to_numpy()
    dist = shapely.distance(points[:, None], geoms[None, :])  # every point to every street
    best = dist.min(axis=1)
    expect_snapped = best <= max_snap
    assert np.array_equal(snap.snapped, expect_snapped)
    assert expect_snapped.sum() > 3000 and (~expect_snapped).sum() > 50  # both kinds occur
    ok = snap.snapped
    np.testing.assert_allclose(snap.leg_m[ok], best[ok], atol=1e-9)
    # The chosen edge is one of the nearest (ties allowed) ...
    chosen = dist[np.flatnonzero(ok), snap.edge[ok]]
    np.testing.assert_allclose(chosen, best[ok], atol=1e-9)
    # ... and the offset is where the foot of the perpendicular lies on it.
    along = shapely.line_locate_point(geoms[snap.edge[ok]], points[ok])
    np.testing.assert_allclose(snap.offset_m[ok], along, atol=1e-6)


def _nx_graph(csr: sp.csr_array) -> nx.Graph:
    coo = csr.tocoo()
    g = nx.Graph()
    g.add_nodes_from(range(csr.shape[0]))
    g.add_weighted_edges_from(
        zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    )
    return g


def _random_graph(seed: int) -> sp.csr_array:
    """A sparse random geometric-like graph with zero-length edges and isolated pieces."""
    rng = np.random.default_rng(seed)
    n = 3000
    xy = rng.uniform(0, 5000, (n, 2))
    order = np.argsort(xy[:, 0] // 500 * 10_000 + xy[:, 1])  # spatial-ish numbering
    xy = xy[order]
    from scipy.spatial import cKDTree

    pairs = cKDTree(xy).query_pairs(160.0, output_type="ndarray")
    w = np.linalg.norm(xy[pairs[:, 0]] - xy[pairs[:, 1]], axis=1)
    w[rng.random(len(w)) < 0.03] = 0.0  # zero-length links (a point exactly on a node)
    g = sp.coo_array(
        (np.r_[w, w], (np.r_[pairs[:, 0], pairs[:, 1]], np.r_[pairs[:, 1], pairs[:, 0]])),
        shape=(n, n),
    )
    return sp.csr_array(g)


@pytest.mark.parametrize("limit", [0.0, 250.0, 700.0])
def test_local_searches_equal_networkx_cutoff(limit):
    csr = _random_graph(3)
    g = _nx_graph(csr)
    rng = np.random.default_rng(4)
    sources = rng.choice(csr.shape[0], 400, replace=False)
    sources[::50] = -1  # no node: skipped
    seen = np.zeros(len(sources), bool)
    groups = 0
    for search in local_searches(csr, sources[:, None], limit):
        groups += 1
        for item, row in zip(search.items, search.rows[:, 0], strict=True):
            assert not seen[item]
            seen[item] = True
            truth = nx.single_source_dijkstra_path_length(g, int(sources[item]), cutoff=limit)
            got = search.dist[row]
            reached = search.nodes[np.isfinite(got)]
            assert set(reached.tolist()) == set(truth)
            for node, d in zip(reached, got[np.isfinite(got)], strict=True):
                assert d == pytest.approx(truth[int(node)], abs=1e-9)
    assert np.array_equal(seen, sources >= 0)
    assert groups > 3  # the grouping itself was exercised


def test_city_catchments_equal_networkx_on_a_lattice():
    # A 40 x 40 lattice with cells and facilities spliced in: node and point catchments
    # against networkx on the same routing graph, from every facility and new site.
    net = _lattice(40, 100.0, 0.25, seed=5)
    index = EdgeIndex(net)
    rng = np.random.default_rng(6)
    cells = index.snap(shapely.points(rng.uniform(0, 3900, (1500, 2))), 120)
    facs = index.snap(shapely.points(rng.uniform(0, 3900, (120, 2))), 120)
    graph = build_routing_graph(net, [cells, facs])
    g = _nx_graph(graph.csr)
    limit = 600.0
    got = node_catchments(graph, graph.point_nodes[1], graph.point_nodes[0], limit).toarray()
    present = node_catchments(graph, graph.point_nodes[1], graph.point_nodes[0], limit)
    for f, node in enumerate(graph.point_nodes[1]):
        if node < 0:
            assert present[[f]].nnz == 0
            continue
        truth = nx.single_source_dijkstra_path_length(g, int(node), cutoff=limit)
        want = np.array(
            [truth.get(int(c), np.inf) if c >= 0 else np.inf for c in graph.point_nodes[0]]
        )
        row = present[[f]]
        assert set(row.indices.tolist()) == set(np.flatnonzero(np.isfinite(want)).tolist())
        np.testing.assert_allclose(got[f, row.indices], want[row.indices], atol=1e-9)

    # New sites off the graph: leg + the shorter way out through either joining node.
    new = index.snap(shapely.points(rng.uniform(0, 3900, (60, 2))), 120)
    att = graph.attach(new)
    reach = point_catchments(graph, att, graph.point_nodes[0], limit)
    for k in range(len(new)):
        row = reach[[k]]
        if att.node_a[k] < 0:
            assert row.nnz == 0
            continue
        da = nx.single_source_dijkstra_path_length(g, int(att.node_a[k]), cutoff=limit)
        db = nx.single_source_dijkstra_path_length(g, int(att.node_b[k]), cutoff=limit)
        want = np.array(
            [
                att.leg[k]
                + min(
                    att.dist_a[k] + da.get(int(c), np.inf), att.dist_b[k] + db.get(int(c), np.inf)
                )
                if c >= 0
                else np.inf
                for c in graph.point_nodes[0]
            ]
        )
        inside = np.flatnonzero(want <= limit)
        assert set(row.indices.tolist()) == set(inside.tolist())
        np.testing.assert_allclose(row.toarray()[0, inside], want[inside], atol=1e-9)
