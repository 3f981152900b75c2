"""Report sections for the 可及/均衡/优质 index and the comparison with a reference index.

Each section takes the report's context (anything with a ``result`` attribute) and returns
HTML, or None when the run has nothing to show, as the sections of ``outputs.report`` do.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

from ..analysis.coverage import ALL
from ..analysis.index import DIMENSIONS

_MISSING = "—"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _num(x: Any, places: int = 1) -> str:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return _MISSING
    return f"{value:,.{places}f}" if np.isfinite(value) else _MISSING


def _table(headers: list[str], rows: list[list[str]], numeric: set[int],
           highlight: list[bool] | None = None) -> str:
    head = "".join(f'<th{" class=num" if i in numeric else ""}>{h}</th>'
                   for i, h in enumerate(headers))
    body = []
    for r, row in enumerate(rows):
        cls = ' class="c15-all"' if highlight and highlight[r] else ""
        cells = "".join(f'<td{" class=num" if i in numeric else ""}>{c}</td>'
                        for i, c in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    return (f'<div class="c15-scroll"><table><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def index_section(ctx: Any) -> str | None:
    """The index table: sub-scores and composite per sub-district, with the settings."""
    result = ctx.result
    index = getattr(result, "index", None)
    if not isinstance(index, pd.DataFrame) or index.empty:
        return None
    heads = ["街道 Sub-district", *(f"{zh} {en}" for en, zh in DIMENSIONS.items()),
             "综合 Composite", "排名 Rank"]
    rows = [[_e(r["district"] if r["district"] == ALL else f"{r['district']} {r['name_en']}"),
             *(_num(r[d]) for d in DIMENSIONS), f"<b>{_num(r['composite'])}</b>",
             _e(r["rank"]) if pd.notna(r["rank"]) else _MISSING]
            for _, r in index.iterrows()]
    settings = (result.parameters or {}).get("index", {})
    weights = ", ".join(f"{k} {v:g}" for k, v in settings.get("weights", {}).items())
    used = "; ".join(f"{dim}: " + ", ".join(f"{k} {v:g}" for k, v in ind.items())
                     for dim, ind in settings.get("indicators", {}).items())
    parts = [
        "<h2 id=index>均衡可及优质指数 The 可及/均衡/优质 index</h2>",
        "<p>Per sub-district, three sub-scores and a composite on 0–100: 可及 accessibility "
        "(how many reach a service, how far), 均衡 balance (how evenly walking time and "
        "supply are shared) and 优质 quality (capacity within reach against per-capita "
        "norms). Indicators are normalised, then averaged with the weights of the study "
        "file; see the README for the formulas.</p>",
        _table(heads, rows, numeric={1, 2, 3, 4, 5},
               highlight=[d == ALL for d in index["district"]]),
        f'<p class="c15-note">Normalisation: {_e(settings.get("normalisation", ""))}; '
        f"dimension weights: {_e(weights)}; indicators: {_e(used)}.</p>",
    ]
    return "\n".join(parts)


def comparison_section(ctx: Any) -> str | None:
    """Side by side with a reference index, when the run was compared with one."""
    from .comparison import comparison_svg  # matplotlib: only when there is a comparison

    result = ctx.result
    comparison = getattr(result, "comparison", None)
    if comparison is None or comparison.table.empty:
        return None
    table = comparison.table
    parts = ["<h2 id=comparison>对标 Comparison with a reference index</h2>",
             f"<p>{len(table)} values of {table['indicator'].nunique()} indicators compared "
             f"with <code>{_e(comparison.reference)}</code>; ranks are among the compared "
             "sub-districts (1 = best); a difference beyond the tolerance is flagged.</p>"]
    if "provenance" in table.columns and table["provenance"].astype(str).str.contains(
            "synthetic|example", case=False).any():
        parts.append('<p class="c15-warn">The reference is marked synthetic or an example: '
                     "its values are made up and only show the format.</p>")
    spear = [[_e(r["indicator"]), _e(r["units"]), _num(r["rho"], 2), _num(r["p_value"], 3),
              _e(r["flagged"])] for _, r in comparison.spearman.iterrows()]
    parts.append(_table(["指标 Indicator", "单位数 Units", "Spearman ρ", "p",
                         "超出容差 Beyond tolerance"], spear, numeric={1, 2, 3, 4}))
    svg = comparison_svg(comparison, title=result.title, synthetic=result.synthetic)
    svg = svg[svg.find("<svg"):].replace("<svg ", '<svg style="max-width:100%;height:auto" ',
                                         1)
    parts.append(f"<figure>{svg}<figcaption>Ours (dots) and the reference (diamonds) per "
                 "unit; red where the difference exceeds the tolerance.</figcaption></figure>")
    rows = [[_e(r["unit"]), _e(r["indicator"]), _num(r["ours"], 3), _num(r["theirs"], 3),
             _num(r["difference"], 3), _num(r["tolerance"], 3),
             _e(r["rank_ours"]) if pd.notna(r["rank_ours"]) else _MISSING,
             _e(r["rank_theirs"]) if pd.notna(r["rank_theirs"]) else _MISSING,
             '<span class="c15-flag">超出 beyond</span>' if pd.notna(r["flag"]) and r["flag"]
             else ""]
            for _, r in table.iterrows()]
    parts.append(_table(["单位 Unit", "指标 Indicator", "本工具 Ours", "参考 Theirs",
                         "差值 Difference", "容差 Tolerance", "排名 Rank (ours)",
                         "排名 Rank (theirs)", ""], rows, numeric={2, 3, 4, 5, 6, 7}))
    return "\n".join(parts)
