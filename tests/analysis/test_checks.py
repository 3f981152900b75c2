"""Data checks against hand-worked oracles: population stranded on network pieces, the
GCJ-02 offset of facilities, and warnings that reach the CLI, the manifest and the report.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circle15 import Study
from circle15.checks import coordinate_offset, population_without_facility
from circle15.cli import main
from circle15.config import load_config
from circle15.demo.locate import demo_config_path
from circle15.sources.chinese_crs import wgs84_to_gcj02
from circle15.sources.inputs import read_inputs

from ..factories.studies import CRS, ORIGIN, N, lonlat, rewrite_layer, write_small_study

X0, Y0 = ORIGIN


def test_population_on_pieces_without_a_facility_by_hand(tmp_path):
    """Cut the 11 x 11 street grid between columns 5 and 6: two pieces.

    Cells of columns 6-9 hang from the streets of columns 6-9 (30 m west of each
    centre), on the east piece, where no kindergarten stands (the only one is at x = 200).
    By hand: 4 columns x 10 rows = 40 cells, each with 2/4 of age band 1-4 (4 residents)
    and 1/5 of band 5-9 (5) aged 3-5, i.e. 3 children: 120. Both pieces hold an elderly
    canteen (x = 100 and x = 800): 0.
    """
    toml = write_small_study(tmp_path)
    west = {1000 + 5 * N + j for j in range(N)}
    east = {1000 + 6 * N + j for j in range(N)}
    rewrite_layer(
        tmp_path / "network.gpkg", "edges", lambda e: e[~(e["u"].isin(west) & e["v"].isin(east))]
    )
    result = Study.from_config(toml).run()
    stranded = result.diagnostics["population_without_facility"]
    assert stranded["kindergarten"] == 120.0
    assert stranded["elderly_canteen"] == 0.0
    assert result.diagnostics["network_pieces"] == 2
    assert result.diagnostics["unreachable_population"]["kindergarten"] == 120.0
    assert any(
        "pieces without any facility" in w and "Kindergarten 120" in w
        for w in result.diagnostics["warnings"]
    )


def test_population_without_facility_on_arrays():
    piece = np.array([0, 0, 1, 2, -1])
    cohort = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    assert population_without_facility(piece, np.array([0]), cohort) == 12.0  # 4 + 8
    assert population_without_facility(piece, np.array([0, 1, 2]), cohort) == 0.0


def _demo_inputs():
    return read_inputs(load_config(demo_config_path()))


def test_gcj02_offset_found_only_where_it_was_made():
    """The demo network is the oracle: facilities put 0-20 m from its streets and shifted to
    GCJ-02 (as an Amap export would be) are found; the demo's facilities as read, which are
    WGS84 by construction, are not."""
    found = _demo_inputs()
    streets = shapely.STRtree(found.network.edges.geometry.to_numpy())
    rng = np.random.default_rng(8)
    for key, layer in found.facilities.items():
        points = layer.facilities.geometry.to_numpy()
        as_read = coordinate_offset(points, found.crs, streets, "WGS84")
        assert not any(f.detected for f in as_read), key
        near, _ = streets.query_nearest(points, all_matches=False)
        lines = streets.geometries[near[1]]
        foot = shapely.line_interpolate_point(lines, shapely.line_locate_point(lines, points))
        angle, r = rng.uniform(0, 2 * np.pi, len(points)), rng.uniform(0, 20, len(points))
        true = shapely.points(
            shapely.get_x(foot) + r * np.cos(angle), shapely.get_y(foot) + r * np.sin(angle)
        )
        wgs = gpd.GeoSeries(true, crs=found.crs).to_crs(4326)
        lon, lat = wgs84_to_gcj02(wgs.x.to_numpy(), wgs.y.to_numpy())
        shifted = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(found.crs)
        findings = {
            f.other: f for f in coordinate_offset(shifted.to_numpy(), found.crs, streets, "WGS84")
        }
        assert findings["GCJ-02"].detected, key
        assert findings["GCJ-02"].as_other_m < 21  # back on the streets, within 20 m
        assert 300 < findings["GCJ-02"].shift_m < 700  # the GCJ-02 offset around Ningbo
        assert "BD-09" not in findings or not findings["BD-09"].detected


def test_explicit_wgs84_turns_the_offset_error_into_a_warning(tmp_path, capsys):
    toml = write_small_study(tmp_path)
    x = X0 + np.array([100, 300, 500, 700, 200, 400, 600, 800]) + 2.0
    y = Y0 + np.array([150, 350, 550, 750, 450, 250, 650, 850])
    lon, lat = wgs84_to_gcj02(*lonlat(x, y))
    pd.DataFrame(
        {"facility_id": [f"K{i}" for i in range(8)], "capacity": 90, "lon": lon, "lat": lat}
    ).to_csv(tmp_path / "kindergarten.csv", index=False)
    text = toml.read_text(encoding="utf-8").replace(
        'path = "kindergarten.csv"', 'path = "kindergarten.csv"\ncrs = "WGS84"'
    )
    toml.write_text(text, encoding="utf-8")
    assert main(["run", str(toml), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "WARNING: facilities (kindergarten)" in printed and "GCJ-02" in printed


def test_warnings_reach_the_manifest_and_the_report(tmp_path, capsys):
    """A facility far outside the area and a self-intersecting cell: the run goes on and
    says so in all three places."""
    toml = write_small_study(tmp_path)
    lon, lat = lonlat([X0 + 200, X0 + 6000], [Y0 + 230, Y0 + 500])
    pd.DataFrame(
        {"facility_id": ["K0", "FAR"], "capacity": [90, 90], "lon": lon, "lat": lat}
    ).to_csv(tmp_path / "kindergarten.csv", index=False)

    def bow_tie(cells):
        geometry = cells.to_crs(CRS).geometry.to_numpy().copy()
        x0, y0, x1, y1 = geometry[0].bounds
        geometry[0] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
        return cells.set_geometry(gpd.GeoSeries(geometry, crs=CRS))

    rewrite_layer(tmp_path / "population.gpkg", "cells", bow_tie)
    out = tmp_path / "out"
    assert main(["run", str(toml), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    report = (out / "report.html").read_text(encoding="utf-8")
    outside = next(w for w in manifest["warnings"] if "outside the study area" in w)
    assert "FAR" in outside and "1 of 2 facilities" in outside
    assert any(
        "invalid polygon(s) were repaired" in w and "C0000" in w for w in manifest["warnings"]
    )
    for warning in manifest["warnings"]:
        assert f"WARNING: {warning}" in printed
        assert warning.split(":")[0] in report
