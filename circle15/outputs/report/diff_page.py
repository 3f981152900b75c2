"""``diff.html``: progress between two vintages on a page of its own (templates, escaped)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from markupsafe import Markup

from ... import __version__
from ...schema import ALL
from ..reproducible import source_date
from ..templating import package_text, render
from .context import PACKAGE, Cell, decimal, integer, percent, table

if TYPE_CHECKING:
    from ...analysis.diff import RunDiff

__all__ = ["build_diff_page"]

_STATUS = {
    "opened": "新增 opened",
    "closed": "关闭 closed",
    "moved": "迁移 moved",
    "kept": "保留 kept",
}
_TARGET = {
    "met": "达成 met",
    "not met": "未达成 not met",
    "needs a comparison": "需对比两期 needs two vintages",
}


def _text(value: object) -> str:
    """A name or id as text, ``—`` when there is none (None, NaN)."""
    return value if isinstance(value, str) and value else "—"


def _signed(value: float, places: int = 1, scale: float = 1.0) -> str:
    x = float(value) if value is not None else np.nan
    return "—" if not np.isfinite(x) else f"{x * scale:+,.{places}f}"


def build_diff_page(diff: RunDiff, *, map_file: str | None = "diff_map.html") -> str:
    """The page: summary, targets, facilities changed, sub-districts and the index."""
    label = {k: c.label for k, c in diff.categories.items()}
    names = {}
    if diff.zones is not None and "name_en" in diff.zones:
        names = dict(zip(diff.zones["district"], diff.zones["name_en"], strict=False))

    def district(d: object) -> str:
        if d == ALL:
            return "全区 All"
        en = names.get(d)
        return f"{d} {en}" if isinstance(en, str) and en and en != d else str(d)

    targets = None
    if diff.targets is not None and len(diff.targets):
        rows = [
            [
                label.get(r.category, r.category),
                _text(r.target),
                decimal(r.wanted, 2),
                decimal(r.achieved, 2),
                Cell(_TARGET.get(r.status, r.status), strong=True),
                _text(r.note),
            ]
            for r in diff.targets.itertuples()
        ]
        targets = table(
            [
                "类别 Category",
                "目标 Target",
                "目标值 Wanted",
                "实际 Achieved",
                "结果 Status",
                "说明 How it is measured",
            ],
            rows,
            numeric=(2, 3),
            classes=["" if s == "met" else "c15-flagged" for s in diff.targets["status"]],
        )
    fac = diff.facilities[diff.facilities["status"] != "kept"]
    changed_cap = diff.facilities[
        (diff.facilities["status"] == "kept") & (diff.facilities["capacity_change"].abs() > 0)
    ]
    fac = pd.concat([fac, changed_cap])
    facilities = table(
        [
            "类别 Category",
            "变化 Change",
            "名称 Name",
            "编号 Id",
            "之前编号 Id before",
            "匹配 Matched by",
            "容量 Capacity",
            "迁移 Moved (m)",
            "街道 Sub-district",
        ],
        [
            [
                label.get(r.category, r.category),
                _STATUS.get(r.status, r.status),
                _text(r.name),
                _text(r.facility_id),
                _text(r.facility_id_before),
                _text(r.matched_by),
                f"{decimal(r.capacity_before, 0)} → {decimal(r.capacity_after, 0)}",
                decimal(r.moved_m, 0),
                district(r.district) if _text(r.district) != "—" else "—",
            ]
            for r in fac.itertuples()
        ],
        numeric=(6, 7),
    )
    d = diff.districts
    has = {c for c in d.columns}
    rows, classes = [], []
    for r in d.itertuples():
        row = [label.get(r.category, r.category), district(r.district)]
        row += [
            percent(getattr(r, "coverage_before", np.nan)),
            percent(getattr(r, "coverage_after", np.nan)),
            Cell(_signed(getattr(r, "coverage_change", np.nan), 1, 100), strong=True),
        ]
        row += [
            decimal(getattr(r, "mean_min_before", np.nan)),
            decimal(getattr(r, "mean_min_after", np.nan)),
        ]
        if "supply_ratio_change" in has:
            row += [_signed(r.supply_ratio_change, 4)]
        row += [integer(r.opened), integer(r.closed), integer(r.moved)]
        rows.append(row)
        classes.append("c15-all" if r.district == ALL else "")
    heads = [
        "类别 Category",
        "街道 Sub-district",
        "覆盖率之前 Coverage before",
        "之后 After",
        "变化 Change (points)",
        "平均之前 Mean min before",
        "之后 After",
    ]
    if "supply_ratio_change" in has:
        heads.append("供给变化 Supply change")
    heads += ["新增 Opened", "关闭 Closed", "迁移 Moved"]
    districts = table(heads, rows, numeric=range(2, len(heads)), classes=classes)
    index = None
    if diff.index is not None:
        idx = diff.index
        index = table(
            [
                "街道 Sub-district",
                "综合之前 Composite before",
                "之后 After",
                "变化 Change",
                "排名之前 Rank before",
                "之后 After",
            ],
            [
                [
                    district(r.district),
                    decimal(r.composite_before),
                    decimal(r.composite_after),
                    Cell(_signed(r.composite_change), strong=True),
                    integer(getattr(r, "rank_before", np.nan)),
                    integer(getattr(r, "rank_after", np.nan)),
                ]
                for r in idx.itertuples()
            ],
            numeric=range(1, 6),
            classes=["c15-all" if x == ALL else "" for x in idx["district"]],
        )
    now = (source_date() or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    return render(
        PACKAGE,
        "diff_page.html",
        title=diff.title or "circle15",
        before=diff.before,
        after=diff.after,
        css=Markup(package_text(PACKAGE, "report.css")),
        summary=diff.summary(),
        notes=diff.notes,
        targets=targets,
        facilities=facilities,
        districts=districts,
        index=index,
        map_file=map_file,
        synthetic=diff.synthetic,
        notice=diff.notice,
        version=__version__,
        now=now,
    )
