"""Report sections on equity, the 可及/均衡/优质 index and the comparison with a reference.

The comparison is also a page of its own (``comparison.html``, written by ``circle15
compare`` and by a run that names a reference): :func:`build_comparison_page`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from ... import __version__
from ...schema import ALL
from ...settings import DIMENSIONS
from ..reproducible import source_date
from ..templating import MISSING, package_text, render
from .charts import Series, dot_chart, dot_panel, line_chart
from .context import PACKAGE, Cell, ReportContext, decimal, integer, number, section, table

__all__ = [
    "MEASURE_LABELS",
    "build_comparison_page",
    "comparison_chart",
    "comparison_section",
    "equity_section",
    "index_section",
    "left_out",
    "unit_label",
]

#: How the equity measures are named in the report.
MEASURE_LABELS = {
    "walk_time": "步行时间 walking time (min)",
    "supply": "供给 supply (capacity per resident)",
}


# --------------------------------------------------------------------------------------
# Equity
# --------------------------------------------------------------------------------------
def equity_section(ctx: ReportContext) -> Markup | None:
    """Equity measures and Lorenz curves, when the result carries them (``result.equity``)."""
    equity = getattr(ctx.result, "equity", None)
    measures = getattr(equity, "table", None)
    if not isinstance(measures, pd.DataFrame) or measures.empty:
        return None
    rows = measures[measures["district"] == ALL] if "district" in measures else measures
    main = table(
        [
            "类别 Category",
            "指标 Measure",
            "均值 Mean",
            "Gini",
            "Theil T",
            "街道间 Between",
            "街道内 Within",
        ],
        (
            [
                ctx.category_label(r.get("category")),
                MEASURE_LABELS.get(r.get("measure", ""), str(r.get("measure", ""))),
                decimal(r.get("mean"), 3),
                decimal(r.get("gini"), 3),
                decimal(r.get("theil"), 3),
                decimal(r.get("theil_between"), 3),
                decimal(r.get("theil_within"), 3),
            ]
            for _, r in rows.iterrows()
        ),
        numeric=range(2, 7),
    )
    balance = getattr(equity, "coverage_balance", None)
    spread = None
    if isinstance(balance, pd.DataFrame) and not balance.empty:
        spread = table(
            [
                "类别 Category",
                "最低覆盖率 Lowest coverage",
                "街道 Sub-district",
                "平均 Mean of sub-districts",
                "最低/平均 Min/mean",
            ],
            (
                [
                    ctx.category_label(r.get("category")),
                    _share(r.get("min_coverage")),
                    ctx.district_label(r.get("min_district")),
                    _share(r.get("mean_coverage")),
                    decimal(r.get("min_mean_ratio"), 2),
                ]
                for _, r in balance.iterrows()
            ),
            numeric=[1, 3, 4],
        )
    return section("equity.html", table=main, spread=spread, charts=_lorenz(ctx, equity))


def _share(value: Any) -> str:
    x = number(value)
    return MISSING if x is None else f"{x:.1%}"


def _lorenz(ctx: ReportContext, equity: Any) -> list[dict[str, Any]]:
    lorenz = getattr(equity, "lorenz", None)
    if not isinstance(lorenz, pd.DataFrame) or lorenz.empty:
        return []
    out = []
    for measure, label in (("walk_time", "步行时间 walking time"), ("supply", "供给 supply")):
        sub = lorenz[(lorenz["district"] == ALL) & (lorenz["measure"] == measure)]
        series = [Series("均等线 equality", "#999999", [0, 100], [0, 1], dashed=True)]
        for key, cat in ctx.categories.items():
            curve = sub[sub["category"] == key].sort_values("pop_share")
            if len(curve):
                series.append(
                    Series(
                        cat.label,
                        ctx.colour(key),
                        curve["pop_share"].to_numpy() * 100,
                        curve["value_share"].to_numpy(),
                    )
                )
        if len(series) > 1:
            out.append(
                {
                    "label": label,
                    "svg": line_chart(
                        series,
                        title=f"洛伦兹曲线 Lorenz curves: {label}",
                        x_label="人口累计占比 Cumulative share of residents (%)",
                        y_label="累计占比 Cumulative share",
                        x_max=100,
                        y_max=1.0,
                    ),
                }
            )
    return out


# --------------------------------------------------------------------------------------
# Index
# --------------------------------------------------------------------------------------
def index_section(ctx: ReportContext) -> Markup | None:
    """The index table: sub-scores and composite per sub-district, with the settings."""
    index = getattr(ctx.result, "index", None)
    if not isinstance(index, pd.DataFrame) or index.empty:
        return None
    heads = [
        "街道 Sub-district",
        *(f"{zh} {en}" for en, zh in DIMENSIONS.items()),
        "综合 Composite",
        "排名 Rank",
    ]
    rows = [
        [
            ctx.district_label(r["district"]),
            *(decimal(r.get(d)) for d in DIMENSIONS),
            Cell(decimal(r.get("composite")), strong=True),
            integer(r.get("rank")),
        ]
        for _, r in index.iterrows()
    ]
    settings = (ctx.result.parameters or {}).get("index", {})
    weights = ", ".join(f"{k} {v:g}" for k, v in settings.get("weights", {}).items())
    used = "; ".join(
        f"{dim}: " + ", ".join(f"{k} {v:g}" for k, v in ind.items())
        for dim, ind in settings.get("indicators", {}).items()
    )
    counted = settings.get("categories")
    counted = ", ".join(ctx.category_label(k) for k in (counted or ctx.categories))
    return section(
        "index.html",
        table=table(
            heads,
            rows,
            numeric=range(1, len(heads)),
            classes=["c15-all" if d == ALL else "" for d in index["district"]],
        ),
        normalisation=str(settings.get("normalisation", "")),
        weights=weights,
        indicators=used,
        counted=counted,
    )


# --------------------------------------------------------------------------------------
# Comparison with a reference
# --------------------------------------------------------------------------------------
def unit_label(row: pd.Series) -> str:
    """``招宝山街道 Zhaobaoshan`` from a comparison row (as written when not matched)."""
    district, en = row.get("district"), row.get("name_en")
    if district == ALL:
        return "全区 All"
    if isinstance(en, str) and en and en != district:
        return f"{district} {en}"
    return str(district if isinstance(district, str) else row.get("unit", ""))


def left_out(comparison: Any) -> dict[str, list[str]]:
    """Per indicator, the units left out of its rank correlation, by name.

    Read from ``comparison.left_out`` (a mapping, or a frame with ``indicator`` and
    ``unit``) or from a ``left_out`` column of ``comparison.spearman``; empty when the
    comparison does not say.
    """
    found: dict[str, list[str]] = {}
    given = getattr(comparison, "left_out", None)
    if isinstance(given, pd.DataFrame) and {"indicator", "unit"} <= set(given.columns):
        for name, part in given.groupby("indicator", sort=False):
            found[str(name)] = [str(u) for u in part["unit"]]
    elif isinstance(given, dict):
        found = {str(k): _names(v) for k, v in given.items()}
    spearman = getattr(comparison, "spearman", None)
    if isinstance(spearman, pd.DataFrame) and "left_out" in spearman.columns:
        for name, value in zip(spearman["indicator"], spearman["left_out"], strict=True):
            found.setdefault(str(name), _names(value))
    return {k: v for k, v in found.items() if v}


def _flagged(value: Any) -> bool:
    return (
        value is not None
        and not (isinstance(value, float) and np.isnan(value))
        and value is not pd.NA
        and bool(value)
    )


def _names(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.replace("；", ";").split(";") if v.strip()]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return [str(value)]


def comparison_chart(
    comparison: Any,
    indicators: list[str] | None = None,
    *,
    heading: str = "",
    synthetic: bool = False,
) -> Markup:
    """Ours and theirs per unit, one panel per indicator, in one ``<svg>``."""
    table_ = comparison.table
    spearman = comparison.spearman.set_index("indicator") if len(comparison.spearman) else None
    panels = []
    for name in indicators or list(dict.fromkeys(table_["indicator"])):
        part = table_[table_["indicator"] == name]
        rho = n = None
        if spearman is not None and name in spearman.index:
            rho, n = number(spearman.loc[name, "rho"]), number(spearman.loc[name, "units"])
        note = (
            f"Spearman ρ = {rho:.2f} (n = {n:.0f})"
            if rho is not None
            else f"Spearman ρ n/a (n = {n or 0:.0f})"
        )
        panels.append(
            dot_panel(
                str(name),
                [unit_label(r) for _, r in part.iterrows()],
                part["ours"].to_numpy(float),
                part["theirs"].to_numpy(float),
                part["flag"].fillna(False).to_numpy(bool),
                note,
            )
        )
    return dot_chart(
        panels,
        title="本工具与参考指数对比 circle15 vs reference",
        heading=heading,
        synthetic=synthetic,
    )


def _comparison_parts(comparison: Any, *, synthetic: bool) -> dict[str, Any]:
    """What the comparison section and page show."""
    table_ = comparison.table
    dropped = left_out(comparison)
    spear = table(
        [
            "指标 Indicator",
            "单位数 Units",
            "Spearman ρ",
            "p",
            "超出容差 Beyond tolerance",
            "未计入 Left out of ρ",
        ],
        (
            [
                str(r["indicator"]),
                integer(r.get("units")),
                decimal(r.get("rho"), 2),
                decimal(r.get("p_value"), 3),
                integer(r.get("flagged")),
                "、".join(dropped.get(str(r["indicator"]), [])) or MISSING,
            ]
            for _, r in comparison.spearman.iterrows()
        ),
        numeric=range(1, 5),
    )
    side = table(
        [
            "单位 Unit",
            "指标 Indicator",
            "本工具 Ours",
            "参考 Theirs",
            "差值 Difference",
            "容差 Tolerance",
            "排名 Rank (ours)",
            "排名 Rank (theirs)",
            "超出 Beyond",
        ],
        (
            [
                unit_label(r),
                str(r["indicator"]),
                decimal(r.get("ours"), 3),
                decimal(r.get("theirs"), 3),
                decimal(r.get("difference"), 3),
                decimal(r.get("tolerance"), 3),
                integer(r.get("rank_ours")),
                integer(r.get("rank_theirs")),
                Cell("", flag="超出 beyond") if _flagged(r.get("flag")) else "",
            ]
            for _, r in table_.iterrows()
        ),
        numeric=range(2, 8),
    )
    unmatched = getattr(comparison, "unmatched", None)
    units = None
    if isinstance(unmatched, pd.DataFrame) and len(unmatched):
        grouped = unmatched.assign(
            unit=unmatched["unit"].astype(str),
            indicator=unmatched["indicator"].astype(str),
            reason=unmatched["reason"].astype(str),
        )
        units = table(
            ["单位 Unit (as written)", "指标 Indicators", "原因 Reason", "行 Rows"],
            (
                [
                    unit,
                    "、".join(dict.fromkeys(part["indicator"])),
                    "; ".join(dict.fromkeys(part["reason"])),
                    ", ".join(str(r) for r in part.get("row", [])),
                ]
                for (unit,), part in grouped.groupby(["unit"], sort=False)
            ),
            numeric=[],
        )
    example = (
        "provenance" in table_.columns
        and table_["provenance"].astype(str).str.contains("synthetic|example", case=False).any()
    )
    charts = [comparison_chart(comparison, [name]) for name in dict.fromkeys(table_["indicator"])]
    return {
        "reference": str(comparison.reference),
        "values": len(table_),
        "indicators": int(table_["indicator"].nunique()),
        "example": bool(example),
        "spearman": spear,
        "side": side,
        "unmatched": units,
        "charts": charts,
        "synthetic": synthetic,
    }


def comparison_section(ctx: ReportContext) -> Markup | None:
    """Side by side with a reference index, when the run was compared with one."""
    comparison = getattr(ctx.result, "comparison", None)
    if comparison is None or comparison.table.empty:
        return None
    return section(
        "comparison.html", **_comparison_parts(comparison, synthetic=ctx.result.synthetic)
    )


def build_comparison_page(
    comparison: Any, *, title: str = "", synthetic: bool = False, notice: str = ""
) -> str:
    """``comparison.html``: the comparison with a reference on a page of its own.

    Parameters
    ----------
    comparison : Comparison
        From :func:`circle15.analysis.compare.compare_with_reference`.
    title : str
        The study's title.
    synthetic : bool
        Whether the run's data are synthetic (a banner says so).
    notice : str
        The synthetic-data statement.
    """
    now = (source_date() or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    body = (
        section("comparison.html", **_comparison_parts(comparison, synthetic=synthetic))
        if not comparison.table.empty
        else Markup("")
    )
    return render(
        PACKAGE,
        "comparison_page.html",
        title=title or "circle15",
        css=Markup(package_text(PACKAGE, "report.css")),
        body=body,
        synthetic=synthetic,
        notice=notice,
        version=__version__,
        now=now,
    )
