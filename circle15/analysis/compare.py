"""Compare circle15's index and coverage with a reference index, unit by unit.

A reference table (see ``sources.reference``) gives values per (unit, indicator). Units
are matched to the study's sub-districts by their Chinese (``district``) or English
(``name_en``) name -- ignoring case, spaces, bracketed notes, an office suffix
(办事处, 街道办事处, 人民政府), a leading county or city (镇海区招宝山街道) and a trailing
街道/镇/乡 or Subdistrict/Town -- and to the whole area by ``ALL``, 全区, 合计, the study's
name or the first word of its title (e.g. 镇海区, 镇海区人民政府, 宁波市镇海区).
Indicators are matched by name or alias, bracketed units ignored (composite 综合,
accessibility 可及, balance 均衡, quality 优质; per category ``coverage_<key>`` or e.g.
托育覆盖率（%）, 老年食堂覆盖率 ...); a share written as a bare number under a ``%``
header (85) is read as 0.85.

For each matched pair the comparison gives ours, theirs, the difference (ours - theirs),
the rank of the unit among the compared sub-districts in each (1 = best), and a flag where
the difference exceeds the tolerance; per indicator the Spearman rank correlation between
the two over the sub-districts. What could not be compared is named: reference rows whose
unit or indicator matches nothing (``unmatched``), and sub-districts left out of an
indicator's rank correlation (``left_out``: no value in the reference, not in it, or no
value of ours).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    "composite": (
        "composite",
        "index",
        "composite index",
        "综合",
        "综合指数",
        "综合得分",
        "总分",
        "均衡可及优质指数",
        "指数",
    ),
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

#: Other Chinese metric names a reference may use, after the category's name.
METRIC_ALIASES_ZH = {
    "coverage": ("覆盖率", "服务覆盖率", "步行覆盖率", "覆盖"),
    "mean_min": ("平均步行时间", "平均步行时长", "平均时间", "平均用时"),
    "p90_min": ("p90步行时间", "90分位步行时间", "第90百分位步行时间"),
    "supply_ratio": ("供给比", "人均供给"),
    "provision": ("千人指标",),
    "norm_ratio": ("达标比", "达标率"),
}

#: Short and common Chinese names of the standard categories (besides ``name_zh`` and each
#: of its parts split at "/").
CATEGORY_ALIASES_ZH = {
    "childcare": ("托育", "托育机构", "托育服务", "托育设施", "托儿所", "婴幼儿照护"),
    "kindergarten": ("幼儿园", "学前教育"),
    "primary_school": ("小学",),
    "middle_school": ("初中", "初级中学"),
    "elderly_canteen": (
        "老年食堂",
        "助餐点",
        "老年助餐",
        "助餐",
        "长者食堂",
        "养老助餐",
        "老年食堂助餐点",
    ),
    "sports_venue": ("体育场地", "体育设施", "健身设施", "运动场地"),
}

#: Metrics that are shares: a bare 85 under a "%" header means 0.85.
SHARE_METRICS = ("coverage", "norm_ratio")

#: Columns of ``Comparison.left_out``.
LEFT_OUT_COLUMNS = ["indicator", "district", "unit", "row", "reason"]

#: Names of the whole study area in a reference table.
ALL_ALIASES = ("all", "全区", "全部", "合计", "总计", "whole area", "total")

_ZH_SUFFIXES = ("街道", "镇", "乡")
_EN_SUFFIXES = ("subdistrict", "sub-district", "street", "town", "township")
#: Office names written after a unit: 招宝山街道办事处, 九龙湖镇人民政府.
_OFFICE_SUFFIXES = (
    ("街道办事处", "街道"),
    ("街道办", "街道"),
    ("办事处", ""),
    ("人民政府", ""),
    ("政府", ""),
)
_BRACKETED = re.compile(r"[（(【\[][^）)】\]]*[）)】\]]")


def _indicator_key(name: str) -> str:
    text = _BRACKETED.sub("", str(name)).casefold()
    return re.sub(r"[\s_\-.:：·/／、]+", "", text)


def _unit_key(name: str) -> str:
    key = re.sub(r"[\s_\-·]+", "", _BRACKETED.sub("", str(name)).casefold())
    for suffix, replacement in _OFFICE_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)] + replacement
    return key


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
            parts.append(
                pd.DataFrame(
                    {
                        "district": result.index["district"].to_numpy(),
                        "indicator": dim,
                        "higher": True,
                        "value": result.index[dim].to_numpy(dtype=float),
                    }
                )
            )
    table = result.districts
    for metric, (column, higher, _) in CATEGORY_METRICS.items():
        if column not in table.columns:
            continue
        parts.append(
            pd.DataFrame(
                {
                    "district": table["district"].to_numpy(),
                    "indicator": metric
                    + "_"
                    + table["category"].astype(str).to_numpy(dtype=object),
                    "higher": higher,
                    "value": table[column].to_numpy(dtype=float),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def indicator_aliases(result: CoverageResult) -> dict[str, str]:
    """Normalised alias -> our indicator name."""
    out: dict[str, str] = {}
    for name, aliases in INDEX_ALIASES.items():
        for alias in aliases:
            out[_indicator_key(alias)] = name
    for key, cat in result.categories.items():
        names_zh = dict.fromkeys(
            [cat.name_zh, *cat.name_zh.split("/"), *CATEGORY_ALIASES_ZH.get(key, ())]
        )
        target = f"{cat.target_min:g}分钟"
        for metric, (_, _, zh) in CATEGORY_METRICS.items():
            name = f"{metric}_{key}"
            for alias in (name, f"{key}_{metric}", f"{cat.name_zh}_{metric}"):
                out[_indicator_key(alias)] = name
            suffixes = [*([zh] if zh else []), *METRIC_ALIASES_ZH.get(metric, ())]
            if metric.startswith("score_"):
                suffixes += [(zh or "") + s for s in ("性", "得分", "性得分", "指数", "性指数")]
            for short in names_zh:
                for suffix in suffixes:
                    out.setdefault(_indicator_key(short + suffix), name)
                    if metric == "coverage":  # 托育15分钟覆盖率, 15分钟托育覆盖率
                        out.setdefault(_indicator_key(short + target + suffix), name)
                        out.setdefault(_indicator_key(target + short + suffix), name)
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
    for alias in (*ALL_ALIASES, *_area_names(result)):
        exact.setdefault(_unit_key(alias), ALL)
    return exact, bare


def _area_names(result: CoverageResult) -> list[str]:
    """The study's own name and the first word of its title (镇海区)."""
    return [result.name, *(result.title or "").split()[:1]]


