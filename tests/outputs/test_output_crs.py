"""``[outputs] crs``: coordinates in the tables in the planner's own system, named as such.

Oracle: the published GCJ-02 formula (Krasovsky 1940 ellipsoid, a = 6378245 m,
e² = 0.00669342162296594323) and Baidu's BD-09 step, written out here in plain Python,
independently of the C code circle15 calls.
"""

from __future__ import annotations

import math

import numpy as np
import openpyxl
import pandas as pd
import pytest
from pyproj import Transformer

from circle15.cli import main
from circle15.errors import InputError
from circle15.outputs.coordinates import output_crs

from ..factories.studies import write_small_study

A, EE = 6378245.0, 0.00669342162296594323


def _lat(x: float, y: float) -> float:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2 / 3
    return r


def _lon(x: float, y: float) -> float:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    return r


def gcj02(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 to GCJ-02 by the published formula."""
    dlat, dlon = _lat(lon - 105.0, lat - 35.0), _lon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = dlat * 180.0 / ((A * (1 - EE)) / (magic * sqrt_magic) * math.pi)
    dlon = dlon * 180.0 / (A / sqrt_magic * math.cos(rad) * math.pi)
    return lon + dlon, lat + dlat


def bd09(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 to BD-09: GCJ-02, then Baidu's rotation and shift."""
    x, y = gcj02(lon, lat)
    x_pi = math.pi * 3000.0 / 180.0
    z = math.sqrt(x * x + y * y) + 0.00002 * math.sin(y * x_pi)
    theta = math.atan2(y, x) + 0.000003 * math.cos(x * x_pi)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


#: Zhenhai district government (WGS84), and the Tiananmen flag pole.
POINTS = [(121.7166, 29.9489), (116.391275, 39.906217)]


@pytest.mark.parametrize("declared", ["GCJ-02", "gcj02", "amap", "高德"])
def test_gcj02_output_matches_the_published_formula(declared: str) -> None:
    out = output_crs(declared)
    assert out.columns == ("lon_gcj02", "lat_gcj02") and "GCJ-02" in out.description
    lon, lat = np.array(POINTS).T
    x, y = out.from_lonlat(lon, lat)
    for (lo, la), a, b in zip(POINTS, x, y, strict=True):
        want = gcj02(lo, la)
        assert (a, b) == pytest.approx(want, abs=1e-6)  # written to 6 decimals (~0.1 m)
        # and the shift is the 100-700 m everyone knows, not nothing
        assert 1e-4 < math.hypot(a - lo, b - la) < 1e-2


def test_gcj02_output_round_trips_to_the_wgs84_point() -> None:
    from circle15.sources.chinese_crs import gcj02_to_wgs84

    lon, lat = np.array(POINTS).T
    x, y = output_crs("GCJ-02").from_lonlat(lon, lat)
    back_lon, back_lat = gcj02_to_wgs84(x, y)
    # 6 decimals written: back to the point within the rounding (< 0.2 m)
    np.testing.assert_allclose(back_lon, lon, atol=1e-6)
    np.testing.assert_allclose(back_lat, lat, atol=1e-6)


def test_bd09_cgcs2000_projected_and_default_outputs() -> None:
    lon, lat = POINTS[0]
    out = output_crs("BD-09")
    assert out.columns == ("lon_bd09", "lat_bd09")
    x, y = out.from_lonlat(np.array([lon]), np.array([lat]))
    assert (x[0], y[0]) == pytest.approx(bd09(lon, lat), abs=1e-6)
    assert output_crs(None).columns == ("lon_wgs84", "lat_wgs84")
    assert output_crs("CGCS2000").columns == ("lon_cgcs2000", "lat_cgcs2000")
    gk = output_crs("EPSG:4549")  # CGCS2000 / 3-degree Gauss-Kruger CM 120E, metres
    assert gk.columns == ("x_epsg4549", "y_epsg4549") and "metres" in gk.description
    e, n = gk.from_lonlat(np.array([lon]), np.array([lat]))
    want = Transformer.from_crs(4326, 4549, always_xy=True).transform(lon, lat)
    assert (e[0], n[0]) == pytest.approx(want, abs=0.01)
    with pytest.raises(InputError, match=r"outputs\.crs: unknown coordinate system"):
        output_crs("Mars-99")


@pytest.fixture(scope="module")
def gcj_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gcj")
    toml = write_small_study(folder / "study")
    toml.write_text(
        toml.read_text(encoding="utf-8") + '\n[outputs]\ncrs = "GCJ-02"\n', encoding="utf-8"
    )
    out = folder / "out"
    assert main(["run", str(toml), "--out", str(out), "--quiet"]) == 0
    return toml, out


def test_workbook_writes_gcj02_columns_and_says_so(gcj_run) -> None:
    toml, out = gcj_run
    facilities = pd.read_excel(out / "results.xlsx", sheet_name="facilities", engine="openpyxl")
    assert {"lon_gcj02", "lat_gcj02"} <= set(facilities.columns)
    assert "lon" not in facilities.columns and "lon_wgs84" not in facilities.columns
    # the facilities were given in WGS84 in the study's CSV: each lands on the formula's
    # GCJ-02 position of its own point
    given = pd.concat(
        [pd.read_csv(toml.parent / f"{k}.csv") for k in ("kindergarten", "elderly_canteen")]
    ).set_index("facility_id")
    for _, row in facilities.iterrows():
        want = gcj02(given.loc[row["facility_id"], "lon"], given.loc[row["facility_id"], "lat"])
        assert (row["lon_gcj02"], row["lat_gcj02"]) == pytest.approx(want, abs=2e-6)
    gaps = pd.read_excel(out / "results.xlsx", sheet_name="gaps", engine="openpyxl")
    assert {"lon_gcj02", "lat_gcj02"} <= set(gaps.columns)
    about = openpyxl.load_workbook(out / "results.xlsx")["about"]
    lines = {row[0].value: row[1].value for row in about.iter_rows(min_row=2)}
    assert "lon_gcj02, lat_gcj02" in lines["coordinates"]
    assert "GCJ-02 (Amap/高德" in lines["coordinates"] and '"GCJ-02"' in lines["coordinates"]


def test_sites_csv_writes_the_output_system(gcj_run, tmp_path) -> None:
    toml, _ = gcj_run
    out = tmp_path / "sites"
    assert (
        main(
            [
                "sites",
                str(toml),
                "--category",
                "elderly_canteen",
                "--add",
                "1",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    table = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    assert list(table.columns[4:6]) == ["lon_gcj02", "lat_gcj02"]
    # within a few hundred metres of the study's WGS84 area, shifted east and north
    assert 121.5 < table["lon_gcj02"].iloc[0] < 121.7


def test_a_wrong_output_system_stops_before_any_work(tmp_path, capsys) -> None:
    toml = write_small_study(tmp_path / "study")
    toml.write_text(
        toml.read_text(encoding="utf-8") + '\n[outputs]\ncrs = "Mars-99"\n', encoding="utf-8"
    )
    assert main(["run", str(toml), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "study.toml: outputs.crs: unknown coordinate system 'Mars-99'" in err
    assert "GCJ-02" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "districts.csv").exists()
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('crs = "Mars-99"', 'crs = "GCJ-02"\ncrss = 1'),
        encoding="utf-8",
    )
    assert main(["run", str(toml), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "outputs.crss" in capsys.readouterr().err
