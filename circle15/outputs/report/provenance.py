"""Report sections on where the figures come from: sources, diagnostics, parameters.

What other parts of circle15 add to a run is shown when present, read with ``getattr`` and
``.get`` so that the report works with runs that do not carry it: how residents were
counted (``diagnostics["population_method"]``), the network's separate pieces and loose
ends (``result.network_issues``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup

from ..templating import MISSING
from .context import Cell, ReportContext, integer, minutes, section, table

__all__ = ["MAX_NETWORK_ISSUES", "REFERENCES", "parameters_section", "sources_section"]

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
#: Network issues listed in the report, most residents first (all are in results.gpkg).
MAX_NETWORK_ISSUES = 30
#: Diagnostics shown as counts, with their labels.
DIAGNOSTIC_LABELS = {
    "network_nodes": "路网节点 Network nodes",
    "network_edges": "路段 Street segments",
    "network_pieces": "路网连通片 Network pieces",
    "cells": "人口网格 Populated cells",
    "population": "总人口 Residents",
    "unsnapped_cells": "未接入路网网格 Cells beyond the snap limit",
    "unsnapped_population": "未接入路网人口 Residents beyond the snap limit",
    "population_off_main_network": "不在主路网上的人口 Residents off the main network piece",
}
#: How the kinds of network issue are named.
ISSUE_KINDS = {
    "piece": "独立路网片 separate piece",
    "separate_piece": "独立路网片 separate piece",
    "loose_end": "断头路 loose end",
    "dangle": "断头路 loose end",
}


def sources_section(ctx: ReportContext) -> Markup | None:
    """Input files with SHA-256, facilities by provenance, population method, diagnostics."""
    result = ctx.result
    files = None
    if ctx.records:
        files = table(
            ["字段 Config field", "文件 File", "字节 Bytes", "SHA-256"],
            (
                [
                    Cell(k, code=True),
                    Path(r["path"]).name,
                    integer(r["bytes"]),
                    Cell(r["sha256"], code=True, css="c15-hash"),
                ]
                for k, r in ctx.records.items()
            ),
            numeric=[2],
        )
    provenance = None
    facilities = result.facilities
    if facilities is not None and len(facilities) and "provenance" in facilities:
        counts = (
            facilities.assign(provenance=facilities["provenance"].fillna("unknown"))
            .groupby(["category", "provenance"])
            .size()
            .reset_index(name="n")
        )
        provenance = table(
            ["类别 Category", "来源 Provenance", "数量 Facilities"],
            (
                [ctx.category_label(c), str(p), integer(n)]
                for c, p, n in counts.itertuples(index=False)
            ),
            numeric=[2],
        )
    diag = result.diagnostics or {}
    counts_ = [(label, integer(diag[k])) for k, label in DIAGNOSTIC_LABELS.items() if k in diag]
    unsnapped = [
        (ctx.category_label(k), ", ".join(map(str, ids)))
        for k, ids in (diag.get("unsnapped_facilities") or {}).items()
        if ids
    ]
    return section(
        "sources.html",
        synthetic=result.synthetic,
        notice=result.notice,
        files=files,
        provenance=provenance,
        population=_population_method(diag.get("population_method")),
        counts=counts_,
        unsnapped=unsnapped,
        warnings=[str(w) for w in diag.get("warnings", [])],
        issues=_network_issues(result),
    )


def _population_method(method: Any) -> dict[str, Any] | None:
    """How residents and cohorts were obtained: the statement and its details."""
    if not method:
        return None
    if isinstance(method, str):
        return {"text": method, "details": []}
    if not isinstance(method, dict):
        return {"text": str(method), "details": []}
    details = [(str(k), _plain(v)) for k, v in method.items() if k != "text" and _plain(v)]
    return {"text": str(method.get("text", "")), "details": details}


def _plain(value: Any) -> str:
    """A detail as one line of text (lists joined, mappings as ``key: value``)."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    return str(value)


