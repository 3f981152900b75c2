"""The index says what it means: catchments, unserved districts and the 均衡 balance, by hand."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from circle15 import Study
from circle15.analysis.assessment import assess
from circle15.analysis.coverage import district_table
from circle15.analysis.equity import atkinson_ede
from circle15.analysis.index import IndexSettings, index_scores
from circle15.analysis.supply import decay_function, floating_catchment
from circle15.config import load_config
from circle15.demo.locate import repository_data_dir
from circle15.errors import ConfigError
from circle15.settings import SupplySettings
from circle15.standards import load_standards

from ..factories.studies import write_small_study

STANDARDS = load_standards().categories
ROOT = repository_data_dir().parent

# ------------------------------------------------------------------ step decay catchment


def test_catchment_beyond_the_last_tier_is_refused_under_step_decay(tmp_path):
    toml = write_small_study(tmp_path)
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text + '\n[supply]\nmethod = "e2sfca"\ncatchment_min = 20\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"catchment_min = 20 .*silently be 15 min"):
        load_config(toml)
    # With a weight for 15-20 minutes it loads, and the extra step takes effect.
    toml.write_text(
        text + '\n[supply]\nmethod = "e2sfca"\ncatchment_min = 20\n'
        "step_weights = [1.0, 0.68, 0.22, 0.1]\n",
        encoding="utf-8",
    )
    settings = load_config(toml).supply
    cat = STANDARDS["kindergarten"]
    assert settings.step_limits(cat) == (5, 10, 15, 20)
    w = decay_function(settings, cat)(np.array([3.0, 12.0, 15.0, 17.0, 20.0, 20.5]))
    np.testing.assert_allclose(w, [1.0, 0.22, 0.22, 0.1, 0.1, 0.0])


def test_a_shorter_catchment_cuts_the_last_step():
    cat = STANDARDS["kindergarten"]
    settings = SupplySettings(method="e2sfca", catchment_min=12.0)
    settings.check_tiers(cat)
    assert settings.step_limits(cat) == (5, 10, 12)
    w = decay_function(settings, cat)(np.array([4.0, 9.0, 11.0, 12.0, 13.0]))
    np.testing.assert_allclose(w, [1.0, 0.68, 0.22, 0.22, 0.0])


def test_longer_catchment_changes_supply_by_hand():
    """One facility (100 places), cells at 3 and 17 minutes with 10 and 20 children."""
    cat = STANDARDS["kindergarten"]
    catchment = sp.csr_array(np.array([[3.0, 17.0]]))
    short = SupplySettings(method="e2sfca")
    long = SupplySettings(method="e2sfca", catchment_min=20.0, step_weights=(1.0, 0.68, 0.22, 0.1))
    # 15 minutes: the far cell is out of reach, R = 100 / 10.
    got = floating_catchment(
        sp.csr_array(np.array([[3.0, 0.0]])),
        np.array([100.0]),
        np.array([10.0, 20.0]),
        decay_function(short, cat),
    )
    np.testing.assert_allclose(got.cell_supply, [10.0, 0.0])
    # 20 minutes: R = 100 / (10 + 0.1 * 20); A = R and 0.1 R.
    got = floating_catchment(
        catchment, np.array([100.0]), np.array([10.0, 20.0]), decay_function(long, cat)
    )
    np.testing.assert_allclose(got.cell_supply, [100 / 12, 10 / 12])


@pytest.mark.slow
def test_a_20_minute_catchment_reaches_residents_beyond_15_minutes(tmp_path):
    toml = write_small_study(tmp_path)
    text = toml.read_text(encoding="utf-8")
    runs = {}
    for minutes in (15, 20):
        toml.write_text(text + f"\n[supply]\ncatchment_min = {minutes}\n", encoding="utf-8")
        runs[minutes] = Study.from_config(toml).run().cells
    t = runs[20]["t_kindergarten"].to_numpy()
    between = (t > 15) & (t <= 20)
    assert between.any()
    assert (runs[15]["supply_kindergarten"].to_numpy()[between] == 0).all()
    assert (runs[20]["supply_kindergarten"].to_numpy()[between] > 0).all()


# ------------------------------------------------------------------ the balance measure


def test_atkinson_ede_by_hand():
    # Half the residents at 1, half at 0: mean 0.5; with e = 0.5, (0.5 * 1 + 0.5 * 0)² = 0.25.
    assert atkinson_ede([1.0, 0.0], [3.0, 3.0], 0.5) == pytest.approx(0.25)
    assert atkinson_ede([1.0, 0.0], [3.0, 3.0], 0.0) == pytest.approx(0.5)
    # Everyone equal: the EDE is the level itself, whatever the aversion.
    assert atkinson_ede([0.4, 0.4, 0.4], [1.0, 5.0, 2.0], 0.8) == pytest.approx(0.4)
    # 0.25 and 1 weighted 1:3 with e = 0.5: ((0.5 + 3) / 4)² = 0.765625.
    assert atkinson_ede([0.25, 1.0], [1.0, 3.0], 0.5) == pytest.approx(0.765625)
    assert np.isnan(atkinson_ede([0.2, np.nan], [1.0, 1.0], 0.5))  # unknown stays unknown
    assert np.isnan(atkinson_ede([0.2], [0.0], 0.5))


def _two_districts(times_poor: float = 117.0):
    """好: two cells of 10 children 5 min from one kindergarten of 10 places; 差: two
    cells of 10 children ``times_poor`` minutes away, beyond its catchment."""
    cat = STANDARDS["kindergarten"]  # norm: 1 place per child aged 3-5
    cells = pd.DataFrame(
        {
            "district": ["好", "好", "差", "差"],
            "pop_total": 100.0,
            "snapped": True,
            "pop_kindergarten": 10.0,
            "t_kindergarten": [5.0, 5.0, times_poor, times_poor],
        }
    )
    zones = pd.DataFrame({"district": ["好", "差"], "name_en": ["Good", "Poor"]})
    table = district_table(cells, {cat.key: cat}, ["好", "差"])
    catchment = sp.csr_array(np.array([[5.0, 5.0, 0.0, 0.0]]))
    catchment.eliminate_zeros()
    return cells, table, zones, {cat.key: cat}, {cat.key: catchment}


def _assess(index: IndexSettings, times_poor: float = 117.0):
    cells, table, zones, cats, catchments = _two_districts(times_poor)
    found = assess(
        cells,
        table,
        cats,
        zones,
        catchments,
        {"kindergarten": np.array([10.0])},
        {"kindergarten": np.array(["好"], dtype=object)},
        SupplySettings(),
        index,
    )
    return found.index.by_category.set_index("district"), found.index.indicators


def test_uniformly_poor_access_scores_zero_on_balance():
    by_cat, detail = _assess(IndexSettings())
    # 差: everyone 117 min away (achievement 0), supply 0 -> both EDEs 0 -> balance 0.
    assert by_cat.loc["差", "balance"] == pytest.approx(0.0)
    # 好: everyone at 5 of 15 min -> achievement 1 - 5/15 = 2/3 for all, EDE 2/3; supply
    # 10 places / 20 children = 0.5 each against a norm of 1 -> EDE 0.5. (2/3 + 0.5) / 2.
    assert by_cat.loc["好", "balance"] == pytest.approx(100 * (2 / 3 + 0.5) / 2)
    ede = detail[detail["indicator"].isin(["ede_time", "ede_supply"])]
    got = ede.set_index(["district", "indicator"])["value"]
    assert got[("好", "ede_time")] == pytest.approx(2 / 3)
    assert got[("差", "ede_supply")] == 0.0
    # The whole area: half the children at 2/3, half at 0 -> ((√(2/3)) / 2)² = 1/6.
    assert got[("ALL", "ede_time")] == pytest.approx(1 / 6)
    # Supply: norm 1 per child over 40 children, supply 0.5 for half -> ((√0.5) / 2)².
    assert got[("ALL", "ede_supply")] == pytest.approx(0.125)


def test_the_old_gini_balance_rewarded_uniform_poverty_and_unserved_is_worst():
    old = {
        "accessibility": {"coverage": 0.5, "mean_time": 0.5},
        "balance": {"gini_time": 1.0, "gini_supply": 1.0, "coverage_balance": 1.0},
        "quality": {"norm_ratio": 1.0},
    }
    # As before (supply 0 everywhere left out as missing): Gini of equal times 0 -> 1,
    # coverage 0 of a mean 0.5 -> 0: balance (1 + 0) / 2 = 50 for nobody served.
    by_cat, _ = _assess(IndexSettings(indicators=old, unserved="missing"))
    assert by_cat.loc["差", "balance"] == pytest.approx(50.0)
    # Zero supply everywhere is the worst case: the Gini of supply scores 0.
    by_cat, detail = _assess(IndexSettings(indicators=old))
    assert by_cat.loc["差", "balance"] == pytest.approx(100 / 3)
    row = detail[(detail["district"] == "差") & (detail["indicator"] == "gini_supply")]
    assert np.isnan(row["value"].iloc[0]) and row["score"].iloc[0] == 0.0


def test_no_route_at_all_scores_worst_not_missing():
    values = pd.DataFrame(
        {
            "district": ["好", "差", "ALL"],
            "category": "kindergarten",
            "coverage": [1.0, 0.0, 0.5],
            "mean_time": [5.0, np.nan, 5.0],
            "no_route": [False, True, False],
            "no_supply": False,
            "no_coverage": [False, True, False],
        }
    )
    settings = {"accessibility": {"coverage": 1.0, "mean_time": 1.0}}
    cats = {"kindergarten": STANDARDS["kindergarten"]}
    zones = pd.DataFrame({"district": ["好", "差"], "name_en": ["Good", "Poor"]})
    worst = index_scores(values, cats, zones, IndexSettings(indicators=settings))
    missing = index_scores(
        values, cats, zones, IndexSettings(indicators=settings, unserved="missing")
    )
    # 差: coverage 0, no walking time at all: (0 + 0) / 2 either way here, but the mean
    # time is 0 (worst), not left out.
    got = worst.indicators.set_index(["district", "indicator"])["score"]
    assert got[("差", "mean_time")] == 0.0
    assert np.isnan(
        missing.indicators.set_index(["district", "indicator"])["score"][("差", "mean_time")]
    )


def test_index_settings_are_validated(tmp_path):
    toml = write_small_study(tmp_path)
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text + "\n[index]\ninequality_aversion = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"index\.inequality_aversion"):
        load_config(toml)
    toml.write_text(text + '\n[index]\nunserved = "zero"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"index\.unserved"):
        load_config(toml)
    toml.write_text(
        text + '\n[index]\ninequality_aversion = 0.75\nunserved = "missing"\n', encoding="utf-8"
    )
    settings = load_config(toml).index
    assert (settings.inequality_aversion, settings.unserved) == (0.75, "missing")
    assert settings.indicators["balance"] == {"ede_time": 1.0, "ede_supply": 1.0}


@pytest.mark.slow
def test_jiulonghu_childcare_no_longer_scores_on_balance():
    res = Study.demo().run()
    row = res.districts[
        (res.districts["district"] == "九龙湖镇") & (res.districts["category"] == "childcare")
    ].iloc[0]
    assert row["coverage"] == 0 and row["mean_min"] > 100
    assert row["score_balance"] == 0.0


# ------------------------------------------------------------------ the docs


def test_the_docs_study_example_is_the_demo_study_file():
    page = (ROOT / "docs" / "study-file.md").read_text(encoding="utf-8")
    section = page.split("## The demo's study file", 1)[1]
    block = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    assert block == (ROOT / "data" / "zhenhai.toml").read_text(encoding="utf-8")
