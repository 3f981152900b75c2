"""Network issues: separate pieces with their residents, and loose ends, on hand-built streets."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point

from circle15 import Study
from circle15.analysis.network_issues import NETWORK_ISSUE_COLUMNS, network_issues
from circle15.model import WalkingNetwork
from circle15.standards import load_standards

from ..factories.studies import ORIGIN, write_small_study

CRS = "EPSG:32651"
CATS = {k: load_standards().categories[k] for k in ("kindergarten", "elderly_canteen")}

#: Junctions (metres). The main piece: street A along y = 0 (n0-n1-n2), B up x = 100
#: (n1-n3) with a 2 m overshoot below A (n7), n3-n4 along y = 100, C down from n4 stopping
#: 3 m short of A (n5: a loose end), n4-n10 up to 8 m short of F (n10: too far to count),
#: F along y = 200 (n11-n12) joined by n11-n3, and G from n12 ending exactly on n3-n4
#: without a junction (n13: a loose end, gap 0). A separate piece p0-p1-p2, 70 m.
NODES = {
    "n0": (0, 0),
    "n1": (100, 0),
    "n2": (200, 0),
    "n3": (100, 100),
    "n4": (150, 100),
    "n5": (150, 3),
    "n7": (100, -2),
    "n10": (150, 192),
    "n11": (100, 200),
    "n12": (200, 200),
    "n13": (125, 100),
    "p0": (300, 50),
    "p1": (340, 50),
    "p2": (340, 80),
}
EDGES = [
    ("n0", "n1"),
    ("n1", "n2"),
    ("n1", "n3"),
    ("n1", "n7"),
    ("n3", "n4"),
    ("n4", "n5"),
    ("n4", "n10"),
    ("n11", "n12"),
    ("n11", "n3"),
    ("n12", "n13"),
    ("p0", "p1"),
    ("p1", "p2"),
]


def _network() -> tuple[WalkingNetwork, dict[str, int]]:
    index = {name: i for i, name in enumerate(NODES)}
    nodes = gpd.GeoDataFrame(
        {"node_id": list(NODES)}, geometry=[Point(xy) for xy in NODES.values()], crs=CRS
    )
    lines = [LineString([NODES[a], NODES[b]]) for a, b in EDGES]
    edges = gpd.GeoDataFrame(
        {
            "u": [index[a] for a, _ in EDGES],
            "v": [index[b] for _, b in EDGES],
            "length_m": [line.length for line in lines],
        },
        geometry=lines,
        crs=CRS,
    )
    return WalkingNetwork(nodes, edges), index


def test_pieces_and_loose_ends_by_hand():
    network, at = _network()
    # Oracle for the pieces: networkx's connected components.
    g = nx.Graph([(at[a], at[b]) for a, b in EDGES])
    labels = np.zeros(len(NODES), dtype=int)
    for k, comp in enumerate(nx.connected_components(g)):
        labels[list(comp)] = k
    # Cells: 40 residents snapped at p1, 2 at p0, 100 at n0, 7 unsnapped.
    cell_nodes = np.array([at["p1"], at["p0"], at["n0"], -1])
    population = np.array([40.0, 2.0, 100.0, 7.0])
    facilities = {"kindergarten": np.array([at["n2"]]), "elderly_canteen": np.array([at["p2"], -1])}
    issues = network_issues(network, labels, cell_nodes, population, facilities, CATS)

    assert list(issues.columns) == NETWORK_ISSUE_COLUMNS
    assert issues.crs == CRS
    piece = issues[issues["kind"] == "separate_piece"]
    assert len(piece) == 1
    p = piece.iloc[0]
    assert p["issue_id"] == "piece-001" and p["population"] == 42.0
    assert p["length_m"] == pytest.approx(70.0) and np.isnan(p["nearest_m"])
    assert p.geometry.geom_type == "MultiLineString"
    assert shapely.equals(
        p.geometry,
        shapely.MultiLineString([[NODES["p0"], NODES["p1"]], [NODES["p1"], NODES["p2"]]]),
    )
    assert "3 nodes" in p["description"] and "42 residents" in p["description"]
    assert "幼儿园 Kindergarten" in p["description"]  # no kindergarten on the piece
    assert "Elderly canteen" not in p["description"]  # the canteen stands there

    ends = issues[issues["kind"] == "loose_end"].reset_index(drop=True)
    # n13 touches n3-n4 without a junction (0 m), n5 stops 3 m short of A; the overshoot
    # n7 and n10 (8 m from F) are not loose ends, nor are the piece's far-off ends.
    assert ends["issue_id"].tolist() == ["loose-001", "loose-002"]
    assert ends["nearest_m"].tolist() == pytest.approx([0.0, 3.0])
    assert [tuple(np.round(shapely.get_coordinates(g)[0], 6)) for g in ends.geometry] == [
        NODES["n13"],
        NODES["n5"],
    ]
    assert (ends["population"] == 0).all() and (ends["length_m"] == 0).all()
    assert "3.0 m" in ends["description"].iloc[1]

    # The distance is configurable: at 10 m n10 joins them, at 0 there are none.
    wider = network_issues(
        network, labels, cell_nodes, population, facilities, CATS, loose_end_m=10.0
    )
    assert sorted(wider.loc[wider["kind"] == "loose_end", "nearest_m"]) == pytest.approx(
        [0.0, 3.0, 8.0]
    )
    none = network_issues(
        network, labels, cell_nodes, population, facilities, CATS, loose_end_m=0.0
    )
    assert (none["kind"] == "separate_piece").all()


def test_one_piece_and_no_dead_ends_give_an_empty_table():
    square = [(0, 0), (100, 0), (100, 100), (0, 100)]
    nodes = gpd.GeoDataFrame(geometry=[Point(p) for p in square], crs=CRS)
    lines = [LineString([square[i], square[(i + 1) % 4]]) for i in range(4)]
    edges = gpd.GeoDataFrame(
        {"u": [0, 1, 2, 3], "v": [1, 2, 3, 0], "length_m": 100.0}, geometry=lines, crs=CRS
    )
    issues = network_issues(
        WalkingNetwork(nodes, edges),
        np.zeros(4, int),
        np.array([0]),
        np.array([5.0]),
        {"kindergarten": np.array([2])},
        CATS,
    )
    assert issues.empty and list(issues.columns) == NETWORK_ISSUE_COLUMNS


@pytest.mark.slow
def test_a_run_reports_them_and_writes_the_layer(tmp_path):
    toml = write_small_study(tmp_path / "study")
    x0, y0 = ORIGIN
    net = tmp_path / "study" / "network.gpkg"
    nodes = gpd.read_file(net, layer="nodes").to_crs(CRS)
    edges = gpd.read_file(net, layer="edges").to_crs(CRS)
    # Estate paths 5 m north of the centres of cells (0, 4) and (1, 4) -- closer to them
    # than any street -- never reaching a street: 100 m over the street x = 100 without a
    # junction. And a lane from junction (2, 3) that stops 3 m short of the street x = 300.
    new_nodes = {9001: (x0 + 30, y0 + 455), 9002: (x0 + 130, y0 + 455), 9003: (x0 + 297, y0 + 350)}
    nodes = pd.concat(
        [
            nodes,
            gpd.GeoDataFrame(
                {"osmid": list(new_nodes)}, geometry=[Point(p) for p in new_nodes.values()], crs=CRS
            ),
        ],
        ignore_index=True,
    )
    extra = gpd.GeoDataFrame(
        {
            "u": [9001, 1000 + 2 * 11 + 3],
            "v": [9002, 9003],
            "key": 0,
            "highway": "footway",
            "length": [100.0, float(np.hypot(97, 50))],
        },
        geometry=[
            LineString([new_nodes[9001], new_nodes[9002]]),
            LineString([(x0 + 200, y0 + 300), new_nodes[9003]]),
        ],
        crs=CRS,
    )
    edges = pd.concat([edges, extra], ignore_index=True)
    net.unlink()
    nodes.to_crs(4326).to_file(net, layer="nodes")
    gpd.GeoDataFrame(edges, crs=CRS).to_crs(4326).to_file(net, layer="edges")

    result = Study.from_config(toml).run()
    issues = result.network_issues
    piece = issues[issues["kind"] == "separate_piece"].iloc[0]
    # Two cells of 100 residents each snap to the estate paths.
    assert piece["population"] == 200.0
    assert piece["length_m"] == pytest.approx(100.0, abs=0.01)
    ends = issues[issues["kind"] == "loose_end"]
    assert ends["nearest_m"].tolist() == pytest.approx([3.0], abs=0.01)
    assert result.diagnostics["network_issues"] == {
        "separate_pieces": 1,
        "residents_on_separate_pieces": 200.0,
        "loose_ends": 1,
    }

    from circle15.outputs.tables import write_geopackage

    path = write_geopackage(result, tmp_path / "results.gpkg")
    layer = gpd.read_file(path, layer="network_issues")
    assert layer["issue_id"].tolist() == issues["issue_id"].tolist()
    assert layer["kind"].tolist() == ["separate_piece", "loose_end"]
    assert layer.geom_type.tolist() == ["MultiLineString", "Point"]
    assert layer.crs == result.cells.crs
    # A what-if keeps the streets, and so the issues.
    after = result.add_facilities("kindergarten", [(x0 + 500, y0 + 500)], crs="study")
    assert after.network_issues is result.network_issues