def _network_issues(result: Any) -> dict[str, Any] | None:
    """The network's separate pieces and loose ends, most residents first."""
    issues = getattr(result, "network_issues", None)
    if not isinstance(issues, pd.DataFrame) or issues.empty:
        return None
    frame = pd.DataFrame(
        {c: issues[c] for c in issues.columns if str(issues[c].dtype) != "geometry"}
    )
    order = [c for c in ("population", "length_m") if c in frame.columns]
    if order:
        frame = frame.sort_values(order, ascending=False, kind="stable", na_position="last")
    shown = frame.head(MAX_NETWORK_ISSUES)
    rows = [
        [
            _text(r.get("issue_id")),
            ISSUE_KINDS.get(_text(r.get("kind")), _text(r.get("kind"))),
            _text(r.get("description"), ""),
            integer(r.get("population")),
            integer(r.get("length_m")),
            integer(r.get("nearest_m")),
        ]
        for _, r in shown.iterrows()
    ]
    kinds = frame["kind"].astype(str).value_counts() if "kind" in frame.columns else None
    summary = (
        [(ISSUE_KINDS.get(k, k), int(n)) for k, n in kinds.items()] if kinds is not None else []
    )
    return {
        "table": table(
            [
                "编号 Issue",
                "类型 Kind",
                "说明 Description",
                "人口 Residents",
                "长度 Length (m)",
                "最近其他路 Nearest other street (m)",
            ],
            rows,
            numeric=[3, 4, 5],
        ),
        "more": max(len(frame) - len(shown), 0),
        "summary": summary,
    }


def parameters_section(ctx: ReportContext) -> Markup | None:
    """Standards per category with their sources and flags, and the analysis settings."""
    rows = []
    for cat in ctx.categories.values():
        life = MISSING
        if cat.life_circle_min is not None:
            life = f"{minutes(cat.life_circle_min)} min"
            if cat.life_circle_radius_m is not None:
                life += f", {cat.life_circle_radius_m:,.0f} m"
        unverified = set(cat.unverified)

        def flag(name: str, text: str, unverified: set[str] = unverified) -> Cell:
            return Cell(text, flag="未核实 unverified" if name in unverified else "")

        rows.append(
            [
                cat.label,
                cat.cohort_label,
                flag("tiers_min", " / ".join(minutes(t) for t in cat.tiers_min) + " min"),
                flag("target_min", f"{minutes(cat.target_min)} min"),
                flag("speed_kmh", f"{minutes(cat.speed_kmh)} km/h"),
                flag("life_circle_min", life),
                cat.capacity_unit or MISSING,
            ]
        )
    standards = table(
        [
            "类别 Category",
            "目标人群 Cohort",
            "分级 Tiers",
            "目标 Target",
            "步行速度 Speed",
            "GB 50180-2018 生活圈 Life circle",
            "容量单位 Capacity unit",
        ],
        rows,
    )
    sources: list[list[Cell | str]] = []
    for cat in ctx.categories.values():
        for name, source in sorted(cat.sources.items()):
            # "life_circle" is the source of life_circle_min and life_circle_radius_m
            doubtful = any(u == name or u.startswith(name + "_") for u in cat.unverified)
            sources.append(
                [
                    cat.label,
                    Cell(name, code=True, flag="未核实 unverified" if doubtful else ""),
                    source,
                ]
            )
    cited = " ".join(str(row[2]) for row in sources)
    refs = [(k, v) for k, v in REFERENCES.items() if k in cited]
    params = [(k, _plain(v)) for k, v in (ctx.result.parameters or {}).items() if k != "categories"]
    return section(
        "parameters.html",
        standards=standards,
        sources=table(["类别 Category", "字段 Field", "来源 Source"], sources) if sources else None,
        references=refs,
        params=params,
    )


def _text(value: Any, default: str = MISSING) -> str:
    """A value as text; ``default`` when missing."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return default
    return str(value)
