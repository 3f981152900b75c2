"""Hand-worked examples for edge snapping and walking time, numbers derived in comments.

Coordinates are metres in a projected CRS. The snapping examples are shifted to a
realistic UTM position (X0, Y0) so that large coordinates are exercised too; every
number in the comments is relative to that origin.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from circle15.engine import build_routing_graph, nearest_facility, snap_to_edges
from circle15.model import WalkingNetwork

CRS = "EPSG:32651"
X0, Y0 = 350_000.0, 3_450_000.0  # somewhere in Shanghai, UTM 51N
WALK = 4000 / 60  # 4 km/h in metres per minute


def network(nodes, edges, x0=X0, y0=Y0) -> WalkingNetwork:
    """``nodes``: [(x, y)]; ``edges``: [(u, v, length_m)] drawn straight u -> v, or
    [(u, v, length_m, [(x, y), ...])] with explicit vertices (u's position first)."""
    pts = [(x + x0, y + y0) for x, y in nodes]
    geoms = []
    for e in edges:
        coords = e[3] if len(e) > 3 else [nodes[e[0]], nodes[e[1]]]
        geoms.append(LineString([(x + x0, y + y0) for x, y in coords]))
    return WalkingNetwork(
        gpd.GeoDataFrame({"node_id": range(len(pts))}, geometry=[Point(p) for p in pts], crs=CRS),
        gpd.GeoDataFrame(
            {
                "u": [e[0] for e in edges],
                "v": [e[1] for e in edges],
                "length_m": [float(e[2]) for e in edges],
            },
            geometry=geoms,
            crs=CRS,
        ),
    )


def points(xy, x0=X0, y0=Y0) -> np.ndarray:
    return np.array([Point(x + x0, y + y0) for x, y in xy], dtype=object)


# One straight 100 m street along the x axis: node 0 at (0, 0), node 1 at (100, 0).
STREET = network([(0, 0), (100, 0)], [(0, 1, 100)])


def test_point_beside_the_middle_of_an_edge():
    # (50, 30): the perpendicular from the point hits the street at (50, 0), 50 m from u,
    # and the point is 30 m from that foot.
    s = snap_to_edges(STREET, points([(50, 30)]), max_snap_m=50)
    assert s.edge.tolist() == [0]
    assert s.offset_m[0] == pytest.approx(50)
    assert s.leg_m[0] == pytest.approx(30)
    assert s.snapped.tolist() == [True]


def test_point_beyond_the_end_clamps_to_the_node():
    # (130, 40) projects to x = 130, past node 1 at x = 100: the nearest point of the
    # segment is node 1 itself, so offset = 100 (the whole edge) and the leg is the
    # distance to (100, 0): sqrt(30² + 40²) = 50.
    # (-30, -40) lies before node 0: offset 0, leg sqrt(30² + 40²) = 50 as well.
    s = snap_to_edges(STREET, points([(130, 40), (-30, -40)]), max_snap_m=60)
    assert s.edge.tolist() == [0, 0]
    assert s.offset_m == pytest.approx([100, 0])
    assert s.leg_m == pytest.approx([50, 50])


def test_point_equidistant_to_two_edges():
    # Two parallel streets y = 0 (edge 0, 100 m) and y = 20 (edge 1, drawn 100 m but
    # length_m 200). (50, 10) is 10 m from both: either is a correct snap, the leg is 10
    # either way, and the offset is the middle of whichever edge was chosen: 50 of 100 on
    # edge 0 or 100 of 200 on edge 1.
    net = network([(0, 0), (100, 0), (0, 20), (100, 20)], [(0, 1, 100), (2, 3, 200)])
    s = snap_to_edges(net, points([(50, 10)]), max_snap_m=15)
    assert s.edge[0] in (0, 1)
    assert s.leg_m[0] == pytest.approx(10)
    assert s.offset_m[0] == pytest.approx({0: 50, 1: 100}[int(s.edge[0])])


def test_point_equidistant_to_two_edges_at_their_shared_node():
    # An L: edge 0 from (0, 0) to (100, 0), edge 1 from (100, 0) up to (100, 100).
    # (130, -40) is nearest to the corner (100, 0) on both edges, 50 m away; as the end of
    # edge 0 that is offset 100, as the start of edge 1 offset 0 - the same junction.
    net = network([(0, 0), (100, 0), (100, 100)], [(0, 1, 100), (1, 2, 100)])
    s = snap_to_edges(net, points([(130, -40)]), max_snap_m=60)
    assert s.leg_m[0] == pytest.approx(50)
    assert s.offset_m[0] == pytest.approx({0: 100, 1: 0}[int(s.edge[0])])


@pytest.mark.parametrize(
    "max_snap, snapped",
    [(30 + 1e-6, True), (30.0, True), (30 - 1e-6, False), (10.0, False)],
)
def test_max_snap_boundary(max_snap, snapped):
    # (50, 30) is exactly 30 m from the street: snapped when max_snap_m >= 30 ("farther
    # than max_snap_m" stays unsnapped), unsnapped just below.
    s = snap_to_edges(STREET, points([(50, 30)]), max_snap_m=max_snap)
    if snapped:
        assert s.edge.tolist() == [0]
        assert s.offset_m[0] == pytest.approx(50) and s.leg_m[0] == pytest.approx(30)
    else:
        assert s.edge.tolist() == [-1]
        assert np.isnan(s.offset_m[0]) and np.isnan(s.leg_m[0])
        assert s.snapped.tolist() == [False]


def test_mixed_snapped_and_unsnapped_keep_their_positions():
    # max 20 m: (10, 50) and (90, -25) are too far (50, 25 m); (20, 5) and (70, -15) snap
    # at offsets 20 and 70 with legs 5 and 15. Results must stay in input order.
    s = snap_to_edges(STREET, points([(10, 50), (20, 5), (90, -25), (70, -15)]), 20)
    assert s.edge.tolist() == [-1, 0, -1, 0]
    assert s.offset_m[[1, 3]] == pytest.approx([20, 70])
    assert s.leg_m[[1, 3]] == pytest.approx([5, 15])
    assert np.isnan(s.offset_m[[0, 2]]).all() and np.isnan(s.leg_m[[0, 2]]).all()


def test_no_points():
    s = snap_to_edges(STREET, points([]), 30)
    assert len(s) == 0 and s.edge.dtype == np.int64


def test_length_m_differing_from_the_drawn_length_scales_the_offset():
    # Drawn 100 m, but the street is 150 m long (e.g. it winds or climbs). The foot of
    # (50, 30) is halfway along the drawing, so halfway along the street: 0.5 * 150 = 75.
    # The leg is a straight walk to the street, measured on the drawing: still 30.
    net = network([(0, 0), (100, 0)], [(0, 1, 150)])
    s = snap_to_edges(net, points([(50, 30), (100, 0)]), 50)
    assert s.offset_m == pytest.approx([75, 150])  # node v is the whole 150 m along
    assert s.leg_m == pytest.approx([30, 0])


def test_bent_linestring_offset_follows_the_line():
    # Edge from u = (0, 0) east to (60, 0), then north to v = (60, 80): drawn 60 + 80 = 140.
    # (70, 40): nearest on the second leg at (60, 40), 10 m away (the first leg's nearest
    # point (60, 0) is sqrt(10² + 40²) = 41.2 m away). Along the line: 60 + 40 = 100.
    # (Projecting onto the straight chord u-v instead would give
    #  (70*60 + 40*80) / 100 = 74 of 100 chord metres -> 0.74 * 140 = 103.6: wrong.)
    # (50, 5): first leg at (50, 0), 5 m (second leg: (60, 5), 10 m) -> offset 50.
    # (70, -10): past the corner; nearest is the corner (60, 0), sqrt(10² + 10²) = 14.14 m,
    # offset 60.
    bend = [(0, 0), (60, 0), (60, 80)]
    pts = points([(70, 40), (50, 5), (70, -10)])
    net = network([(0, 0), (60, 80)], [(0, 1, 140, bend)])
    s = snap_to_edges(net, pts, 50)
    assert s.edge.tolist() == [0, 0, 0]
    assert s.offset_m == pytest.approx([100, 50, 60])
    assert s.leg_m == pytest.approx([10, 5, math.sqrt(200)])

    # The same street with length_m 280 (twice the drawing): offsets double, legs do not.
    net2 = network([(0, 0), (60, 80)], [(0, 1, 280, bend)])
    s2 = snap_to_edges(net2, pts, 50)
    assert s2.offset_m == pytest.approx([200, 100, 120])
    assert s2.leg_m == pytest.approx([10, 5, math.sqrt(200)])


# --------------------------------------------------------------------------------------
# End to end: snapping -> routing graph -> nearest facility -> minutes at 4 km/h
#
#   C (400, 300)
#   |                   F0 (420, 150)
#   |  O4 (410, 100)                              D (2000, 0) ---- E (2100, 0)
#   |                                              O1 (2000, -30)  F1 (2050, 10)
#   A (0, 0) ------------------ B (400, 0)
#     O0 (100, 50), O3 (250, 0)
#
# Edges AB 400 m, BC 300 m, DE 100 m (a separate piece). O2 (1000, 1000) and the first
# facility Fx (5000, 5000) are hundreds of metres from any street (max snap 100 m).
# Facility positions: 0 = Fx (unsnapped, ignored), 1 = F0, 2 = F1.
#
# 4 km/h = 4000/60 = 66.67 m/min, so minutes = metres * 60 / 4000 = metres * 0.015.
#   O0: leg 50 to (100, 0); 300 along AB to B; 150 up BC to (400, 150); leg 20 to F0
#       = 520 m -> 7.8 min, facility 1.
#   O1: leg 30 to D (offset 0); 50 along DE; leg 10 to F1 = 90 m -> 1.35 min, facility 2.
#   O2: unsnapped -> NaN.
#   O3: on AB (leg 0) at 250; 150 to B; 150 up BC; leg 20 = 320 m -> 4.8 min, facility 1.
#   O4: leg 10 to (400, 100) on BC (offset 100); 50 along BC to offset 150 (same edge as
#       F0, not via a node); leg 20 = 80 m -> 1.2 min, facility 1.

E2E_NODES = [(0, 0), (400, 0), (400, 300), (2000, 0), (2100, 0)]
ORIGINS = [(100, 50), (2000, -30), (1000, 1000), (250, 0), (410, 100)]
FACILITIES = [(5000, 5000), (420, 150), (2050, 10)]


def walk(net, limit_m=np.inf):
    s_o = snap_to_edges(net, points(ORIGINS), 100)
    s_f = snap_to_edges(net, points(FACILITIES), 100)
    g = build_routing_graph(net, [s_o, s_f])
    return nearest_facility(g, g.point_nodes[0], g.point_nodes[1], limit_m=limit_m)


def test_walking_minutes_end_to_end():
    net = network(E2E_NODES, [(0, 1, 400), (1, 2, 300), (3, 4, 100)])
    res = walk(net)
    assert res.distance_m == pytest.approx([520, 90, np.inf, 320, 80])
    assert res.facility.tolist() == [1, 2, -1, 1, 1]
    m = res.minutes(WALK)
    assert np.isnan(m[2])
    assert m[[0, 1, 3, 4]] == pytest.approx([7.8, 1.35, 4.8, 1.2])


def test_walking_minutes_end_to_end_with_a_longer_street():
    # BC drawn 300 m but length_m 450: positions on it scale by 1.5. F0 sits at 225,
    # O4 at 150.
    #   O0: 50 + 300 + 225 + 20 = 595 m -> 8.925 min
    #   O3: 0 + 150 + 225 + 20 = 395 m -> 5.925 min
    #   O4: 10 + (225 - 150) + 20 = 105 m -> 1.575 min
    #   O1 is on the other piece and unchanged: 90 m -> 1.35 min
    net = network(E2E_NODES, [(0, 1, 400), (1, 2, 450), (3, 4, 100)])
    res = walk(net)
    m = res.minutes(WALK)
    assert m[[0, 1, 3, 4]] == pytest.approx([8.925, 1.35, 5.925, 1.575])
    assert np.isnan(m[2])


def test_walking_limit_end_to_end():
    # With a 400 m search limit O0 (520 m) is cut off; the others are within it.
    net = network(E2E_NODES, [(0, 1, 400), (1, 2, 300), (3, 4, 100)])
    res = walk(net, limit_m=400)
    assert res.facility.tolist() == [-1, 2, -1, 1, 1]
    m = res.minutes(WALK)
    assert np.isnan(m[[0, 2]]).all()
    assert m[[1, 3, 4]] == pytest.approx([1.35, 4.8, 1.2])
