"""Step-free walking against networkx on the same graph with steps removed (the oracle).

The oracle snaps every point by brute force (the nearest street over all of them; for a
step-free walk, a point whose nearest street has steps joins the nearest step-free street
instead), splits the streets at the feet of the points in a networkx graph and runs
``multi_source_dijkstra`` from the facilities: nothing of circle15's engine is used.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString

from circle15.engine import build_routing_graph, nearest_facility
from circle15.engine.profiles import step_free_profile, steps_on_routes
from circle15.engine.sites import SiteSet
from circle15.engine.snapping import EdgeIndex
from circle15.model import WalkingNetwork
from circle15.sources.network import step_ways

from ..factories.oracles import MAX_SNAP_M, oracle_metres

CRS = "EPSG:32651"
CHENGDU = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "real"
    / "chengdu_central_osm2018"
    / "chengdu_central_2018.osm.pbf"
)


def grid_network(
    rng: np.random.Generator, n: int = 12, step: float = 100.0, steps_share: float = 0.15
) -> WalkingNetwork:
    """A jittered grid; some edges are steps, some tagged wheelchair=no."""
    xy = np.array([(i * step, j * step) for i in range(n) for j in range(n)], dtype=float)
    xy += rng.uniform(-20, 20, xy.shape)
    pairs = [(i * n + j, (i + 1) * n + j) for i in range(n - 1) for j in range(n)]
    pairs += [(i * n + j, i * n + j + 1) for i in range(n) for j in range(n - 1)]
    pairs = np.array(pairs)
    keep = rng.random(len(pairs)) > 0.08  # a few missing links
    pairs = pairs[keep]
    kind = rng.random(len(pairs))
    highway = np.where(kind < steps_share, "steps", "footway").astype(object)
    wheelchair = np.where((kind >= steps_share) & (kind < steps_share + 0.05), "no", None)
    geoms = shapely.linestrings(np.stack([xy[pairs[:, 0]], xy[pairs[:, 1]]], axis=1))
    edges = gpd.GeoDataFrame(
        {
            "u": pairs[:, 0],
            "v": pairs[:, 1],
            "length_m": shapely.length(geoms),
            "highway": highway,
            "wheelchair": wheelchair,
        },
        geometry=geoms,
        crs=CRS,
    )
    edges["steps"] = step_ways(edges)
    nodes = gpd.GeoDataFrame({"node_id": np.arange(len(xy))}, geometry=shapely.points(xy), crs=CRS)
    return WalkingNetwork(nodes, edges)


def engine_times(network: WalkingNetwork, cells: np.ndarray, facilities: np.ndarray):
    """Ordinary and step-free metres from each cell to its nearest facility (circle15)."""
    index = EdgeIndex(network)
    cell_snap = index.snap(cells, MAX_SNAP_M)
    fac_snap = index.snap(facilities, MAX_SNAP_M)
    graph = build_routing_graph(network, [cell_snap, fac_snap])
    avoided = network.edges["steps"].to_numpy(dtype=bool)
    profile = step_free_profile(
        graph,
        EdgeIndex(network, keep=~avoided),
        avoided,
        np.concatenate([cells, facilities]),
        MAX_SNAP_M,
    )
    cell_nodes, fac_nodes = graph.point_nodes
    ordinary = nearest_facility(graph, cell_nodes, fac_nodes)
    free = nearest_facility(profile.graph, cell_nodes, fac_nodes)
    return ordinary, free, graph, profile


@pytest.mark.parametrize("seed", range(6))
def test_step_free_times_equal_networkx_without_the_steps(seed):
    rng = np.random.default_rng(seed)
    network = grid_network(rng)
    cells = shapely.points(rng.uniform(-60, 1160, (80, 2)))
    facilities = shapely.points(rng.uniform(0, 1100, (5, 2)))
    ordinary, free, _, profile = engine_times(network, cells, facilities)
    np.testing.assert_allclose(
        ordinary.distance_m, oracle_metres(network, cells, facilities, False), rtol=1e-9
    )
    want = oracle_metres(network, cells, facilities, True)
    np.testing.assert_allclose(free.distance_m, want, rtol=1e-9)
    assert profile.moved > 0  # some points lay nearest to a flight of steps
    # the case is not trivial: steps lengthen some walks and cut others off
    finite = np.isfinite(want) & np.isfinite(ordinary.distance_m)
    assert (want[finite] > ordinary.distance_m[finite] + 1).any()


def test_points_join_a_step_free_street_when_their_own_has_steps():
    # One street with steps from (0,0) to (100,0), a footway from (100,0) to (100,100), and
    # a footway from (0,40) to (100,40)... the cell at (50,10) is nearest the steps.
    nodes = gpd.GeoDataFrame(
        {"node_id": range(6)},
        geometry=shapely.points([(0, 0), (100, 0), (100, 100), (0, 40), (100, 40), (300, 0)]),
        crs=CRS,
    )
    lines = [
        ((0, 0), (100, 0), "steps"),
        ((100, 0), (100, 40), "footway"),
        ((100, 40), (100, 100), "footway"),
        ((0, 40), (100, 40), "footway"),
        ((100, 0), (300, 0), "footway"),
    ]
    ends = {(0, 0): 0, (100, 0): 1, (100, 100): 2, (0, 40): 3, (100, 40): 4, (300, 0): 5}
    edges = gpd.GeoDataFrame(
        {
            "u": [ends[a] for a, _, _ in lines],
            "v": [ends[b] for _, b, _ in lines],
            "length_m": [LineString([a, b]).length for a, b, _ in lines],
            "highway": [h for _, _, h in lines],
        },
        geometry=[LineString([a, b]) for a, b, _ in lines],
        crs=CRS,
    )
    edges["steps"] = step_ways(edges)
    network = WalkingNetwork(nodes, edges)
    cells = shapely.points([(50, 10)])
    facilities = shapely.points([(300, 5)])
    ordinary, free, _, profile = engine_times(network, cells, facilities)
    # with steps: 10 m to the steps, 50 m along them, 200 m on, 5 m to the door
    assert ordinary.distance_m[0] == pytest.approx(10 + 50 + 200 + 5)
    # step-free: 30 m north to the footway at y=40, 50 m east, 40 m south, 200 m, 5 m
    assert free.distance_m[0] == pytest.approx(30 + 50 + 40 + 200 + 5)
    assert profile.moved == 1


def test_steps_on_routes_names_the_flight_a_walk_takes():
    rng = np.random.default_rng(11)
    network = grid_network(rng, steps_share=0.25)
    cells = shapely.points(rng.uniform(0, 1100, (60, 2)))
    facilities = shapely.points(rng.uniform(0, 1100, (3, 2)))
    _, _, graph, profile = engine_times(network, cells, facilities)
    sites = SiteSet.from_nodes(graph.point_nodes[1])
    origin, street = steps_on_routes(graph, sites, graph.point_nodes[0], profile.steps_segments)
    assert len(origin)
    # oracle: the networkx shortest path of each traced cell crosses exactly those streets
    g = nx.Graph()
    csr = graph.csr.tocoo()
    for a, b, w in zip(csr.row, csr.col, csr.data, strict=True):
        g.add_edge(int(a), int(b), weight=float(w))
    steps = network.edges["steps"].to_numpy()
    fac = [int(n) for n in graph.point_nodes[1] if n >= 0]
    for cell in np.unique(origin)[:15]:
        node = int(graph.point_nodes[0][cell])
        _, path = nx.multi_source_dijkstra(g, fac, node)
        crossed = set()
        for a, b in itertools.pairwise(path):
            for row in _street_of(graph, a, b):
                if steps[row]:
                    crossed.add(row)
        assert crossed == set(street[origin == cell].tolist()), cell


def _street_of(graph, a: int, b: int) -> list[int]:
    """Street edge(s) a graph segment lies along (split nodes know theirs)."""
    n = graph.n_street_nodes
    rows = set()
    for node in (a, b):
        if n <= node < n + len(graph.split_node):
            rows.add(int(graph.split_edge[node - n]))
    if rows:
        return sorted(rows)
    hit = np.flatnonzero(
        ((graph.edge_u == a) & (graph.edge_v == b)) | ((graph.edge_u == b) & (graph.edge_v == a))
    )
    return [int(h) for h in hit]


@pytest.mark.skipif(
    not CHENGDU.is_file(), reason="the real Chengdu extract (../shared) is not present"
)
def test_chengdu_step_free_times_equal_networkx_without_the_steps():
    from circle15.sources.osm import read_osm_network

    box = shapely.box(104.0421, 30.6528, 104.1296, 30.7279)  # the whole extract
    network = read_osm_network(CHENGDU, "EPSG:32648", box)
    network.edges = network.edges.reset_index(drop=True)
    steps = network.edges["steps"].to_numpy(dtype=bool)
    assert steps.sum() >= 3  # the extract maps flights of steps
    assert network.edges.loc[steps, "highway"].astype(str).str.contains("steps").all()
    rng = np.random.default_rng(2018)
    bounds = network.edges.total_bounds
    # cells around the steps, so that some walks meet them, and across the area
    near = shapely.get_coordinates(
        shapely.line_interpolate_point(
            network.edges.geometry.to_numpy()[steps], 0.5, normalized=True
        )
    )
    xy = np.vstack(
        [
            np.repeat(near, 4, axis=0) + rng.normal(0, 40, (4 * len(near), 2)),
            rng.uniform(bounds[:2], bounds[2:], (120, 2)),
        ]
    )
    cells = shapely.points(xy)
    facilities = shapely.points(rng.uniform(bounds[:2], bounds[2:], (12, 2)))
    ordinary, free, _, profile = engine_times(network, cells, facilities)
    network_oracle = WalkingNetwork(
        network.nodes,
        network.edges.assign(
            wheelchair=network.edges.get("wheelchair", pd.Series(None, index=network.edges.index))
        ),
    )
    np.testing.assert_allclose(
        ordinary.distance_m, oracle_metres(network_oracle, cells, facilities, False), rtol=1e-9
    )
    want = oracle_metres(network_oracle, cells, facilities, True)
    np.testing.assert_allclose(free.distance_m, want, rtol=1e-9)
    assert profile.moved > 0
    assert (np.nan_to_num(want, posinf=1e9) > ordinary.distance_m + 1).any()
