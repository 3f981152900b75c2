"""Table-driven bad inputs: each one ends ``circle15 run`` with exit code 2 and a message
a planner can act on, never a traceback.

Every case starts from the small valid study of ``tests/factories/studies.py`` (real GeoPackage,
GeoJSON and CSV files), breaks one thing the way real files break, runs the command line
and checks the exit code, the key words of the message and that no traceback is printed.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point

from circle15.cli import main
from circle15.sources.chinese_crs import wgs84_to_gcj02

from ..factories.studies import CRS, ORIGIN, append, edit, lonlat, rewrite_layer, write_small_study

X0, Y0 = ORIGIN
TO_WGS = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def facility_csv(folder: Path, name: str, rows: dict) -> None:
    pd.DataFrame(rows).to_csv(folder / name, index=False)


# --------------------------------------------------------------------------------------
# The bad inputs. Each function breaks the study written in ``folder``.


def toml_syntax(d, t):
    append(t, "[study\nname = ")


def unknown_key(d, t):
    edit(t, 'name = "small"', 'name = "small"\nnmae = "typo"')


def wrong_type(d, t):
    append(t, '[analysis]\nmax_snap_m = "far"')


def missing_file(d, t):
    edit(t, 'path = "network.gpkg"', 'path = "streets.gpkg"')


def tiers_not_increasing(d, t):
    append(t, "[categories.kindergarten]\ntiers_min = [10, 5, 15]")


def negative_speed(d, t):
    append(t, "[categories.kindergarten]\nspeed_kmh = -4")


def missing_section(d, t):
    edit(t, '[network]\npath = "network.gpkg"\n', "")


def study_file_gbk(d, t):
    text = t.read_text(encoding="utf-8").replace('title = "Small grid"', 'title = "镇海区"')
    t.write_bytes(text.encode("gbk"))


def unknown_category(d, t):
    edit(t, "[facilities.kindergarten]", "[facilities.library]")


def geographic_study_crs(d, t):
    edit(t, 'crs = "EPSG:32651"', 'crs = "EPSG:4326"')


def unknown_study_crs(d, t):
    edit(t, 'crs = "EPSG:32651"', 'crs = "UTM 51"')


def outline_lines(d, t):
    rewrite_layer(d / "outline.geojson", None, lambda f: f.set_geometry(f.geometry.boundary))


def outline_corrupt(d, t):
    (d / "outline.geojson").write_text(
        '{"type": "FeatureCollection", "features": [{"ty', encoding="utf-8"
    )


def zones_duplicate_names(d, t):
    rewrite_layer(d / "zones.geojson", None, lambda f: f.assign(district="西区"))


def zones_missing_field(d, t):
    edit(t, 'districts = "zones.geojson"', 'districts = "zones.geojson"\ndistrict_field = "街道"')


def network_corrupt(d, t):
    data = (d / "network.gpkg").read_bytes()
    (d / "network.gpkg").write_bytes(data[:3000])


def network_only_motorways(d, t):
    rewrite_layer(d / "network.gpkg", "edges", lambda f: f.assign(highway="motorway"))


def network_missing_nodes(d, t):
    rewrite_layer(d / "network.gpkg", "nodes", lambda f: f.iloc[5:])


def network_elsewhere(d, t):
    rewrite_layer(
        d / "network.gpkg",
        "edges",
        lambda f: (
            f.to_crs(CRS)
            .translate(50_000, 0)
            .to_frame("geometry")
            .join(f.drop(columns="geometry"))
            .pipe(gpd.GeoDataFrame, crs=CRS)
        ),
    )
    rewrite_layer(
        d / "network.gpkg",
        "nodes",
        lambda f: (
            f.to_crs(CRS)
            .translate(50_000, 0)
            .to_frame("geometry")
            .join(f.drop(columns="geometry"))
            .pipe(gpd.GeoDataFrame, crs=CRS)
        ),
    )


def network_edges_are_points(d, t):
    rewrite_layer(
        d / "network.gpkg", "edges", lambda f: f.set_geometry(f.to_crs(CRS).centroid.to_crs(f.crs))
    )


def network_negative_length(d, t):
    rewrite_layer(d / "network.gpkg", "edges", lambda f: f.assign(length=-1.0))


def network_wrong_layer(d, t):
    edit(t, 'path = "network.gpkg"', 'path = "network.gpkg"\nnodes_layer = "junctions"')


def _cells(d, change):
    rewrite_layer(d / "population.gpkg", "cells", change)


def population_negative(d, t):
    def change(f):
        f.loc[3, "age_0"] = -3
        return f

    _cells(d, change)


def population_not_a_number(d, t):
    def change(f):
        f["age_60_plus"] = f["age_60_plus"].astype(str)
        f.loc[7, "age_60_plus"] = "many"
        return f

    _cells(d, change)


def population_blank(d, t):
    def change(f):
        f["pop_total"] = f["pop_total"].astype(float)
        f.loc[2, "pop_total"] = np.nan
        return f

    _cells(d, change)


def population_no_counts(d, t):
    _cells(d, lambda f: f[["cell_id", "geometry"]])


def population_elsewhere(d, t):
    _cells(d, lambda f: f.set_geometry(f.geometry.translate(30_000, 30_000)))


def population_duplicate_ids(d, t):
    _cells(d, lambda f: f.assign(cell_id="C0000"))


def population_mixed_geometries(d, t):
    def change(f):
        geometry = f.geometry.to_numpy().copy()
        geometry[4] = geometry[4].centroid
        return f.set_geometry(gpd.GeoSeries(geometry, crs=f.crs))

    _cells(d, change)


def population_no_crs(d, t):
    frame = gpd.read_file(d / "population.gpkg", layer="cells")
    (d / "population.gpkg").unlink()
    with pytest.warns(UserWarning, match="'crs' was not provided"):  # the broken file we want
        frame.set_crs(None, allow_override=True).to_file(d / "population.gpkg", layer="cells")


def population_all_zero(d, t):
    _cells(d, lambda f: f.assign(**{c: 0 for c in f.columns if c.startswith(("age_", "pop_"))}))


def population_far_from_streets(d, t):
    append(t, "[analysis]\nmax_snap_m = 1")


def facilities_header_only(d, t):
    (d / "kindergarten.csv").write_text("facility_id,name,capacity,lon,lat\n", encoding="utf-8")


def facilities_zero_bytes(d, t):
    (d / "kindergarten.csv").write_bytes(b"")


def _kindergartens(d, **change):
    frame = pd.read_csv(d / "kindergarten.csv")
    frame = pd.concat(
        [frame, frame.assign(facility_id="KI1", name="second", lon=frame["lon"] + 0.001)],
        ignore_index=True,
    )
    for column, values in change.items():
        frame[column] = values
    frame.to_csv(d / "kindergarten.csv", index=False)


def facilities_duplicate_ids(d, t):
    _kindergartens(d, facility_id=["K1", "K1"])


def facilities_negative_capacity(d, t):
    _kindergartens(d, capacity=[90, -90])


def facilities_capacity_not_a_number(d, t):
    _kindergartens(d, capacity=["90", "lots"])


def facilities_blank_coordinates(d, t):
    _kindergartens(d, lat=[29.96, None])


def facilities_swapped_columns(d, t):
    frame = pd.read_csv(d / "kindergarten.csv")
    frame = frame.rename(columns={"lon": "lat", "lat": "lon"})
    frame.to_csv(d / "kindergarten.csv", index=False)


def facilities_far_away(d, t):
    lon, lat = 116.40, 39.90  # Beijing
    facility_csv(
        d,
        "kindergarten.csv",
        {"facility_id": ["K0"], "name": ["k"], "capacity": [90], "lon": [lon], "lat": [lat]},
    )


def facilities_gcj02_declared_wgs84(d, t):
    # eight kindergartens by the streets (2 m off), exported from Amap in GCJ-02
    x = X0 + np.array([100, 300, 500, 700, 200, 400, 600, 800]) + 2.0
    y = Y0 + np.array([150, 350, 550, 750, 450, 250, 650, 850])
    lon, lat = wgs84_to_gcj02(*lonlat(x, y))
    facility_csv(
        d,
        "kindergarten.csv",
        {
            "facility_id": [f"K{i}" for i in range(8)],
            "name": [f"k{i}" for i in range(8)],
            "capacity": [90] * 8,
            "lon": lon,
            "lat": lat,
        },
    )


def facilities_no_coordinates(d, t):
    facility_csv(
        d,
        "kindergarten.csv",
        {"facility_id": ["K0"], "name": ["k"], "capacity": [90], "address": ["1 Road"]},
    )


def facilities_xlsx_corrupt(d, t):
    (d / "kindergarten.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    edit(t, 'path = "kindergarten.csv"', 'path = "kindergarten.xlsx"')


def facilities_geojson_latitude_first(d, t):
    lon, lat = lonlat([X0 + 200], [Y0 + 230])
    gpd.GeoDataFrame(
        {"facility_id": ["K0"], "capacity": [90]}, geometry=[Point(lat[0], lon[0])], crs=4326
    ).to_file(d / "kindergarten.geojson")
    edit(t, 'path = "kindergarten.csv"', 'path = "kindergarten.geojson"')


def facilities_geojson_lines(d, t):
    gpd.GeoDataFrame(
        {"facility_id": ["K0"], "capacity": [90]},
        geometry=[LineString([(X0, Y0), (X0 + 100, Y0)])],
        crs=CRS,
    ).to_file(d / "kindergarten.geojson")
    edit(t, 'path = "kindergarten.csv"', 'path = "kindergarten.geojson"')


def facilities_off_the_streets(d, t):
    lon, lat = lonlat([X0 + 2000], [Y0 + 500])  # 950 m beyond the area, no street there
    facility_csv(
        d,
        "kindergarten.csv",
        {"facility_id": ["K0"], "name": ["k"], "capacity": [90], "lon": lon, "lat": lat},
    )


def facilities_unknown_crs(d, t):
    edit(t, 'path = "kindergarten.csv"', 'path = "kindergarten.csv"\ncrs = "EPSG:99999"')


def facilities_id_field_missing(d, t):
    edit(t, 'path = "kindergarten.csv"', 'path = "kindergarten.csv"\nid_field = "园所代码"')


def facilities_broken_quotes(d, t):
    (d / "kindergarten.csv").write_text(
        'facility_id,name,capacity,lon,lat\nK0,"Sunny,90,121.5,29.9\nK1,x",90,121.5,29.9\n'
        'K2,"a"b"c,1,2,3\n',
        encoding="utf-8",
    )


def facilities_gbk_capacity_text(d, t):
    lon, lat = lonlat([X0 + 200, X0 + 600], [Y0 + 230, Y0 + 630])
    table = pd.DataFrame(
        {
            "编号": ["K0", "K1"],
            "名称": ["阳光幼儿园", "海天幼儿园"],
            "托位": ["120", "很多"],
            "经度": lon,
            "纬度": lat,
        }
    )
    (d / "kindergarten.csv").write_bytes(table.to_csv(index=False).encode("gbk"))


@dataclass(frozen=True)
class Case:
    break_it: Callable[[Path, Path], None]
    words: tuple[str, ...]


CASES = {
    "toml syntax error": Case(toml_syntax, ("study.toml", "not valid TOML")),
    "unknown key": Case(unknown_key, ("study.nmae", "unknown field")),
    "wrong type": Case(wrong_type, ("analysis.max_snap_m", "number")),
    "missing input file": Case(missing_file, ("network.path", "file not found", "streets.gpkg")),
    "tiers not increasing": Case(
        tiers_not_increasing, ("kindergarten", "tiers_min", "strictly increasing")
    ),
    "negative speed": Case(negative_speed, ("speed_kmh", "greater than 0")),
    "missing section": Case(missing_section, ("network", "required field is missing")),
    "study file in GBK": Case(study_file_gbk, ("study.toml", "not UTF-8")),
    "unknown category": Case(unknown_category, ("library", "not a standard category")),
    "study crs in degrees": Case(geographic_study_crs, ("study.crs", "not a projected")),
    "unknown study crs": Case(unknown_study_crs, ("study.crs", "unknown coordinate system")),
    "outline drawn as lines": Case(
        outline_lines, ("boundary outline", "outline.geojson", "LineString", "polygon")
    ),
    "outline file cut short": Case(
        outline_corrupt, ("boundary outline", "outline.geojson", "cannot be read")
    ),
    "sub-district named twice": Case(
        zones_duplicate_names, ("zones.geojson", "西区", "appears twice")
    ),
    "sub-district field missing": Case(zones_missing_field, ("zones.geojson", "街道", "not found")),
    "network file cut short": Case(network_corrupt, ("network", "network.gpkg", "cannot be")),
    "network of motorways only": Case(network_only_motorways, ("network", "no walkable")),
    "network edges without nodes": Case(network_missing_nodes, ("network", "missing from")),
    "network for another area": Case(
        network_elsewhere, ("network", "within the study area", "coordinate system")
    ),
    "network edges are points": Case(network_edges_are_points, ("network", "Point", "line")),
    "network negative lengths": Case(network_negative_length, ("network", "negative length")),
    "network layer misnamed": Case(network_wrong_layer, ("network", "no layer 'junctions'")),
    "negative population": Case(
        population_negative, ("population", "C0003", "age_0 is -3", ">= 0")
    ),
    "population not a number": Case(
        population_not_a_number, ("population", "age_60_plus", "'many'")
    ),
    "population blank": Case(population_blank, ("population", "pop_total", "blank")),
    "population without counts": Case(population_no_counts, ("population", "pop_total", "age_")),
    "population for another area": Case(
        population_elsewhere, ("population", "inside the study area", "coordinate system")
    ),
    "population cell ids repeat": Case(
        population_duplicate_ids, ("population", "C0000", "repeats")
    ),
    "population mixed geometries": Case(
        population_mixed_geometries, ("population", "mixed geometries")
    ),
    "population without CRS": Case(
        population_no_crs, ("population", "no coordinate reference system")
    ),
    "population all zero": Case(population_all_zero, ("population", "0 residents")),
    "population beyond the snap limit": Case(
        population_far_from_streets, ("population", "max_snap_m", "of a street")
    ),
    "facilities header only": Case(facilities_header_only, ("kindergarten", "no facilities")),
    "facilities empty file": Case(
        facilities_zero_bytes, ("kindergarten", "kindergarten.csv", "empty")
    ),
    "duplicate facility ids": Case(
        facilities_duplicate_ids, ("kindergarten", "'K1'", "more than once")
    ),
    "negative capacity": Case(facilities_negative_capacity, ("kindergarten", "row 3", "negative")),
    "capacity not a number": Case(
        facilities_capacity_not_a_number, ("kindergarten", "row 3", "'lots'", "not a number")
    ),
    "blank coordinates": Case(facilities_blank_coordinates, ("kindergarten", "row 3", "lon/lat")),
    "longitude and latitude swapped": Case(facilities_swapped_columns, ("kindergarten", "swapped")),
    "facilities in another city": Case(
        facilities_far_away, ("kindergarten", "of the study area", "crs")
    ),
    "GCJ-02 declared as WGS84": Case(
        facilities_gcj02_declared_wgs84,
        ("kindergarten", "GCJ-02", 'crs = "GCJ-02"', "[facilities.kindergarten]"),
    ),
    "no coordinate columns": Case(
        facilities_no_coordinates, ("kindergarten", "no coordinate column", "address")
    ),
    "workbook that is not one": Case(
        facilities_xlsx_corrupt, ("kindergarten", "kindergarten.xlsx", "cannot be read")
    ),
    "GeoJSON latitude first": Case(
        facilities_geojson_latitude_first, ("kindergarten", "latitude first")
    ),
    "facilities drawn as lines": Case(facilities_geojson_lines, ("kindergarten", "LineString")),
    "facilities beyond the snap limit": Case(
        facilities_off_the_streets, ("kindergarten", "max_snap_m", "of a street")
    ),
    "unknown facility crs": Case(
        facilities_unknown_crs, ("kindergarten", "EPSG:99999", "unknown coordinate system")
    ),
    "named id column missing": Case(
        facilities_id_field_missing, ("kindergarten", "园所代码", "not found")
    ),
    "CSV with broken quotes": Case(facilities_broken_quotes, ("kindergarten", "kindergarten.csv")),
    "GBK table with text capacity": Case(
        facilities_gbk_capacity_text, ("kindergarten", "托位", "'很多'", "not a number")
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_exits_2_with_a_message(name, tmp_path, capsys):
    case = CASES[name]
    toml = write_small_study(tmp_path / "study")
    case.break_it(tmp_path / "study", toml)
    out = tmp_path / "out"
    code = main(["run", str(toml), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert err.startswith("circle15: error: ") and err.count("\n") == 1, err  # one paragraph
    missing = [w for w in case.words if w.lower() not in err.lower()]
    assert not missing, f"{missing} not in: {err}"
    assert "failed while reading" not in err, err  # a known kind of bad file, not a crash
    assert not out.exists() or not any(out.iterdir())  # nothing written for a bad study


def test_bad_input_in_a_real_process(tmp_path):
    """The installed command, not only ``main``: exit code 2, one line, no traceback."""
    toml = write_small_study(tmp_path / "study")
    facilities_duplicate_ids(tmp_path / "study", toml)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "circle15.cli",
            "run",
            str(toml),
            "--out",
            str(tmp_path / "out"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "more than once" in proc.stderr


def test_debug_shows_the_traceback(tmp_path, capsys):
    toml = write_small_study(tmp_path / "study")
    facilities_duplicate_ids(tmp_path / "study", toml)
    code = main(["run", str(toml), "--out", str(tmp_path / "out"), "--quiet", "--debug"])
    assert code == 2 and "Traceback" in capsys.readouterr().err


def test_internal_error_is_reported_as_a_bug(tmp_path, capsys, monkeypatch):
    """A failure that is not about the input says "internal error", exit code 1."""
    import circle15.study

    toml = write_small_study(tmp_path / "study")

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(circle15.study, "nearest_facility", broken)
    code = main(["run", str(toml), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "internal error" in err and "--debug" in err and "Traceback" not in err


def test_gbk_table_is_read_not_garbled(tmp_path):
    """A GBK CSV saved by Chinese Excel is read with its Chinese names intact."""
    from circle15 import Study

    toml = write_small_study(tmp_path)
    lon, lat = lonlat([X0 + 200, X0 + 600], [Y0 + 230, Y0 + 630])
    table = pd.DataFrame(
        {
            "编号": ["K0", "K1"],
            "名称": ["阳光幼儿园", "海天幼儿园"],
            "托位": [120, 80],
            "经度": lon,
            "纬度": lat,
        }
    )
    (tmp_path / "kindergarten.csv").write_bytes(table.to_csv(index=False).encode("gbk"))
    layer = Study.from_config(toml).facilities["kindergarten"].facilities
    assert list(layer["name"]) == ["阳光幼儿园", "海天幼儿园"]
    assert list(layer["capacity"]) == [120.0, 80.0]


def test_shapely_is_the_geometry_oracle_for_the_fixture():
    """The GCJ-02 case's facilities really are 3 m from a street before the shift."""
    x = X0 + np.array([100, 300, 500]) + 3.0
    y = Y0 + np.array([150, 350, 550])
    streets = shapely.MultiLineString(
        [[(X0 + i * 100, Y0), (X0 + i * 100, Y0 + 1000)] for i in range(11)]
    )
    assert np.allclose(shapely.distance(shapely.points(x, y), streets), 3.0)
