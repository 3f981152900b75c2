"""The network cache: hit, miss, invalidation, damaged entries, switching it off.

Oracle: the network built afresh from the file (``cache=False``); a cached network must
equal it frame for frame. The studies are the small grid of ``tests/factories/studies.py`` with
its streets given as an OSM extract (written with pyosmium) or as a centreline
GeoPackage.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import osmium
import pytest
from geopandas.testing import assert_geodataframe_equal
from osmium.osm.mutable import Node, Way
from pyproj import Transformer
from shapely.geometry import LineString

from circle15 import Study
from circle15.cli import main
from circle15.errors import Circle15Warning
from circle15.sources import network_cache
from circle15.sources.network_cache import cache_root, cached_network

from ..factories.studies import CRS, N, node_xy, write_small_study

ROOT = Path(__file__).resolve().parents[2]


def write_grid_osm(path: Path) -> Path:
    """The small study's street grid as an OSM extract: one way per row and column."""
    to_wgs = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    ids = {(i, j): 1000 + i * N + j for i in range(N) for j in range(N)}
    with osmium.SimpleWriter(str(path)) as writer:
        for (i, j), nid in sorted(ids.items(), key=lambda kv: kv[1]):
            lon, lat = to_wgs.transform(*node_xy(i, j))
            writer.add_node(Node(id=nid, location=(round(lon, 7), round(lat, 7)), version=1))
        for k in range(N):
            writer.add_way(
                Way(
                    id=1 + k,
                    nodes=[ids[(i, k)] for i in range(N)],
                    tags={"highway": "residential", "name": f"Row {k}"},
                    version=1,
                )
            )
            writer.add_way(
                Way(
                    id=100 + k,
                    nodes=[ids[(k, j)] for j in range(N)],
                    tags={"highway": "footway"},
                    version=1,
                )
            )
    return path


def write_grid_centrelines(path: Path) -> Path:
    """The grid as long centrelines crossing without junctions (they need noding)."""
    lines = [LineString([node_xy(0, k), node_xy(N - 1, k)]) for k in range(N)] + [
        LineString([node_xy(k, 0), node_xy(k, N - 1)]) for k in range(N)
    ]
    gpd.GeoDataFrame(
        {"name": [f"road {k}" for k in range(len(lines))]}, geometry=lines, crs=CRS
    ).to_file(path, layer="roads")
    return path


def set_network(toml: Path, lines: str) -> None:
    text = toml.read_text(encoding="utf-8")
    start = text.index("[network]")
    end = text.index("[population]")
    toml.write_text(text[:start] + "[network]\n" + lines + "\n\n" + text[end:], encoding="utf-8")


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("CIRCLE15_CACHE", str(folder))
    monkeypatch.delenv("CIRCLE15_NO_CACHE", raising=False)
    return folder / "networks"


@pytest.fixture
def osm_study(tmp_path) -> Path:
    toml = write_small_study(tmp_path / "study")
    write_grid_osm(tmp_path / "study" / "grid.osm.pbf")
    set_network(toml, 'path = "grid.osm.pbf"\nbuffer_m = 200')
    return toml


@pytest.fixture
def centreline_study(tmp_path) -> Path:
    toml = write_small_study(tmp_path / "study")
    write_grid_centrelines(tmp_path / "study" / "roads.gpkg")
    set_network(toml, 'path = "roads.gpkg"\nsource = "centrelines"\nbuffer_m = 200')
    return toml


def network_of(toml: Path, **kwargs):
    return Study.from_config(toml, **kwargs).network


def assert_same_network(a, b) -> None:
    assert_geodataframe_equal(a.nodes, b.nodes, check_less_precise=False)
    assert_geodataframe_equal(a.edges, b.edges, check_less_precise=False)


def entries(cache: Path) -> list[Path]:
    return (
        sorted(p for p in cache.iterdir() if not p.name.startswith(".")) if cache.is_dir() else []
    )


