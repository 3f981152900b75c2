"""Report sections of the whole circle: where steps cut people off, and the plan's targets."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from ...schema import ALL
from .context import Cell, ReportContext, decimal, integer, percent, section, table

__all__ = ["TOP_STEPS", "barriers_section", "targets_section"]

#: Flights of steps listed per category (all are in ``results.gpkg``/``results.xlsx``).
TOP_STEPS = 10


def barriers_section(ctx: ReportContext) -> Markup | None:
    """Residents within the target only by using steps, per sub-district and category, and
    the steps on their walks."""
    barriers = getattr(ctx.result, "barriers", None)
    if not isinstance(barriers, pd.DataFrame) or barriers.empty:
        return None
    heads = [
        "类别 Category",
        "街道 Sub-district",
        "目标人口 Cohort",
        "含台阶可达 Within the target with steps",
        "无台阶可达 Step-free",
        "因台阶不可达 Cut off by steps",
        "占比 Share",
        "多走 Extra min",
        "无无障碍路线 No step-free route",
    ]
    rows, classes = [], []
    for _, r in barriers.iterrows():
        rows.append(
            [
                ctx.category_label(r["category"]),
                ctx.district_label(r["district"]),
                integer(r["population"]),
                integer(r["covered_with_steps"]),
                integer(r["covered_step_free"]),
                Cell(integer(r["barrier_population"]), strong=r["district"] == ALL),
                percent(r["barrier_share"]),
                decimal(r["mean_extra_min"]),
                integer(r["no_step_free_route"]),
            ]
        )
        classes.append("c15-all" if r["district"] == ALL else "")
    steps = getattr(ctx.result, "barrier_steps", None)
    step_rows = []
    if isinstance(steps, pd.DataFrame) and len(steps):
        for key, part in steps.groupby("category", sort=False):
            for _, r in part.head(TOP_STEPS).iterrows():
                name = r["name"] if isinstance(r["name"], str) and r["name"] else ""
                step_rows.append(
                    [
                        ctx.category_label(key),
                        integer(r["rank"]),
                        f"{r['kind']} {name}".strip(),
                        ctx.district_label(r["district"]),
                        integer(r["length_m"]),
                        Cell(integer(r["population"]), strong=True),
                        integer(r["cells"]),
                    ]
                )
    step_table = (
        table(
            [
                "类别 Category",
                "排名 Rank",
                "台阶 Steps",
                "街道 Sub-district",
                "长度 Length (m)",
                "受阻人口 Residents cut off",
                "网格 Cells",
            ],
            step_rows,
            numeric=(1, 4, 5, 6),
        )
        if step_rows
        else None
    )
    labels = [
        ctx.categories[k].label for k in dict.fromkeys(barriers["category"]) if k in ctx.categories
    ]
    return section(
        "barriers.html",
        table=table(heads, rows, numeric=range(2, len(heads)), classes=classes),
        steps=step_table,
        categories=", ".join(labels),
        top=TOP_STEPS,
    )


def targets_section(ctx: ReportContext) -> Markup | None:
    """The study's (or the plan's) targets, met or not, with the figures."""
    targets = getattr(ctx.result, "targets", None)
    if not isinstance(targets, pd.DataFrame) or targets.empty:
        return None
    heads = [
        "类别 Category",
        "目标 Target",
        "目标值 Wanted",
        "实际 Achieved",
        "结果 Status",
        "说明 How it is measured",
    ]
    rows, classes = [], []
    for _, r in targets.iterrows():
        status = str(r["status"])
        rows.append(
            [
                ctx.category_label(r["category"]),
                str(r["target"]),
                decimal(r["wanted"], 2),
                decimal(r["achieved"], 2),
                Cell(_STATUS.get(status, status), strong=status != "met"),
                str(r["note"]),
            ]
        )
        classes.append("" if status == "met" else "c15-flagged")
    return section("targets.html", table=table(heads, rows, numeric=(2, 3), classes=classes))


_STATUS = {
    "met": "达成 met",
    "not met": "未达成 not met",
    "needs a comparison": "需对比两期 needs two vintages",
}
