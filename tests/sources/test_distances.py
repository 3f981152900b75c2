"""Distances are true: a study CRS that stretches lengths in the study area is refused with
the UTM zone to use, and a network of zero-length streets is refused.

Oracles are hand formulas of map projections: the scale of Mercator (spherical, as
EPSG:3857 is) at latitude φ is sec φ; the scale of a transverse Mercator (UTM) at angular
distance from its central meridian is about ``k0 / sqrt(1 - (cos φ sin Δλ)²)``.
"""

from __future__ import annotations

import math
import re

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from circle15.cli import main
from circle15.errors import InputError
from circle15.sources.crs import MAX_SCALE_ERROR, study_crs

from ..factories.studies import write_small_study


@pytest.fixture(scope="module")
def outline(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study")
    write_small_study(folder)
    return gpd.read_file(folder / "outline.geojson")


def utm_scale(lon: float, lat: float, zone: int) -> float:
    central = -183 + 6 * zone
    b = math.cos(math.radians(lat)) * math.sin(math.radians(lon - central))
    return 0.9996 / math.sqrt(1 - b * b)


def test_web_mercator_is_refused_with_the_utm_zone(outline):
    _, lat = outline.to_crs(4326).union_all().centroid.coords[0]
    with pytest.raises(InputError) as caught:
        study_crs(outline, "EPSG:3857")
    message = str(caught.value)
    assert "EPSG:32651" in message and "UTM zone 51N" in message and "study.crs" in message
    shown = float(re.search(r"scale error ([\d.]+)%", message).group(1)) / 100
    assert shown == pytest.approx(1 / math.cos(math.radians(lat)) - 1, abs=0.002)


@pytest.mark.parametrize(
    ("code", "zone"),
    [
        ("EPSG:32651", 51),
        ("EPSG:32650", 50),
        ("EPSG:32652", 52),
        ("EPSG:32631", 31),
        ("EPSG:32645", 45),
    ],
)
def test_utm_zones_are_judged_by_their_scale_in_the_area(outline, code, zone):
    lon, lat = outline.to_crs(4326).union_all().centroid.coords[0]
    error = abs(utm_scale(lon, lat, zone) - 1)
    if error > MAX_SCALE_ERROR * 1.05:
        with pytest.raises(InputError, match="EPSG:32651"):
            study_crs(outline, code)
    elif error < MAX_SCALE_ERROR * 0.95:
        assert study_crs(outline, code).to_epsg() == int(code.split(":")[1])


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("EPSG:4326", "not a projected CRS"),
        ("EPSG:4490", "not a projected CRS"),  # CGCS2000 in degrees
        ("EPSG:2263", "not metres"),  # US survey feet
        ("EPSG:3035", "does not keep distances"),  # LAEA Europe, far from its centre
        ("ESRI:102025", "does not keep distances"),  # Asia North Albers: 7 % off here
        ("EPSG:3395", "does not keep distances"),  # World Mercator
    ],
)
def test_other_crs_that_falsify_distances(outline, code, words):
    with pytest.raises(InputError, match=words):
        study_crs(outline, code)


def test_cgcs2000_gauss_kruger_zone_is_accepted(outline):
    assert study_crs(outline, "EPSG:4549").to_epsg() == 4549  # CM 120°E, 3° zone 40


def test_an_area_too_wide_for_one_utm_zone(tmp_path):
    wide = gpd.GeoDataFrame({"name": ["wide"]}, geometry=[box(100, 25, 130, 35)], crs=4326)
    with pytest.raises(InputError, match="spans too many degrees"):
        study_crs(wide)


def test_web_mercator_study_exits_2_naming_the_utm_zone(tmp_path, capsys):
    toml = write_small_study(tmp_path / "study")
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('crs = "EPSG:32651"', 'crs = "EPSG:3857"'),
        encoding="utf-8",
    )
    assert main(["run", str(toml), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "EPSG:3857" in err and "EPSG:32651" in err and "Traceback" not in err


def test_a_network_of_zero_length_streets_is_refused(tmp_path, capsys):
    toml = write_small_study(tmp_path / "study")
    network = tmp_path / "study" / "network.gpkg"
    nodes = gpd.read_file(network, layer="nodes")
    edges = gpd.read_file(network, layer="edges")
    edges["length"] = 0.0
    network.unlink()
    nodes.to_file(network, layer="nodes")
    edges.to_file(network, layer="edges")
    assert np.all(gpd.read_file(network, layer="edges")["length"] == 0)
    assert main(["run", str(toml), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"all {len(edges):,} of its street segments have length 0" in err
    assert not (tmp_path / "out").exists()
