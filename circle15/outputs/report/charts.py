"""The report's one chart stack: inline SVG written by templates, laid out here.

Why not matplotlib: the charts are a few bars, lines and dots whose labels are Chinese and
English. Written as SVG ``<text>``, the labels are set by the browser with the reader's
fonts (no CJK font needed where the report is made, no glyph warnings, text stays
selectable and searchable), the charts scale with the page and print sharply, and each is
a few kilobytes. This module computes positions; ``templates/charts/*.svg`` write the
elements, autoescaped, so a label from an input file stays text. Each function returns an
``<svg>`` element as :class:`markupsafe.Markup`, ready to put into a page.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from markupsafe import Markup

from ..templating import environment
from .context import PACKAGE

__all__ = [
    "FONT_PX",
    "Series",
    "column_chart",
    "line_chart",
    "stacked_bar_chart",
    "svg",
    "text_width",
]

FONT_PX = 12
ROW_PX = 22
BAR_PX = 14


def _n(x: Any) -> str:
    """A coordinate with at most one decimal place (``12``, ``12.5``)."""
    return f"{round(float(x), 1):g}"


environment(PACKAGE).filters["px"] = _n


def svg(template: str, **context: Any) -> Markup:
    """Render ``templates/charts/<template>`` (an ``<svg>`` element) with ``context``."""
    page = environment(PACKAGE).get_template(f"charts/{template}").render(font=FONT_PX, **context)
    return Markup(page.strip())


@dataclass(frozen=True)
class Series:
    """One line of a :func:`line_chart`: a label, a colour and its points."""

    label: str
    colour: str
    x: Sequence[float]
    y: Sequence[float]
    dashed: bool = False


def text_width(text: str, font_px: float = FONT_PX) -> float:
    """Rough width of ``text`` in pixels: wide (CJK) characters count 1 em, others 0.6 em."""
    wide = sum(unicodedata.east_asian_width(ch) in "WF" for ch in text)
    return (wide + 0.6 * (len(text) - wide)) * font_px


def fit(text: str, max_px: float, font_px: float = FONT_PX) -> str:
    """``text`` cut with an ellipsis to at most ``max_px`` wide (the whole is in a tooltip)."""
    if text_width(text, font_px) <= max_px:
        return text
    out = ""
    for ch in text:
        if text_width(out + ch + "…", font_px) > max_px:
            break
        out += ch
    return out + "…"


def legend(
    items: Sequence[tuple[str, str]], x0: float, y: float, width: float
) -> tuple[list[dict[str, Any]], float]:
    """Swatches with labels wrapped to ``width``: their positions and the height used."""
    out: list[dict[str, Any]] = []
    x, row = x0, 0
    for label, colour in items:
        w = 18 + text_width(label) + 14
        if x > x0 and x + w > x0 + width:
            x, row = x0, row + 1
        out.append({"x": x, "y": y + row * 18, "label": label, "colour": colour})
        x += w
    return out, (row + 1) * 18 if items else 0


def nice_step(span: float, target_ticks: int = 6) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) for an axis of ``span``."""
    raw = span / max(target_ticks, 1)
    if not raw > 0:
        return 1.0
    power = 10 ** np.floor(np.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= raw:
            return float(m * power)
    return float(10 * power)


def stacked_bar_chart(
    rows: Sequence[str],
    segments: Sequence[tuple[str, str]],
    values: np.ndarray,
    *,
    title: str,
    axis_label: str,
    marks: Sequence[float] = (),
    width: float = 720,
) -> Markup:
    """Horizontal bars, one per row, split into coloured segments of a share (0-1).

    Parameters
    ----------
    rows : sequence of str
        Row labels, top to bottom.
    segments : sequence of (label, colour)
        The parts of each bar, left to right, with their legend labels.
    values : ndarray, shape (len(rows), len(segments))
        Shares; each row should sum to at most 1. NaN rows are drawn empty with "no data".
    title : str
        The chart's accessible title (``<title>``).
    axis_label : str
        Label under the 0-100 % axis.
    marks : sequence of float, optional
        Shares at which to draw a dashed vertical line (e.g. a target).
    width : float, default 720
        Width in pixels.

    Returns
    -------
    Markup
        An ``<svg>`` element. Each segment is a ``<rect>`` whose ``data-value`` is its share.
    """
    values = np.asarray(values, dtype=float).reshape(len(rows), len(segments))
    # Long names get at most 40 % of the width; the browser clips nothing, the label
    # simply runs left of the bars, so keep room for it.
    left = min(max([text_width(r) for r in rows] + [40]) + 12, 0.4 * width)
    plot_w = width - left - 16
    items, legend_h = legend(segments, left, 6, plot_w)
    top = 6 + legend_h + 6
    bars = []
    for i, label in enumerate(rows):
        row = values[i]
        y = top + i * ROW_PX
        parts, x = [], left
        if not np.isnan(row).all():
            for (seg_label, colour), share in zip(segments, np.nan_to_num(row), strict=True):
                w = max(float(share), 0.0) * plot_w
                if w > 0:
                    parts.append(
                        {
                            "x": x,
                            "w": w,
                            "colour": colour,
                            "share": float(share),
                            "label": seg_label,
                        }
                    )
                x += w
        bars.append(
            {
                "label": label,
                "short": fit(label, left - 12),
                "y": y,
                "empty": np.isnan(row).all(),
                "parts": parts,
            }
        )
    axis_y = top + len(rows) * ROW_PX + 2
    ticks = [{"x": left + t * plot_w, "text": f"{t:.0%}"} for t in np.linspace(0, 1, 6)]
    return svg(
        "bars.svg",
        title=title,
        width=width,
        height=axis_y + 38,
        legend=items,
        bars=bars,
        bar_h=BAR_PX,
        left=left,
        plot_w=plot_w,
        top=top,
        axis_y=axis_y,
        ticks=ticks,
        marks=[left + m * plot_w for m in marks],
        axis_label=axis_label,
    )


def column_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    axis_label: str,
    value_label: str,
    colours: Sequence[str] | str = "#41b6c4",
    marks: Sequence[tuple[float, str]] = (),
    width: float = 720,
    height: float = 220,
) -> Markup:
    """Vertical columns, e.g. residents per minute of walking time.

    Parameters
    ----------
    labels : sequence of str
        Column labels, left to right; only some are written when they would crowd.
    values : sequence of float
        Column heights (NaN draws nothing).
    title, axis_label, value_label : str
        Accessible title, label of the horizontal axis and of the vertical axis.
    colours : str or sequence of str
        One colour, or one per column.
    marks : sequence of (float, str)
        Column positions (in column units from the left edge) with a label, drawn as dashed
        vertical lines (e.g. ``(15, "15 min")``).
    width, height : float
        Size in pixels.

    Returns
    -------
    Markup
        An ``<svg>`` element; each column is a ``<rect>`` whose ``data-value`` is its value.
    """
    vals = np.asarray(values, dtype=float)
    n = len(vals)
    fills = [colours] * n if isinstance(colours, str) else list(colours)
    top_value = float(np.nanmax(vals)) if n and np.isfinite(vals).any() else 0.0
    step = nice_step(top_value if top_value > 0 else 1.0, 4)
    y_max = step * np.ceil(top_value / step) if top_value > 0 else step
    left = text_width(f"{y_max:,.0f}") + 40
    top, bottom = 12, 44
    plot_w, plot_h = width - left - 12, height - top - bottom
    col_w = plot_w / max(n, 1)
    every = max(1, int(np.ceil(max(text_width(lbl) for lbl in labels) / col_w))) if n else 1
    columns = []
    for i, (label, value, fill) in enumerate(zip(labels, vals, fills, strict=True)):
        h = value / y_max * plot_h if np.isfinite(value) and value > 0 else 0.0
        columns.append(
            {
                "x": left + i * col_w,
                "h": h,
                "value": value,
                "fill": fill,
                "label": label,
                "text": f"{value:,.0f}" if h else "",
                "show_label": i % every == 0,
            }
        )
    grid = [
        {"y": top + plot_h - t / y_max * plot_h, "text": f"{t:,.0f}"}
        for t in np.arange(0, y_max + step / 2, step)
    ]
    return svg(
        "columns.svg",
        title=title,
        width=width,
        height=height,
        left=left,
        top=top,
        plot_w=plot_w,
        plot_h=plot_h,
        col_w=col_w,
        columns=columns,
        grid=grid,
        marks=[{"x": left + pos * col_w, "label": lbl} for pos, lbl in marks],
        axis_label=axis_label,
        value_label=value_label,
    )


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_max: float,
    y_max: float = 1.0,
    y_percent: bool = True,
    marks: Sequence[float] = (),
    width: float = 720,
    height: float = 300,
) -> Markup:
    """Lines over a shared x axis from 0 to ``x_max`` and y axis from 0 to ``y_max``.

    Parameters
    ----------
    series : sequence of Series
        The lines; points beyond the axes are clipped to them.
    title, x_label, y_label : str
        Accessible title and axis labels.
    x_max, y_max : float
        Axis ranges (from 0).
    y_percent : bool, default True
        Write y ticks as percentages.
    marks : sequence of float
        x positions of dashed vertical reference lines (e.g. 5, 10, 15 minutes).
    width, height : float
        Size in pixels.

    Returns
    -------
    Markup
        An ``<svg>`` element; each line is a ``<polyline>`` with ``data-label``.
    """
    items, legend_h = legend([(s.label, s.colour) for s in series], 60, 6, width - 80)
    left, right, top, bottom = 56, 16, 6 + legend_h + 10, 44
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: Any) -> np.ndarray:
        return left + np.clip(np.asarray(x, dtype=float), 0, x_max) / x_max * plot_w

    def py(y: Any) -> np.ndarray:
        return top + plot_h - np.clip(np.asarray(y, dtype=float), 0, y_max) / y_max * plot_h

    y_step, x_step = nice_step(y_max, 5), nice_step(x_max, 8)
    y_ticks = [
        {"y": float(py(t)), "text": f"{t:.0%}" if y_percent else f"{t:,.3g}"}
        for t in np.arange(0, y_max + y_step / 2, y_step)
    ]
    x_ticks = [
        {"x": float(px(t)), "text": f"{t:g}"} for t in np.arange(0, x_max + x_step / 2, x_step)
    ]
    lines = []
    for s in series:
        x, y = px(s.x), py(s.y)
        keep = np.isfinite(x) & np.isfinite(y)
        points = " ".join(f"{_n(a)},{_n(b)}" for a, b in zip(x[keep], y[keep], strict=True))
        lines.append({"points": points, "colour": s.colour, "dashed": s.dashed, "label": s.label})
    return svg(
        "lines.svg",
        title=title,
        width=width,
        height=height,
        legend=items,
        left=left,
        top=top,
        plot_w=plot_w,
        plot_h=plot_h,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        marks=[float(px(m)) for m in marks],
        lines=lines,
        x_label=x_label,
        y_label=y_label,
    )


