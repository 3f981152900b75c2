"""Compare circle15's index and coverage with a reference index, unit by unit.

A reference table (see ``sources.reference``) gives values per (unit, indicator). Units
are matched to the study's sub-districts by their Chinese (``district``) or English
(``name_en``) name -- ignoring case, spaces and a trailing 街道/镇/乡 or Subdistrict/Town --
and to the whole area by ``ALL``, 全区, 合计, the study's name or the first word of its
title (e.g. 镇海区). Indicators are matched by name or alias (composite 综合, accessibility
可及, balance 均衡, quality 优质; per category ``coverage_<key>`` or e.g. 托育覆盖率 ...).

For each matched pair the comparison gives ours, theirs, the difference (ours - theirs),
the rank of the unit among the compared sub-districts in each (1 = best), and a flag where
the difference exceeds the tolerance; per indicator the Spearman rank correlation between
the two over the sub-districts.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ..errors import InputError

if TYPE_CHECKING:
    from ..result import CoverageResult
from .coverage import ALL
from .index import DIMENSIONS

#: The index's own indicators and the names a reference may give them.
INDEX_ALIASES = {
    "composite": ("composite", "index", "composite index", "综合", "综合指数", "综合得分",
                  "总分", "均衡可及优质指数", "指数"),
    "accessibility": ("accessibility", "可及", "可及性", "可及指数", "可及性指数"),
    "balance": ("balance", "均衡", "均衡性", "均衡指数", "均衡性指数"),
    "quality": ("quality", "优质", "优质性", "优质指数"),
}

#: Per-category figures of the district table: column, higher is better, Chinese suffix.
CATEGORY_METRICS = {
    "coverage": ("coverage", True, "覆盖率"),
    "mean_min": ("mean_min", False, "平均步行时间"),
    "p90_min": ("p90_min", False, None),
    "supply_ratio": ("supply_ratio", True, "供给比"),
    "provision": ("provision", True, None),
    "accessible_provision": ("accessible_provision", True, None),
    "norm_ratio": ("norm_ratio", True, "达标比"),
    **{f"score_{d}": (f"score_{d}", True, zh) for d, zh in DIMENSIONS.items()},
}

#: Names of the whole study area in a reference table.
ALL_ALIASES = ("all", "全区", "全部", "合计", "总计", "whole area", "total")

_ZH_SUFFIXES = ("街道", "镇", "乡")
_EN_SUFFIXES = ("subdistrict", "sub-district", "street", "town", "township")


def _indicator_key(name: str) -> str:
    return re.sub(r"[\s_\-.:：·/]+", "", str(name).casefold())


def _unit_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(name).casefold())


def _bare(key: str) -> str:
    for suffix in (*_ZH_SUFFIXES, *(re.sub(r"[\s_\-]+", "", s) for s in _EN_SUFFIXES)):
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return key


def our_indicators(result: CoverageResult) -> pd.DataFrame:
    """Every comparable figure of a run, long: ``district, indicator, value, higher``.

    ``higher`` is True where a higher value is better (for ranks).
    """
    parts = []
    if result.index is not None:
        for dim in [*DIMENSIONS, "composite"]:
            parts.append(pd.DataFrame({"district": result.index["district"].to_numpy(),
                                       "indicator": dim, "higher": True,
                                       "value": result.index[dim].to_numpy(dtype=float)}))
    table = result.districts
    for metric, (column, higher, _) in CATEGORY_METRICS.items():
        if column not in table.columns:
            continue
        parts.append(pd.DataFrame({
            "district": table["district"].to_numpy(),
            "indicator": metric + "_" + table["category"].astype(str).to_numpy(dtype=object),
            "higher": higher, "value": table[column].to_numpy(dtype=float)}))
    return pd.concat(parts, ignore_index=True)


def indicator_aliases(result: CoverageResult) -> dict[str, str]:
    """Normalised alias -> our indicator name."""
    out: dict[str, str] = {}
    for name, aliases in INDEX_ALIASES.items():
        for alias in aliases:
            out[_indicator_key(alias)] = name
    for key, cat in result.categories.items():
        for metric, (_, _, zh) in CATEGORY_METRICS.items():
            name = f"{metric}_{key}"
            for alias in (name, f"{key}_{metric}", f"{cat.name_zh}_{metric}"):
                out[_indicator_key(alias)] = name
            if zh:
                out[_indicator_key(cat.name_zh + zh)] = name
    return out


def unit_aliases(result: CoverageResult) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Normalised unit name -> district, and bare name (suffix removed) -> districts."""
    exact: dict[str, str] = {}
    bare: dict[str, list[str]] = {}
    zones = result.zones
    names_en = zones["name_en"] if "name_en" in zones.columns else [None] * len(zones)
    for zh, en in zip(zones["district"], names_en, strict=True):
        for name in (zh, en):
            if name is None or (isinstance(name, float) and np.isnan(name)):
                continue
            key = _unit_key(name)
            exact[key] = zh
            bare.setdefault(_bare(key), [])
            if zh not in bare[_bare(key)]:
                bare[_bare(key)].append(zh)
    title_word = (result.title or "").split()[:1]
    for alias in (*ALL_ALIASES, result.name, *title_word):
        exact.setdefault(_unit_key(alias), ALL)
    return exact, bare