def _match_unit(
    unit: str, exact: dict[str, str], bare: dict[str, list[str]]
) -> tuple[str | None, str]:
    """The district of one unit, or None and the reason."""
    key = _unit_key(unit)
    # Try the name as written, then without a leading county or city (镇海区招宝山街道,
    # 宁波市镇海区): only where what remains is itself a known name.
    cuts = [0, *(i + 1 for i, ch in enumerate(key[:-1]) if ch in "省市区县")]
    ambiguous: list[str] = []
    for cut in cuts:
        rest = key[cut:]
        if rest in exact:
            return exact[rest], ""
        found = bare.get(_bare(rest), [])
        if len(found) == 1:
            return found[0], ""
        if len(found) > 1 and not ambiguous:
            ambiguous = found
    if ambiguous:
        return None, f"unit matches several sub-districts ({', '.join(ambiguous)})"
    return None, "unit matches no sub-district"


def match_units(units: pd.Series, result: CoverageResult) -> pd.Series:
    """The study district of each reference unit (None where nothing matches)."""
    exact, bare = unit_aliases(result)
    return pd.Series(
        [_match_unit(u, exact, bare)[0] for u in units], index=units.index, dtype=object
    )


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
        ``left_out`` names the sub-districts left out of the correlation, with why.
    unmatched : DataFrame
        Reference rows whose unit or indicator matches nothing: ``row, unit, indicator,
        reason`` (e.g. "unit matches no sub-district").
    reference : str
        The reference file's name.
    left_out : DataFrame
        What matched but could not be compared: ``indicator, district, unit, row,
        reason`` -- "no value in the reference" (blank, —, -, /: the row is skipped, not
        an error), "not in the reference" (a sub-district the reference does not list
        for that indicator) or "no value of ours" (e.g. no residents of the cohort).
        Sub-districts here are left out of that indicator's rank correlation.
    """

    table: pd.DataFrame
    spearman: pd.DataFrame
    unmatched: pd.DataFrame
    reference: str = ""
    left_out: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=LEFT_OUT_COLUMNS))

    def notes(self, limit: int = 20) -> list[str]:
        """What was not compared, in lines for the screen.

        Parameters
        ----------
        limit : int, default 20
            Most names listed per reason; the rest are counted.

        Returns
        -------
        list of str
            Unmatched units by name with the reason, unknown indicators, and the units left
            out of each rank correlation.
        """
        lines = []
        unmatched = self.unmatched.assign(
            unit=self.unmatched["unit"].map(_printable),
            indicator=self.unmatched["indicator"].map(_printable),
        )
        for reason, part in unmatched.groupby("reason", sort=False):
            column = "indicator" if reason == "unknown indicator" else "unit"
            names = list(dict.fromkeys(part[column].astype(str)))
            numbers = list(dict.fromkeys(part["row"].tolist()))
            rows = ", ".join(str(r) for r in numbers[:limit])
            more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
            lines.append(
                f"not matched — {reason}: {'、'.join(names[:limit])}{more} "
                f"(rows {rows}{' …' if len(numbers) > limit else ''})"
            )
        left = self.left_out[self.left_out["district"] != ALL]
        for indicator, part in left.groupby("indicator", sort=False):
            named = "; ".join(
                f"{d} ({r})" for d, r in zip(part["district"], part["reason"], strict=True)
            )
            lines.append(f"left out of the rank correlation of {indicator}: {named}")
        return lines


def _printable(text: object) -> str:
    """Reviewer text for the screen: control characters (terminal escapes) removed."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", "", str(text))


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
    relative: np.ndarray = 0.1 * np.abs(theirs)
    return relative


