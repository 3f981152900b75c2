"""The HTML report: one self-contained page a planner can hand to a meeting.

``report.html`` holds, per category and sub-district, the share of the target cohort within
5, 10 and 15 minutes' walk, the gaps ranked by population, charts (coverage bars, walking-time
distributions, and Lorenz curves when the result carries equity measures), the interactive
map (embedded from ``map.html`` beside it, and linked), the data sources with their SHA-256,
the parameters and standards with their sources and "unverified" flags, and the date.

Everything is inline (CSS, SVG charts); the only reference out of the file is the relative
link to ``map.html``. Sections are functions of a :class:`ReportContext` that return HTML or
``None`` (nothing to show); :data:`SECTIONS` lists them in page order, so a new analysis adds
its section by adding a function there.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import __version__
from ..analysis.coverage import ALL, within_column
from ..analysis.time_distribution import population_by_minute, share_within
from ..standards import Category
from ._html import column
from .atomic import write_text
from .index_report import comparison_section, index_section
from .manifest import file_record, versions
from .map import FACILITY_COLOURS, UNREACHABLE_COLOUR, tier_colours  # same palettes
from .reproducible import source_date
from .svg_charts import Series, column_chart, line_chart, stacked_bar_chart

if TYPE_CHECKING:
    from ..result import CoverageResult

__all__ = ["SECTIONS", "ReportContext", "build_report", "write_report"]

#: The references that ``standards.toml`` cites by abbreviation (its header expands them).
REFERENCES = {
    "GB50180": "GB 50180-2018《城市居住区规划设计标准》 Standard for urban residential area "
               "planning and design: 15/10/5-minute life circles",
    "TDT1062": "TD/T 1062-2021《社区生活圈规划技术指南》 Technical guide for community life "
               "circle planning",
    "NB15": "宁波 15分钟公共服务圈 均衡·可及·优质 index and the Zhenhai 2024 work plan: every "
            "service within a 15-minute walk",
    "DERIVED": "computed from the figures above by the rule given in the source text",
    "ZJTY": "《浙江省“十四五”托育服务发展规划》 Zhejiang 14th Five-Year childcare plan (2023)",
    "ZH2024": "《2024年镇海区公共服务“七优享”工程工作要点》 Zhenhai 2024 public-service work plan",
}
#: How the equity measures are named in the report.
MEASURE_LABELS = {"walk_time": "步行时间 walking time (min)",
                  "supply": "供给 supply (capacity per resident)"}
#: Gaps listed per category in the report (all of them are in results.xlsx / results.gpkg).
TOP_GAPS = 10
_MISSING = "—"



@dataclass
class ReportContext:
    """What the report's sections are written from.

    Attributes
    ----------
    result : CoverageResult
        The run.
    inputs : dict
        Input files by config field (``Study.config.input_files()``); hashed for provenance.
    config : Path or None
        The study file.
    started : datetime
        When the run started (UTC).
    map_file : str or None
        Name of the map beside the report, embedded and linked; ``None`` leaves it out.
    records : dict
        Filled on creation: path, size and SHA-256 of the config and each input.
    """

    result: CoverageResult
    inputs: dict[str, Path] = field(default_factory=dict)
    config: Path | None = None
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    map_file: str | None = "map.html"
    records: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        files = {"config": self.config} if self.config is not None else {}
        files.update(self.inputs)
        self.records = {k: file_record(Path(p)) for k, p in files.items()
                        if p is not None and Path(p).is_file()}

    @property
    def categories(self) -> dict[str, Category]:
        """Categories in report order."""
        return self.result.categories

    def colour(self, key: str) -> str:
        """The category's colour on the map and in the charts."""
        i = list(self.categories).index(key)
        return FACILITY_COLOURS[i % len(FACILITY_COLOURS)]

    def district_label(self, district: str) -> str:
        """``"招宝山街道 Zhaobaoshan"`` from the zones' ``name_en``; ``"全区 All"`` for ALL."""
        if district == ALL:
            return "全区 All"
        zones = self.result.zones
        if zones is not None and {"district", "name_en"} <= set(zones.columns):
            names = dict(zip(zones["district"], zones["name_en"], strict=False))
            en = names.get(district)
            if isinstance(en, str) and en:
                return f"{district} {en}"
        return str(district)


