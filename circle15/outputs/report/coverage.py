"""Report sections on coverage: the summary, the map, and one section per category.

Each section is a function of the :class:`~.context.ReportContext` that returns the
section's HTML (rendered from its template) or None when the run has nothing to show.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from markupsafe import Markup

from ...analysis.coverage import within_column
from ...analysis.time_distribution import population_by_minute, share_within
from ...schema import ALL, pop_col, time_col
from ...standards import Category
from .._html import column
from ..templating import MISSING
from ._palette import BEYOND_COLOUR, UNREACHABLE_COLOUR
from .charts import Series, column_chart, line_chart, stacked_bar_chart
from .context import (
    Cell,
    ReportContext,
    Table,
    decimal,
    integer,
    minutes,
    number,
    percent,
    section,
    table,
    tier_segments,
)
from .static_map import PrintMaps

__all__ = ["TOP_GAPS", "categories_section", "map_section", "summary_section"]

#: Gaps listed per category in the report (all of them are in results.xlsx / results.gpkg).
TOP_GAPS = 10


def _rows_of(ctx: ReportContext, key: str) -> pd.DataFrame:
    d = ctx.result.districts
    if d is None or d.empty or "category" not in d.columns:
        return pd.DataFrame()
    return d[d["category"] == key]


def _tier_shares(rows: pd.DataFrame, cat: Category) -> np.ndarray:
    """Share of the cohort in each tier, beyond the last tier, and unreachable (rows sum to 1)."""
    pop = pd.to_numeric(rows["population"], errors="coerce").to_numpy(dtype=float)
    within = np.column_stack(
        [
            pd.to_numeric(column(rows, within_column(t)), errors="coerce").to_numpy(dtype=float)
            for t in cat.tiers_min
        ]
    )
    unreachable = (
        pd.to_numeric(column(rows, "unreachable_population"), errors="coerce")
        .fillna(0.0)
        .to_numpy(dtype=float)
    )
    parts = np.column_stack(
        [within[:, :1], np.diff(within, axis=1), pop - within[:, -1] - unreachable, unreachable]
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = parts / pop[:, None]
    shares[~(pop > 0)] = np.nan
    return shares


def _within_shares(row: pd.Series, cat: Category) -> list[str]:
    pop = number(row.get("population"))
    return [
        percent(number(row.get(within_column(t))) / pop)
        if pop and number(row.get(within_column(t))) is not None
        else MISSING
        for t in cat.tiers_min
    ]


# --------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------
def summary_section(ctx: ReportContext) -> Markup | None:
    """Per category, the whole area: share within each tier, coverage, walking times."""
    rows, labels, shares = [], [], []
    longest = max(ctx.categories.values(), key=lambda c: len(c.tiers_min), default=None)
    width = len(longest.tiers_min) if longest is not None else 0
    for key, cat in ctx.categories.items():
        sub = _rows_of(ctx, key)
        whole = sub[sub["district"] == ALL] if len(sub) else sub
        if whole.empty:
            continue
        r = whole.iloc[0]
        rows.append(
            [
                Cell(cat.label, href=f"#cat-{key}"),
                cat.cohort_label,
                integer(r.get("population")),
                *_within_shares(r, cat),
                *[MISSING] * (width - len(cat.tiers_min)),  # fewer tiers: blanks
                Cell(
                    percent(r.get("coverage")),
                    strong=True,
                    after=f"({minutes(cat.target_min)} min)",
                ),
                decimal(r.get("mean_min")),
                decimal(r.get("p90_min")),
                integer(r.get("unreachable_population")),
            ]
        )
        labels.append(cat.label)
        shares.append(_tier_shares(whole, cat)[0])
    if not rows:
        return None
    first = next(iter(ctx.categories.values()))
    same_tiers = len({c.tiers_min for c in ctx.categories.values()}) == 1
    tiers = [
        f"≤{minutes(t)} min" if same_tiers else f"tier {i + 1}"
        for i, t in enumerate(longest.tiers_min)
    ]
    headers = [
        "类别 Category",
        "目标人群 Cohort",
        "人口 Residents",
        *tiers,
        "覆盖率 Coverage (target)",
        "平均 Mean (min)",
        "P90 (min)",
        "不可达 Unreachable",
    ]
    chart = None
    if same_tiers:
        chart = stacked_bar_chart(
            labels,
            tier_segments(first),
            np.array(shares),
            title="全区各类设施步行时间分布 Walking time by category",
            axis_label="目标人群占比 Share of the target cohort",
        )
    return section(
        "summary.html",
        table=table(headers, rows, numeric=range(2, len(headers))),
        chart=chart,
        curves=_cdf_chart(ctx),
    )


def _cdf_chart(ctx: ReportContext) -> Markup | None:
    cells = ctx.result.cells
    if cells is None or not len(cells):
        return None
    x_max = 2 * max(c.target_min for c in ctx.categories.values())
    xs = np.linspace(0, x_max, 121)
    series = []
    for key, cat in ctx.categories.items():
        if time_col(key) not in cells or pop_col(key) not in cells:
            continue
        ys = share_within(
            cells[time_col(key)].to_numpy(dtype=float),
            cells[pop_col(key)].to_numpy(dtype=float),
            xs,
        )
        series.append(Series(cat.label, ctx.colour(key), xs, ys))
    if not series:
        return None
    marks = sorted({t for c in ctx.categories.values() for t in c.tiers_min})
    return line_chart(
        series,
        title="步行时间累积分布 Cumulative walking-time distribution",
        x_label="步行时间 Walking time (min)",
        y_label="可达人口占比 Share within",
        x_max=x_max,
        marks=marks,
    )


def map_section(ctx: ReportContext) -> Markup | None:
    """The interactive map beside the report: embedded on screen, named in print."""
    if not ctx.map_file:
        return None
    return section("map.html", href=ctx.map_file)


# --------------------------------------------------------------------------------------
# Categories
# --------------------------------------------------------------------------------------
def categories_section(ctx: ReportContext) -> Markup | None:
    """One part per category: printable map, sub-district table and charts, gaps."""
    if not ctx.categories:
        return None
    maps = PrintMaps.of(ctx.result)
    parts = [_category(ctx, key, cat, maps) for key, cat in ctx.categories.items()]
    return section("categories.html", categories=parts)


def _category(
    ctx: ReportContext, key: str, cat: Category, maps: PrintMaps | None
) -> dict[str, object]:
    rows = _rows_of(ctx, key)
    life = ""
    if cat.life_circle_min is not None:
        radius = (
            f", {cat.life_circle_radius_m:,.0f} m" if cat.life_circle_radius_m is not None else ""
        )
        life = f"{minutes(cat.life_circle_min)} min{radius}"
    districts, chart = None, None
    if not rows.empty:
        body, classes = [], []
        for _, r in rows.iterrows():
            body.append(
                [
                    ctx.district_label(r["district"]),
                    integer(r.get("population")),
                    *_within_shares(r, cat),
                    percent(r.get("coverage")),
                    integer(r.get("covered_population")),
                    decimal(r.get("mean_min")),
                    decimal(r.get("p90_min")),
                    integer(r.get("unreachable_population")),
                ]
            )
            classes.append("c15-all" if r["district"] == ALL else "")
        headers = [
            "街道 Sub-district",
            f"人口 Residents ({cat.cohort_label})",
            *[f"≤{minutes(t)} min" for t in cat.tiers_min],
            f"覆盖率 Coverage (≤{minutes(cat.target_min)} min)",
            "覆盖人口 Covered",
            "平均 Mean (min)",
            "P90 (min)",
            "不可达 Unreachable",
        ]
        districts = table(headers, body, numeric=range(1, len(headers)), classes=classes)
        local = rows[rows["district"] != ALL]
        if len(local):
            chart = stacked_bar_chart(
                [ctx.district_label(d) for d in local["district"]],
                tier_segments(cat),
                _tier_shares(local, cat),
                title=f"{cat.label}: 各街道步行时间分布 walking time by sub-district",
                axis_label=f"目标人群占比 Share of residents {cat.cohort_label}",
            )
    gaps, more = _gap_table(ctx, key, cat)
    static = (
        maps.category(key, cat, ctx.result.facilities, ctx.colour(key))
        if maps is not None
        else None
    )
    return {
        "key": key,
        "cat": cat,
        "life": life,
        "map": static,
        "districts": districts,
        "chart": chart,
        "histogram": _histogram(ctx, key, cat),
        "gaps": gaps,
        "more_gaps": more,
    }


def _histogram(ctx: ReportContext, key: str, cat: Category) -> Markup | None:
    cells = ctx.result.cells
    if cells is None or time_col(key) not in cells or pop_col(key) not in cells:
        return None
    max_min = 2 * cat.target_min
    h = population_by_minute(
        cells[time_col(key)].to_numpy(dtype=float),
        cells[pop_col(key)].to_numpy(dtype=float),
        max_min=max_min,
    )
    uppers = h.edges[1:]
    segments = tier_segments(cat)
    tier_of = np.searchsorted(np.asarray(cat.tiers_min), uppers, side="left")
    colours = [segments[i][1] for i in tier_of] + [BEYOND_COLOUR, UNREACHABLE_COLOUR]
    labels = [minutes(u) for u in uppers] + [f">{minutes(max_min)}", "不可达"]
    values = [*h.population.tolist(), h.beyond, h.unreachable]
    marks = [
        (float(np.searchsorted(uppers, t, side="left") + 1), f"{minutes(t)} min")
        for t in cat.tiers_min
    ]
    return column_chart(
        labels,
        values,
        colours=colours,
        title=f"{cat.label}: 步行时间分布 walking-time distribution",
        axis_label="步行时间（分钟，上限）Walking time, minutes (bin upper edge)",
        value_label=f"人口 Residents ({cat.cohort_label})",
        marks=marks,
    )


def _gap_table(ctx: ReportContext, key: str, cat: Category) -> tuple[Table | None, int]:
    """The largest gaps of a category and how many smaller ones are left out."""
    gaps = ctx.result.gaps
    if gaps is None or gaps.empty or "category" not in gaps:
        return None, 0
    rows = gaps[gaps["category"] == key]
    if rows.empty:
        return None, 0
    rows = rows.sort_values("population", ascending=False, kind="stable")
    top = rows.head(TOP_GAPS)
    body = []
    for _, g in top.iterrows():
        near_min = number(g.get("nearest_min"))
        distance = near_min * cat.metres_per_minute if near_min is not None else None
        name, fid = g.get("nearest_name"), g.get("nearest_facility")
        if fid is None or (not isinstance(fid, str) and pd.isna(fid)):
            facility = MISSING
        else:
            facility = f"{name} ({fid})" if isinstance(name, str) and name else str(fid)
        mean = number(g.get("mean_min"))
        body.append(
            [
                integer(g.get("rank")),
                ctx.district_label(g.get("district")),
                integer(g.get("population")),
                decimal(g.get("area_km2"), 2),
                integer(g.get("cells")),
                decimal(mean) if mean is not None else "不可达 unreachable",
                facility,
                decimal(near_min),
                integer(distance),
            ]
        )
    headers = [
        "排名 Rank",
        "街道 Sub-district",
        f"人口 Residents ({cat.cohort_label})",
        "面积 Area (km²)",
        "网格 Cells",
        "平均步行 Mean walk (min)",
        "最近设施 Nearest facility",
        "到最近设施 Time (min)",
        "距离 Distance (m)",
    ]
    return (table(headers, body, numeric=[0, 2, 3, 4, 5, 7, 8]), max(len(rows) - len(top), 0))