@pytest.mark.parametrize("kind", ["osm", "centrelines"])
def test_miss_then_hit_gives_the_same_network(kind, osm_study, centreline_study, cache):
    toml = osm_study if kind == "osm" else centreline_study
    fresh = network_of(toml, cache=False)
    assert fresh.provenance["cache"] == "off" and not entries(cache)
    first = network_of(toml)
    assert first.provenance["cache"] == "stored"
    assert len(entries(cache)) == 1
    second = network_of(toml)
    assert second.provenance["cache"] == "hit"
    assert second.provenance["cache_key"] == first.provenance["cache_key"]
    assert_same_network(second, fresh)
    assert_same_network(first, fresh)
    assert fresh.n_edges == 2 * N * (N - 1)  # the grid: every block side one street


def test_cache_folder_is_private(osm_study, cache):
    network_of(osm_study)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700


def test_changed_file_area_buffer_or_version_misses(osm_study, cache, monkeypatch):
    key = network_of(osm_study).provenance["cache_key"]
    keys = {key}

    def again(status="stored"):
        net = network_of(osm_study)
        assert net.provenance["cache"] == status
        keys.add(net.provenance["cache_key"])
        return net

    assert again("hit").provenance["cache_key"] == key
    # the file: rewritten (same content, new modification time) …
    pbf = osm_study.parent / "grid.osm.pbf"
    data = pbf.read_bytes()
    time.sleep(0.01)
    pbf.write_bytes(data)
    again()
    # … the buffer …
    set_network(osm_study, 'path = "grid.osm.pbf"\nbuffer_m = 300')
    again()
    # … the area …
    outline = gpd.read_file(osm_study.parent / "outline.geojson")
    outline.to_crs(CRS).buffer(-100).to_crs(4326).to_frame("geometry").to_file(
        osm_study.parent / "outline.geojson"
    )
    again()
    assert again("hit").provenance["cache_key"] in keys
    # … and the reader's version (which includes the walk filter)
    import circle15.sources.osm as osm

    monkeypatch.setattr(osm, "OSM_READER_VERSION", osm.OSM_READER_VERSION + "-changed")
    again()
    monkeypatch.setattr(network_cache, "FORMAT_VERSION", network_cache.FORMAT_VERSION + 1)
    again()
    assert len(keys) == 6
    assert len(entries(cache)) == 6


def test_centreline_shapefile_parts_are_part_of_the_key(tmp_path, cache):
    toml = write_small_study(tmp_path / "study")
    roads = write_grid_centrelines(tmp_path / "roads.gpkg")
    shp = tmp_path / "study" / "roads.shp"
    gpd.read_file(roads).to_file(shp)
    set_network(toml, 'path = "roads.shp"\nsource = "centrelines"')
    first = network_of(toml)
    assert network_of(toml).provenance["cache"] == "hit"
    # renaming every road changes only the .dbf: a new entry, with the new names
    frame = gpd.read_file(shp)
    frame["name"] = "renamed"
    time.sleep(0.01)
    frame.to_file(shp)
    renamed = network_of(toml)
    assert renamed.provenance["cache"] == "stored"
    assert renamed.provenance["cache_key"] != first.provenance["cache_key"]


