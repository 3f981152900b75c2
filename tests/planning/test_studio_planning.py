"""What the studio added to the planning layer, each against an independent answer.

- one combined edit (``make_edit`` / ``WhatIfSession.edit``) equals the chained one-change
  what-ifs of the Python API;
- ``WhatIfSession.evaluate`` records nothing; ``load_scenario`` equals ``apply_scenario``;
- the incremental equity of a what-if equals ``equity_tables`` over every category;
- ``select_sites(prefer_exact=True)`` reports the MILP's better choice, whose promised
  coverage the what-if confirms; a MILP without a solution leaves greedy's choice and a note.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from circle15 import ConfigError, InputError, Study
from circle15.analysis.equity import equity_tables
from circle15.planning import WhatIfSession
from circle15.planning import sites as sites_module
from circle15.planning.scenario import apply_scenario, parse_scenario
from circle15.planning.session import make_edit
from circle15.planning.sites import gap_candidates, select_sites

pytestmark = pytest.mark.slow

KEY = "elderly_canteen"


@pytest.fixture(scope="module")
def result():
    return Study.demo().run()


@pytest.fixture(scope="module")
def spots(result) -> list[tuple[float, float]]:
    frame = gap_candidates(result, KEY).to_crs(4326)
    pick = np.random.default_rng(7).choice(len(frame), 4, replace=False)
    return [(float(p.x), float(p.y)) for p in frame.geometry.iloc[pick]]


def same_times(a, b, keys) -> None:
    for key in keys:
        np.testing.assert_allclose(
            a.cells[f"t_{key}"], b.cells[f"t_{key}"], rtol=1e-12, equal_nan=True
        )
        assert a.coverage(key) == pytest.approx(b.coverage(key), abs=1e-12)


def test_one_combined_edit_equals_the_chained_what_ifs(result, spots):
    ids = list(result.facilities.loc[result.facilities["category"] == KEY, "facility_id"])
    session = WhatIfSession(result)
    after = session.edit(
        KEY, add=[spots[0]], names=["甲"], capacity=[50.0], remove=[ids[0]], move={ids[1]: spots[1]}
    )
    chained = (
        result.remove_facilities(KEY, ids[0])
        .move_facilities(KEY, {ids[1]: spots[1]})
        .add_facilities(KEY, [spots[0]], names=["甲"], capacity=50)
    )
    same_times(after, chained, [KEY])
    assert len(session.edits) == 1 and session.can_undo
    assert session.undo() is result
    with pytest.raises(InputError, match="adds, removes and moves nothing"):
        make_edit(result, KEY)
    with pytest.raises(InputError, match="unknown category"):
        make_edit(result, "canteen", remove=[ids[0]])


def test_evaluate_records_nothing(result, spots):
    session = WhatIfSession(result)
    session.add(KEY, [spots[2]])
    before = session.current
    edit = make_edit(result, KEY, add=[spots[3]])
    got = session.evaluate([edit])
    same_times(got, result.add_facilities(KEY, [spots[3]]), [KEY])
    assert len(session.edits) == 1 and session.current is before


def test_session_loads_a_scenario_as_apply_scenario_does(result, spots):
    ids = list(result.facilities.loc[result.facilities["category"] == "childcare", "facility_id"])
    text = f"""
[scenario]
name = "plan"
[[add]]
category = "{KEY}"
lon = {spots[0][0]!r}
lat = {spots[0][1]!r}
capacity = 20
[[remove]]
category = "childcare"
id = "{ids[2]}"
"""
    scenario = parse_scenario(text, "plan.toml")
    session = WhatIfSession(result)
    session.add(KEY, [spots[1]])  # dropped: a scenario starts from the baseline
    got = session.load_scenario(scenario, "plan.toml")
    same_times(got, apply_scenario(result, scenario), [KEY, "childcare"])
    assert [e.category for e in session.edits] == [KEY, "childcare"]
    session.undo()
    same_times(session.current, result.add_facilities(KEY, [spots[0]], capacity=20), [KEY])
    with pytest.raises(ConfigError, match=r"plan\.toml: not valid TOML"):
        parse_scenario("[scenario", "plan.toml")
    with pytest.raises(ConfigError, match=r"plan\.toml: add\[0\]"):
        parse_scenario(
            '[scenario]\nname = "x"\n[[add]]\ncategory = "childcare"\nlon = 1\n', "plan.toml"
        )


def test_incremental_equity_equals_a_full_computation(result, spots):
    after = result.add_facilities(KEY, [spots[0], spots[1]], capacity=40)
    after = after.remove_facilities(
        "childcare",
        str(
            result.facilities.loc[result.facilities["category"] == "childcare", "facility_id"].iloc[
                0
            ]
        ),
    )
    cells = pd.DataFrame(after.cells.drop(columns=after.cells.geometry.name))
    full = equity_tables(cells, after.categories, list(after.zones["district"]), after.districts)
    for name in ("table", "coverage_balance", "lorenz"):
        pd.testing.assert_frame_equal(getattr(after.equity, name), getattr(full, name))


def test_prefer_exact_reports_the_better_choice(result):
    # On the demo, greedy is not optimal for 3 middle-school sites (1,078.8 vs 1,151.4).
    choice = select_sites(result, "middle_school", 3, exact=True, prefer_exact=True)
    assert choice.exact is not None and choice.exact.optimal
    assert choice.exact.value > choice.greedy.value
    assert choice.method == "exact"
    assert choice.sites["cumulative_gain"].iloc[-1] == pytest.approx(choice.exact.value)
    covered = choice.after.coverage("middle_school")
    assert covered == pytest.approx(choice.sites["coverage_after"].iloc[-1], abs=1e-12)
    plain = select_sites(result, "middle_school", 3, exact=True)
    assert plain.method == "greedy"
    assert covered > plain.after.coverage("middle_school")


def test_a_milp_without_solution_leaves_greedys_choice(result, monkeypatch):
    def no_solution(*args, **kwargs):
        raise RuntimeError("the site-selection MILP found no solution: Time limit reached")

    monkeypatch.setattr(sites_module, "exact_sites", no_solution)
    choice = select_sites(result, KEY, 2, exact=True, time_limit_s=0.5, prefer_exact=True)
    assert choice.exact is None and choice.method == "greedy"
    assert "no solution within 0.5 s" in choice.notes[0]
    assert "no solution within 0.5 s" in "\n".join(choice.summary())
