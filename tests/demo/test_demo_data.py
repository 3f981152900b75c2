"""The committed demo data: rebuilt by its seeded code, checked against real references."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

from circle15.demo import census
from circle15.demo.build import build_demo
from circle15.demo.locate import repository_data_dir

DATA = repository_data_dir()


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    out = tmp_path_factory.mktemp("rebuilt")
    build_demo(out)
    return out


def _files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_the_seeded_builder_reproduces_the_committed_demo(rebuilt):
    assert _files(rebuilt) == _files(DATA)
    for rel in _files(DATA):
        if rel.suffix == ".gpkg":
            # GeoPackages are compared by content: the container may differ between GDAL
            # builds, the data may not.
            for layer, _ in pyogrio.list_layers(DATA / rel):
                a = gpd.read_file(DATA / rel, layer=layer)
                b = gpd.read_file(rebuilt / rel, layer=layer)
                pd.testing.assert_frame_equal(
                    a.drop(columns="geometry"), b.drop(columns="geometry")
                )
                assert (a.geometry.to_wkb() == b.geometry.to_wkb()).all(), rel
        else:
            assert (DATA / rel).read_bytes() == (rebuilt / rel).read_bytes(), rel


def test_every_synthetic_file_says_so():
    for path in DATA.rglob("*"):
        if path.suffix == ".csv":
            assert set(pd.read_csv(path)["provenance"]) == {"synthetic"}, path
        elif path.suffix == ".gpkg":
            for layer, _ in pyogrio.list_layers(path):
                frame = gpd.read_file(path, layer=layer)
                assert frame["provenance"].str.startswith("synthetic").all(), (path, layer)
        elif path.name.endswith("_synthetic.geojson"):
            props = json.loads(path.read_text(encoding="utf-8"))["features"][0]["properties"]
            assert props["provenance"].startswith("synthetic")
    assert "synthetic" in (DATA / "README.md").read_text(encoding="utf-8").lower()
    assert "synthetic = true" in (DATA / "zhenhai.toml").read_text(encoding="utf-8")


def test_demo_population_matches_census_bands_exactly():
    cells = gpd.read_file(DATA / "population" / "zhenhai_population_200m_synthetic.gpkg")
    for column, count in census.BANDS.items():
        assert cells[column].sum() == count, column
    assert cells["pop_total"].sum() == 531_830
    assert (cells[list(census.BANDS)].sum(axis=1) == cells["pop_total"]).all()


def test_demo_size_is_small():
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert total < 20 * 1024 * 1024


def test_census_constants_match_the_census_table(shared_data):
    table = pd.read_csv(shared_data / "population" / "ningbo_counties_census2020_leiii.csv")
    row = table[table["区划代码"] == 330211].iloc[0]
    both = lambda band: row[f"男_{band}"] + row[f"女_{band}"]  # noqa: E731
    assert row["人口数_合计"] == census.TOTAL
    assert both("0岁") == census.AGE_0
    assert both("1到4岁") == census.AGE_1_4
    assert both("5到9岁") == census.AGE_5_9
    assert both("10到14岁") == census.AGE_10_14
    old = ["60到64岁", "65到69岁", "70到74岁", "75到79岁", "80到84岁", "85岁以上"]
    assert sum(both(b) for b in old) == census.AGE_60_PLUS


def test_demo_outline_is_the_real_tianditu_outline(shared_data):
    ours = gpd.read_file(DATA / "boundaries" / "zhenhai_outline.geojson").to_crs(32651)
    ref = gpd.read_file(shared_data / "boundaries" / "zhenhai_330211_tianditu_cgcs2000.geojson")
    ref = ref.to_crs(32651)
    a, b = ours.geometry.union_all(), ref.geometry.union_all()
    iou = a.intersection(b).area / a.union(b).area
    assert iou > 0.999
    assert a.area / 1e6 == pytest.approx(244.5, abs=0.5)  # data README: ≈244.5 km²


def test_demo_schools_are_plausible_against_osm(shared_data):
    # Real OSM schools in Zhenhai lie inside the demo outline (same district, same frame).
    osm = gpd.read_file(
        shared_data / "facilities" / "zhenhai_osm_school_hospital_commercial_points_wgs84.geojson"
    )
    outline = gpd.read_file(DATA / "boundaries" / "zhenhai_outline.geojson")
    schools = osm[osm.astype(str).apply(lambda r: r.str.contains("school").any(), axis=1)]
    inside = schools.within(outline.geometry.iloc[0].buffer(0.01))
    assert len(schools) >= 20 and inside.mean() > 0.9
    assert np.isfinite(schools.geometry.x).all()
