"""The 可及/均衡/优质 index: normalisation, weights and configuration, worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from circle15.analysis.index import IndexSettings, index_scores
from circle15.config import load_config
from circle15.errors import ConfigError
from circle15.standards import load_standards

from ..factories.studies import write_small_study

CATS = {k: load_standards().categories[k] for k in ("childcare", "sports_venue")}
ZONES = pd.DataFrame({"district": ["东", "西"], "name_en": ["East", "West"]})


def _values() -> pd.DataFrame:
    """Indicator values for two sub-districts and ALL, two categories (15-minute target)."""
    rows = []
    for key, shift in (("childcare", 0.0), ("sports_venue", 0.1)):
        rows += [
            {
                "district": "东",
                "category": key,
                "coverage": 0.8 + shift,
                "mean_time": 6.0,
                "gini_time": 0.2,
                "coverage_balance": 1.0,
                "norm_ratio": 1.4,
            },
            {
                "district": "西",
                "category": key,
                "coverage": 0.4 + shift,
                "mean_time": 12.0,
                "gini_time": 0.4,
                "coverage_balance": 0.6,
                "norm_ratio": 0.5,
            },
            {
                "district": "ALL",
                "category": key,
                "coverage": 0.6 + shift,
                "mean_time": 9.0,
                "gini_time": 0.3,
                "coverage_balance": 0.5,
                "norm_ratio": 0.9,
            },
        ]
    return pd.DataFrame(rows)


def _settings(**kw) -> IndexSettings:
    base = dict(
        indicators={
            "accessibility": {"coverage": 0.5, "mean_time": 0.5},
            "balance": {"gini_time": 1.0, "coverage_balance": 1.0},
            "quality": {"norm_ratio": 1.0},
        }
    )
    return IndexSettings(**{**base, **kw})


def test_goalposts_by_hand():
    res = index_scores(_values(), CATS, ZONES, _settings())
    t = res.table.set_index("district")
    # 东 childcare: coverage 0.8 -> 0.8; mean 6 min of a 15-min target -> 1 - 6/15 = 0.6;
    # accessibility 0.7. Sports venue: coverage 0.9 -> (0.9 + 0.6) / 2 = 0.75.
    # Mean over the two categories: 0.725 -> 72.5.
    assert t.loc["东", "accessibility"] == pytest.approx(72.5)
    # Balance: Gini 0.2 -> 0.8, coverage balance 1.0 -> (0.8 + 1) / 2 = 0.9 both categories.
    assert t.loc["东", "balance"] == pytest.approx(90.0)
    # Quality: norm ratio 1.4 is capped at 1.
    assert t.loc["东", "quality"] == pytest.approx(100.0)
    assert t.loc["东", "composite"] == pytest.approx((72.5 + 90 + 100) / 3)
    # 西: accessibility ((0.4 + 0.2) / 2 + (0.5 + 0.2) / 2) / 2 = 0.325; balance
    # (0.6 + 0.6) / 2 = 0.6; quality 0.5.
    assert t.loc["西", "accessibility"] == pytest.approx(32.5)
    assert t.loc["西", "balance"] == pytest.approx(60.0)
    assert t.loc["西", "composite"] == pytest.approx((32.5 + 60 + 50) / 3)
    assert t["rank"].tolist()[:2] == [1, 2] and pd.isna(t.loc["ALL", "rank"])
    assert t.loc["西", "name_en"] == "West"
    by_cat = res.by_category.set_index(["district", "category"])
    assert by_cat.loc[("东", "childcare"), "accessibility"] == pytest.approx(70.0)
    detail = res.indicators
    assert set(detail.columns) == {
        "district",
        "category",
        "dimension",
        "indicator",
        "value",
        "score",
        "weight",
    }


def test_weights_category_weights_goalposts_and_scale():
    res = index_scores(
        _values(),
        CATS,
        ZONES,
        _settings(
            weights={"accessibility": 2.0, "balance": 0.0, "quality": 1.0},
            category_weights={"sports_venue": 3.0},
            goalposts={"mean_time": (30.0, 0.0)},
            scale=1.0,
        ),
    )
    t = res.table.set_index("district")
    # 东: childcare (0.8 + 0.8) / 2 = 0.8; sports (0.9 + 0.8) / 2 = 0.85; weighted 1:3.
    acc = (0.8 + 3 * 0.85) / 4
    assert t.loc["东", "accessibility"] == pytest.approx(acc)
    assert t.loc["东", "composite"] == pytest.approx((2 * acc + 1.0) / 3)


def test_minmax_by_hand():
    res = index_scores(_values(), CATS, ZONES, _settings(normalisation="minmax"))
    t = res.table.set_index("district")
    # Best sub-district 1, worst 0 on every indicator; ALL sits halfway on each.
    assert t.loc["东", "composite"] == pytest.approx(100.0)
    assert t.loc["西", "composite"] == pytest.approx(0.0)
    # ALL: coverage, mean time and Gini halfway (0.5); coverage balance 0.5 is below the
    # worst sub-district (0.6), clipped to 0; norm ratio 0.9 of 0.5..1.4 -> 0.4/0.9.
    assert t.loc["ALL", "accessibility"] == pytest.approx(50.0)
    assert t.loc["ALL", "balance"] == pytest.approx(25.0)
    assert t.loc["ALL", "quality"] == pytest.approx(100 * 0.4 / 0.9)


def test_missing_values_are_left_out_and_weights_rescaled():
    values = _values()
    values.loc[values["category"] == "sports_venue", "norm_ratio"] = np.nan
    res = index_scores(values, CATS, ZONES, _settings())
    t = res.table.set_index("district")
    assert t.loc["西", "quality"] == pytest.approx(50.0)  # childcare alone


def test_index_config_is_validated_with_the_field_named(tmp_path):
    toml = write_small_study(tmp_path)
    text = toml.read_text(encoding="utf-8")
    toml.write_text(
        text + "\n[index.indicators]\naccessibility = { speed = 1.0 }\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"index\.indicators\.accessibility\.speed"):
        load_config(toml)
    toml.write_text(text + '\n[index]\nnormalisation = "zscore"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="normalisation"):
        load_config(toml)
    toml.write_text(text + "\n[index.category_weights]\nchildcare = 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"category_weights\.childcare"):
        load_config(toml)


def test_index_config_merges_with_defaults(tmp_path):
    toml = write_small_study(tmp_path)
    toml.write_text(
        toml.read_text(encoding="utf-8")
        + '\n[index]\nnormalisation = "minmax"\n[index.weights]\nquality = 0\n'
        "[index.indicators]\nbalance = { gini_supply = 1 }\n",
        encoding="utf-8",
    )
    settings = load_config(toml).index
    assert settings.normalisation == "minmax"
    assert settings.weights == {"accessibility": 1.0, "balance": 1.0, "quality": 0.0}
    assert settings.indicators["balance"] == {"gini_supply": 1.0}
    assert settings.indicators["accessibility"] == {"coverage": 0.5, "mean_time": 0.5}


def test_norm_override_in_the_study_file(tmp_path):
    toml = write_small_study(tmp_path)
    toml.write_text(
        toml.read_text(encoding="utf-8") + "\n[categories.kindergarten]\nnorm = 0.9\n",
        encoding="utf-8",
    )
    cat = load_config(toml).categories["kindergarten"]
    assert cat.norm == 0.9 and cat.norm_base == "cohort"
