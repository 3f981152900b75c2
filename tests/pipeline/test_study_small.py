"""The whole pipeline on a small grid whose walking times can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from circle15 import Study
from circle15.cli import main

from ..factories.studies import ORIGIN, write_small_study


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return Study.from_config(write_small_study(tmp_path_factory.mktemp("small"))).run()


def test_walking_time_by_hand(result):
    cells = result.cells.set_index("cell_id")
    # Coordinates relative to the grid origin; streets every 100 m; 4 km/h = 66.7 m/min.
    # Kindergarten at (200, 230): on street x=200, so its leg is 0.
    # Cell C0000 centre (30, 50): 30 m leg to street x=0 at (0, 50); up to (0, 200) 150 m,
    # east to (200, 200) 200 m, up to 230 30 m: 30 + 150 + 200 + 30 = 410 m.
    assert cells.loc["C0000", "t_kindergarten"] == pytest.approx(410 / (4000 / 60))
    # Cell C0102 centre (130, 250): 30 m leg to (100, 250); down to (100, 200) 50 m,
    # east 100 m, up 30 m: 30 + 50 + 100 + 30 = 210 m (via y=300 it would be 250 m).
    assert cells.loc["C0102", "t_kindergarten"] == pytest.approx(210 / (4000 / 60))
    # Elderly walk at 3.2 km/h = 53.3 m/min: canteen EL1 sits on junction (100, 900).
    # Cell C0008 centre (30, 850): 30 m leg to (0, 850), up 50 m, east 100 m: 180 m.
    assert cells.loc["C0008", "t_elderly_canteen"] == pytest.approx(180 / (3200 / 60))
    assert cells.loc["C0008", "nearest_elderly_canteen"] == "EL1"


def test_population_and_districts(result):
    table = result.districts
    whole = table[(table["district"] == "ALL") & (table["category"] == "kindergarten")].iloc[0]
    # 100 cells, each with ages 1-4: 4 and 5-9: 5 -> ages 3-5: 4*2/4 + 5/5 = 3 per cell.
    assert whole["population"] == pytest.approx(300)
    assert set(table["district"]) == {"西区", "东区", "ALL"}


def test_tiers_are_consistent_with_minutes(result):
    t = result.cells["t_kindergarten"].to_numpy()
    tier = result.cells["tier_kindergarten"].to_numpy()
    assert set(tier[t <= 5]) <= {"0-5"}
    assert set(tier[(t > 10) & (t <= 15)]) <= {"10-15"}
    assert set(tier[t > 15]) <= {">15"}


def test_unsnapped_facility_is_reported_not_attached(tmp_path):
    x0, y0 = ORIGIN
    toml = write_small_study(
        tmp_path, facilities={"kindergarten": [(x0 + 200, y0 + 230), (x0 + 3000, y0 + 3000)]}
    )
    res = Study.from_config(toml).run()
    assert res.diagnostics["unsnapped_facilities"]["kindergarten"] == ["KI1"]
    assert "KI1" not in set(res.cells["nearest_kindergarten"].dropna())


def test_cli_runs_a_config_and_writes_outputs(tmp_path, capsys):
    toml = write_small_study(tmp_path / "study")
    code = main(["run", str(toml), "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 0
    for name in ["map.html", "results.gpkg", "districts.csv", "manifest.json"]:
        assert (tmp_path / "out" / name).is_file()
    assert str((tmp_path / "out").resolve()) in capsys.readouterr().out


def test_cli_bad_config_exits_2_without_traceback(tmp_path, capsys):
    toml = write_small_study(tmp_path / "study")
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('path = "network.gpkg"', 'path = "missing.gpkg"'),
        encoding="utf-8",
    )
    code = main(["run", str(toml), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "network.path" in err and "missing.gpkg" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "districts.csv").exists()


def test_cells_cut_off_from_every_facility_are_nan_not_zero(tmp_path):
    """Cells east of a cut in the streets reach no kindergarten: NaN, never 0 minutes."""
    from dataclasses import replace

    from circle15.model import WalkingNetwork

    study = Study.from_config(write_small_study(tmp_path))
    net = study.network
    x = net.nodes.geometry.x.to_numpy()
    u, v = net.edges["u"].to_numpy(), net.edges["v"].to_numpy()
    x0 = ORIGIN[0]
    crossing = (np.minimum(x[u], x[v]) < x0 + 850) & (np.maximum(x[u], x[v]) > x0 + 850)
    cut = replace(
        study, network=WalkingNetwork(net.nodes, net.edges[~crossing].reset_index(drop=True))
    )
    result = cut.run()
    east = result.cells.geometry.centroid.x.to_numpy() > x0 + 850
    assert east.sum() == 10  # the easternmost column of the 10 x 10 cells
    cells = result.cells
    assert cells.loc[east, "t_kindergarten"].isna().all()
    assert (cells.loc[east, "tier_kindergarten"] == "unreachable").all()
    assert cells.loc[east, "nearest_kindergarten"].isna().all()
    assert cells.loc[~east, "t_kindergarten"].notna().all()
    whole = result.districts.query("district == 'ALL' and category == 'kindergarten'").iloc[0]
    cut_off = cells.loc[east, "pop_kindergarten"].sum()
    assert whole["unreachable_population"] == pytest.approx(cut_off)
    assert whole["covered_population"] <= whole["population"] - cut_off