# --------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------
def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _finite(x: Any) -> bool:
    try:
        return bool(np.isfinite(float(x)))
    except (TypeError, ValueError):
        return False


def _int(x: Any) -> str:
    return f"{float(x):,.0f}" if _finite(x) else _MISSING


def _pct(x: Any) -> str:
    return f"{float(x):.1%}" if _finite(x) else _MISSING


def _dec(x: Any, places: int = 1) -> str:
    return f"{float(x):,.{places}f}" if _finite(x) else _MISSING


def _m(x: float) -> str:
    return f"{x:g}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Sequence[int] = (),
           classes: Sequence[str] | None = None, caption: str | None = None) -> str:
    """An HTML table; cells are HTML already (escape data before passing it)."""
    num = set(numeric)
    head = "".join(f'<th{" class=num" if i in num else ""}>{h}</th>'
                   for i, h in enumerate(headers))
    body = []
    for r, row in enumerate(rows):
        cls = f' class="{classes[r]}"' if classes and classes[r] else ""
        cells = "".join(f'<td{" class=num" if i in num else ""}>{c}</td>'
                        for i, c in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    cap = f"<caption>{caption}</caption>" if caption else ""
    return (f'<div class="c15-scroll"><table>{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{caption}</figcaption></figure>"


def _tier_segments(cat: Category) -> list[tuple[str, str]]:
    """Legend labels and colours of a category's tiers, then beyond, then unreachable."""
    t = [_m(x) for x in cat.tiers_min]
    labels = [f"≤{t[0]} 分钟 min"] + [f"{a}–{b} 分钟 min" for a, b in itertools.pairwise(t)]
    labels += [f">{t[-1]} 分钟 min", "不可达 unreachable"]
    return list(zip(labels, tier_colours(len(t)), strict=True))


def _tier_shares(rows: pd.DataFrame, cat: Category) -> np.ndarray:
    """Share of the cohort in each tier, beyond the last tier, and unreachable (rows sum to 1)."""
    pop = pd.to_numeric(rows["population"], errors="coerce").to_numpy(dtype=float)
    within = np.column_stack([pd.to_numeric(column(rows, within_column(t)), errors="coerce")
                              .to_numpy(dtype=float) for t in cat.tiers_min])
    unreachable = pd.to_numeric(column(rows, "unreachable_population"), errors="coerce"
                                ).fillna(0.0).to_numpy(dtype=float)
    parts = np.column_stack([within[:, :1], np.diff(within, axis=1),
                             pop - within[:, -1] - unreachable, unreachable])
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = parts / pop[:, None]
    shares[~(pop > 0)] = np.nan
    return shares


def _rows_of(result: CoverageResult, key: str) -> pd.DataFrame:
    d = result.districts
    if d is None or d.empty or "category" not in d.columns:
        return pd.DataFrame()
    return d[d["category"] == key]


# --------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------
def _summary(ctx: ReportContext) -> str | None:
    result = ctx.result
    rows, labels, shares = [], [], []
    for key, cat in ctx.categories.items():
        sub = _rows_of(result, key)
        all_rows = sub[sub["district"] == ALL] if len(sub) else sub
        if all_rows.empty:
            continue
        r = all_rows.iloc[0]
        pop = float(r["population"])
        within = [float(column(all_rows, within_column(t)).iloc[0]) for t in cat.tiers_min]
        rows.append([
            f'<a href="#cat-{_e(key)}">{_e(cat.label)}</a>', _e(cat.cohort_label), _int(pop),
            *[_pct(w / pop) if pop > 0 else _MISSING for w in within],
            f"<b>{_pct(r['coverage'])}</b> ({_m(cat.target_min)} min)",
            _dec(r.get("mean_min")), _dec(r.get("p90_min")),
            _int(r.get("unreachable_population")),
        ])
        labels.append(cat.label)
        shares.append(_tier_shares(all_rows, cat)[0])
    if not rows:
        return None
    first = next(iter(ctx.categories.values()))
    tiers = [_m(t) for t in first.tiers_min]
    same_tiers = len({c.tiers_min for c in ctx.categories.values()}) == 1
    headers = ["类别 Category", "目标人群 Cohort", "人口 Residents",
               *[f"≤{t} min" if same_tiers else f"tier {i + 1}" for i, t in enumerate(tiers)],
               "覆盖率 Coverage (target)", "平均 Mean (min)", "P90 (min)",
               "不可达 Unreachable"]
    parts = ["<h2 id=summary>概要 Summary</h2>",
             "<p>Share of each category's target cohort that can walk to its nearest facility "
             "within each time, over the street network; coverage is the share within the "
             "category's target time. Mean and P90 walking times are over the residents who "
             "can reach a facility.</p>",
             _table(headers, rows, numeric=range(2, len(headers)))]
    if same_tiers:
        chart = stacked_bar_chart(labels, _tier_segments(first), np.array(shares),
                                  title="全区各类设施步行时间分布 Walking time by category",
                                  axis_label="目标人群占比 Share of the target cohort")
        parts.append(_figure(chart, "全区：各类别目标人群按步行时间分级的占比 — share of each "
                                    "category's cohort by walking time, whole study area."))
    parts.append(_cdf_figure(ctx))
    return "\n".join(parts)


def _cdf_figure(ctx: ReportContext) -> str:
    cells = ctx.result.cells
    if cells is None or not len(cells):
        return ""
    x_max = 2 * max(c.target_min for c in ctx.categories.values())
    xs = np.linspace(0, x_max, 121)
    series = []
    for key, cat in ctx.categories.items():
        if f"t_{key}" not in cells or f"pop_{key}" not in cells:
            continue
        ys = share_within(cells[f"t_{key}"].to_numpy(dtype=float),
                          cells[f"pop_{key}"].to_numpy(dtype=float), xs)
        series.append(Series(cat.label, ctx.colour(key), xs, ys))
    if not series:
        return ""
    marks = sorted({t for c in ctx.categories.values() for t in c.tiers_min})
    chart = line_chart(series, title="步行时间累积分布 Cumulative walking-time distribution",
                       x_label="步行时间 Walking time (min)",
                       y_label="可达人口占比 Share within", x_max=x_max, marks=marks)
    return _figure(chart, "在给定步行时间内可到达最近设施的目标人群占比（全区）— share of each "
                          "cohort within t minutes of its nearest facility; a curve that ends "
                          "below 100% leaves residents who need longer or cannot reach one.")


def _map_section(ctx: ReportContext) -> str | None:
    if not ctx.map_file:
        return None
    href = _e(ctx.map_file)
    return (
        "<h2 id=map>地图 Map</h2>"
        f'<p><a href="{href}" target="_blank" rel="noopener">在新窗口打开交互地图 Open the '
        f"interactive map</a> (<code>{href}</code>, in the same folder as this report): "
        "facilities, walking time, service areas, gaps and sub-district coverage per "
        "category, with a layer control and legend.</p>"
        f'<iframe class="c15-map" src="{href}" title="交互地图 Interactive map" '
        'loading="lazy"></iframe>'
    )


def _category_section(ctx: ReportContext, key: str, cat: Category) -> str:
    result = ctx.result
    rows = _rows_of(result, key)
    parts = [f'<section class="c15-cat" id="cat-{_e(key)}"><h3>{_e(cat.label)}</h3>']
    life = ""
    if cat.life_circle_min is not None:
        radius = (f", {cat.life_circle_radius_m:,.0f} m" if cat.life_circle_radius_m is not None
                  else "")
        life = f" · GB 50180-2018 生活圈 life circle: {_m(cat.life_circle_min)} min{radius}"
    parts.append(f"<p class=c15-meta>目标人群 Cohort: {_e(cat.cohort_label)} · 目标 Target: "
                 f"{_m(cat.target_min)} min · 步行速度 Walking speed: {_m(cat.speed_kmh)} km/h"
                 f"{_e(life)}</p>")
    if not rows.empty:
        table_rows, classes = [], []
        for _, r in rows.iterrows():
            pop = float(r["population"])
            within = [float(r.get(within_column(t), np.nan)) for t in cat.tiers_min]
            table_rows.append([
                _e(ctx.district_label(r["district"])), _int(pop),
                *[_pct(w / pop) if pop > 0 else _MISSING for w in within],
                _pct(r["coverage"]), _int(r.get("covered_population")),
                _dec(r.get("mean_min")), _dec(r.get("p90_min")),
                _int(r.get("unreachable_population")),
            ])
            classes.append("c15-all" if r["district"] == ALL else "")
        headers = ["街道 Sub-district", f"人口 Residents ({_e(cat.cohort_label)})",
                   *[f"≤{_m(t)} min" for t in cat.tiers_min],
                   f"覆盖率 Coverage (≤{_m(cat.target_min)} min)", "覆盖人口 Covered",
                   "平均 Mean (min)", "P90 (min)", "不可达 Unreachable"]
        parts.append(_table(headers, table_rows, numeric=range(1, len(headers)),
                            classes=classes))
        local = rows[rows["district"] != ALL]
        if len(local):
            chart = stacked_bar_chart(
                [ctx.district_label(d) for d in local["district"]], _tier_segments(cat),
                _tier_shares(local, cat),
                title=f"{cat.label}: 各街道步行时间分布 walking time by sub-district",
                axis_label=f"目标人群占比 Share of residents {cat.cohort_label}")
            parts.append(_figure(chart, f"{_e(cat.label)}：各街道目标人群按步行时间分级 — "
                                        "share of the cohort in each walking-time tier, by "
                                        "sub-district."))
    parts.append(_histogram(ctx, key, cat))
    parts.append(_gap_table(ctx, key, cat))
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def _histogram(ctx: ReportContext, key: str, cat: Category) -> str:
    cells = ctx.result.cells
    if cells is None or f"t_{key}" not in cells or f"pop_{key}" not in cells:
        return ""
    max_min = 2 * cat.target_min
    h = population_by_minute(cells[f"t_{key}"].to_numpy(dtype=float),
                             cells[f"pop_{key}"].to_numpy(dtype=float), max_min=max_min)
    uppers = h.edges[1:]
    segments = _tier_segments(cat)
    tier_of = np.searchsorted(np.asarray(cat.tiers_min), uppers, side="left")
    colours = [segments[i][1] for i in tier_of]
    labels = [_m(u) for u in uppers] + [f">{_m(max_min)}", "不可达"]
    values = [*h.population.tolist(), h.beyond, h.unreachable]
    colours += ["#9e9e9e", UNREACHABLE_COLOUR]
    chart = column_chart(labels, values, colours=colours,
                         title=f"{cat.label}: 步行时间分布 walking-time distribution",
                         axis_label="步行时间（分钟，上限）Walking time, minutes (bin upper edge)",
                         value_label=f"人口 Residents ({cat.cohort_label})",
                         marks=[(float(np.searchsorted(uppers, t, side="left") + 1), f"{_m(t)} min")
                                for t in cat.tiers_min])
    return _figure(chart, f"{_e(cat.label)}：目标人群按到最近设施的步行时间（每分钟）— residents "
                          f"of the cohort by walking time to the nearest facility, per minute, "
                          f"then beyond {_m(max_min)} min and unreachable.")


def _gap_table(ctx: ReportContext, key: str, cat: Category) -> str:
    gaps = ctx.result.gaps
    if gaps is None or gaps.empty or "category" not in gaps:
        return "<p>没有服务缺口 No gaps: every resident of the cohort is within the target.</p>"
    rows = gaps[gaps["category"] == key]
    if rows.empty:
        return "<p>没有服务缺口 No gaps: every resident of the cohort is within the target.</p>"
    rows = rows.sort_values("population", ascending=False, kind="stable")
    top = rows.head(TOP_GAPS)
    body = []
    for _, g in top.iterrows():
        near_min = g.get("nearest_min")
        distance = float(near_min) * cat.metres_per_minute if _finite(near_min) else np.nan
        name = g.get("nearest_name")
        fid = g.get("nearest_facility")
        facility = _MISSING if fid is None or pd.isna(fid) else (
            f"{_e(name)} ({_e(fid)})" if isinstance(name, str) else _e(fid))
        body.append([
            _int(g.get("rank")), _e(ctx.district_label(g.get("district"))),
            _int(g.get("population")), _dec(g.get("area_km2"), 2), _int(g.get("cells")),
            _dec(g.get("mean_min")) if _finite(g.get("mean_min")) else "不可达 unreachable",
            facility, _dec(near_min), _int(distance),
        ])
    headers = ["排名 Rank", "街道 Sub-district", f"人口 Residents ({_e(cat.cohort_label)})",
               "面积 Area (km²)", "网格 Cells", "平均步行 Mean walk (min)",
               "最近设施 Nearest facility", "到最近设施 Time (min)", "距离 Distance (m)"]
    more = len(rows) - len(top)
    note = (f"<p class=c15-note>另有 {more} 处较小缺口 {more} smaller gaps are in "
            "<code>results.xlsx</code> and <code>results.gpkg</code>.</p>" if more > 0 else "")
    return (f"<h4>服务缺口（按人口排序）Gaps ranked by population (beyond "
            f"{_m(cat.target_min)} min)</h4>"
            + _table(headers, body, numeric=[0, 2, 3, 4, 5, 7, 8])
            + "<p class=c15-note>Time and distance to the nearest facility are from the gap's "
              "closest cell, over the street network at the category's walking speed.</p>"
            + note)


def _categories(ctx: ReportContext) -> str | None:
    sections = [_category_section(ctx, k, c) for k, c in ctx.categories.items()]
    if not sections:
        return None
    return ("<h2 id=categories>分类别结果 By category</h2>"
            "<p>Per sub-district: residents of the target cohort, the share within each walking "
            "time, coverage at the target, walking times, and the gaps — populated areas "
            "beyond the target, merged where they touch — ranked by population.</p>"
            + "\n".join(sections))


def _equity(ctx: ReportContext) -> str | None:
    """Equity measures and Lorenz curves, when the result carries them (``result.equity``)."""
    equity = getattr(ctx.result, "equity", None)
    table = getattr(equity, "table", None)
    if not isinstance(table, pd.DataFrame) or table.empty:
        return None
    parts = ["<h2 id=equity>均衡性 Equity</h2>",
             "<p>How evenly walking time is shared among residents of each cohort "
             "(population-weighted; 0 = everyone equal). Residents who cannot reach any "
             "facility are left out of the walking-time measures.</p>"]
    rows = table[table["district"] == ALL] if "district" in table else table
    body = []
    for _, r in rows.iterrows():
        cat = ctx.categories.get(r.get("category"))
        measure = r.get("measure", "")
        body.append([_e(cat.label if cat else r.get("category")),
                     _e(MEASURE_LABELS.get(measure, measure)),
                     _dec(r.get("mean"), 3), _dec(r.get("gini"), 3), _dec(r.get("theil"), 3),
                     _dec(r.get("theil_between"), 3), _dec(r.get("theil_within"), 3)])
    parts.append(_table(["类别 Category", "指标 Measure", "均值 Mean", "Gini", "Theil T",
                         "街道间 Between", "街道内 Within"], body, numeric=range(2, 7)))
    balance = getattr(equity, "coverage_balance", None)
    if isinstance(balance, pd.DataFrame) and not balance.empty:
        body = []
        for _, r in balance.iterrows():
            cat = ctx.categories.get(r.get("category"))
            body.append([_e(cat.label if cat else r.get("category")),
                         _pct(r.get("min_coverage")), _e(ctx.district_label(r.get("min_district"))),
                         _pct(r.get("mean_coverage")), _dec(r.get("min_mean_ratio"), 2)])
        parts.append(_table(["类别 Category", "最低覆盖率 Lowest coverage", "街道 Sub-district",
                             "平均 Mean of sub-districts", "最低/平均 Min/mean"], body,
                            numeric=[1, 3, 4]))
    lorenz = getattr(equity, "lorenz", None)
    if isinstance(lorenz, pd.DataFrame) and not lorenz.empty:
        for measure, label in (("walk_time", "步行时间 walking time"), ("supply", "供给 supply")):
            sub = lorenz[(lorenz["district"] == ALL) & (lorenz["measure"] == measure)]
            series = [Series("均等线 equality", "#999999", [0, 100], [0, 1], dashed=True)]
            for key, cat in ctx.categories.items():
                curve = sub[sub["category"] == key].sort_values("pop_share")
                if len(curve):
                    series.append(Series(cat.label, ctx.colour(key),
                                         curve["pop_share"].to_numpy() * 100,
                                         curve["value_share"].to_numpy()))
            if len(series) > 1:
                chart = line_chart(series, title=f"洛伦兹曲线 Lorenz curves: {label}",
                                   x_label="人口累计占比 Cumulative share of residents (%)",
                                   y_label="累计占比 Cumulative share",
                                   x_max=100, y_max=1.0)
                parts.append(_figure(chart, f"洛伦兹曲线（全区）Lorenz curves of {_e(label)}, "
                                            "residents ordered from the smallest value; the "
                                            "farther below the diagonal, the less even."))
    return "\n".join(parts)


def _sources(ctx: ReportContext) -> str | None:
    result = ctx.result
    parts = ["<h2 id=sources>数据来源与出处 Data sources and provenance</h2>"]
    if result.synthetic:
        parts.append(f'<p class="c15-warn">合成数据 SYNTHETIC DATA — {_e(result.notice)}</p>')
    if ctx.records:
        rows = [[f"<code>{_e(k)}</code>", _e(Path(r["path"]).name), _int(r["bytes"]),
                 f'<code class="c15-hash">{_e(r["sha256"])}</code>']
                for k, r in ctx.records.items()]
        parts.append("<p>Input files as read by this run, with their SHA-256 so that a "
                     "reviewer can check them (<code>manifest.json</code> beside this report "
                     "repeats them with full paths, package versions and step timings).</p>")
        parts.append(_table(["字段 Config field", "文件 File", "字节 Bytes", "SHA-256"], rows,
                            numeric=[2]))
    facilities = result.facilities
    if facilities is not None and len(facilities) and "provenance" in facilities:
        counts = (facilities.assign(provenance=facilities["provenance"].fillna("unknown"))
                  .groupby(["category", "provenance"]).size().reset_index(name="n"))
        rows = [[_e(ctx.categories[c].label if c in ctx.categories else c), _e(p), _int(n)]
                for c, p, n in counts.itertuples(index=False)]
        parts.append("<h3>设施来源 Facilities by provenance</h3>")
        parts.append(_table(["类别 Category", "来源 Provenance", "数量 Facilities"], rows,
                            numeric=[2]))
    diag = result.diagnostics or {}
    if diag:
        items = []
        labels = {"network_nodes": "路网节点 Network nodes",
                  "network_edges": "路段 Street segments",
                  "network_pieces": "路网连通片 Network pieces",
                  "cells": "人口网格 Populated cells", "population": "总人口 Residents",
                  "unsnapped_cells": "未接入路网网格 Cells beyond the snap limit",
                  "unsnapped_population": "未接入路网人口 Residents beyond the snap limit",
                  "population_off_main_network":
                      "不在主路网上的人口 Residents off the main network piece"}
        for k, label in labels.items():
            if k in diag:
                items.append(f"<li>{label}: {_int(diag[k])}</li>")
        unsnapped = {k: v for k, v in (diag.get("unsnapped_facilities") or {}).items() if v}
        for k, ids in unsnapped.items():
            name = ctx.categories[k].label if k in ctx.categories else k
            items.append(f"<li>未接入路网设施 Facilities beyond the snap limit ({_e(name)}): "
                         f"{_e(', '.join(map(str, ids)))}</li>")
        items += [f"<li><strong>警告 Warning:</strong> {_e(w)}</li>"
                  for w in diag.get("warnings", [])]  # circle15.checks
        parts.append("<h3>诊断 Diagnostics</h3><ul>" + "".join(items) + "</ul>")
    return "\n".join(parts)


def _parameters(ctx: ReportContext) -> str | None:
    result = ctx.result
    parts = ["<h2 id=parameters>参数与标准 Parameters and standards</h2>"]
    rows = []
    for cat in ctx.categories.values():
        life = _MISSING
        if cat.life_circle_min is not None:
            life = f"{_m(cat.life_circle_min)} min"
            if cat.life_circle_radius_m is not None:
                life += f", {cat.life_circle_radius_m:,.0f} m"
        unverified = set(cat.unverified)

        def flag(name: str, text: str, unverified: set[str] = unverified) -> str:
            return (f'{text} <span class="c15-flag" title="unverified">未核实 unverified</span>'
                    if name in unverified else text)

        rows.append([
            _e(cat.label), _e(cat.cohort_label),
            flag("tiers_min", " / ".join(_m(t) for t in cat.tiers_min) + " min"),
            flag("target_min", f"{_m(cat.target_min)} min"),
            flag("speed_kmh", f"{_m(cat.speed_kmh)} km/h"),
            flag("life_circle_min", _e(life)),
            _e(cat.capacity_unit or _MISSING),
        ])
    parts.append(_table(["类别 Category", "目标人群 Cohort", "分级 Tiers", "目标 Target",
                         "步行速度 Speed", "GB 50180-2018 生活圈 Life circle",
                         "容量单位 Capacity unit"], rows))
    source_rows = []
    for cat in ctx.categories.values():
        for name, source in sorted(cat.sources.items()):
            # "life_circle" is the source of life_circle_min and life_circle_radius_m
            doubtful = any(u == name or u.startswith(name + "_") for u in cat.unverified)
            marker = ' <span class="c15-flag">未核实 unverified</span>' if doubtful else ""
            source_rows.append([_e(cat.label), f"<code>{_e(name)}</code>{marker}", _e(source)])
    if source_rows:
        parts.append("<h3>标准来源 Sources of the standards</h3>")
        parts.append("<p>Figures marked 未核实 <i>unverified</i> could not be checked against "
                     "the official text; they can be overridden per study.</p>")
        parts.append(_table(["类别 Category", "字段 Field", "来源 Source"], source_rows))
        cited = " ".join(source for _, _, source in source_rows)
        refs = [f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in REFERENCES.items() if k in cited]
        if refs:
            parts.append("<p>Abbreviations (see <code>circle15/standards.toml</code>):</p>"
                         f"<ul>{''.join(refs)}</ul>")
    params = {k: v for k, v in (result.parameters or {}).items() if k != "categories"}
    if params:
        items = "".join(f"<li><code>{_e(k)}</code> = {_e(v)}</li>" for k, v in params.items())
        parts.append(f"<h3>分析参数 Analysis parameters</h3><ul>{items}</ul>")
    return "\n".join(parts)


#: The report's sections in page order; each returns HTML, or None to be left out.
SECTIONS: list[Callable[[ReportContext], str | None]] = [
    _summary, _map_section, _categories, _equity, index_section, comparison_section,
    _sources, _parameters,
]

_CSS = """
:root { color-scheme: light; }
body { margin: 0; color: #1a1a1a; background: #fff; font: 14px/1.5 system-ui, -apple-system,
       "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", sans-serif; }
header.c15-head { background: #1f2d3d; color: #fff; padding: 14px 24px; }
header.c15-head h1 { margin: 0; font-size: 22px; }
header.c15-head p { margin: 4px 0 0; color: #d5dde6; }
.c15-banner { background: #b71c1c; color: #fff; padding: 8px 24px; font-weight: 600; }
main { max-width: 1100px; margin: 0 auto; padding: 8px 24px 40px; }
nav.c15-toc { margin: 12px 0; padding: 8px 12px; background: #f4f6f8; border-radius: 4px; }
nav.c15-toc a { margin-right: 14px; white-space: nowrap; }
h2 { margin-top: 36px; padding-bottom: 4px; border-bottom: 2px solid #1f2d3d; font-size: 20px; }
h3 { margin-top: 28px; font-size: 17px; }
h4 { margin: 18px 0 6px; font-size: 14px; }
.c15-meta, .c15-note { color: #555; font-size: 13px; }
.c15-scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 13px; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e0e0e0; text-align: left;
         vertical-align: top; }
thead th { background: #eef1f4; border-bottom: 2px solid #b0b8c0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.c15-all td { font-weight: 600; background: #f7f7f7; }
figure { margin: 12px 0 20px; }
figcaption { color: #555; font-size: 12px; }
svg.c15-chart text { fill: #222; }
iframe.c15-map { width: 100%; height: 72vh; min-height: 420px; border: 1px solid #bbb; }
.c15-warn { background: #fdecea; border-left: 4px solid #b71c1c; padding: 8px 12px; }
.c15-flag { display: inline-block; padding: 0 4px; border-radius: 3px; background: #fff3cd;
            color: #7a5800; font-size: 11px; border: 1px solid #e0c36c; }
code.c15-hash { font-size: 11px; word-break: break-all; }
footer { margin-top: 40px; color: #666; font-size: 12px; border-top: 1px solid #ddd;
         padding-top: 8px; }
@media print {
  iframe.c15-map { display: none; }
  section.c15-cat { break-before: page; }
  .c15-banner { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}
"""


def build_report(result: CoverageResult, *, inputs: dict[str, Path] | None = None,
                 config: Path | None = None, started: datetime | None = None,
                 map_file: str | None = "map.html") -> str:
    """The report of a run as one self-contained HTML page.

    Parameters
    ----------
    result : CoverageResult
        The run.
    inputs : dict, optional
        Input files by config field; listed with their SHA-256 under data sources.
    config : Path, optional
        The study file; listed with its SHA-256.
    started : datetime, optional
        When the run started (default: now); printed as the run date.
    map_file : str or None, default "map.html"
        The map beside the report, embedded in an ``<iframe>`` and linked; ``None`` for none.

    Returns
    -------
    str
        The page: inline CSS and SVG, no script, nothing loaded from outside except the
        relative ``map_file``.
    """
    ctx = ReportContext(result, dict(inputs or {}), config,
                        started or datetime.now(UTC), map_file)
    body = [s for s in (section(ctx) for section in SECTIONS) if s]
    run_date = ctx.started.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    now = (source_date() or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    banner = (f'<div class="c15-banner" role="alert">合成数据 SYNTHETIC DATA — '
              f"{_e(result.notice)}</div>" if result.synthetic else "")
    toc = [("summary", "概要 Summary"), ("map", "地图 Map"), ("categories", "分类别 By category"),
           ("equity", "均衡性 Equity"), ("index", "指数 Index"),
           ("comparison", "对标 Comparison"), ("sources", "数据来源 Sources"),
           ("parameters", "参数 Parameters")]
    joined = "\n".join(body)
    nav = "".join(f'<a href="#{i}">{t}</a>' for i, t in toc if f"id={i}>" in joined)
    pkg = versions()
    version_text = ", ".join(f"{k} {v}" for k, v in pkg.items())
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="circle15 {_e(__version__)}">
<title>{_e(result.title)} — 报告 Report</title>
<style>{_CSS}</style>
</head>
<body>
<header class="c15-head"><h1>{_e(result.title)}</h1>
<p>15分钟公共服务圈评估报告 15-minute public service circle report · 运行日期 Run date:
<time datetime="{ctx.started.astimezone(UTC).isoformat(timespec="seconds")}">{run_date}</time>
</p></header>
{banner}
<main>
<nav class="c15-toc">{nav}</nav>
{joined}
<footer>由 circle15 {_e(__version__)} 生成 Generated by circle15 {_e(__version__)} on {now}
from the run started {run_date}. {_e(version_text)}.</footer>
</main>
</body>
</html>
"""


def write_report(result: CoverageResult, path: Path | str, **kwargs: Any) -> Path:
    """Write :func:`build_report` to ``path`` atomically and return ``path``."""
    return write_text(Path(path), build_report(result, **kwargs))
