"""Property tests of the walking engine against an independent networkx oracle.

The oracle never looks at the engine's numbers. It snaps every point itself (plain
Python projection of the point onto each straight two-point segment, clamped to the
segment), splits the edges by hand into a ``networkx.Graph``, hangs every point from
its foot by a pendant leg and runs ``nx.multi_source_dijkstra`` from the facilities.

The one thing borrowed from the engine is *which* edge it chose when several edges are
equally near a point (a genuine tie, e.g. parallel edges drawn on top of each other):
any of them is a correct snap, so the test first checks that the engine's choice is one
of the oracle's tied candidates and then routes the oracle through that same edge, with
the oracle's own offset and leg for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from circle15.engine import build_routing_graph, nearest_facility, snap_to_edges
from circle15.model import WalkingNetwork

from ..factories.oracles import oracle_graph

CRS = "EPSG:32651"
WALK = 4000 / 60  # metres per minute
TOL = 1e-6  # rel / abs tolerance for distances
TIE = 1e-7  # two snap distances closer than this are treated as a tie


# --------------------------------------------------------------------------------------
# Building networks


def make_network(xy, edges) -> WalkingNetwork:
    """``xy``: node coordinates; ``edges``: (u, v, length_m), drawn straight from u to v."""
    xy = [(float(x), float(y)) for x, y in xy]
    nodes = gpd.GeoDataFrame(
        {"node_id": np.arange(len(xy))}, geometry=[Point(p) for p in xy], crs=CRS
    )
    table = gpd.GeoDataFrame(
        {
            "u": np.array([e[0] for e in edges], dtype=np.int64),
            "v": np.array([e[1] for e in edges], dtype=np.int64),
            "length_m": np.array([e[2] for e in edges], dtype=float),
        },
        geometry=[LineString([xy[u], xy[v]]) for u, v, _ in edges],
        crs=CRS,
    )
    return WalkingNetwork(nodes, table)


def as_points(pts) -> np.ndarray:
    return np.array([Point(float(x), float(y)) for x, y in pts], dtype=object)


# --------------------------------------------------------------------------------------
# Oracle: snapping


def project(p, a, b):
    """Clamped projection of ``p`` on segment ``a``-``b``: (t in [0, 1], distance)."""
    px, py = p
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    den = dx * dx + dy * dy
    t = 0.0 if den == 0 else min(1.0, max(0.0, ((px - ax) * dx + (py - ay) * dy) / den))
    fx, fy = ax + t * dx, ay + t * dy
    return t, math.hypot(px - fx, py - fy)


@dataclass
class OracleSnap:
    """Oracle view of one point: its candidate edges and whether snapping is certain."""

    candidates: dict  # edge row -> (offset_m, leg_m), all within TIE of the minimum
    must_snap: bool  # nearest edge is clearly within max_snap_m
    must_not_snap: bool  # nearest edge is clearly beyond max_snap_m


def oracle_snap(xy, edges, p, max_snap) -> OracleSnap:
    found = []
    for row, (u, v, length) in enumerate(edges):
        t, d = project(p, xy[u], xy[v])
        found.append((row, t * length, d))
    dmin = min(d for _, _, d in found)
    cands = {row: (off, d) for row, off, d in found if d <= dmin + TIE}
    return OracleSnap(cands, dmin < max_snap - TIE, dmin > max_snap + TIE)


def check_snap(xy, edges, pts, max_snap, snap):
    """Assert the engine's snap agrees with the oracle; return the oracle's own
    (edge, offset, leg) per point, or None when unsnapped."""
    assert len(snap) == len(pts)
    out = []
    for i, p in enumerate(pts):
        o = oracle_snap(xy, edges, p, max_snap)
        e = int(snap.edge[i])
        if o.must_not_snap:
            assert e == -1, f"point {p} is beyond max_snap_m but snapped to edge {e}"
        if o.must_snap:
            assert e >= 0, f"point {p} is within max_snap_m but left unsnapped"
        if e == -1:
            assert math.isnan(snap.offset_m[i]) and math.isnan(snap.leg_m[i])
            out.append(None)
            continue
        assert e in o.candidates, f"point {p} snapped to {e}, nearest are {set(o.candidates)}"
        off, leg = o.candidates[e]
        assert snap.leg_m[i] == pytest.approx(leg, rel=TOL, abs=TOL)
        assert snap.offset_m[i] == pytest.approx(off, rel=TOL, abs=TOL)
        out.append((e, off, leg))
    return out


# --------------------------------------------------------------------------------------
# Oracle: routing


def oracle_nearest(G, origin_keys, facility_keys):
    """Per origin: (distance, set of facilities at that distance, {facility: distance})."""
    sources = [k for k in facility_keys if k is not None]
    if sources:
        dist, paths = nx.multi_source_dijkstra(G, set(sources), weight="weight")
    else:
        dist, paths = {}, {}
    per_facility = {
        j: nx.single_source_dijkstra_path_length(G, k, weight="weight")
        for j, k in enumerate(facility_keys)
        if k is not None
    }
    out = []
    for k in origin_keys:
        if k is None or k not in dist:
            out.append((math.inf, set(), {}))
            continue
        d = dist[k]
        to_each = {j: dd[k] for j, dd in per_facility.items() if k in dd}
        nearest = {j for j, dj in to_each.items() if dj <= d + TOL * max(1.0, d)}
        # the multi-source search's own winner is among them
        assert facility_keys.index(paths[k][0]) in nearest
        out.append((d, nearest, to_each))
    return out


def close(a, b):
    return math.isclose(a, b, rel_tol=TOL, abs_tol=TOL)


def run_case(xy, edges, origins, facilities, others, max_snap, limit=None):
    """Run the engine and the oracle on one scenario and assert they agree."""
    net = make_network(xy, edges)
    s_o = snap_to_edges(net, as_points(origins), max_snap)
    s_f = snap_to_edges(net, as_points(facilities), max_snap)
    s_x = snap_to_edges(net, as_points(others), max_snap)

    o_o = check_snap(xy, edges, origins, max_snap, s_o)
    o_f = check_snap(xy, edges, facilities, max_snap, s_f)
    o_x = check_snap(xy, edges, others, max_snap, s_x)

    graph = build_routing_graph(net, [s_o, s_f, s_x])
    assert graph.n_street_nodes == len(xy)
    for nodes, snaps in zip(graph.point_nodes, [s_o, s_f, s_x], strict=True):
        assert len(nodes) == len(snaps)
        assert np.array_equal(nodes < 0, ~snaps.snapped)
    # every snapped point has its own graph node
    used = np.concatenate(graph.point_nodes)
    used = used[used >= 0]
    assert len(np.unique(used)) == len(used)

    G, (k_o, k_f, _) = oracle_graph(len(xy), edges, [o_o, o_f, o_x])
    want = oracle_nearest(G, k_o, k_f)

    res = nearest_facility(graph, graph.point_nodes[0], graph.point_nodes[1])
    assert res.distance_m.shape == res.facility.shape == (len(origins),)
    for i, (d, nearest, to_each) in enumerate(want):
        got_d, got_f = res.distance_m[i], int(res.facility[i])
        if math.isinf(d):
            assert math.isinf(got_d) and got_d > 0, f"origin {i}: want inf, got {got_d}"
            assert got_f == -1
            continue
        assert close(got_d, d), f"origin {i}: engine {got_d} != oracle {d}"
        assert got_f in to_each, f"origin {i}: engine facility {got_f} not reachable"
        assert close(to_each[got_f], d), f"origin {i}: facility {got_f} is not nearest"
        if len(nearest) == 1:
            assert got_f == next(iter(nearest))

    # minutes: NaN exactly where unreachable, metres / speed elsewhere
    minutes = res.minutes(WALK)
    unreachable = np.array([math.isinf(d) for d, _, _ in want], dtype=bool)
    assert np.array_equal(np.isnan(minutes), unreachable)
    assert np.array_equal(res.reachable, ~unreachable)
    for i, (d, _, _) in enumerate(want):
        if not unreachable[i]:
            assert minutes[i] == pytest.approx(d / WALK, rel=TOL, abs=TOL)

    if limit is not None:
        cut = nearest_facility(graph, graph.point_nodes[0], graph.point_nodes[1], limit)
        for i, (d, _, to_each) in enumerate(want):
            got_d, got_f = cut.distance_m[i], int(cut.facility[i])
            if d > limit + TOL * max(1.0, limit):
                assert math.isinf(got_d) and got_f == -1, f"origin {i}: {d} > limit {limit}"
                assert math.isnan(cut.minutes(WALK)[i])
            elif d < limit - TOL * max(1.0, limit):
                assert close(got_d, d) and close(to_each[got_f], d)
            # within rounding of the limit either answer is acceptable
    return res, want


# --------------------------------------------------------------------------------------
# Hypothesis scenarios

PIECE_GAP = 300.0  # pieces are drawn in separate boxes this far apart along x


@st.composite
def scenarios(draw):
    integer = draw(st.booleans())
    if integer:
        coord = st.integers(0, 100).map(float)
    else:
        # rounded so that no segment is absurdly short (no sub-millimetre edges)
        coord = st.floats(0, 100, allow_nan=False).map(lambda x: round(x, 3))

    xy, edges = [], []
    n_pieces = draw(st.integers(1, 3))
    for piece in range(n_pieces):
        base = len(xy)
        k = draw(st.integers(1, 6))
        for _ in range(k):
            xy.append((draw(coord) + piece * PIECE_GAP, draw(coord)))
        for _ in range(draw(st.integers(0, 7))):
            u = base + draw(st.integers(0, k - 1))
            v = base + draw(st.integers(0, k - 1))  # u == v: a self-loop
            edges.append((u, v))
    if not edges:
        edges.append((0, min(1, len(xy) - 1)))
    # parallel edges: repeat some edges, sometimes drawn the other way round
    for _ in range(draw(st.integers(0, 3))):
        u, v = edges[draw(st.integers(0, len(edges) - 1))]
        edges.append((v, u) if draw(st.booleans()) else (u, v))

    weighted = []
    for u, v in edges:
        drawn = math.dist(xy[u], xy[v])
        factor = draw(st.sampled_from([1.0, 1.0, 1.25]) | st.floats(1.0, 3.0))
        extra = draw(st.sampled_from([0.0, 0.0, 0.0]) | st.floats(0.0, 40.0))
        weighted.append((u, v, drawn * factor + extra))

    width = n_pieces * PIECE_GAP
    free = st.tuples(
        st.floats(-40, width, allow_nan=False).map(lambda x: round(x, 3)),
        st.floats(-40, 140, allow_nan=False).map(lambda x: round(x, 3)),
    )
    if integer:
        free = st.tuples(st.integers(-40, int(width)).map(float), st.integers(-40, 140).map(float))

    def along_edge():
        u, v, _ = weighted[draw(st.integers(0, len(weighted) - 1))]
        t = draw(st.sampled_from([0.0, 0.5, 1.0]) | st.floats(0, 1))
        side = draw(st.sampled_from([0.0]) | st.floats(-20, 20))
        (ax, ay), (bx, by) = xy[u], xy[v]
        dx, dy = bx - ax, by - ay
        norm = math.hypot(dx, dy) or 1.0
        return (ax + t * dx - side * dy / norm, ay + t * dy + side * dx / norm)

    def point():
        kind = draw(st.sampled_from(["free", "node", "edge", "edge"]))
        if kind == "node":  # exactly at a junction
            return xy[draw(st.integers(0, len(xy) - 1))]
        if kind == "edge":
            return along_edge()
        return draw(free)

    origins = [point() for _ in range(draw(st.integers(0, 8)))]
    facilities = [point() for _ in range(draw(st.integers(0, 5)))]
    if facilities and draw(st.booleans()):  # two facilities at the same spot
        facilities.append(facilities[draw(st.integers(0, len(facilities) - 1))])
    if facilities and origins and draw(st.booleans()):  # an origin on a facility's spot
        origins.append(facilities[draw(st.integers(0, len(facilities) - 1))])
    others = [point() for _ in range(draw(st.integers(0, 3)))]  # a third point set

    max_snap = draw(st.sampled_from([5.0, 15.0, 30.0]) | st.floats(0.5, 80.0))
    limit = draw(st.none() | st.floats(0.0, 120.0))
    return xy, weighted, origins, facilities, others, max_snap, limit


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios())
# a facility-less piece, an unsnapped origin, parallel edges and a self-loop
@example(
    (
        [(0.0, 0.0), (100.0, 0.0), (400.0, 0.0), (500.0, 0.0), (50.0, 50.0)],
        [(0, 1, 100.0), (0, 1, 180.0), (1, 0, 130.0), (2, 3, 100.0), (1, 1, 20.0)],
        [(50.0, 5.0), (450.0, 5.0), (50.0, 500.0)],
        [(90.0, -3.0)],
        [],
        30.0,
        50.0,
    )
)
# regression: a network of nothing but a self-loop once crashed _symmetric_csr (no edges)
@example(([(0.0, 0.0)], [(0, 0, 0.0)], [], [], [], 5.0, None))
@example(([(0.0, 0.0)], [(0, 0, 10.0)], [(3.0, 4.0)], [(0.0, 1.0)], [], 5.0, None))
def test_engine_matches_networkx_oracle(case):
    xy, edges, origins, facilities, others, max_snap, limit = case
    run_case(xy, edges, origins, facilities, others, max_snap, limit)


# --------------------------------------------------------------------------------------
# Named cases (each also checked against the oracle)

LINE = [(0.0, 0.0), (100.0, 0.0), (200.0, 0.0)]
LINE_EDGES = [(0, 1, 100.0), (1, 2, 100.0)]


def test_unsnapped_origin_is_unreachable():
    res, _ = run_case(LINE, LINE_EDGES, [(50.0, 45.0), (50.0, 10.0)], [(150.0, 0.0)], [], 40.0)
    assert math.isinf(res.distance_m[0]) and res.facility[0] == -1
    assert res.distance_m[1] == pytest.approx(10 + 100)  # leg 10, 50 + 50 along the line
    assert np.isnan(res.minutes(WALK)[0])


def test_unsnapped_facility_is_ignored():
    # facility 0 is 45 m off the street (> 40): the origin walks to facility 1 instead
    res, _ = run_case(LINE, LINE_EDGES, [(40.0, 0.0)], [(40.0, 45.0), (190.0, 0.0)], [], 40.0)
    assert res.facility[0] == 1 and res.distance_m[0] == pytest.approx(150.0)


def test_piece_without_facility_is_unreachable():
    xy = [*LINE, (1000.0, 0.0), (1100.0, 0.0)]
    edges = [*LINE_EDGES, (3, 4, 100.0)]
    res, _ = run_case(xy, edges, [(1050.0, 5.0), (20.0, 0.0)], [(180.0, 0.0)], [], 30.0)
    assert math.isinf(res.distance_m[0]) and res.facility[0] == -1
    assert res.distance_m[1] == pytest.approx(160.0)
    m = res.minutes(WALK)
    assert np.isnan(m[0]) and m[1] == pytest.approx(160.0 / WALK)


def test_zero_facilities_gives_all_inf():
    res, _ = run_case(LINE, LINE_EDGES, [(10.0, 1.0), (150.0, 0.0)], [], [], 30.0)
    assert np.all(np.isinf(res.distance_m)) and np.all(res.facility == -1)
    assert np.all(np.isnan(res.minutes(WALK)))


def test_same_edge_walks_along_the_edge():
    # one 100 m edge whose length_m is 1000: origin at offset 200 (drawn 20 m), facility at
    # offset 300 (drawn 30 m). Along the edge: 2 + 100 + 3 = 105 m; via node u it would be
    # 2 + 200 + 300 + 3 = 505 m, so only a properly spliced edge gives 105.
    xy = [(0.0, 0.0), (100.0, 0.0)]
    res, _ = run_case(xy, [(0, 1, 1000.0)], [(20.0, 2.0)], [(30.0, -3.0)], [], 10.0)
    assert res.distance_m[0] == pytest.approx(105.0)


def test_several_points_on_one_edge_in_any_order():
    xy = [(0.0, 0.0), (100.0, 0.0)]
    origins = [(90.0, 1.0), (10.0, 1.0), (50.0, 0.0)]
    facilities = [(70.0, 0.0), (5.0, 2.0)]
    res, _ = run_case(xy, [(0, 1, 100.0)], origins, facilities, [(60.0, 1.0)], 10.0)
    assert res.distance_m == pytest.approx([1 + 20, 1 + 5 + 2, 20])
    assert list(res.facility) == [0, 1, 0]


def test_point_exactly_at_a_node():
    # origin on node 1 (leg 0, offset 100 or 0), facility on node 2 (leg 0)
    res, _ = run_case(LINE, LINE_EDGES, [(100.0, 0.0), (200.0, 0.0)], [(200.0, 0.0)], [], 5.0)
    assert res.distance_m == pytest.approx([100.0, 0.0])
    assert list(res.facility) == [0, 0]
    assert res.minutes(WALK) == pytest.approx([1.5, 0.0])  # zero minutes, not NaN


def test_two_facilities_at_the_same_spot():
    res, _ = run_case(LINE, LINE_EDGES, [(20.0, 5.0)], [(150.0, 4.0), (150.0, 4.0)], [], 30.0)
    assert res.distance_m[0] == pytest.approx(5 + 130 + 4)
    assert res.facility[0] in (0, 1)


def test_limit_cuts_off_far_origins():
    origins = [(10.0, 0.0), (90.0, 0.0), (190.0, 0.0)]
    net = make_network(LINE, LINE_EDGES)
    s_o = snap_to_edges(net, as_points(origins), 5.0)
    s_f = snap_to_edges(net, as_points([(200.0, 0.0)]), 5.0)
    g = build_routing_graph(net, [s_o, s_f])
    res = nearest_facility(g, g.point_nodes[0], g.point_nodes[1], limit_m=150.0)
    # 190 m, 110 m, 10 m from the facility: only the first is beyond 150 m
    assert math.isinf(res.distance_m[0]) and res.facility[0] == -1
    assert res.distance_m[1:] == pytest.approx([110.0, 10.0])
    m = res.minutes(WALK)
    assert np.isnan(m[0]) and m[1:] == pytest.approx([110 / WALK, 10 / WALK])
    run_case(LINE, LINE_EDGES, origins, [(200.0, 0.0)], [], 5.0, limit=150.0)


def test_parallel_edges_use_the_shortest():
    xy = [(0.0, 0.0), (100.0, 0.0)]
    edges = [(0, 1, 300.0), (1, 0, 120.0), (0, 1, 200.0)]
    # both points sit at the nodes, so the snapped edge does not matter: 120 m
    res, _ = run_case(xy, edges, [(-3.0, 0.0)], [(104.0, 0.0)], [], 10.0)
    assert res.distance_m[0] == pytest.approx(3 + 120 + 4)


def test_minutes_is_nan_not_a_sentinel():
    res, _ = run_case(LINE, LINE_EDGES, [(50.0, 0.0), (50.0, 99.0)], [(100.0, 0.0)], [], 10.0)
    m = res.minutes(WALK)
    assert m[0] == pytest.approx(50 / WALK)
    assert np.isnan(m[1])  # not 0, not -1, not inf
    # minutes() must not disturb the distances it was computed from
    assert math.isinf(res.distance_m[1])
