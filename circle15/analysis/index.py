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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..settings import ALL_NAME_EN, DIMENSIONS, INDICATORS, IndexSettings, Indicator
from ..standards import Category
from .coverage import ALL
from .equity import Equity

__all__ = ["ALL_NAME_EN", "DIMENSIONS", "INDICATORS", "IndexResult", "IndexSettings",
           "Indicator", "index_scores", "indicator_values"]


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
    # one row per (district, category, measure): unstack is pivot_table without its cost
    eq = (equity.table.set_index(["district", "category", "measure"])[["gini", "theil"]]
          .unstack("measure"))
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
    """Weighted mean of ``value`` per group (groups in order of appearance), ignoring NaN
    values (NaN if none are left)."""
    x = frame[value].to_numpy(dtype=float)
    w = frame[weight].to_numpy(dtype=float)
    ok = ~np.isnan(x) & (w > 0)
    if len(by) == 1:
        codes, groups = pd.factorize(frame[by[0]], sort=False)
        out = pd.DataFrame({by[0]: np.asarray(groups, dtype=object)})
    else:
        codes, groups = pd.MultiIndex.from_frame(frame[by]).factorize(sort=False)
        out = pd.DataFrame.from_records(list(groups), columns=by)
    n = len(out)
    wx = np.bincount(codes, np.where(ok, x * w, 0.0), n)
    ws = np.bincount(codes, np.where(ok, w, 0.0), n)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[value] = np.where(ws > 0, wx / ws, np.nan)
    return out


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
    # One long table built from arrays (a what-if scores the index after every edit).
    by_key = {key: values[values["category"] == key] for key in categories}
    cols: dict[str, list[np.ndarray]] = {c: [] for c in (
        "district", "category", "dimension", "indicator", "value", "score", "weight")}
    for dim, used in settings.indicators.items():
        for name, weight in used.items():
            for key, cat in categories.items():
                rows = by_key[key]
                n = len(rows)
                cols["district"].append(rows["district"].to_numpy(dtype=object))
                cols["category"].append(np.full(n, key, dtype=object))
                cols["dimension"].append(np.full(n, dim, dtype=object))
                cols["indicator"].append(np.full(n, name, dtype=object))
                cols["value"].append(rows[name].to_numpy(dtype=float))
                cols["score"].append(_scores(rows[name], rows["district"], name, cat,
                                             settings))
                cols["weight"].append(np.full(n, float(weight)))
    long = pd.DataFrame({c: np.concatenate(v) if v else np.empty(0, dtype=object)
                         for c, v in cols.items()})
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
    # (district, dimension) pairs are unique: unstack is pivot_table without its cost
    wide = per_dim.set_index(["district", "dimension"])["score"].unstack("dimension")
    for dim in DIMENSIONS:
        col = wide[dim] if dim in wide.columns else pd.Series(dtype=float)
        table[dim] = table["district"].map(col).astype(float) * settings.scale
    table["composite"] = (table["district"].map(composite.set_index("district")["score"])
                          .astype(float) * settings.scale)
    is_sub = table["district"] != ALL
    table["rank"] = (table["composite"].where(is_sub)
                     .rank(ascending=False, method="min").astype("Int64"))
    by_cat = (per_cat.set_index(["district", "category", "dimension"])["score"]
              .unstack("dimension"))
    by_cat = (by_cat.reindex(columns=list(DIMENSIONS)) * settings.scale).reset_index()
    by_cat.columns.name = None
    return IndexResult(table=table, by_category=by_cat, indicators=long)