def _metric_of(indicator: str) -> str:
    if indicator in INDEX_ALIASES:
        return indicator
    return next(
        (
            m
            for m in sorted(CATEGORY_METRICS, key=len, reverse=True)
            if indicator.startswith(m + "_")
        ),
        indicator,
    )


def compare_with_reference(
    result: CoverageResult,
    reference: pd.DataFrame,
    *,
    tolerance: Mapping[str, float] | None = None,
    tolerance_all: float | None = None,
    source: str = "",
) -> Comparison:
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
        The side-by-side table, the rank correlations and what was not compared.

    Raises
    ------
    InputError
        When no row of the reference matches a unit and an indicator of the study, or
        two rows give the same unit and indicator.
    """
    ours = our_indicators(result)
    ref = reference.copy()
    if "per_cent" not in ref.columns:
        ref["per_cent"] = False
    exact, bare = unit_aliases(result)
    matched = [_match_unit(u, exact, bare) for u in ref["unit"]]
    ref["district"] = [d for d, _ in matched]
    aliases = indicator_aliases(result)
    ref["indicator_in"] = ref["indicator"]
    ref["indicator"] = ref["indicator"].map(lambda s: aliases.get(_indicator_key(s)))
    known = set(ours["indicator"])
    reasons = np.where(
        ref["district"].isna(),
        [r for _, r in matched],
        np.where(ref["indicator"].isna() | ~ref["indicator"].isin(known), "unknown indicator", ""),
    )
    unmatched = pd.DataFrame(
        {
            "row": ref["row"],
            "unit": ref["unit"],
            "indicator": ref["indicator_in"],
            "reason": reasons,
        }
    )
    unmatched = unmatched[unmatched["reason"] != ""].reset_index(drop=True)
    ref = ref[reasons == ""]
    # A bare number under a "%" header is a percentage of a share (85 -> 0.85).
    share = ref["indicator"].map(lambda i: _metric_of(i) in SHARE_METRICS).astype(bool)
    factor = np.where(ref["per_cent"].astype(bool) & share, 0.01, 1.0)
    ref = ref.assign(value=ref["value"].to_numpy(dtype=float) * factor)
    blank = ref["value"].isna()
    skipped = ref[blank]
    ref = ref[~blank]
    if ref.empty:
        names = ", ".join([*result.zones["district"], ALL])
        raise InputError(
            f"reference {source}: no row matches both a unit of the study ({names}) and a "
            f"known indicator (e.g. composite, accessibility, balance, quality, "
            f"coverage_<category>) with a value; check the unit and indicator names"
        )
    dup = ref.duplicated(["district", "indicator"], keep=False)
    if dup.any():
        rows = ref.loc[dup, "row"].tolist()[:4]
        first = ref[dup].iloc[0]
        raise InputError(
            f"reference {source}: rows {', '.join(map(str, rows))} all give "
            f"{first['indicator']} for {first['district']}; keep one"
        )
    merged = ref.merge(ours, on=["district", "indicator"], how="left")
    names_en = dict(
        zip(
            result.zones["district"],
            result.zones.get("name_en", result.zones["district"]),
            strict=False,
        )
    )
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
            tol[merged.index.get_indexer(idx)] = tolerance.get(
                name, tolerance.get(_metric_of(name))
            )
        else:
            tol[merged.index.get_indexer(idx)] = default_tolerance(name, theirs, scale)
        sub = part[part["district"] != ALL]
        higher = bool(part["higher"].iloc[0])
        for col, target in (("ours", rank_ours), ("theirs", rank_theirs)):
            target.loc[sub.index] = (
                sub[col].rank(ascending=not higher, method="min").astype("Int64")
            )
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
    columns = [
        "row",
        "unit",
        "district",
        "name_en",
        "indicator",
        "ours",
        "theirs",
        "difference",
        "tolerance",
        "flag",
        "rank_ours",
        "rank_theirs",
    ]
    extra = [c for c in reference.columns if c not in {*columns, "value", "higher", "per_cent"}]
    table = merged[[*columns, *extra]]
    spear = pd.DataFrame(rows)
    flagged = table.groupby("indicator", sort=False)["flag"].sum()
    spear["flagged"] = spear["indicator"].map(flagged).astype(int)
    left_out = _left_out(merged, skipped, list(result.zones["district"]))
    sub = left_out[left_out["district"] != ALL]
    named = pd.Series(
        {
            indicator: "; ".join(
                f"{d} ({r})" for d, r in zip(part["district"], part["reason"], strict=True)
            )
            for indicator, part in sub.groupby("indicator", sort=False)
        },
        dtype=object,
    )
    spear["left_out"] = spear["indicator"].map(named).astype(object).fillna("")
    return Comparison(
        table=table.reset_index(drop=True),
        spearman=spear,
        unmatched=unmatched,
        reference=source,
        left_out=left_out,
    )


def _left_out(merged: pd.DataFrame, skipped: pd.DataFrame, districts: list[str]) -> pd.DataFrame:
    """Per compared indicator, the sub-districts not in its rank correlation, and why."""
    parts = [
        pd.DataFrame(
            {
                "indicator": skipped["indicator"],
                "district": skipped["district"],
                "unit": skipped["unit"],
                "row": skipped["row"],
                "reason": "no value in the reference",
            }
        )
    ]
    no_ours = merged[merged["ours"].isna()]
    parts.append(
        pd.DataFrame(
            {
                "indicator": no_ours["indicator"],
                "district": no_ours["district"],
                "unit": no_ours["unit"],
                "row": no_ours["row"],
                "reason": "no value of ours",
            }
        )
    )
    listed = set(zip(merged["indicator"], merged["district"], strict=True)) | set(
        zip(skipped["indicator"], skipped["district"], strict=True)
    )
    absent = [
        (i, d)
        for i in dict.fromkeys(merged["indicator"])
        for d in districts
        if (i, d) not in listed
    ]
    parts.append(
        pd.DataFrame(
            {
                "indicator": [i for i, _ in absent],
                "district": [d for _, d in absent],
                "unit": None,
                "row": None,
                "reason": "not in the reference",
            }
        )
    )
    out = (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else pd.DataFrame(columns=LEFT_OUT_COLUMNS)
    )
    order = {d: i for i, d in enumerate([*districts, ALL])}
    first = {
        n: i for i, n in enumerate(dict.fromkeys([*merged["indicator"], *skipped["indicator"]]))
    }
    out = (
        out.assign(_i=out["indicator"].map(first), _o=out["district"].map(order))
        .sort_values(["_i", "_o"], kind="stable")
        .drop(columns=["_i", "_o"])
    )
    return out[LEFT_OUT_COLUMNS].reset_index(drop=True)
