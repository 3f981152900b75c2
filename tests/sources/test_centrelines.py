"""Road centrelines drawn by hand: topology and walking distances worked out on paper.

The drawing (metres, relative to an origin near Zhenhai)::

          N (100, 150)
          |  ramp N
          + (100, 50)  bridge (layer 1) from (100,-50) to (100,50) over the road
    ------+------------+------  road A: (0,0) -> (200,0); side street at x=150
          + (100,-50)  |        side street: (150,-30) -> (150,30.2), crosses road A
          |  ramp S
          S (100, -150)

Road A and the bridge cross at (100, 0) without a junction; the ramps meet the bridge's
ends. The side street's end (150, 30.2) is 0.2 m off a clean value (digitising noise).
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from pyproj import CRS
from shapely.geometry import LineString, MultiLineString

from circle15.errors import InputError
from circle15.sources.centrelines import read_centrelines

UTM = CRS.from_epsg(32651)
X0, Y0 = 360_000.0, 3_317_000.0


def xy(x, y):
    return (X0 + x, Y0 + y)


def drawing(crs="EPSG:32651") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": ["road A", "bridge", "ramp S", "ramp N", "side street"],
            "bridge": ["F", "T", "F", "F", "F"],
            "layer": [None, "1", None, None, None],
        },
        geometry=[
            LineString([xy(0, 0), xy(200, 0)]),
            LineString([xy(100, -50), xy(100, 50)]),
            LineString([xy(100, -150), xy(100, -50)]),
            LineString([xy(100, 50), xy(100, 150)]),
            LineString([xy(150, -30), xy(150, 30.2)]),
        ],
        crs=UTM,
    ).to_crs(crs)


def graph(net) -> nx.Graph:
    g = nx.Graph()
    for u, v, w in zip(net.edges["u"], net.edges["v"], net.edges["length_m"], strict=True):
        g.add_edge(int(u), int(v), weight=float(w))
    return g


def node_at(net, x, y) -> int:
    d = net.nodes.geometry.distance(gpd.points_from_xy([X0 + x], [Y0 + y], crs=UTM)[0])
    assert d.min() < 0.5
    return int(net.nodes["node_id"].iloc[int(np.argmin(d.to_numpy()))])


def distance(net, a, b) -> float:
    return nx.shortest_path_length(graph(net), node_at(net, *a), node_at(net, *b), weight="weight")


@pytest.mark.parametrize("crs", ["EPSG:32651", "EPSG:4490", "EPSG:4549"])
def test_bridge_does_not_join_the_road_it_crosses(tmp_path, crs):
    path = tmp_path / "roads.gpkg"
    drawing(crs).to_file(path)
    net = read_centrelines(path, UTM)
    # From road A's west end (0,0) to the south ramp's end (100,-150): the bridge is not a
    # junction, so there is no way up (the drawing has no other link): unreachable.
    assert not nx.has_path(graph(net), node_at(net, 0, 0), node_at(net, 100, -150))
    # Along the bridge from south to north: 100 + 100 + 100 = 300 m.
    assert distance(net, (100, -150), (100, 150)) == pytest.approx(300, abs=0.01)
    # The side street crosses road A at grade: (150,-30) to (0,0) = 30 + 150 m.
    assert distance(net, (150, -30), (0, 0)) == pytest.approx(180, abs=0.01)


def test_without_grade_separation_every_crossing_is_a_junction(tmp_path):
    path = tmp_path / "roads.geojson"
    drawing().to_file(path)
    net = read_centrelines(path, UTM, grade_separation=False)
    # Now (0,0) -> (100,0) -> down the bridge to (100,-50) -> ramp to (100,-150): 250 m.
    assert distance(net, (0, 0), (100, -150)) == pytest.approx(250, abs=0.01)


def test_lines_split_at_shared_vertices_and_crossings(tmp_path):
    # One line passes through another's interior vertex; a multi-line is exploded.
    frame = gpd.GeoDataFrame(
        geometry=[
            LineString([xy(0, 0), xy(100, 0), xy(200, 0)]),
            MultiLineString([[xy(100, -100), xy(100, 0)], [xy(100, 0.3), xy(100, 100)]]),
        ],
        crs=UTM,
    )
    path = tmp_path / "vertex.gpkg"
    frame.to_file(path)
    net = read_centrelines(path, UTM)  # 0.5 m snapping closes the 0.3 m gap
    assert distance(net, (100, -100), (100, 100)) == pytest.approx(200, abs=0.5)
    assert distance(net, (0, 0), (100, 100)) == pytest.approx(200, abs=0.5)
    assert net.n_edges == 4


def test_shapefile_without_prj_needs_a_crs_and_motorways_are_dropped(tmp_path):
    frame = drawing().assign(fclass=["residential", "footway", "footway", "footway", "motorway"])
    frame.to_file(tmp_path / "roads.shp")
    (tmp_path / "roads.prj").unlink()
    with pytest.raises(InputError, match="no coordinate reference system"):
        read_centrelines(tmp_path / "roads.shp", UTM)
    net = read_centrelines(tmp_path / "roads.shp", UTM, source_crs="EPSG:32651")
    assert "side street" not in set(net.edges["name"])


def test_points_file_is_rejected_with_the_types_found(tmp_path):
    gpd.GeoDataFrame(geometry=gpd.points_from_xy([X0], [Y0]), crs=UTM).to_file(tmp_path / "p.gpkg")
    with pytest.raises(InputError, match=r"no LineString features.*Point"):
        read_centrelines(tmp_path / "p.gpkg", UTM)
