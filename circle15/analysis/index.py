"""The 可及/均衡/优质 index: accessibility, balance and quality sub-scores and a composite.

Each sub-district (and the whole area, ``ALL``) is scored in three steps, every choice of
which is set in the study file's ``[index]`` section so that a reviewer can match an
official methodology:

1. **Indicators** per (district, category), each a number with a direction (see
   ``INDICATORS``): e.g. ``coverage`` (higher is better) or ``mean_time`` (lower is better).
2. **Normalisation** of each indicator to a score in ``[0, 1]``:
   ``goalposts`` -- ``clip((x - worst) / (best - worst), 0, 1)`` with fixed goalposts
   (``coverage`` 0 -> 1, ``mean_time`` target time -> 0 minutes, ``gini_*`` 1 -> 0, ...);
   ``minmax`` -- relative to the sub-districts, the best scoring 1 and the worst 0 (``ALL``
   is placed on the same scale; where every sub-district is equal, all score 1).
3. **Weighted means**: indicator scores -> a dimension score per category (``[index.
   indicators]`` weights); categories -> a dimension score per district
   (``category_weights``, equal by default); the three dimensions -> the composite
   (``weights``). Missing values (a category without residents of its cohort, without a
   norm) are left out and the other weights rescaled; a district with nothing to score
   gets NaN. Scores are reported times ``scale`` (100 by default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..standards import Category
from .coverage import ALL
from .equity import Equity

#: The three dimensions of the index, with their Chinese names.
DIMENSIONS = {"accessibility": "可及", "balance": "均衡", "quality": "优质"}

#: Name given to the whole study area in the index table's ``name_en`` column.
ALL_NAME_EN = "whole area"


@dataclass(frozen=True)
class Indicator:
    """An indicator the index can use.

    ``goalposts`` are ``(worst, best)``; None means ``(target time, 0)`` minutes.
    """

    name: str
    description: str
    higher_is_better: bool
    goalposts: tuple[float, float] | None


INDICATORS: dict[str, Indicator] = {i.name: i for i in [
    Indicator("coverage", "share of the cohort within the target walking time", True,
              (0.0, 1.0)),
    Indicator("reachable", "share of the cohort with a walking route to any facility", True,
              (0.0, 1.0)),
    Indicator("mean_time", "mean walking time of the cohort who can reach a facility, min",
              False, None),
    Indicator("p90_time", "90th-percentile walking time, minutes", False, None),
    Indicator("gini_time", "Gini of walking time over the cohort", False, (1.0, 0.0)),
    Indicator("theil_time", "Theil T of walking time over the cohort", False, (1.0, 0.0)),
    Indicator("gini_supply", "Gini of 2SFCA supply over the cohort", False, (1.0, 0.0)),
    Indicator("theil_supply", "Theil T of 2SFCA supply over the cohort", False, (1.0, 0.0)),
    Indicator("coverage_balance",
              "a sub-district's coverage over the sub-districts' mean coverage (capped at "
              "1); for ALL, the lowest over the mean (min/mean ratio)", True, (0.0, 1.0)),
    Indicator("norm_ratio", "capacity within reach (2SFCA) per head over the norm", True,
              (0.0, 1.0)),
    Indicator("provision_ratio", "capacity located in the district per head over the norm",
              True, (0.0, 1.0)),
]}


def _default_indicators() -> dict[str, dict[str, float]]:
    return {"accessibility": {"coverage": 0.5, "mean_time": 0.5},
            "balance": {"gini_time": 1.0, "gini_supply": 1.0, "coverage_balance": 1.0},
            "quality": {"norm_ratio": 1.0}}


@dataclass(frozen=True)
class IndexSettings:
    """How the index is computed (the study file's ``[index]`` section).

    Attributes
    ----------
    normalisation : {"goalposts", "minmax"}
        Fixed goalposts, or relative to the sub-districts.
    scale : float
        Scores are reported on ``0..scale``.
    weights : mapping
        Weight of each dimension in the composite.
    indicators : mapping
        Per dimension, the indicators used and their weights.
    category_weights : mapping
        Weight of each category (1 when not listed).
    goalposts : mapping
        ``(worst, best)`` per indicator, replacing the defaults of ``INDICATORS``.
    """

    normalisation: Literal["goalposts", "minmax"] = "goalposts"
    scale: float = 100.0
    weights: Mapping[str, float] = field(
        default_factory=lambda: dict.fromkeys(DIMENSIONS, 1.0))
    indicators: Mapping[str, Mapping[str, float]] = field(default_factory=_default_indicators)
    category_weights: Mapping[str, float] = field(default_factory=dict)
    goalposts: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def check(self, categories: Sequence[str], where: str = "index") -> None:
        """Raise ``ConfigError`` naming the field when a name or weight cannot be used."""
        for dim in self.weights:
            if dim not in DIMENSIONS:
                raise ConfigError(f"{where}.weights.{dim}: not a dimension; use "
                                  f"{', '.join(DIMENSIONS)}")
        for dim, used in self.indicators.items():
            if dim not in DIMENSIONS:
                raise ConfigError(f"{where}.indicators.{dim}: not a dimension; use "
                                  f"{', '.join(DIMENSIONS)}")
            for name in used:
                if name not in INDICATORS:
                    raise ConfigError(f"{where}.indicators.{dim}.{name}: unknown indicator; "
                                      f"known: {', '.join(INDICATORS)}")
        for name in self.goalposts:
            if name not in INDICATORS:
                raise ConfigError(f"{where}.goalposts.{name}: unknown indicator; known: "
                                  f"{', '.join(INDICATORS)}")
            worst, best = self.goalposts[name]
            if worst == best:
                raise ConfigError(f"{where}.goalposts.{name}: worst and best are equal")
        for key in self.category_weights:
            if key not in categories:
                raise ConfigError(f"{where}.category_weights.{key}: not a category of this "
                                  f"study ({', '.join(categories)})")
        groups = {"weights": self.weights, "category_weights": self.category_weights,
                  **{f"indicators.{d}": v for d, v in self.indicators.items()}}
        for label, weights in groups.items():
            if any(not w >= 0 for w in weights.values()):
                raise ConfigError(f"{where}.{label}: weights must be 0 or more")
        if not any(w > 0 for w in self.weights.values()):
            raise ConfigError(f"{where}.weights: give at least one dimension a weight above 0")


@dataclass
class IndexResult:
    """The index of a run.

    Attributes
    ----------
    table : DataFrame
        One row per sub-district plus ``ALL``: ``district, name_en, accessibility, balance,
        quality, composite`` (on ``0..scale``) and ``rank`` (by composite among the
        sub-districts, 1 = best; NA for ``ALL``).
    by_category : DataFrame
        ``district, category`` and the three dimension scores per category.
    indicators : DataFrame
        Long table ``district, category, dimension, indicator, value, score, weight``:
        every number the scores were made of.
    """

    table: pd.DataFrame
    by_category: pd.DataFrame
    indicators: pd.DataFrame


def indicator_values(district_table: pd.DataFrame, supply_table: pd.DataFrame,
                     equity: Equity, districts: Sequence[str]) -> pd.DataFrame:
    """Every indicator per (district, category), ``ALL`` included: one column each."""
    base = district_table[["district", "category"]].copy()
    pop = district_table["population"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        base["reachable"] = np.where(
            pop > 0, 1 - district_table["unreachable_population"].to_numpy(dtype=float) / pop,
            np.nan)
    base["coverage"] = district_table["coverage"].to_numpy(dtype=float)
    base["mean_time"] = district_table["mean_min"].to_numpy(dtype=float)
    base["p90_time"] = district_table["p90_min"].to_numpy(dtype=float)
    eq = equity.table.pivot_table(index=["district", "category"], columns="measure",
                                  values=["gini", "theil"], aggfunc="first", dropna=False)
    eq.columns = [f"{stat}_{'time' if m == 'walk_time' else m}" for stat, m in eq.columns]
    base = base.merge(eq.reset_index(), on=["district", "category"], how="left")
    sub = base["district"].isin(list(districts))
    mean_cov = base[sub].groupby("category")["coverage"].mean()
    rel = (base["coverage"] / base["category"].map(mean_cov)).clip(upper=1.0)
    ratio = equity.coverage_balance.set_index("category")["min_mean_ratio"]
    base["coverage_balance"] = np.where(base["district"] == ALL,
                                        base["category"].map(ratio), rel)
    sup = supply_table[["district", "category", "norm_ratio", "provision", "norm"]].copy()
    sup["provision_ratio"] = sup["provision"] / sup["norm"]
    base = base.merge(sup[["district", "category", "norm_ratio", "provision_ratio"]],
                      on=["district", "category"], how="left")
    return base


def _goalposts(name: str, category: Category, settings: IndexSettings) -> tuple[float, float]:
    if name in settings.goalposts:
        worst, best = settings.goalposts[name]
        return float(worst), float(best)
    default = INDICATORS[name].goalposts
    return default if default is not None else (float(category.target_min), 0.0)


def _scores(values: pd.Series, districts: pd.Series, name: str, category: Category,
            settings: IndexSettings) -> np.ndarray:
    x = values.to_numpy(dtype=float)
    if settings.normalisation == "minmax":
        sub = x[(districts != ALL).to_numpy() & ~np.isnan(x)]
        if len(sub) == 0:
            return np.full(len(x), np.nan)
        lo, hi = sub.min(), sub.max()
        if hi == lo:
            return np.where(np.isnan(x), np.nan, 1.0)
        worst, best = (lo, hi) if INDICATORS[name].higher_is_better else (hi, lo)
    else:
        worst, best = _goalposts(name, category, settings)
    return np.clip((x - worst) / (best - worst), 0.0, 1.0)


def _weighted(frame: pd.DataFrame, by: list[str], value: str, weight: str) -> pd.DataFrame:
    """Weighted mean of ``value`` per group, ignoring NaN values (NaN if none are left)."""
    ok = frame[value].notna() & (frame[weight] > 0)
    f = frame.assign(_wx=np.where(ok, frame[value] * frame[weight], 0.0),
                     _w=np.where(ok, frame[weight], 0.0))
    g = f.groupby(by, sort=False)[["_wx", "_w"]].sum()
    return (g["_wx"] / g["_w"].where(g["_w"] > 0)).rename(value).reset_index()


def index_scores(values: pd.DataFrame, categories: dict[str, Category],
                 zones: pd.DataFrame, settings: IndexSettings) -> IndexResult:
    """Score the indicators and combine them into the index.

    Parameters
    ----------
    values : DataFrame
        From :func:`indicator_values`.
    categories : dict
        Categories by key.
    zones : DataFrame
        ``district`` and ``name_en`` of the sub-districts, in report order.
    settings : IndexSettings
        Indicators, normalisation and weights.

    Returns
    -------
    IndexResult
    """
    settings.check(list(categories))
    parts = []
    for dim, used in settings.indicators.items():
        for name, weight in used.items():
            for key, cat in categories.items():
                rows = values[values["category"] == key]
                parts.append(pd.DataFrame({
                    "district": rows["district"].to_numpy(), "category": key,
                    "dimension": dim, "indicator": name,
                    "value": rows[name].to_numpy(dtype=float),
                    "score": _scores(rows[name], rows["district"], name, cat, settings),
                    "weight": float(weight)}))
    long = pd.concat(parts, ignore_index=True)
    per_cat = _weighted(long, ["district", "category", "dimension"], "score", "weight")
    per_cat["cat_weight"] = per_cat["category"].map(
        lambda k: float(settings.category_weights.get(k, 1.0)))
    per_dim = _weighted(per_cat, ["district", "dimension"], "score", "cat_weight")
    per_dim["dim_weight"] = per_dim["dimension"].map(
        lambda d: float(settings.weights.get(d, 0.0)))
    composite = _weighted(per_dim, ["district"], "score", "dim_weight")

    order = [*zones["district"], ALL]
    table = pd.DataFrame({"district": order})
    names = dict(zip(zones["district"], zones["name_en"], strict=False))
    table["name_en"] = [names.get(d, ALL_NAME_EN) for d in order]
    wide = per_dim.pivot_table(index="district", columns="dimension", values="score",
                               aggfunc="first", dropna=False)
    for dim in DIMENSIONS:
        col = wide[dim] if dim in wide.columns else pd.Series(dtype=float)
        table[dim] = table["district"].map(col).astype(float) * settings.scale
    table["composite"] = (table["district"].map(composite.set_index("district")["score"])
                          .astype(float) * settings.scale)
    is_sub = table["district"] != ALL
    table["rank"] = (table["composite"].where(is_sub)
                     .rank(ascending=False, method="min").astype("Int64"))
    by_cat = per_cat.pivot_table(index=["district", "category"], columns="dimension",
                                 values="score", aggfunc="first", dropna=False)
    by_cat = (by_cat.reindex(columns=list(DIMENSIONS)) * settings.scale).reset_index()
    by_cat.columns.name = None
    return IndexResult(table=table, by_category=by_cat, indicators=long)
