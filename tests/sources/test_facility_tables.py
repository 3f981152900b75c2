"""Planners' facility tables: Chinese headers, GBK, GCJ-02/BD-09, XLSX, GIS files, duplicates.

Truth is set by hand in projected metres on the small test grid near Zhenhai (streets
every 100 m); the tables are written the way Chinese offices write them, and the reader
must put every facility back within 1 m of that truth, on the right street.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import CRS, Transformer
from shapely.geometry import Point, box

from circle15 import Study
from circle15.errors import InputError
from circle15.sources.chinese_crs import wgs84_to_bd09, wgs84_to_gcj02
from circle15.sources.facilities import read_facilities

from ..factories.studies import ORIGIN, write_small_study

UTM = CRS.from_epsg(32651)
TO_WGS = Transformer.from_crs(UTM, 4326, always_xy=True)
X0, Y0 = ORIGIN
# On streets: x = 200 (a north-south street), y = 700 (an east-west street), a junction.
TRUTH = np.array([[X0 + 200, Y0 + 230], [X0 + 640, Y0 + 700], [X0 + 900, Y0 + 400]])
NAMES = ["蛟川托育园", "骆驼街道托育中心", "庄市托育点"]


def truth_lonlat() -> tuple[np.ndarray, np.ndarray]:
    lon, lat = TO_WGS.transform(TRUTH[:, 0], TRUTH[:, 1])
    return np.asarray(lon), np.asarray(lat)


def offset_table(system: str) -> pd.DataFrame:
    lon, lat = truth_lonlat()
    lon, lat = (wgs84_to_gcj02 if system == "GCJ-02" else wgs84_to_bd09)(lon, lat)
    return pd.DataFrame(
        {
            "编号": ["T1", "T2", "T3"],
            "名称": NAMES,
            "托位": [60, 45, 30],
            "经度": np.round(lon, 7),
            "纬度": np.round(lat, 7),
        }
    )


def distance_to_truth(layer) -> np.ndarray:
    xy = np.column_stack([layer.facilities.geometry.x, layer.facilities.geometry.y])
    return np.hypot(*(xy - TRUTH).T)


def test_gbk_gcj02_csv_with_chinese_headers_lands_within_1m(tmp_path):
    path = tmp_path / "托育机构.csv"
    offset_table("GCJ-02").to_csv(path, index=False, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_text(encoding="utf-8")  # really GBK, as Excel on Chinese Windows saves it
    layer = read_facilities(path, "childcare", UTM, source_crs="GCJ-02")
    assert distance_to_truth(layer).max() < 1.0
    assert list(layer.facilities["name"]) == NAMES
    assert list(layer.facilities["capacity"]) == [60, 45, 30]
    assert list(layer.facilities["facility_id"]) == ["T1", "T2", "T3"]
    # Read as if it were WGS84, the same table is hundreds of metres off: the test bites.
    wrong = read_facilities(path, "childcare", UTM, source_crs="WGS84")
    assert distance_to_truth(wrong).min() > 100


def test_bd09_xlsx_lands_within_1m(tmp_path):
    path = tmp_path / "canteens.xlsx"
    table = offset_table("BD-09").rename(
        columns={"经度": "lng", "纬度": "lat", "托位": "餐位", "名称": "name"}
    )
    table.to_excel(path, index=False)
    layer = read_facilities(path, "elderly_canteen", UTM, source_crs="baidu")
    assert distance_to_truth(layer).max() < 1.0
    assert list(layer.facilities["capacity"]) == [60, 45, 30]


def test_gcj02_study_gives_the_same_walking_times_as_wgs84(tmp_path):
    """End to end: the study run on the GCJ-02 GBK table equals the run on WGS84 truth."""
    toml = write_small_study(tmp_path, facilities={"childcare": [tuple(p) for p in TRUTH]})
    truth_run = Study.from_config(toml).run()
    offset_table("GCJ-02").to_csv(tmp_path / "childcare_gcj.csv", index=False, encoding="gbk")
    text = toml.read_text(encoding="utf-8").replace(
        'path = "childcare.csv"', 'path = "childcare_gcj.csv"\ncrs = "GCJ-02"'
    )
    toml.write_text(text, encoding="utf-8")
    gcj_run = Study.from_config(toml).run()
    f = gcj_run.facilities
    assert (f["snap_m"] < 1.0).all()  # on the street, not beside it
    np.testing.assert_allclose(
        gcj_run.cells["t_childcare"], truth_run.cells["t_childcare"], atol=1.0 / (4000 / 60)
    )  # within 1 m of walking


def test_single_location_column_and_generated_ids(tmp_path):
    lon, lat = truth_lonlat()
    path = tmp_path / "amap_poi.csv"
    pd.DataFrame(
        {
            "name": NAMES,
            "location": [
                f"{a:.7f},{b:.7f}" for a, b in zip(*wgs84_to_gcj02(lon, lat), strict=True)
            ],
        }
    ).to_csv(path, index=False)
    layer = read_facilities(path, "childcare", UTM, source_crs="amap")
    assert distance_to_truth(layer).max() < 1.0
    assert list(layer.facilities["facility_id"]) == ["childcare-2", "childcare-3", "childcare-4"]


def test_exact_duplicate_rows_are_dropped_and_noted(tmp_path):
    table = offset_table("GCJ-02")
    path = tmp_path / "dup.csv"
    pd.concat([table, table.iloc[[1]]]).to_csv(path, index=False)
    layer = read_facilities(path, "childcare", UTM, source_crs="GCJ-02")
    assert len(layer) == 3
    assert "1 row(s)" in layer.notes[0]


def test_same_id_different_rows_is_an_error_naming_the_rows(tmp_path):
    table = offset_table("GCJ-02")
    table.loc[2, "编号"] = "T1"
    path = tmp_path / "dup.csv"
    table.to_csv(path, index=False)
    with pytest.raises(InputError, match=r"'T1' is used more than once \(rows 2 \(蛟川托育园\), 4"):
        read_facilities(path, "childcare", UTM, source_crs="GCJ-02")


def test_swapped_columns_are_caught(tmp_path):
    table = offset_table("GCJ-02").rename(columns={"经度": "纬度", "纬度": "经度"})
    path = tmp_path / "swapped.csv"
    table.to_csv(path, index=False)
    with pytest.raises(InputError, match="look swapped"):
        read_facilities(path, "childcare", UTM, source_crs="GCJ-02")


def test_gauss_kruger_x_is_northing_is_caught_and_fixed(tmp_path):
    # CGCS2000 3-degree Gauss-Kruger CM 120E (EPSG:4549), as Chinese survey tables give it:
    # X is the northing, Y the easting.
    gk = Transformer.from_crs(UTM, 4549, always_xy=True)
    east, north = gk.transform(TRUTH[:, 0], TRUTH[:, 1])
    path = tmp_path / "survey.csv"
    pd.DataFrame({"名称": NAMES, "X": north, "Y": east}).to_csv(path, index=False)
    with pytest.raises(InputError, match='lon_field = "Y" and lat_field = "X"'):
        read_facilities(path, "childcare", UTM, source_crs="EPSG:4549")
    layer = read_facilities(
        path, "childcare", UTM, source_crs="EPSG:4549", lon_field="Y", lat_field="X"
    )
    assert distance_to_truth(layer).max() < 0.01


def test_polygons_become_a_point_inside_and_cgcs2000_geojson_is_read(tmp_path):
    squares = [box(x - 40, y - 30, x + 40, y + 30) for x, y in TRUTH]
    frame = gpd.GeoDataFrame(
        {"名称": NAMES, "学位": [300, 450, 600]}, geometry=squares, crs=UTM
    ).to_crs(4490)
    path = tmp_path / "schools.geojson"
    frame.to_file(path)
    layer = read_facilities(path, "primary_school", UTM)
    inside = layer.facilities.geometry.within(gpd.GeoSeries(squares, crs=UTM).buffer(1e-6))
    assert inside.all()
    assert list(layer.facilities["capacity"]) == [300, 450, 600]


def test_gcj02_geojson_and_shapefile_without_prj(tmp_path):
    lon, lat = wgs84_to_gcj02(*truth_lonlat())
    frame = gpd.GeoDataFrame(
        {"name": NAMES}, geometry=[Point(a, b) for a, b in zip(lon, lat, strict=True)], crs=4326
    )
    frame.to_file(tmp_path / "amap.geojson")
    layer = read_facilities(tmp_path / "amap.geojson", "childcare", UTM, source_crs="GCJ-02")
    assert distance_to_truth(layer).max() < 1.0
    frame.to_file(tmp_path / "noprj.shp")
    (tmp_path / "noprj.prj").unlink()
    with pytest.raises(InputError, match="no coordinate reference system"):
        read_facilities(tmp_path / "noprj.shp", "childcare", UTM)
    layer = read_facilities(tmp_path / "noprj.shp", "childcare", UTM, source_crs="GCJ-02")
    assert distance_to_truth(layer).max() < 1.0


def test_missing_coordinates_name_the_columns_found(tmp_path):
    path = tmp_path / "nocoords.csv"
    pd.DataFrame({"名称": NAMES, "地址": ["a", "b", "c"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"no coordinate column.*columns are: 名称, 地址"):
        read_facilities(path, "childcare", UTM)
