"""What the coverage map's legend says: one section per kind of layer, one entry per layer.

The sections and entries carry the element names of the layers they explain, so the legend
shows only what is on the map (the runtime's layer control keeps it in step). The text is
rendered by ``templates/legend.html`` with autoescaping: category labels from a study file
are text there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ...standards import Category
from .layers import MAX_MAP_GAPS, MAX_MAP_ISSUES
from .style import (
    ALL_DISTRICTS,
    BARRIER_COLOUR,
    COVERAGE_COLOURS,
    GAP_COLOUR,
    ISSUE_COLOURS,
    NO_DATA_COLOUR,
    STEPS_COLOUR,
    coverage_class_names,
    minutes_text,
    rgba,
    tier_colours,
    tier_names,
)

if TYPE_CHECKING:  # result imports this package (CoverageResult.map)
    from ...result import CoverageResult

__all__ = ["coverage_legend", "overall_coverage", "swatch"]


def swatch(fill: str, border: str = "#888", *classes: str) -> dict[str, Any]:
    """A legend swatch: a box (or ``c15-dot``, ``c15-line``, ``c15-dashed``, ``c15-thick``)."""
    return {"fill": fill, "border": border, "classes": list(classes), "icon": None}


def _icon(key: str, colour: str, hollow: bool = False) -> dict[str, Any]:
    return {"fill": colour, "border": colour, "classes": [], "icon": key, "hollow": hollow}


def _item(
    text: str, swatch_: dict[str, Any] | None = None, layers: list[Any] | None = None
) -> dict[str, Any]:
    return {"text": text, "swatch": swatch_, "layers": layers or None}


def _section(heading: str, items: list[dict[str, Any]], layers: list[Any] | None) -> dict[str, Any]:
    return {"heading": heading, "entries": items, "layers": layers or None}


def overall_coverage(result: CoverageResult) -> list[str]:
    """Lines like ``"托育 Childcare: 83.2% 15分钟内 within 15 min"`` from the ``ALL`` rows."""
    d = result.districts
    if d is None or d.empty or not {"district", "category", "coverage"} <= set(d.columns):
        return []
    rows = d[d["district"] == ALL_DISTRICTS].drop_duplicates("category").set_index("category")
    lines = []
    for key, cat in result.categories.items():
        if key not in rows.index or pd.isna(rows.at[key, "coverage"]):
            continue
        target = minutes_text(cat.target_min)
        lines.append(
            f"{cat.label}: {float(rows.at[key, 'coverage']):.1%} {target}分钟内 within {target} min"
        )
    return lines


def coverage_legend(
    result: CoverageResult,
    layers: dict[str, dict[str, Any]],
    colours: dict[str, str],
    *,
    gap_totals: dict[str, int],
    outlines: dict[str, Any],
    issues_total: int | None = None,
) -> list[dict[str, Any]]:
    """Sections of the coverage map's legend, the study-wide coverage last.

    ``layers`` gives, per category key, each of its layers by kind (``facilities``,
    ``walking``, ``service_areas``, ``gaps``, ``choropleth``); ``outlines`` the outline
    layers (``zones``, ``study``, ``issues``); ``gap_totals`` the number of gaps
    per category; ``issues_total`` the number of network issues when they are drawn.
    """
    cats: list[Category] = list(result.categories.values())
    sections: list[dict[str, Any]] = []

    def having(kind: str) -> list[Category]:
        return [c for c in cats if kind in layers.get(c.key, {})]

    by_tiers: dict[tuple[float, ...], list[Category]] = {}
    for cat in having("walking"):
        by_tiers.setdefault(cat.tiers_min, []).append(cat)
    for tiers, group in by_tiers.items():
        which = "" if len(by_tiers) == 1 else " (" + ", ".join(c.label for c in group) + ")"
        items = [
            _item(name, swatch(colour))
            for name, colour in zip(tier_names(group[0]), tier_colours(len(tiers)), strict=True)
        ]
        sections.append(
            _section(
                f"步行时间 Walking time to the nearest facility{which}",
                items,
                [layers[c.key]["walking"] for c in group],
            )
        )

    if facility_cats := having("facilities"):
        items = [
            _item(c.label, _icon(c.key, colours[c.key]), [layers[c.key]["facilities"]])
            for c in facility_cats
        ]
        items.append(
            _item(
                "虚线：未接入路网 dashed: not snapped to a street",
                _icon(facility_cats[0].key, "#666666", hollow=True),
            )
        )
        items.append(
            _item(
                "数字：聚合的设施数 number: facilities grouped at this zoom",
                swatch("#666", "#fff", "c15-dot"),
            )
        )
        sections.append(
            _section("设施 Facilities", items, [layers[c.key]["facilities"] for c in facility_cats])
        )

    if area_cats := having("service_areas"):
        items = [
            _item(
                f"{c.label} ≤ {minutes_text(c.target_min)} min",
                swatch(rgba(colours[c.key], 0.15), colours[c.key], "c15-thick"),
                [layers[c.key]["service_areas"]],
            )
            for c in area_cats
        ]
        sections.append(
            _section(
                "服务范围 Service areas (居民的最近设施，目标时间内 cells whose "
                "nearest facility it is, within the target time)",
                items,
                [layers[c.key]["service_areas"] for c in area_cats],
            )
        )

    if gap_cats := having("gaps"):
        items = [
            _item(
                "超出目标步行时间的居住区 populated areas beyond the target time",
                swatch("rgba(227,26,28,0.08)", GAP_COLOUR, "c15-thick"),
            )
        ]
        items += [
            _item(
                f"{c.label}: 只勾画人口最多的{MAX_MAP_GAPS:,}处"
                f"（共{gap_totals[c.key]:,}处）the {MAX_MAP_GAPS:,} most populous of "
                f"{gap_totals[c.key]:,} gaps are outlined; all are in results.gpkg",
                None,
                [layers[c.key]["gaps"]],
            )
            for c in gap_cats
            if gap_totals.get(c.key, 0) > MAX_MAP_GAPS
        ]
        sections.append(
            _section("服务缺口 Service gaps", items, [layers[c.key]["gaps"] for c in gap_cats])
        )

    if barrier_cats := having("barriers"):
        items = [
            _item(
                "无台阶不能在目标时间内到达的居住区 residents within the target only by "
                "using steps",
                swatch(rgba(BARRIER_COLOUR, 0.25), BARRIER_COLOUR, "c15-thick"),
            ),
            _item(
                "他们路线上的台阶 the steps on their walks",
                swatch(STEPS_COLOUR, STEPS_COLOUR, "c15-line", "c15-dashed"),
            ),
        ]
        sections.append(
            _section(
                "台阶阻隔 Cut off by steps (" + ", ".join(c.label for c in barrier_cats) + ")",
                items,
                [layers[c.key]["barriers"] for c in barrier_cats],
            )
        )

    if choro_cats := having("choropleth"):
        items = [
            _item(name, swatch(colour))
            for name, colour in zip(coverage_class_names(), COVERAGE_COLOURS, strict=True)
        ]
        items.append(_item("无数据 no data", swatch(NO_DATA_COLOUR)))
        sections.append(
            _section(
                "街道覆盖率 Sub-district coverage (目标时间内 within the target time)",
                items,
                [layers[c.key]["choropleth"] for c in choro_cats],
            )
        )

    if issues_total is not None and "issues" in outlines:
        items = [
            _item(
                "孤立路网 separate piece of network (its residents reach no facility on "
                "the main network)",
                swatch(
                    ISSUE_COLOURS["separate_piece"], ISSUE_COLOURS["separate_piece"], "c15-line"
                ),
            ),
            _item(
                "断头路 loose end (a street that ends near another without joining it)",
                swatch(ISSUE_COLOURS["loose_end"], "#fff", "c15-dot"),
            ),
        ]
        if issues_total > MAX_MAP_ISSUES:
            items.append(
                _item(
                    f"只显示受影响人口最多的{MAX_MAP_ISSUES:,}处（共{issues_total:,}处）"
                    f"the {MAX_MAP_ISSUES:,} issues with the most residents of "
                    f"{issues_total:,} are drawn"
                )
            )
        sections.append(_section("路网问题 Network issues", items, [outlines["issues"]]))

    boundary = []
    if "zones" in outlines:
        boundary.append(
            _item("街道边界 Sub-districts", swatch("#fff", "#444"), [outlines["zones"]])
        )
    if "study" in outlines:
        boundary.append(
            _item(
                "研究范围 Study area",
                swatch("#fff", "#111", "c15-dashed", "c15-thick"),
                [outlines["study"]],
            )
        )
    if boundary:
        sections.append(
            _section(
                "边界 Boundaries", boundary, [layer for i in boundary for layer in i["layers"]]
            )
        )
    if overall := overall_coverage(result):
        sections.append(
            _section("全区覆盖率 Study-wide coverage", [_item(line) for line in overall], None)
        )
    return sections
