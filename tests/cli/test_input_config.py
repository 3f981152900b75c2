"""Study-file fields for real data: what is required, and errors that name the fix."""

from __future__ import annotations

import pytest

from circle15 import Study
from circle15.cli import main
from circle15.errors import ConfigError

from ..factories.studies import edit, write_small_study


def test_boundary_needs_an_outline_an_adcode_or_a_name(tmp_path):
    toml = write_small_study(tmp_path)
    edit(toml, 'outline = "outline.geojson"\n', "")
    with pytest.raises(ConfigError, match='adcode = "330211" or name'):
        Study.from_config(toml)


def test_table_facilities_need_a_path(tmp_path):
    toml = write_small_study(tmp_path)
    edit(toml, 'path = "kindergarten.csv"', 'capacity_field = "capacity"')
    with pytest.raises(ConfigError, match=r"facilities.kindergarten.path: required.*osm"):
        Study.from_config(toml)


def test_osm_facilities_need_an_osm_file(tmp_path, capsys):
    toml = write_small_study(tmp_path)
    edit(toml, 'path = "kindergarten.csv"', 'source = "osm"')
    code = main(["run", str(toml), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "needs an OpenStreetMap file" in err and "Traceback" not in err


def test_unknown_network_source_is_named(tmp_path):
    toml = write_small_study(tmp_path)
    edit(toml, 'path = "network.gpkg"', 'path = "network.gpkg"\nsource = "shapefile"')
    with pytest.raises(ConfigError, match=r"network\.source"):
        Study.from_config(toml)


def test_gpkg_without_nodes_and_edges_is_read_as_centrelines(tmp_path):
    import geopandas as gpd

    toml = write_small_study(tmp_path)
    edges = gpd.read_file(tmp_path / "network.gpkg", layer="edges")
    edges[["highway", "geometry"]].to_file(tmp_path / "roads.gpkg", layer="roads")
    edit(toml, 'path = "network.gpkg"', 'path = "roads.gpkg"')
    study = Study.from_config(toml)
    assert study.network.n_nodes == 121 and study.network.n_edges == 220