@pytest.mark.parametrize("damage", ["truncate", "flip", "entry", "missing"])
def test_damaged_entry_is_rebuilt_with_a_warning(damage, osm_study, cache):
    fresh = network_of(osm_study, cache=False)
    network_of(osm_study)
    (entry,) = entries(cache)
    edges = entry / "edges.parquet"
    if damage == "truncate":
        edges.write_bytes(edges.read_bytes()[: edges.stat().st_size // 2])
    elif damage == "flip":
        data = bytearray(edges.read_bytes())
        data[len(data) // 3] ^= 0xFF
        edges.write_bytes(bytes(data))
    elif damage == "entry":
        (entry / "entry.json").write_text("{not json", encoding="utf-8")
    else:
        edges.unlink()
    with pytest.warns(Circle15Warning, match="could not be read"):
        study = Study.from_config(osm_study)
    net = study.network
    assert net.provenance["cache"] == "rebuilt"
    assert any("could not be read" in w for w in study.warnings)
    assert_same_network(net, fresh)
    assert network_of(osm_study).provenance["cache"] == "hit"  # the entry was replaced


def test_switched_off_in_the_study_file_and_by_environment(osm_study, cache, monkeypatch):
    set_network(osm_study, 'path = "grid.osm.pbf"\nbuffer_m = 200\ncache = false')
    assert network_of(osm_study).provenance["cache"] == "off"
    assert not entries(cache)
    set_network(osm_study, 'path = "grid.osm.pbf"\nbuffer_m = 200')
    monkeypatch.setenv("CIRCLE15_NO_CACHE", "1")
    assert network_of(osm_study).provenance["cache"] == "off"
    assert not entries(cache)


def test_cli_no_cache_and_the_manifest(osm_study, cache, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(osm_study), "--out", str(out), "--quiet", "--no-cache"]) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["diagnostics"]["network_source"]["cache"] == "off"
    assert not entries(cache)
    for expected in ("stored", "hit"):
        assert main(["run", str(osm_study), "--out", str(out), "--quiet"]) == 0
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        source = manifest["diagnostics"]["network_source"]
        assert source["cache"] == expected
        assert len(source["cache_key"]) == 64
        assert Path(source["cache_entry"]).parent == cache


def test_unwritable_cache_builds_and_says_so(osm_study, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be", encoding="utf-8")
    monkeypatch.setenv("CIRCLE15_CACHE", str(blocker))
    with pytest.warns(Circle15Warning, match="could not store the network"):
        study = Study.from_config(osm_study)
    assert study.network.provenance["cache"] == "not stored"
    assert any("not cached" in w for w in study.warnings)


def test_an_entry_another_process_finished_first_is_kept(tmp_path):
    root = tmp_path / "networks"
    built = []

    def build():
        built.append(1)
        return network_of_small(tmp_path)

    first = cached_network("test", [], {"x": 1}, build, root=root, crs=CRS)
    (entry,) = entries(root)
    stamp = (entry / "entry.json").stat().st_mtime_ns
    # a second process that missed too writes the same entry: the first one stays
    os.utime(entry / "entry.json", ns=(stamp - 10**9, stamp - 10**9))
    network_cache._write_entry(entry, first.provenance["cache_key"], first, "test", [], {"x": 1})
    assert entries(root) == [entry]
    assert (
        cached_network("test", [], {"x": 1}, build, root=root, crs=CRS).provenance["cache"] == "hit"
    )
    assert len(built) == 1
    assert not [p for p in root.iterdir() if p.name.startswith(".")]


def network_of_small(tmp_path: Path):
    toml = write_small_study(tmp_path / "small")
    return Study.from_config(toml).network


_RACE = """
import sys
from pathlib import Path
from circle15 import Study
net = Study.from_config(Path(sys.argv[1])).network
print(net.provenance["cache"], net.n_edges)
"""


def test_two_processes_building_the_same_entry(osm_study, cache):
    env = {**os.environ, "CIRCLE15_CACHE": str(cache.parent)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACE, str(osm_study)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    statuses = sorted(o[0].split()[0] for o in outs)
    assert statuses in (["stored", "stored"], ["hit", "stored"])
    assert len(entries(cache)) == 1
    assert network_of(osm_study).provenance["cache"] == "hit"
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]


def test_cache_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CIRCLE15_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c" / "networks"
    monkeypatch.delenv("CIRCLE15_CACHE")
    import platformdirs

    assert (
        cache_root() == Path(platformdirs.user_cache_dir("circle15", appauthor=False)) / "networks"
    )


def test_a_cached_network_keeps_what_its_reader_warned_about(tmp_path):
    # Oracle: the note the build attached (e.g. "the .dbf has no .cpg; read as GBK") must
    # reach the run warnings again when the network comes from the cache.
    root = tmp_path / "networks"
    note = "roads.dbf: no .cpg; text read as GBK (检测)"

    def build():
        network = network_of_small(tmp_path)
        network.notes.append(note)
        return network

    first = cached_network("test", [], {"x": 2}, build, root=root, crs=CRS)
    again = cached_network("test", [], {"x": 2}, build, root=root, crs=CRS)
    assert first.provenance["cache"] == "stored"
    assert again.provenance["cache"] == "hit"
    assert again.notes.count(note) == 1
