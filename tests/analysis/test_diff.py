"""``circle15 diff``: what changed between two vintages, against hand-worked changes.

On the small grid the facilities are changed by hand (one closed, one opened, one
renumbered with more places, one moved, one renamed in place under a new id) and the
coverage before and after comes from networkx on the same streets (the oracle of
``tests/engine/test_step_free.py``); on the demo, the changes the seeded 2025 vintage planted
are read from its CSV files and the scenario file.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from circle15 import Study
from circle15.cli import main
from circle15.demo.locate import repository_data_dir
from circle15.outputs.spreadsheet import read_own_csv

from ..factories.oracles import oracle_metres
from ..factories.studies import ORIGIN, write_small_study

X0, Y0 = ORIGIN
BEFORE = {
    "kindergarten": [(X0 + 200, Y0 + 230), (X0 + 610, Y0 + 700)],
    "elderly_canteen": [(X0 + 800, Y0 + 810), (X0 + 100, Y0 + 900)],
}
AFTER = {
    "kindergarten": [(X0 + 610, Y0 + 700), (X0 + 400, Y0 + 450)],
    "elderly_canteen": [(X0 + 500, Y0 + 510), (X0 + 100, Y0 + 900)],
}


def _edit(folder: Path, category: str, **columns: list) -> None:
    path = folder / f"{category}.csv"
    table = pd.read_csv(path)
    for name, values in columns.items():
        table[name] = values
    table.to_csv(path, index=False)


@pytest.fixture(scope="module")
def vintages(tmp_path_factory):
    root = tmp_path_factory.mktemp("diff")
    a = write_small_study(root / "a", facilities=BEFORE)
    b = write_small_study(root / "b", facilities=AFTER)
    # kindergarten 1 is renumbered (same name, same place) with 50 more seats; the other
    # one is new; canteen EL0 keeps its id and moves; EL1 gets a new id and name in place
    _edit(
        b.parent,
        "kindergarten",
        facility_id=["K-9", "KI5"],
        name=["kindergarten 1", "新幼儿园"],
        capacity=[150, 100],
    )
    _edit(
        b.parent,
        "elderly_canteen",
        facility_id=["EL0", "E-NEW"],
        name=["elderly_canteen 0", "幸福食堂"],
    )
    b.write_text(
        b.read_text(encoding="utf-8")
        + (
            "\n[targets]\nkindergarten.new_facilities = 1\nkindergarten.new_capacity = 100\n"
            "kindergarten.capacity_per_1000 = 30\nelderly_canteen.coverage = 0.9\n"
        ),
        encoding="utf-8",
    )
    for toml, out in ((a, root / "A"), (b, root / "B")):
        assert main(["run", str(toml), "--out", str(out), "--quiet"]) == 0
    assert (
        main(["diff", str(root / "A"), str(root / "B"), "--out", str(root / "D"), "--quiet"]) == 0
    )
    return root, a, b


def _coverage(toml: Path, category: str, positions: list[tuple[float, float]]) -> float:
    """Share of the cohort within the target over networkx (independent of the engine)."""
    study = Study.from_config(toml)
    cat = study.categories[category]
    cells = study.population.cells
    edges = study.network.edges.assign(wheelchair=None)
    network = type(study.network)(study.network.nodes, edges)
    metres = oracle_metres(
        network, cells.geometry.centroid.to_numpy(), shapely.points(positions), step_free=False
    )
    cohort = study.population.cohort(cat.age_min, cat.age_max)
    return float(cohort[metres / cat.metres_per_minute <= cat.target_min].sum() / cohort.sum())


def test_facilities_are_matched_by_id_name_and_place(vintages):
    root, _, _ = vintages
    fac = read_own_csv(root / "D" / "diff_facilities.csv")
    got = {
        (r.category, r.status, r.matched_by if isinstance(r.matched_by, str) else "", r.facility_id)
        for r in fac.itertuples()
    }
    assert got == {
        ("kindergarten", "opened", "", "KI5"),
        ("kindergarten", "closed", "", "KI0"),
        ("kindergarten", "kept", "name", "K-9"),
        ("elderly_canteen", "moved", "id", "EL0"),
        ("elderly_canteen", "kept", "place", "E-NEW"),
    }
    row = fac.set_index("facility_id")
    assert row.loc["K-9", "facility_id_before"] == "KI1"
    assert row.loc["K-9", "capacity_change"] == 50
    assert row.loc["E-NEW", "name_before"] == "elderly_canteen 1"
    assert row.loc["EL0", "moved_m"] == pytest.approx(np.hypot(300, 300), abs=0.5)
    assert row.loc["KI0", "capacity_change"] == -100 and row.loc["KI5", "capacity_change"] == 100


def test_district_changes_equal_the_oracle_coverage(vintages):
    root, a, b = vintages
    table = read_own_csv(root / "D" / "diff_districts.csv")
    whole = table[table["district"] == "ALL"].set_index("category")
    for category in ("kindergarten", "elderly_canteen"):
        before = _coverage(a, category, BEFORE[category])
        after = _coverage(b, category, AFTER[category])
        assert whole.loc[category, "coverage_before"] == pytest.approx(before, abs=1e-4)
        assert whole.loc[category, "coverage_after"] == pytest.approx(after, abs=1e-4)
        assert whole.loc[category, "coverage_change"] == pytest.approx(after - before, abs=2e-4)
    assert whole.loc["kindergarten", ["opened", "closed", "moved"]].tolist() == [1, 1, 0]
    assert whole.loc["elderly_canteen", ["opened", "closed", "moved"]].tolist() == [0, 0, 1]
    # sub-district counts: KI0 stood in the west, KI5 opens in the west too
    west = table[(table["district"] == "西区") & (table["category"] == "kindergarten")]
    assert west[["opened", "closed"]].iloc[0].tolist() == [1, 1]


def test_targets_met_or_not_with_their_figures(vintages):
    root, _, b = vintages
    targets = read_own_csv(root / "D" / "diff_targets.csv").set_index("target")
    assert targets.loc["kindergarten.new_facilities", "status"] == "met"
    assert targets.loc["kindergarten.new_facilities", "achieved"] == 1
    # 200 seats before (2 x 100), 150 + 100 after: 50 added, not the 100 wanted
    assert targets.loc["kindergarten.new_capacity", "achieved"] == 50
    assert targets.loc["kindergarten.new_capacity", "status"] == "not met"
    # 250 seats for 10,000 residents: 25 per 1,000, not 30
    assert targets.loc["kindergarten.capacity_per_1000", "achieved"] == pytest.approx(25)
    assert targets.loc["kindergarten.capacity_per_1000", "status"] == "not met"
    coverage = _coverage(b, "elderly_canteen", AFTER["elderly_canteen"])
    assert targets.loc["elderly_canteen.coverage", "achieved"] == pytest.approx(coverage, abs=1e-4)
    assert targets.loc["elderly_canteen.coverage", "status"] == (
        "met" if coverage >= 0.9 else "not met"
    )
    # a plain run measures the targets one run can: levels, not changes
    plain = read_own_csv(root / "B" / "targets.csv").set_index("target")
    assert plain.loc["kindergarten.new_facilities", "status"] == "needs a comparison"
    assert plain.loc["kindergarten.capacity_per_1000", "achieved"] == pytest.approx(25)


def test_every_output_is_published_with_a_manifest(vintages):
    root, _, _ = vintages
    out = root / "D"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["command"] == "diff"
    for name in (
        "diff_facilities.csv",
        "diff_districts.csv",
        "diff_index.csv",
        "diff_targets.csv",
        "diff_cells.csv",
        "diff.xlsx",
        "diff.html",
        "diff_map.html",
    ):
        assert (out / name).is_file(), name
        assert name in manifest["outputs"]
    html = (out / "diff.html").read_text(encoding="utf-8")
    assert "新幼儿园" in html and "未达成 not met" in html
    cells = read_own_csv(out / "diff_cells.csv")
    assert set(cells["access_kindergarten"]) <= {
        "gained",
        "faster",
        "same",
        "slower",
        "lost",
        "never",
    }


def test_two_study_files_give_the_same_diff(vintages, tmp_path):
    root, a, b = vintages
    assert main(["diff", str(a), str(b), "--out", str(tmp_path / "files"), "--quiet"]) == 0
    one = read_own_csv(root / "D" / "diff_facilities.csv")
    two = read_own_csv(tmp_path / "files" / "diff_facilities.csv")
    pd.testing.assert_frame_equal(one, two)


def test_bad_inputs_are_refused_with_exit_code_2(vintages, tmp_path, capsys):
    root, _, _ = vintages
    assert main(["diff", str(tmp_path), str(root / "B"), "--quiet"]) == 2
    assert "not a circle15 run folder" in capsys.readouterr().err
    assert (
        main(["diff", str(root / "A"), str(root / "B"), "--out", str(root / "A"), "--quiet"]) == 2
    )
    assert "folder of its own" in capsys.readouterr().err
    bad = tmp_path / "targets.toml"
    bad.write_text("[targets]\nlibrary.coverage = 0.5\n", encoding="utf-8")
    assert (
        main(
            [
                "diff",
                str(root / "A"),
                str(root / "B"),
                "--targets",
                str(bad),
                "--out",
                str(tmp_path / "t"),
                "--quiet",
            ]
        )
        == 2
    )
    assert "targets.library: not a category" in capsys.readouterr().err


@pytest.mark.slow
def test_the_demo_vintages_show_the_changes_planted_in_them(tmp_path):
    data = repository_data_dir()
    vintage = data / "vintages" / "zhenhai_2025_synthetic.toml"
    assert (
        main(
            [
                "diff",
                str(data / "zhenhai.toml"),
                str(vintage),
                "--out",
                str(tmp_path / "d"),
                "--quiet",
            ]
        )
        == 0
    )
    fac = read_own_csv(tmp_path / "d" / "diff_facilities.csv")
    counts = fac.groupby(["category", "status"]).size()
    # the oracle: the scenario's [[add]] entries (built) and the CSVs of both years
    plan = tomllib.loads(
        (data / "scenarios" / "zhenhai_2024_workplan_synthetic.toml").read_text(encoding="utf-8")
    )
    added = pd.Series([e["category"] for e in plan["add"]]).value_counts()
    new_rows = {"community_health": 2, "culture": 2, "elderly_day_care": 1}
    for category in [*added.index, *new_rows]:
        want = added.get(category, 0) + new_rows.get(category, 0)
        assert counts.get((category, "opened"), 0) == want, category
    old = pd.read_csv(data / "facilities" / "elderly_canteen.csv")
    new = pd.read_csv(data / "vintages" / "facilities_2025" / "elderly_canteen.csv")
    gone = set(old["facility_id"]) - set(new["facility_id"])
    assert len(gone) == 2
    assert (
        set(
            fac.loc[
                (fac["category"] == "elderly_canteen") & (fac["status"] == "closed"), "facility_id"
            ]
        )
        == gone
    )
    kg = fac[fac["category"] == "kindergarten"]
    assert (kg["status"] != "opened").all() and (kg["status"] != "closed").all()
    assert kg["matched_by"].value_counts().to_dict() == {"name": len(kg) - 1, "place": 1}
    k_old = pd.read_csv(data / "facilities" / "kindergarten.csv")
    k_new = pd.read_csv(data / "vintages" / "facilities_2025" / "kindergarten.csv")
    shifted = np.hypot(k_new["lon"] - k_old["lon"], k_new["lat"] - k_old["lat"]) > 1e-4
    assert shifted.sum() == 1 and (kg["status"] == "moved").sum() == 1
    cc_old = pd.read_csv(data / "facilities" / "childcare.csv")["capacity"].sum()
    cc_new = pd.read_csv(data / "vintages" / "facilities_2025" / "childcare.csv")["capacity"].sum()
    targets = read_own_csv(tmp_path / "d" / "diff_targets.csv").set_index("target")
    assert targets.loc["childcare.new_capacity", "achieved"] == cc_new - cc_old == 120
    assert targets.loc["childcare.new_capacity", "status"] == "met"
    assert targets.loc["elderly_canteen.new_facilities", "status"] == "met"
    assert targets.loc["sports_venue.area_per_resident", "status"] == "not met"
    # the coverage change is the second run's minus the first's
    districts = read_own_csv(tmp_path / "d" / "diff_districts.csv")
    r = districts.query("district == 'ALL' and category == 'elderly_canteen'").iloc[0]
    assert r["coverage_after"] > r["coverage_before"]
    assert r["coverage_change"] == pytest.approx(
        r["coverage_after"] - r["coverage_before"], abs=2e-4
    )
