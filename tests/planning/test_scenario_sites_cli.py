"""Scenario files, ``circle15 run --scenario`` and ``circle15 sites``, as a user runs them."""

from __future__ import annotations

import tomllib

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from circle15 import ConfigError, Study
from circle15.cli import main
from circle15.demo.locate import repository_data_dir
from circle15.demo.workplan import PLAN
from circle15.planning.scenario import apply_scenario, load_scenario
from circle15.planning.sites import select_sites

from ..factories.studies import CRS, ORIGIN, write_small_study

X0, Y0 = ORIGIN
WORKPLAN = repository_data_dir() / "scenarios" / "zhenhai_2024_workplan_synthetic.toml"


def _lonlat(x: float, y: float) -> tuple[float, float]:
    p = gpd.GeoSeries(shapely.points([[x, y]]), crs=CRS).to_crs(4326).iloc[0]
    return p.x, p.y


@pytest.fixture(scope="module")
def small_toml(tmp_path_factory):
    return write_small_study(tmp_path_factory.mktemp("scenario"))


def _scenario(tmp_path, body: str):
    path = tmp_path / "plan.toml"
    path.write_text('[scenario]\nname = "plan"\ntitle = "A plan"\n\n' + body, encoding="utf-8")
    return path


def test_scenario_applies_like_the_what_if_api(small_toml, tmp_path):
    lon, lat = _lonlat(X0 + 430, Y0 + 660)
    to_lon, to_lat = _lonlat(X0 + 630, Y0 + 420)
    path = _scenario(
        tmp_path,
        f"""
[[add]]
category = "elderly_canteen"
id = "NEW1"
name = "新食堂"
lon = {lon}
lat = {lat}
capacity = 40
note = "standard canteen"

[[remove]]
category = "elderly_canteen"
id = "EL0"

[[move]]
category = "kindergarten"
id = "KI0"
lon = {to_lon}
lat = {to_lat}
""",
    )
    before = Study.from_config(small_toml).run()
    after = apply_scenario(before, load_scenario(path))
    by_api = (
        before.add_facilities("elderly_canteen", [(lon, lat)], ids=["NEW1"], capacity=40)
        .remove_facilities("elderly_canteen", "EL0")
        .move_facilities("kindergarten", {"KI0": (to_lon, to_lat)})
    )
    for key in before.categories:
        np.testing.assert_allclose(
            after.cells[f"t_{key}"], by_api.cells[f"t_{key}"], rtol=1e-9, equal_nan=True
        )
    row = after.facilities.set_index("facility_id").loc["NEW1"]
    assert row["name"] == "新食堂" and row["capacity"] == 40
    assert "standard canteen" in row["provenance"]
    assert after.parameters["scenario"]["added"] == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[[add]]\ncategory = "childcare"\nlon = 121.6\n',
            "add[0]: give the position as lon and lat",
        ),
        (
            '[[add]]\ncategory = "childcare"\nlon = 121.6\nlat = 29.9\ncolour = "red"\n',
            "add[0].colour: unknown field",
        ),
        ("", "list at least one"),
        ('[[remove]]\ncategory = "childcare"\n', "remove[0].id: required field is missing"),
    ],
)
def test_bad_scenario_files_name_the_entry(tmp_path, body, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_scenario(_scenario(tmp_path, body))


def test_cli_run_with_a_scenario_writes_the_gain(small_toml, tmp_path, capsys):
    lon, lat = _lonlat(X0 + 430, Y0 + 660)
    path = _scenario(tmp_path, f'[[add]]\ncategory = "elderly_canteen"\nlon = {lon}\nlat = {lat}\n')
    out = tmp_path / "out"
    assert (
        main(["run", str(small_toml), "--scenario", str(path), "--out", str(out), "--quiet"]) == 0
    )
    printed = capsys.readouterr().out
    assert "scenario plan: A plan — 1 added" in printed
    gain = pd.read_csv(out / "scenario_gain.csv", encoding="utf-8-sig")
    whole = gain[(gain["district"] == "ALL")].iloc[0]
    districts = pd.read_csv(out / "districts.csv", encoding="utf-8-sig")
    after = districts[
        (districts["district"] == "ALL") & (districts["category"] == "elderly_canteen")
    ].iloc[0]
    assert whole["coverage_after"] == pytest.approx(after["coverage"], abs=1e-4)
    assert whole["gained"] > 0 and whole["lost"] == 0
    assert "scenario" in (out / "manifest.json").read_text(encoding="utf-8")


def test_cli_rejects_a_scenario_with_an_unknown_facility(small_toml, tmp_path, capsys):
    path = _scenario(tmp_path, '[[remove]]\ncategory = "kindergarten"\nid = "NOPE"\n')
    assert (
        main(
            [
                "run",
                str(small_toml),
                "--scenario",
                str(path),
                "--out",
                str(tmp_path / "o"),
                "--quiet",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "plan.toml" in err and "NOPE" in err and "Traceback" not in err


def test_cli_sites_writes_csv_gpkg_and_map(small_toml, tmp_path, capsys):
    out = tmp_path / "sites"
    assert (
        main(
            [
                "sites",
                str(small_toml),
                "--category",
                "elderly_canteen",
                "--add",
                "2",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "exact check" in printed and "gap" in printed
    table = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    assert list(table["rank"]) == list(range(1, len(table) + 1)) and len(table) >= 1
    assert (table["marginal_gain"] > 0).all()
    layers = {name for name, _ in pyogrio.list_layers(out / "sites.gpkg")}
    assert {"sites", "candidates", "gaps_before", "districts"} <= layers
    page = (out / "sites_map.html").read_text(encoding="utf-8")
    assert "新址 New sites" in page and "leaflet" in page.lower()
    assert "<script src=" not in page  # offline: everything inlined
    # One kindergarten site covers everyone left: asking for three says so.
    assert (
        main(
            [
                "sites",
                str(small_toml),
                "--category",
                "kindergarten",
                "--add",
                "3",
                "--out",
                str(tmp_path / "k"),
                "--quiet",
            ]
        )
        == 0
    )
    assert "only 1 of the 3 sites" in capsys.readouterr().out


def test_cli_sites_with_a_candidates_file_and_capacity(small_toml, tmp_path, capsys):
    points = [(X0 + 430, Y0 + 660), (X0 + 730, Y0 + 160), (X0 + 30, Y0 + 560)]
    lonlat = [_lonlat(*p) for p in points]
    candidates = tmp_path / "candidates.csv"
    pd.DataFrame(
        {
            "id": ["A", "B", "C"],
            "name": ["甲", "乙", "丙"],
            "lon": [p[0] for p in lonlat],
            "lat": [p[1] for p in lonlat],
        }
    ).to_csv(candidates, index=False)
    out = tmp_path / "sites"
    assert (
        main(
            [
                "sites",
                str(small_toml),
                "--category",
                "kindergarten",
                "--add",
                "1",
                "--candidates",
                str(candidates),
                "--capacity",
                "5",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    table = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    assert table["site_id"].iloc[0] in {"A", "B", "C"}
    assert table["served"].iloc[0] == pytest.approx(5)
    assert (
        main(
            [
                "sites",
                str(small_toml),
                "--category",
                "school",
                "--add",
                "1",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 2
    )


def test_selection_gain_equals_the_after_result(small_toml):
    before = Study.from_config(small_toml).run()
    choice = select_sites(before, "elderly_canteen", 2)
    delta = choice.delta()
    whole = delta[delta["district"] == "ALL"].iloc[0]
    assert whole["gained"] == pytest.approx(choice.greedy.value)
    assert choice.sites["cumulative_gain"].iloc[-1] == pytest.approx(choice.greedy.value)
    assert choice.exact is not None and choice.exact.optimal
    assert choice.exact.value >= choice.greedy.value - 1e-9
    assert choice.optimality_gap is not None and choice.optimality_gap >= -1e-12


def test_the_demo_work_plan_scenario_encodes_the_plan():
    raw = tomllib.loads(WORKPLAN.read_text(encoding="utf-8"))
    assert raw["scenario"]["synthetic"] is True
    assert "2024" in raw["scenario"]["source"] and "SYNTHETIC" in WORKPLAN.read_text()
    adds = pd.DataFrame(raw["add"])
    counts = adds.groupby("category").size().to_dict()
    assert counts == {"elderly_canteen": 2 + 3 + 22, "childcare": 1 + 2, "sports_venue": 16}
    assert adds.loc[adds["category"] == "childcare", "capacity"].sum() == 90  # 托位 90 个
    assert sum(item.count for item in PLAN) == len(adds)
    assert adds["id"].is_unique


@pytest.mark.slow
def test_the_demo_work_plan_runs_and_gains(tmp_path, capsys):
    out = tmp_path / "plan"
    assert main(["run", "--scenario", str(WORKPLAN), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "synthetic locations" in printed
    gain = pd.read_csv(out / "scenario_gain.csv", encoding="utf-8-sig")
    whole = gain[gain["district"] == "ALL"].set_index("category")
    assert set(whole.index) == {"elderly_canteen", "childcare", "sports_venue"}
    assert (whole["gained"] > 0).all() and (whole["lost"] == 0).all()


@pytest.mark.slow
def test_demo_selection_of_three_childcare_sites():
    before = Study.demo().run()
    choice = select_sites(before, "childcare", 3)
    assert len(choice.sites) == 3
    gains = choice.sites["marginal_gain"].to_numpy()
    assert (np.diff(gains) <= 1e-9).all()  # each greedy pick adds no more than the one before
    whole = choice.delta().query("district == 'ALL'").iloc[0]
    assert whole["gained"] == pytest.approx(gains.sum())
    assert choice.after.coverage("childcare") == pytest.approx(
        choice.sites["coverage_after"].iloc[-1], abs=1e-9
    )
    assert choice.exact is not None and choice.exact.optimal
    assert choice.greedy.value >= (1 - 1 / np.e) * choice.exact.value
