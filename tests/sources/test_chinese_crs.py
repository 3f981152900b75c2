"""GCJ-02 / BD-09 conversion against coordinates published by the map services themselves.

Reference pairs (the oracle; none computed by circle15):

- AMap (高德) Web Service API, 坐标转换 (assistant/coordinate/convert), documented example:
  ``locations=116.481499,39.990475|116.481499,39.990375&coordsys=gps`` answers
  ``116.487585177952,39.991754014757;116.487585177952,39.991653917101``
  (WGS84 → GCJ-02, Beijing). https://lbs.amap.com/api/webservice/guide/api/convert
- Alibaba Cloud 地址标准化 TransferCoord API, documented example (Hangzhou, Zhejiang):
  GCJ02 ``120.026268,30.279164`` → BD09 ``120.032768,30.285238``.
  https://help.aliyun.com/zh/address-purification/addrpapi/developer-reference/coordinate-system-conversion
  (its WGS84 value, ``120.021519,30.281543``, is the one-step approximate inverse, 1.7 m
  from the exact one, and is therefore not used as truth for GCJ-02 → WGS84.)
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import CRS, Geod
from shapely.geometry import Polygon

from circle15.errors import InputError
from circle15.sources import chinese_crs as cc

GEOD = Geod(ellps="WGS84")

AMAP_WGS = np.array([[116.481499, 39.990475], [116.481499, 39.990375]])
AMAP_GCJ = np.array([[116.487585177952, 39.991754014757], [116.487585177952, 39.991653917101]])
ALIYUN_GCJ = np.array([[120.026268, 30.279164]])
ALIYUN_BD = np.array([[120.032768, 30.285238]])


def metres(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2]


def test_wgs84_to_gcj02_matches_amap_published_answer():
    lon, lat = cc.wgs84_to_gcj02(AMAP_WGS[:, 0], AMAP_WGS[:, 1])
    assert metres(np.column_stack([lon, lat]), AMAP_GCJ).max() < 0.1


def test_gcj02_to_wgs84_recovers_amap_input_to_a_decimetre():
    # The published pair read backwards: the GCJ-02 answer must lead back to the GPS point.
    lon, lat = cc.gcj02_to_wgs84(AMAP_GCJ[:, 0], AMAP_GCJ[:, 1])
    assert metres(np.column_stack([lon, lat]), AMAP_WGS).max() < 0.1


def test_gcj02_to_bd09_matches_aliyun_published_answer_and_back():
    lon, lat = cc.gcj02_to_bd09(ALIYUN_GCJ[:, 0], ALIYUN_GCJ[:, 1])
    # published values have 6 decimals (about 0.1 m)
    assert metres(np.column_stack([lon, lat]), ALIYUN_BD).max() < 0.15
    back = np.column_stack(cc.bd09_to_gcj02(ALIYUN_BD[:, 0], ALIYUN_BD[:, 1]))
    assert metres(back, ALIYUN_GCJ).max() < 0.15


def test_round_trips_are_below_a_millimetre_over_china():
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(74, 134, 20_000), rng.uniform(18, 53, 20_000)
    wgs = np.column_stack([lon, lat])
    gcj = np.column_stack(cc.wgs84_to_gcj02(lon, lat))
    bd = np.column_stack(cc.wgs84_to_bd09(lon, lat))
    # the offsets are real (tens to hundreds of metres) ...
    assert metres(wgs, gcj).min() > 10 and metres(wgs, bd).min() > 10
    # ... and undone exactly
    assert metres(np.column_stack(cc.gcj02_to_wgs84(gcj[:, 0], gcj[:, 1])), wgs).max() < 1e-3
    assert metres(np.column_stack(cc.bd09_to_wgs84(bd[:, 0], bd[:, 1])), wgs).max() < 1e-3


def test_outside_china_gcj02_is_the_identity():
    lon, lat = cc.gcj02_to_wgs84([24.94], [60.17])  # Helsinki
    assert lon[0] == 24.94 and lat[0] == 60.17


def test_polygon_vertices_move_and_keep_holes():
    outer = [(121.60, 29.95), (121.65, 29.95), (121.65, 30.00), (121.60, 30.00)]
    hole = [(121.62, 29.97), (121.63, 29.97), (121.63, 29.98)]
    poly = Polygon(outer, [hole])
    gcj = shapely.transform(poly, lambda xy: np.column_stack(cc.wgs84_to_gcj02(xy[:, 0], xy[:, 1])))
    back = cc.geometries_to_wgs84(np.array([gcj]), "GCJ-02")[0]
    assert len(back.interiors) == 1
    moved = shapely.get_coordinates(back)
    assert metres(moved, shapely.get_coordinates(poly)).max() < 1e-3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GCJ-02", "GCJ-02"),
        ("gcj02", "GCJ-02"),
        ("高德", "GCJ-02"),
        ("Tencent", "GCJ-02"),
        ("BD-09", "BD-09"),
        ("bd09ll", "BD-09"),
        ("百度", "BD-09"),
    ],
)
def test_offset_system_names(text, expected):
    assert cc.parse_crs(text) == expected


def test_plain_crs_names():
    assert cc.parse_crs("WGS84") == CRS.from_epsg(4326)
    assert cc.parse_crs("CGCS2000") == CRS.from_epsg(4490)
    assert cc.parse_crs("EPSG:4549").to_epsg() == 4549
    with pytest.raises(InputError, match="unknown coordinate system 'Mars-99'"):
        cc.parse_crs("Mars-99", "facilities.x.crs")