#: Colours of the comparison with a reference: ours, theirs, beyond the tolerance.
OURS_COLOUR, THEIRS_COLOUR, FLAG_COLOUR = "#1f5fa8", "#e07b00", "#c62828"


def dot_panel(
    name: str,
    units: Sequence[str],
    ours: Sequence[float],
    theirs: Sequence[float],
    flags: Sequence[bool],
    note: str = "",
    width: float = 720,
) -> dict[str, Any]:
    """Layout of one indicator of a comparison: per unit ours (dot) and theirs (diamond)
    joined by a line, red where the difference exceeds the tolerance.

    Returns
    -------
    dict
        Positions for ``templates/charts/comparison.svg`` (``height`` is the panel's).
    """
    a, b = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    both = np.concatenate([a, b])
    both = both[np.isfinite(both)]
    lo, hi = (float(both.min()), float(both.max())) if len(both) else (0.0, 1.0)
    pad = (hi - lo) * 0.08 or max(abs(hi) * 0.1, 0.1)
    step = nice_step(hi - lo + 2 * pad, 5)
    floor = 0.0 if lo >= 0 else -np.inf  # shares and scores: no axis below zero
    lo = max(step * np.floor((lo - pad) / step), floor)
    hi = step * np.ceil((hi + pad) / step)
    left = min(max([text_width(u) for u in units] + [40]) + 12, 0.4 * width)
    plot_w, top = width - left - 16, 22

    def px(v: float) -> float | None:
        return left + (v - lo) / (hi - lo) * plot_w if np.isfinite(v) else None

    rows = []
    for i, (unit, x, y, flag) in enumerate(zip(units, a, b, flags, strict=True)):
        rows.append(
            {
                "y": top + 8 + i * 20,
                "unit": unit,
                "short": fit(unit, left - 12),
                "ours": px(x),
                "theirs": px(y),
                "flag": bool(flag),
                "text": f"{unit}: ours {x:.4g}, theirs {y:.4g}",
            }
        )
    bottom = top + 8 + len(rows) * 20
    ticks = [{"x": px(t), "text": f"{t:g}"} for t in np.arange(lo, hi + step / 2, step)]
    return {
        "name": name,
        "note": note,
        "rows": rows,
        "left": left,
        "plot_w": plot_w,
        "top": top,
        "bottom": bottom,
        "ticks": ticks,
        "height": bottom + 24,
    }


def dot_chart(
    panels: Sequence[dict[str, Any]],
    *,
    title: str,
    heading: str = "",
    synthetic: bool = False,
    width: float = 720,
) -> Markup:
    """One ``<svg>`` with the panels of :func:`dot_panel` stacked, a legend and a heading."""
    items, legend_h = legend(
        [
            ("本工具 ours (circle15)", OURS_COLOUR),
            ("参考 theirs (reference)", THEIRS_COLOUR),
            ("超出容差 beyond tolerance", FLAG_COLOUR),
        ],
        4,
        24 if heading else 4,
        width - 8,
    )
    y = (24 if heading else 4) + legend_h + 6
    placed = []
    for panel in panels:
        placed.append({**panel, "offset": y})
        y += panel["height"]
    return svg(
        "comparison.svg",
        title=title,
        heading=heading,
        width=width,
        height=y + 4,
        legend=items,
        panels=placed,
        synthetic=synthetic,
        ours=OURS_COLOUR,
        theirs=THEIRS_COLOUR,
        flag=FLAG_COLOUR,
    )