def match_units(units: pd.Series, result: CoverageResult) -> pd.Series:
    """The study district of each reference unit (None where nothing matches)."""
    exact, bare = unit_aliases(result)

    def one(unit: str) -> str | None:
        key = _unit_key(unit)
        if key in exact:
            return exact[key]
        found = bare.get(_bare(key), [])
        return found[0] if len(found) == 1 else None

    return pd.Series([one(u) for u in units], index=units.index, dtype=object)


@dataclass
class Comparison:
    """The side-by-side comparison of a run with a reference.

    Attributes
    ----------
    table : DataFrame
        One row per matched (unit, indicator): ``row`` (in the reference file), ``unit``
        (as written there), ``district``, ``name_en``, ``indicator``, ``ours``, ``theirs``,
        ``difference`` (ours - theirs), ``tolerance``, ``flag`` (|difference| >
        tolerance), ``rank_ours``, ``rank_theirs`` (among the compared sub-districts,
        1 = best; NA for the whole area).
    spearman : DataFrame
        Per indicator: ``indicator, units`` (sub-districts with both values), ``rho``,
        ``p_value`` (NaN with fewer than 3 units or a constant column), ``flagged``.
    unmatched : DataFrame
        Reference rows left out: ``row, unit, indicator, reason``.
    reference : str
        The reference file's name.
    """

    table: pd.DataFrame
    spearman: pd.DataFrame
    unmatched: pd.DataFrame
    reference: str = ""


def default_tolerance(indicator: str, theirs: np.ndarray, scale: float) -> np.ndarray:
    """The built-in tolerance: 5% of the index scale for scores, 0.05 for shares, 2 minutes
    for walking times, otherwise 10% of the reference value."""
    metric = _metric_of(indicator)
    if metric in INDEX_ALIASES or metric.startswith("score_"):
        return np.full(len(theirs), 0.05 * scale)
    if metric in ("coverage", "norm_ratio"):
        return np.full(len(theirs), 0.05)
    if metric in ("mean_min", "p90_min"):
        return np.full(len(theirs), 2.0)
    return 0.1 * np.abs(theirs)


def _metric_of(indicator: str) -> str:
    if indicator in INDEX_ALIASES:
        return indicator
    return next((m for m in sorted(CATEGORY_METRICS, key=len, reverse=True)
                 if indicator.startswith(m + "_")), indicator)


