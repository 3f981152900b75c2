"""The 可及/均衡/优质 index: accessibility, balance and quality sub-scores and a composite.

Each sub-district (and the whole area, ``ALL``) is scored in three steps, every choice of
which is set in the study file's ``[index]`` section so that a reviewer can match an
official methodology:

1. **Indicators** per (district, category), each a number with a direction (see
   ``settings.INDICATORS``): e.g. ``coverage`` (higher is better) or ``mean_time`` (lower
   is better). ``reachable`` is the share of the cohort with any walking route to a
   facility (``1 - unreachable_population / population``); ``p90_time`` the shortest time
   within which at least 90 % of those who can reach one live (weighted inverted CDF,
   no interpolation); ``ede_time`` and ``ede_supply`` the equally-distributed equivalent
   of the residents' achievements (:func:`achievement_ede`).
2. **Normalisation** of each indicator to a score in ``[0, 1]``:
   ``goalposts`` -- ``clip((x - worst) / (best - worst), 0, 1)`` with fixed goalposts
   (``coverage`` 0 -> 1, ``mean_time`` target time -> 0 minutes, ``gini_*`` 1 -> 0, ...):
   anything at or beyond ``worst`` scores 0, at or beyond ``best`` 1;
   ``minmax`` -- ``clip((x - worst) / (best - worst), 0, 1)`` with ``worst`` and ``best``
   the lowest and highest value among the sub-districts (by direction), so the best
   sub-district scores 1 and the worst 0; ``ALL`` is placed on the same scale and clipped
   to ``[0, 1]`` (its Gini, say, can lie beyond every sub-district's); where every
   sub-district has the same value, all score 1.
3. **Weighted means**: indicator scores -> a dimension score per category (``[index.
   indicators]`` weights); categories -> a dimension score per district
   (``category_weights``, equal by default); the three dimensions -> the composite
   (``weights``). Missing values (a category without residents of its cohort, without a
   norm, without any known capacity) are left out and the other weights rescaled; a
   district with nothing to score gets NaN. An indicator undefined because nobody of the
   cohort is served -- no walking route to any facility, or supply 0 everywhere -- is
   not missing but the worst case and scores 0 (``unserved = "worst"``, the default;
   ``"missing"`` leaves it out instead). Scores are reported times ``scale`` (100).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from ..schema import pop_col, supply_col, time_col
from ..settings import ALL_NAME_EN, DIMENSIONS, INDICATORS, IndexSettings, Indicator
from ..standards import Category
from ._groups import DistrictGroups
from .coverage import ALL
from .equity import Equity

__all__ = [
    "ALL_NAME_EN",
    "DIMENSIONS",
    "INDICATORS",
    "IndexResult",
    "IndexSettings",
    "Indicator",
    "achievement_ede",
    "index_scores",
    "indicator_values",
]


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


def indicator_values(
    district_table: pd.DataFrame,
    supply_table: pd.DataFrame,
    equity: Equity,
    districts: Sequence[str],
    ede: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every indicator per (district, category), ``ALL`` included: one column each.

    ``ede`` (from :func:`achievement_ede`) adds ``ede_time`` and ``ede_supply``. The flags
    ``no_route`` (residents of the cohort, none with a walking route to a facility),
    ``no_supply`` (residents, 2SFCA supply 0 for all of them) and ``no_coverage``
    (residents, none within the target) say why an indicator may have no value.
    """
    base = district_table[["district", "category"]].copy()
    pop = district_table["population"].to_numpy(dtype=float)
    unreachable = district_table["unreachable_population"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        base["reachable"] = np.where(pop > 0, 1 - unreachable / pop, np.nan)
    base["coverage"] = district_table["coverage"].to_numpy(dtype=float)
    base["mean_time"] = district_table["mean_min"].to_numpy(dtype=float)
    base["p90_time"] = district_table["p90_min"].to_numpy(dtype=float)
    # one row per (district, category, measure): unstack is pivot_table without its cost
    eq = equity.table.set_index(["district", "category", "measure"])[["gini", "theil"]].unstack(
        "measure"
    )
    assert isinstance(eq, pd.DataFrame)  # unstacking a frame gives a frame
    pairs = cast("list[tuple[str, str]]", eq.columns.to_list())
    eq.columns = pd.Index([f"{stat}_{'time' if m == 'walk_time' else m}" for stat, m in pairs])
    base = base.merge(eq.reset_index(), on=["district", "category"], how="left")
    # Everyone on the doorstep: walking times are perfectly equal, not undefined.
    doorstep = (base["mean_time"] == 0).to_numpy()
    for col in ("gini_time", "theil_time"):
        if col in base:
            base.loc[doorstep, col] = 0.0
    sub = base["district"].isin(list(districts))
    mean_cov = base[sub].groupby("category")["coverage"].mean()
    rel = (base["coverage"] / base["category"].map(mean_cov)).clip(upper=1.0)
    ratio = equity.coverage_balance.set_index("category")["min_mean_ratio"]
    base["coverage_balance"] = np.where(base["district"] == ALL, base["category"].map(ratio), rel)
    sup = supply_table[
        ["district", "category", "supply_ratio", "norm_ratio", "provision", "norm"]
    ].copy()
    sup["provision_ratio"] = sup["provision"] / sup["norm"]
    base = base.merge(
        sup[["district", "category", "supply_ratio", "norm_ratio", "provision_ratio"]],
        on=["district", "category"],
        how="left",
    )
    if ede is not None:
        base = base.merge(
            ede[["district", "category", "ede_time", "ede_supply"]],
            on=["district", "category"],
            how="left",
        )
    has_cohort = pop > 0
    base["no_route"] = has_cohort & (unreachable >= pop)
    base["no_supply"] = has_cohort & (base["supply_ratio"].to_numpy(dtype=float) == 0)
    base["no_coverage"] = has_cohort & (base["coverage"].to_numpy(dtype=float) == 0)
    return base.drop(columns="supply_ratio")


def achievement_ede(
    cells: pd.DataFrame,
    categories: dict[str, Category],
    districts: Sequence[str],
    supply_table: pd.DataFrame,
    settings: IndexSettings,
) -> pd.DataFrame:
    """Equally-distributed equivalent of the residents' achievements, per district.

    Each resident of a cohort gets two achievements in ``[0, 1]``:

    - walking time: ``clip((t - worst) / (best - worst), 0, 1)`` on the ``mean_time``
      goalposts (target time -> 0 minutes by default), 0 without a walking route;
    - supply: the cell's 2SFCA supply over ``A* = norm * B / (norm_per * P)``, the supply
      per resident of the cohort at which the district (``P`` cohort, ``B`` the people the
      norm counts) would just meet its norm, capped at 1 -- uncapped, their mean is
      ``norm_ratio``. NaN without a norm or any known capacity.

    Each is summarised by Atkinson's EDE, ``(sum P_i a_i^(1-e) / P)^(1/(1-e))`` with
    ``e = settings.inequality_aversion`` (:func:`~circle15.analysis.equity.atkinson_ede`):
    the achievement which, if every resident had it, would be as good as the actual spread.
    An even spread keeps its level; an uneven one is marked down; uniformly poor access
    stays poor -- evenness alone earns nothing.

    Returns
    -------
    DataFrame
        ``district, category, ede_time, ede_supply``, ``ALL`` rows included.
    """
    groups = DistrictGroups.of(cells["district"].to_numpy(), districts)
    order = [*groups.names, ALL]
    norm_base = supply_table.set_index(["district", "category"])["norm_population"]
    e = settings.inequality_aversion
    frames = []
    for key, cat in categories.items():
        w = cells[pop_col(key)].to_numpy(dtype=float)
        worst, best = _goalposts("mean_time", cat, settings)
        t = cells[time_col(key)].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            a_time = np.where(np.isnan(t), 0.0, np.clip((t - worst) / (best - worst), 0.0, 1.0))
        supply = (
            cells[supply_col(key)].to_numpy(dtype=float)
            if supply_col(key) in cells
            else np.full(len(cells), np.nan)
        )
        cohort = groups.sums(w)
        ede_supply = np.full(len(order), np.nan)
        if cat.norm is not None:
            base = np.array([float(norm_base[(name, key)]) for name in order])
            with np.errstate(invalid="ignore", divide="ignore"):
                target = cat.norm * base / (cat.norm_per * cohort)
            # Each resident's share of the supply that would just meet the norm where they
            # live; the whole area has one target of its own.
            local = np.minimum(supply / groups.per_cell(target[:-1]), 1.0)
            whole = np.minimum(supply / target[-1], 1.0)
            ede_supply[:-1] = _grouped_ede(local, w, groups, e)[:-1]
            ede_supply[-1] = _grouped_ede(whole, w, groups, e)[-1]
            ede_supply[~(cohort > 0)] = np.nan
        frames.append(
            pd.DataFrame(
                {
                    "district": order,
                    "category": key,
                    "ede_time": _grouped_ede(a_time, w, groups, e),
                    "ede_supply": ede_supply,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)[["district", "category", "ede_time", "ede_supply"]]


def _grouped_ede(
    achievement: np.ndarray, weights: np.ndarray, groups: DistrictGroups, aversion: float
) -> np.ndarray:
    """:func:`~circle15.analysis.equity.atkinson_ede` of every sub-district, then of the
    whole area, from sums: NaN where nobody is weighted or a weighted achievement is NaN."""
    if not 0 <= aversion < 1:
        raise ValueError("inequality aversion must lie in [0, 1)")
    weighted = weights > 0
    a = np.where(weighted, achievement, 0.0)
    if (a < 0).any():
        raise ValueError("the equally-distributed equivalent needs achievements >= 0")
    unknown = groups.counts(weighted & np.isnan(achievement))
    total = groups.sums(np.where(weighted, weights, 0.0))
    power = 1.0 - aversion
    with np.errstate(invalid="ignore", divide="ignore"):
        level = groups.sums(np.where(weighted & ~np.isnan(a), weights * a**power, 0.0))
        ede: np.ndarray = (level / total) ** (1.0 / power)
    return np.where((total > 0) & (unknown == 0), ede, np.nan)


def _goalposts(name: str, category: Category, settings: IndexSettings) -> tuple[float, float]:
    if name in settings.goalposts:
        worst, best = settings.goalposts[name]
        return float(worst), float(best)
    default = INDICATORS[name].goalposts
    return default if default is not None else (float(category.target_min), 0.0)


def _scores(
    rows: pd.DataFrame, name: str, category: Category, settings: IndexSettings
) -> np.ndarray:
    x = rows[name].to_numpy(dtype=float)
    score = _normalised(x, rows["district"], name, category, settings)
    flag = INDICATORS[name].unserved
    if settings.unserved == "worst" and flag is not None and flag in rows:
        # Nobody served at all: the worst case, not a gap in the data.
        score = np.where(np.isnan(x) & rows[flag].to_numpy(dtype=bool), 0.0, score)
    return score


def _normalised(
    x: np.ndarray, districts: pd.Series, name: str, category: Category, settings: IndexSettings
) -> np.ndarray:
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
    score: np.ndarray = np.clip((x - worst) / (best - worst), 0.0, 1.0)
    return score


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
        codes, keys = pd.MultiIndex.from_frame(frame[by]).factorize(sort=False)
        out = pd.DataFrame.from_records(list(keys), columns=by)
    n = len(out)
    wx = np.bincount(codes, np.where(ok, x * w, 0.0), n)
    ws = np.bincount(codes, np.where(ok, w, 0.0), n)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[value] = np.where(ws > 0, wx / ws, np.nan)
    return out


def index_scores(
    values: pd.DataFrame,
    categories: dict[str, Category],
    zones: pd.DataFrame,
    settings: IndexSettings,
) -> IndexResult:
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
    cols: dict[str, list[np.ndarray]] = {
        c: []
        for c in ("district", "category", "dimension", "indicator", "value", "score", "weight")
    }
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
                cols["score"].append(_scores(rows, name, cat, settings))
                cols["weight"].append(np.full(n, float(weight)))
    long = pd.DataFrame(
        {c: np.concatenate(v) if v else np.empty(0, dtype=object) for c, v in cols.items()}
    )
    per_cat = _weighted(long, ["district", "category", "dimension"], "score", "weight")
    per_cat["cat_weight"] = per_cat["category"].map(settings.category_weight)
    per_dim = _weighted(per_cat, ["district", "dimension"], "score", "cat_weight")
    per_dim["dim_weight"] = per_dim["dimension"].map(lambda d: float(settings.weights.get(d, 0.0)))
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
    table["composite"] = (
        table["district"].map(composite.set_index("district")["score"]).astype(float)
        * settings.scale
    )
    is_sub = table["district"] != ALL
    table["rank"] = (
        table["composite"].where(is_sub).rank(ascending=False, method="min").astype("Int64")
    )
    by_cat = per_cat.set_index(["district", "category", "dimension"])["score"].unstack("dimension")
    by_cat = (by_cat.reindex(columns=list(DIMENSIONS)) * settings.scale).reset_index()
    by_cat.columns.name = None
    return IndexResult(table=table, by_category=by_cat, indicators=long)
