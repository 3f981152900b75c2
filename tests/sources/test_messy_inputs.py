"""Messy planner inputs (built by ``tests/factories/messy.py`` from a seed) give the figures
the generator planted, or exit code 2 with the fix named.

Oracles: the generator's truth (positions in metres, capacities, census counts, the file's
own row numbers), hand computations on the planted street grid (networkx shortest paths),
and the same data written cleanly (UTF-8 with ``.cpg``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from circle15.cli import main
from circle15.errors import ConfigError, InputError
from circle15.sources.centrelines import read_centrelines
from circle15.sources.facilities import read_facilities

from ..factories.messy import (
    X0,
    Y0,
    facility_frame,
    facility_rows,
    lonlat,
    write_census,
    write_gbk_centrelines,
    write_text_export,
    write_title_xlsx,
    write_xls,
)
from ..factories.studies import edit, write_small_study

UTM = CRS.from_epsg(32651)
SEED = 20251130


def run(toml: Path, out: Path, capsys) -> tuple[int, str, str]:
    code = main(["run", str(toml), "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_lands_on(layer, truth, tol_m: float = 1.0) -> None:
    got = layer.facilities.set_index("facility_id").loc[truth.ids]
    d = np.hypot(got.geometry.x.to_numpy() - truth.x, got.geometry.y.to_numpy() - truth.y)
    assert d.max() < tol_m, d


# --------------------------------------------------------------------------------------
# Messy tables


def test_title_row_xlsx_with_totals_full_width_digits_and_a_hidden_sheet(tmp_path):
    truth = facility_rows(SEED)
    rows = write_title_xlsx(tmp_path / "名录.xlsx", truth)
    layer = read_facilities(tmp_path / "名录.xlsx", "kindergarten", UTM)
    f = layer.facilities
    assert list(f["facility_id"]) == truth.ids  # 编号, not 序号
    assert list(f["name"]) == truth.names  # 幼儿园名称
    np.testing.assert_array_equal(f["capacity"].to_numpy(), truth.capacity)  # ７５, 1,200, 约
    assert f["capacity"].sum() == truth.total_capacity  # 合计/小计 not counted
    assert_lands_on(layer, truth)
    assert {"地址", "办园性质", "备注"} <= set(layer.extra_columns)
    assert list(f["地址"]) == truth.extra["地址"] and list(f["办园性质"]) == truth.extra["办园性质"]
    notes = " | ".join(layer.notes)
    assert "hidden sheet(s) 旧表 skipped" in notes
    assert f"row {', '.join(map(str, rows['total_rows']))}" in notes  # the sheet's own rows
    assert f"footnote row(s) dropped (row {rows['footnote_row']})" in notes
    provenance = f["provenance"].str.extract(r"row (\d+)")[0].astype(int).tolist()
    assert provenance == rows["data_rows"]


def test_a_hidden_sheet_is_read_when_named(tmp_path):
    write_title_xlsx(tmp_path / "k.xlsx", facility_rows(SEED))
    layer = read_facilities(tmp_path / "k.xlsx", "kindergarten", UTM, layer="旧表")
    assert list(layer.facilities["facility_id"]) == ["OLD-1"]


def test_legacy_xls_written_by_xlwt(tmp_path):
    truth = facility_rows(SEED + 1)
    rows = write_xls(tmp_path / "k.xls", truth)
    layer = read_facilities(tmp_path / "k.xls", "kindergarten", UTM)
    np.testing.assert_array_equal(layer.facilities["capacity"].to_numpy(), truth.capacity)
    assert list(layer.facilities["name"]) == truth.names
    assert_lands_on(layer, truth)
    provenance = layer.facilities["provenance"].str.extract(r"row (\d+)")[0].astype(int)
    assert provenance.tolist() == rows["data_rows"]


@pytest.mark.parametrize(
    "encoding, label", [("gbk", "GBK"), ("utf-16", "UTF-16"), ("latin-1", "cp1252")]
)
def test_text_exports_are_decoded_from_their_bytes(tmp_path, encoding, label):
    truth = facility_rows(SEED + 2)
    planted = write_text_export(tmp_path / "export.txt", truth, encoding)
    layer = read_facilities(tmp_path / "export.txt", "kindergarten", UTM)
    assert list(layer.facilities["name"]) == planted["names"]
    np.testing.assert_array_equal(layer.facilities["capacity"].to_numpy(), truth.capacity)
    assert_lands_on(layer, truth)
    assert any(f"read as {label}" in n for n in layer.notes), layer.notes


def test_declared_encoding_is_used_and_a_wrong_one_is_refused(tmp_path):
    from circle15.sources._encoding import declared_encoding

    truth = facility_rows(SEED + 3)
    write_text_export(tmp_path / "gbk.csv", truth, "gbk")
    layer = read_facilities(
        tmp_path / "gbk.csv", "kindergarten", UTM, encoding=declared_encoding("GBK", "encoding")
    )
    assert list(layer.facilities["name"]) == truth.names
    assert not any("read as GBK" in n for n in layer.notes)
    with pytest.raises(InputError, match=r'not valid UTF-8 text; set encoding = "..."'):
        read_facilities(
            tmp_path / "gbk.csv",
            "kindergarten",
            UTM,
            encoding=declared_encoding("utf8", "encoding"),
        )
    with pytest.raises(InputError, match="unknown encoding 'klingon'"):
        declared_encoding("klingon", "facilities.kindergarten.encoding")


def test_every_problem_of_a_table_in_one_message_with_the_files_own_rows(tmp_path):
    """A title row, an exact duplicate (dropped) and four bad cells below it: one message,
    each problem with its row in the file and the facility's name."""
    truth = facility_rows(SEED + 4, n=8)
    table = facility_frame(truth)
    lines = ["幼儿园一览表（synthetic）", ",".join(table.columns)]
    body = [",".join(str(v) for v in row) for row in table.itertuples(index=False)]
    body.insert(2, body[1])  # a copy-paste duplicate of the second facility: file row 5
    cells = [line.split(",") for line in body]
    # file rows: title 1, header 2, facilities from 3; the duplicate shifts the rest by one
    cells[4][2] = "很多"  # capacity not a number -> row 7
    cells[5][4] = ""  # latitude blank -> row 8
    cells[6][2] = "inf"  # capacity infinite -> row 9
    cells[7][2] = "-5"  # negative -> row 10
    lines += [",".join(c) for c in cells]
    (tmp_path / "k.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_facilities(tmp_path / "k.csv", "kindergarten", UTM)
    text = str(info.value)
    assert "4 problems" in text
    for row, name in (
        (7, truth.names[3]),
        (8, truth.names[4]),
        (9, truth.names[5]),
        (10, truth.names[6]),
    ):
        assert f"row {row} ({name})" in text, text
    assert "'很多' is not a number" in text and "'inf' is NaN or infinite" in text
    assert "纬度 is blank" in text or "has no 经度/纬度" in text
    assert "\n" not in text


def test_two_blank_ids_are_named_as_blank_ids(tmp_path):
    truth = facility_rows(SEED + 5, n=6)
    table = facility_frame(truth)
    table.loc[[1, 3], "编号"] = ""
    table.to_csv(tmp_path / "k.csv", index=False)
    with pytest.raises(InputError) as info:
        read_facilities(tmp_path / "k.csv", "kindergarten", UTM)
    text = str(info.value)
    assert f"row 3 ({truth.names[1]}): facility id (编号) is blank" in text
    assert f"row 5 ({truth.names[3]}): facility id (编号) is blank" in text
    assert "more than once" not in text


def test_control_characters_pasted_from_word_are_replaced_with_a_note(tmp_path):
    truth = facility_rows(SEED + 6, n=5)
    table = facility_frame(truth)
    table.loc[0, "幼儿园名称"] = "蛟川\x0b幼儿园\x07"
    table.to_csv(tmp_path / "k.csv", index=False)
    layer = read_facilities(tmp_path / "k.csv", "kindergarten", UTM)
    assert layer.facilities["name"].iloc[0] == "蛟川 幼儿园"
    assert any("control characters" in n for n in layer.notes)


def test_name_columns_and_serial_numbers(tmp_path):
    truth = facility_rows(SEED + 7, n=5)
    lon, lat = lonlat(truth.x, truth.y)
    pd.DataFrame({"序号": range(1, 6), "场地名称": truth.names, "lng": lon, "lat": lat}).to_csv(
        tmp_path / "venues.csv", index=False
    )
    layer = read_facilities(tmp_path / "venues.csv", "kindergarten", UTM)
    assert list(layer.facilities["name"]) == truth.names
    assert list(layer.facilities["facility_id"]) == ["1", "2", "3", "4", "5"]  # only id there


# --------------------------------------------------------------------------------------
# Near-duplicates


def near_duplicate_table(path: Path) -> tuple:
    truth = facility_rows(SEED + 8, n=6)
    table = facility_frame(truth)
    copy = table.iloc[[2]].copy()
    copy["编号"] = "ZH-K999"
    copy["幼儿园名称"] = truth.names[2] + "（分园）"
    lon, lat = lonlat(truth.x[2] + 4.0, truth.y[2])  # 4 m east
    copy["经度"], copy["纬度"] = lon, lat
    pd.concat([table, copy]).to_csv(path, index=False)
    return truth


def test_near_duplicate_is_listed_by_default(tmp_path):
    truth = near_duplicate_table(tmp_path / "k.csv")
    layer = read_facilities(tmp_path / "k.csv", "kindergarten", UTM)
    assert len(layer) == 7
    note = next(n for n in layer.notes if "more than once" in n)
    assert f"{truth.names[2]} (row 4) = {truth.names[2]}（分园） (row 8), 4 m apart" in note
    assert 'dedupe = "merge"' in note


def test_near_duplicate_merged_keeps_the_capacity_once(tmp_path):
    truth = near_duplicate_table(tmp_path / "k.csv")
    layer = read_facilities(tmp_path / "k.csv", "kindergarten", UTM, dedupe="merge")
    assert list(layer.facilities["facility_id"]) == truth.ids
    assert layer.facilities["capacity"].sum() == truth.total_capacity


def test_near_duplicate_refused_on_request(tmp_path):
    near_duplicate_table(tmp_path / "k.csv")
    with pytest.raises(InputError, match=r"1 facility is entered more than once.*dedupe"):
        read_facilities(tmp_path / "k.csv", "kindergarten", UTM, dedupe="error")


def test_same_name_far_apart_is_not_a_duplicate(tmp_path):
    truth = facility_rows(SEED + 9, n=6)
    table = facility_frame(truth)
    table["幼儿园名称"] = "中心幼儿园"  # six campuses of one name, 100 m or more apart
    table.to_csv(tmp_path / "k.csv", index=False)
    layer = read_facilities(tmp_path / "k.csv", "kindergarten", UTM)
    assert not any("more than once" in n for n in layer.notes)


# --------------------------------------------------------------------------------------
# Centrelines: a GBK shapefile without .cpg


def graph_of(network) -> nx.Graph:
    g = nx.Graph()
    for u, v, length in network.edges[["u", "v", "length_m"]].itertuples(index=False):
        if not g.has_edge(u, v) or g[u][v]["weight"] > length:
            g.add_edge(u, v, weight=length)
    return g


def node_at(network, x: float, y: float, level: int) -> int:
    edges = network.edges[network.edges["layer"] == level]
    ends = set(edges["u"]) | set(edges["v"])
    xy = shapely.get_coordinates(network.nodes.geometry.to_numpy())
    near = np.flatnonzero(np.hypot(xy[:, 0] - x, xy[:, 1] - y) < 0.01)
    found = [int(i) for i in near if i in ends]
    assert len(found) == 1, (x, y, level, found)
    return found[0]


def test_gbk_shapefile_without_cpg_keeps_expressway_out_and_the_viaduct_above(tmp_path):
    truth = write_gbk_centrelines(tmp_path / "道路中心线.shp")
    assert not (tmp_path / "道路中心线.cpg").exists()
    network = read_centrelines(tmp_path / "道路中心线.shp", UTM)
    assert any("read as GBK" in n and "[network] encoding" in n for n in network.notes)
    names = set(network.edges["name"])
    assert "甬台温高速" not in names and "绕城高架" in names
    assert network.edges["length_m"].sum() == pytest.approx(
        truth.grid_length_m + truth.viaduct_length_m, abs=0.01
    )
    g = graph_of(network)
    # hand computation on the planted grid: corner to corner is 2,000 m of streets (the
    # expressway's 1,414 m diagonal is not walkable)
    a, b = node_at(network, X0, Y0, 0), node_at(network, X0 + 1000, Y0 + 1000, 0)
    assert nx.shortest_path_length(g, a, b, weight="weight") == pytest.approx(2000, abs=0.01)
    # under the viaduct, from x=100 to x=900 at y=550: down to a street, 800 m, back up
    # (900 m); joined to the viaduct at every crossing it would be 800 m
    a = node_at(network, X0 + 100, truth.viaduct_y, 0)
    b = node_at(network, X0 + 900, truth.viaduct_y, 0)
    assert nx.shortest_path_length(g, a, b, weight="weight") == pytest.approx(900, abs=0.01)


def test_gbk_shapefile_reads_as_the_same_data_saved_in_utf8(tmp_path):
    """Oracle: the same lines decoded by the generator's own knowledge (GBK) and saved in
    a GeoPackage (UTF-8 by definition)."""
    write_gbk_centrelines(tmp_path / "gbk.shp")
    gpd.read_file(tmp_path / "gbk.shp", encoding="gbk").to_file(tmp_path / "clean.gpkg")
    gbk = read_centrelines(tmp_path / "gbk.shp", UTM)
    clean = read_centrelines(tmp_path / "clean.gpkg", UTM)
    assert len(gbk.edges) == len(clean.edges)
    assert sorted(gbk.edges["name"]) == sorted(clean.edges["name"])
    assert not clean.notes


def test_shapefile_without_prj_names_the_network_crs_key(tmp_path):
    write_gbk_centrelines(tmp_path / "roads.shp")
    (tmp_path / "roads.prj").unlink()
    with pytest.raises(InputError, match=r"without its \.prj file\); set \[network\] crs ="):
        read_centrelines(tmp_path / "roads.shp", UTM)


# --------------------------------------------------------------------------------------
# Coordinate systems, end to end


def study_with(tmp_path: Path, write) -> Path:
    toml = write_small_study(tmp_path / "study")
    write(tmp_path / "study")
    return toml


@pytest.mark.parametrize("system", ["GCJ-02", "BD-09"])
def test_amap_or_baidu_workbook_stops_undeclared_and_lands_declared(tmp_path, capsys, system):
    truth = facility_rows(SEED + 10)
    toml = study_with(tmp_path, lambda d: write_title_xlsx(d / "kindergarten.xlsx", truth, system))
    edit(toml, 'path = "kindergarten.csv"', 'path = "kindergarten.xlsx"')
    code, _, err = run(toml, tmp_path / "out", capsys)
    assert code == 2, err
    assert f'crs = "{system}" under [facilities.kindergarten]' in err
    edit(toml, 'path = "kindergarten.xlsx"', f'path = "kindergarten.xlsx"\ncrs = "{system}"')
    code, _, err = run(toml, tmp_path / "out", capsys)
    assert code == 0, err
    got = gpd.read_file(tmp_path / "out" / "results.gpkg", layer="facilities").to_crs(UTM)
    got = got[got["category"] == "kindergarten"].set_index("facility_id").loc[truth.ids]
    d = np.hypot(got.geometry.x.to_numpy() - truth.x, got.geometry.y.to_numpy() - truth.y)
    assert d.max() < 1.0


def test_census_areas_in_gcj02_stop_undeclared_and_give_exact_totals_declared(tmp_path, capsys):
    holder = {}
    toml = study_with(tmp_path, lambda d: holder.update(truth=write_census(d, SEED + 11)))
    truth = holder["truth"]
    edit(
        toml,
        'path = "population.gpkg"\nlayer = "cells"',
        'path = "census.csv"\nareas = "census_areas.geojson"\narea_field = "name"\n'
        'table_field = "街道"\ncell_size_m = 100',
    )
    code, _, err = run(toml, tmp_path / "out", capsys)
    assert code == 2, err
    assert 'set [population] areas_crs = "GCJ-02"' in err
    edit(toml, "cell_size_m = 100", 'cell_size_m = 100\nareas_crs = "GCJ-02"')
    code, _, err = run(toml, tmp_path / "out", capsys)
    assert code == 0, err
    table = pd.read_csv(tmp_path / "out" / "districts.csv")
    for district, counts in truth.items():
        row = table[(table["district"] == district) & (table["category"] == "elderly_canteen")]
        assert row["population"].item() == counts["60岁及以上"]
        row = table[(table["district"] == district) & (table["category"] == "kindergarten")]
        assert row["population"].item() == counts["3-5岁"]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    method = manifest["diagnostics"]["population_method"]
    assert method["source"] == "census" and method["spread_by"] == "land area"
    assert "total row(s)" in " ".join(manifest["warnings"])  # the 合计 row was dropped


def test_crs_under_a_census_population_is_an_error_naming_areas_crs(tmp_path, capsys):
    toml = study_with(tmp_path, lambda d: write_census(d, SEED + 12))
    edit(
        toml,
        'path = "population.gpkg"\nlayer = "cells"',
        'path = "census.csv"\nareas = "census_areas.geojson"\narea_field = "name"\n'
        'table_field = "街道"\ncrs = "GCJ-02"',
    )
    code, _, err = run(toml, tmp_path / "out", capsys)
    assert code == 2 and "population.crs: not used with a census population" in err
    assert "areas_crs" in err


def test_sub_districts_in_gcj02_against_a_wgs84_outline_stop(tmp_path, capsys):
    def shift(d: Path) -> None:
        zones = gpd.read_file(d / "zones.geojson")
        moved = shapely.transform(
            zones.geometry.segmentize(0.0003).to_numpy(), lambda xy: np.column_stack(_gcj(xy))
        )
        zones.set_geometry(moved).to_file(d / "zones.geojson")

    toml = study_with(tmp_path, shift)
    code, _, err = run(toml, tmp_path / "out", capsys)
    assert code == 2, err
    assert '[boundary] districts_crs = "GCJ-02"' in err


def _gcj(xy):
    from circle15.sources.chinese_crs import wgs84_to_gcj02

    return wgs84_to_gcj02(xy[:, 0], xy[:, 1])


def test_centrelines_traced_on_amap_stop_naming_the_network_crs(tmp_path, capsys):
    truth = facility_rows(SEED + 13, n=10)

    def write(d: Path) -> None:
        write_gbk_centrelines(d / "roads.shp")
        roads = gpd.read_file(d / "roads.shp").to_crs(4326)
        moved = shapely.transform(roads.geometry.to_numpy(), lambda xy: np.column_stack(_gcj(xy)))
        roads.set_geometry(moved).to_file(d / "roads.geojson")  # claims WGS84
        facility_frame(truth).to_csv(d / "kindergarten.csv", index=False)

    toml = study_with(tmp_path, write)
    edit(toml, 'path = "network.gpkg"', 'path = "roads.geojson"')
    code, _, err = run(toml, tmp_path / "out", capsys)
    assert code == 2, err
    assert '[network] crs = "GCJ-02"' in err


def test_few_undeclared_facilities_get_a_warning_naming_the_fix(tmp_path, capsys):
    toml = write_small_study(tmp_path / "study")  # one kindergarten, two canteens
    code, out, err = run(toml, tmp_path / "out", capsys)
    assert code == 0, err
    assert "could not be verified" in out and 'crs = "GCJ-02" under [facilities.kinder' in out


def test_scenario_sites_in_gcj02_land_where_planted(tmp_path):
    from circle15.planning.scenario import apply_scenario, load_scenario
    from circle15.study import Study

    toml = write_small_study(tmp_path / "study")
    result = Study.from_config(toml).run()
    x, y = X0 + 602.0, Y0 + 450.0
    lon, lat = lonlat([x], [y], "GCJ-02")
    plan = tmp_path / "plan.toml"
    plan.write_text(
        f'[scenario]\nname = "p"\nsynthetic = true\ncrs = "GCJ-02"\n\n[[add]]\n'
        f'category = "kindergarten"\nid = "NEW"\nlon = {float(lon[0])!r}\n'
        f"lat = {float(lat[0])!r}\n",
        encoding="utf-8",
    )
    after = apply_scenario(result, load_scenario(plan), where=str(plan))
    new = after.facilities.set_index("facility_id").loc["NEW"]
    assert np.hypot(new.geometry.x - x, new.geometry.y - y) < 1.0
    assert "synthetic" in after.notice and after.notice.strip()
    added = result.add_facilities("kindergarten", [(lon[0], lat[0])], crs="GCJ-02", ids=["N2"])
    got = added.facilities.set_index("facility_id").loc["N2"]
    assert np.hypot(got.geometry.x - x, got.geometry.y - y) < 1.0


def test_scenario_with_a_bad_crs_names_the_file_and_key(tmp_path):
    from circle15.planning.scenario import apply_scenario, load_scenario
    from circle15.study import Study

    toml = write_small_study(tmp_path / "study")
    result = Study.from_config(toml).run()
    plan = tmp_path / "plan.toml"
    plan.write_text(
        '[scenario]\nname = "p"\ncrs = "Amap-WGS"\n\n[[add]]\n'
        'category = "kindergarten"\nlon = 121.6\nlat = 29.96\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"plan\.toml: scenario\.crs: unknown coordinate"):
        apply_scenario(result, load_scenario(plan), where=str(plan))


# --------------------------------------------------------------------------------------
# Population transparency


def test_population_method_says_which_bands_were_split(tmp_path, capsys):
    toml = write_small_study(tmp_path / "study")
    code, _, err = run(toml, tmp_path / "out", capsys)
    assert code == 0, err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    method = manifest["diagnostics"]["population_method"]
    assert method["source"] == "grid"
    # kindergarten, ages 3-5: two of the four years of age_1_4 and one of the five of
    # age_5_9 (hand computation)
    assert method["cohorts"]["kindergarten"]["from"] == [
        {"band": "age_1_4", "share": 0.5},
        {"band": "age_5_9", "share": 0.2},
    ]
    assert "age_1_4 (1-4) × 0.50 for kindergarten (3-5)" in method["text"]


def test_census_spread_by_land_area_far_from_streets_is_warned():
    from circle15.checks import run_warnings

    diagnostics = {
        "unsnapped_cells": 40,
        "unsnapped_population": 2500.0,
        "population": 100_000.0,
        "population_method": {"source": "census", "spread_by": "land area"},
    }
    text = " ".join(run_warnings(diagnostics, {}))
    assert "2.5% of the residents beyond the snap limit" in text
    assert "weights = a layer of residential buildings" in text


def test_age_area_given_by_name_names_table_field(tmp_path):
    from circle15.sources.census import age_shares

    write_census(tmp_path, SEED + 14)
    table = tmp_path / "census.csv"
    data = table.read_bytes().decode("gb18030").replace("街道,", "代码,名称,", 1)
    lines = data.splitlines()
    lines = (
        [lines[0], lines[1]]
        + [f"33021100{k},{line}" for k, line in enumerate(lines[2:4])]
        + lines[4:]
    )
    table.write_bytes(("\n".join(lines) + "\n").encode("gb18030"))
    with pytest.raises(InputError, match=r'set population\.table_field = "名称"'):
        age_shares(table, "西区")
    shares = age_shares(table, "西区", "名称")
    assert sum(shares.values()) == pytest.approx(1.0)


# --------------------------------------------------------------------------------------
# Files that cannot be read, numbers that are not finite


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_at_once(tmp_path):
    toml = write_small_study(tmp_path / "study")
    (tmp_path / "study" / "kindergarten.csv").unlink()
    os.mkfifo(tmp_path / "study" / "kindergarten.csv")
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
    assert proc.returncode == 2, proc.stderr
    assert "named pipe (FIFO)" in proc.stderr and "Traceback" not in proc.stderr


def test_geojson_point_with_nan_longitude_is_refused(tmp_path):
    features = [
        {
            "type": "Feature",
            "properties": {"name": f"k{i}"},
            "geometry": {"type": "Point", "coordinates": [c, 29.96]},
        }
        for i, c in enumerate([121.6, float("nan")])
    ]
    (tmp_path / "k.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features})
    )
    with pytest.raises(InputError, match=r"NaN, infinite or absurdly large \(feature 2\)"):
        read_facilities(tmp_path / "k.geojson", "kindergarten", UTM)


def test_infinite_population_count_is_refused(tmp_path, capsys):
    def poison(d: Path) -> None:
        cells = gpd.read_file(d / "population.gpkg", layer="cells")
        cells["age_60_plus"] = cells["age_60_plus"].astype(float)
        cells.loc[3, "age_60_plus"] = np.inf
        cells.to_file(d / "population.gpkg", layer="cells")

    toml = study_with(tmp_path, poison)
    code, _, err = run(toml, tmp_path / "out", capsys)
    assert code == 2 and "age_60_plus is inf" in err and "finite" in err


def test_blank_sub_district_name_is_refused(tmp_path, capsys):
    def blank(d: Path) -> None:
        zones = gpd.read_file(d / "zones.geojson")
        zones.loc[1, "district"] = "  "
        zones.to_file(d / "zones.geojson")

    toml = study_with(tmp_path, blank)
    code, _, err = run(toml, tmp_path / "out", capsys)
    assert code == 2 and "blank district (feature 2)" in err


def test_census_table_problems_listed_together(tmp_path):
    from circle15.sources.census import read_census_population
    from circle15.sources.inputs import read_boundaries  # noqa: F401 - import check

    write_census(tmp_path, SEED + 15)
    text = (tmp_path / "census.csv").read_bytes().decode("gb18030").splitlines()
    west = text[2].split(",")
    west[3] = "很多"
    text[2] = ",".join(west)
    (tmp_path / "census.csv").write_bytes(("\n".join(text) + "\n").encode("gb18030"))
    from circle15.model import Districts

    zones = gpd.GeoDataFrame(
        {"district": ["x"], "name_en": ["x"]},
        geometry=[shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)],
        crs=UTM,
    )
    districts = Districts("x", zones, zones.geometry.iloc[0])
    with pytest.raises(InputError, match=r"row 3: 0-2岁 '很多' is not a number"):
        read_census_population(
            tmp_path / "census.csv",
            UTM,
            districts,
            areas=tmp_path / "census_areas.geojson",
            area_field="name",
            table_field="街道",
            areas_crs="GCJ-02",
        )


def test_unknown_population_key_is_still_a_config_error(tmp_path):
    from circle15.config import load_config

    toml = write_small_study(tmp_path / "study")
    edit(toml, 'layer = "cells"', 'layer = "cells"\nareas_src = "x"')
    with pytest.raises(ConfigError, match="areas_src: unknown field"):
        load_config(toml)


def test_real_datav_outline_in_gcj02_is_caught_against_tianditu(shared_data):
    """Real files (../shared/data): Aliyun DataV's Zhenhai outline in GCJ-02, its
    independently converted WGS84 version and Tianditu's official one."""
    from circle15.sources.alignment import official_outline_check

    folder = shared_data / "boundaries"
    gcj = gpd.read_file(folder / "zhenhai_330211_datav_gcj02.geojson")
    with pytest.raises(
        InputError,
        match=r"367 m .* 92 m when read as GCJ-02.*outline_crs = "
        r'"GCJ-02"',
    ):
        official_outline_check(gcj, UTM, folder / "zhenhai_330211_datav_gcj02.geojson", [])
    for name in (
        "zhenhai_330211_datav_converted_wgs84.geojson",
        "zhenhai_330211_tianditu_cgcs2000.geojson",
    ):
        notes: list[str] = []
        official_outline_check(gpd.read_file(folder / name), UTM, folder / name, notes)
        assert notes == []


def test_dedupe_and_encoding_keys_in_the_study_file(tmp_path, capsys):
    toml = study_with(tmp_path, lambda d: near_duplicate_table(d / "kindergarten.csv"))
    edit(
        toml,
        'path = "kindergarten.csv"',
        'path = "kindergarten.csv"\ndedupe = "error"\nencoding = "UTF-8"',
    )
    code, _, err = run(toml, tmp_path / "out", capsys)
    assert code == 2 and "entered more than once" in err and "（分园）" in err


def test_candidate_sites_in_gcj02_declared_land_where_planted(tmp_path):
    from circle15.planning.sites import select_sites
    from circle15.study import Study

    toml = write_small_study(tmp_path / "study")
    result = Study.from_config(toml).run()
    x, y = np.array([X0 + 702.0, X0 + 302.0]), np.array([Y0 + 650.0, Y0 + 850.0])
    lon, lat = lonlat(x, y, "GCJ-02")
    pd.DataFrame({"id": ["C1", "C2"], "lon": lon, "lat": lat}).to_csv(
        tmp_path / "c.csv", index=False
    )
    choice = select_sites(
        result, "kindergarten", 2, candidates=tmp_path / "c.csv", candidates_crs="GCJ-02"
    )
    got = choice.candidates.set_index("facility_id").loc[["C1", "C2"]]
    assert np.hypot(got.geometry.x.to_numpy() - x, got.geometry.y.to_numpy() - y).max() < 1.0
    assert not any("could not be verified" in n for n in choice.notes)
    undeclared = select_sites(result, "kindergarten", 1, candidates=tmp_path / "c.csv")
    assert any(
        "could not be verified" in n and "--candidates-crs GCJ-02" in n for n in undeclared.notes
    )


def test_sheet_key_names_the_sheet_and_a_hidden_one_can_be_named(tmp_path, capsys):
    truth = facility_rows(SEED + 16)
    toml = study_with(tmp_path, lambda d: write_title_xlsx(d / "kindergarten.xlsx", truth))
    edit(toml, 'path = "kindergarten.csv"', 'path = "kindergarten.xlsx"\nsheet = "幼儿园名录"')
    code, _, err = run(toml, tmp_path / "out", capsys)
    assert code == 0, err
    edit(toml, 'sheet = "幼儿园名录"', 'sheet = "旧表"')  # the hidden sheet: one row at 0°, 0°
    code, _, err = run(toml, tmp_path / "out2", capsys)
    assert code == 2 and "kindergarten.xlsx" in err