def compare_with_reference(result: CoverageResult, reference: pd.DataFrame, *,
                           tolerance: Mapping[str, float] | None = None,
                           tolerance_all: float | None = None,
                           source: str = "") -> Comparison:
    """Put a run's figures side by side with a reference's.

    Parameters
    ----------
    result : CoverageResult
        A run with its index (``Study.run()``).
    reference : DataFrame
        From ``sources.reference.read_reference``: ``row, unit, indicator, value``.
    tolerance : mapping, optional
        Largest unflagged absolute difference per indicator, by full name
        (``coverage_childcare``) or by metric (``coverage``); others use
        :func:`default_tolerance`.
    tolerance_all : float, optional
        One absolute tolerance for every indicator (overrides the rest).
    source : str
        Name of the reference, for the chart.

    Returns
    -------
    Comparison

    Raises
    ------
    InputError
        When no row of the reference matches a unit and an indicator of the study, or
        two rows give the same unit and indicator.
    """
    ours = our_indicators(result)
    ref = reference.copy()
    ref["district"] = match_units(ref["unit"], result)
    aliases = indicator_aliases(result)
    ref["indicator_in"] = ref["indicator"]
    ref["indicator"] = ref["indicator"].map(lambda s: aliases.get(_indicator_key(s)))
    known = set(ours["indicator"])
    reasons = np.where(ref["district"].isna(), "unit matches no sub-district",
                       np.where(ref["indicator"].isna() | ~ref["indicator"].isin(known),
                                "unknown indicator", ""))
    unmatched = pd.DataFrame({"row": ref["row"], "unit": ref["unit"],
                              "indicator": ref["indicator_in"], "reason": reasons})
    unmatched = unmatched[unmatched["reason"] != ""].reset_index(drop=True)
    ref = ref[reasons == ""]
    if ref.empty:
        names = ", ".join([*result.zones["district"], ALL])
        raise InputError(
            f"reference {source}: no row matches both a unit of the study ({names}) and a "
            f"known indicator (e.g. composite, accessibility, balance, quality, "
            f"coverage_<category>); check the unit and indicator names")
    dup = ref.duplicated(["district", "indicator"], keep=False)
    if dup.any():
        rows = ref.loc[dup, "row"].tolist()[:4]
        first = ref[dup].iloc[0]
        raise InputError(f"reference {source}: rows {', '.join(map(str, rows))} all give "
                         f"{first['indicator']} for {first['district']}; keep one")
    merged = ref.merge(ours, on=["district", "indicator"], how="left")
    names_en = dict(zip(result.zones["district"], result.zones.get("name_en",
                        result.zones["district"]), strict=False))
    merged["name_en"] = merged["district"].map(lambda d: names_en.get(d, "whole area"))
    merged = merged.rename(columns={"value_x": "theirs", "value_y": "ours"})
    merged["difference"] = merged["ours"] - merged["theirs"]
    scale = float(result.parameters.get("index", {}).get("scale", 100.0))
    tol = np.empty(len(merged))
    rank_ours = pd.Series(pd.NA, index=merged.index, dtype="Int64")
    rank_theirs = rank_ours.copy()
    rows = []
    for name, part in merged.groupby("indicator", sort=False):
        idx = part.index
        theirs = part["theirs"].to_numpy(dtype=float)
        if tolerance_all is not None:
            tol[merged.index.get_indexer(idx)] = tolerance_all
        elif tolerance and (name in tolerance or _metric_of(name) in tolerance):
            tol[merged.index.get_indexer(idx)] = tolerance.get(name,
                                                               tolerance.get(_metric_of(name)))
        else:
            tol[merged.index.get_indexer(idx)] = default_tolerance(name, theirs, scale)
        sub = part[part["district"] != ALL]
        higher = bool(part["higher"].iloc[0])
        for col, target in (("ours", rank_ours), ("theirs", rank_theirs)):
            target.loc[sub.index] = (sub[col].rank(ascending=not higher, method="min")
                                     .astype("Int64"))
        both = sub[["ours", "theirs"]].dropna()
        rho = p = np.nan
        if len(both) >= 3:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a constant column: rho is NaN
                res = spearmanr(both["ours"], both["theirs"])
            rho, p = float(res.statistic), float(res.pvalue)
        rows.append({"indicator": name, "units": len(both), "rho": rho, "p_value": p})
    merged["tolerance"] = tol
    merged["flag"] = (merged["difference"].abs() > merged["tolerance"]).astype("boolean")
    merged.loc[merged["difference"].isna(), "flag"] = pd.NA
    merged["rank_ours"], merged["rank_theirs"] = rank_ours, rank_theirs
    columns = ["row", "unit", "district", "name_en", "indicator", "ours", "theirs",
               "difference", "tolerance", "flag", "rank_ours", "rank_theirs"]
    extra = [c for c in reference.columns if c not in {*columns, "value", "higher"}]
    table = merged[[*columns, *extra]]
    spear = pd.DataFrame(rows)
    flagged = table.groupby("indicator", sort=False)["flag"].sum()
    spear["flagged"] = spear["indicator"].map(flagged).astype(int)
    return Comparison(table=table.reset_index(drop=True), spearman=spear,
                      unmatched=unmatched, reference=source)
