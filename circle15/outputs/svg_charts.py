"""Small charts as inline SVG for the HTML report: stacked bars, columns and lines.

Why not matplotlib: the report's charts are a few bars and lines whose labels are Chinese and
English. Written as SVG ``<text>``, the labels are laid out by the browser with the reader's
fonts (no CJK font needed where the report is made, no glyph warnings, text stays
selectable and searchable), the charts scale with the page and print sharply, and each is a
few kilobytes. The functions return an ``<svg>`` element ready to put into HTML.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Series", "column_chart", "line_chart", "stacked_bar_chart", "text_width"]

FONT_PX = 12
ROW_PX = 22
BAR_PX = 14


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


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _n(x: float) -> str:
    """A coordinate with at most one decimal place."""
    return f"{round(float(x), 1):g}"


def _open(width: float, height: float, title: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="c15-chart" role="img" '
            f'viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" '
            f'height="{_n(height)}" font-size="{FONT_PX}" '
            f'style="max-width:100%;height:auto"><title>{_e(title)}</title>']


def _legend(items: Sequence[tuple[str, str]], x0: float, y: float, width: float,
            *, line: bool = False) -> tuple[list[str], float]:
    """Swatches with labels, wrapped to ``width``; returns the elements and the height used."""
    out: list[str] = []
    x, row = x0, 0
    for label, colour in items:
        w = 18 + text_width(label) + 14
        if x > x0 and x + w > x0 + width:
            x, row = x0, row + 1
        yy = y + row * 18
        if line:
            out.append(f'<line x1="{_n(x)}" y1="{_n(yy + 6)}" x2="{_n(x + 14)}" '
                       f'y2="{_n(yy + 6)}" stroke="{_e(colour)}" stroke-width="2.5"/>')
        else:
            out.append(f'<rect x="{_n(x)}" y="{_n(yy)}" width="12" height="12" '
                       f'fill="{_e(colour)}" stroke="#666" stroke-width="0.5"/>')
        out.append(f'<text x="{_n(x + 18)}" y="{_n(yy + 10)}">{_e(label)}</text>')
        x += w
    return out, (row + 1) * 18 if items else 0


def stacked_bar_chart(rows: Sequence[str], segments: Sequence[tuple[str, str]],
                      values: np.ndarray, *, title: str, axis_label: str,
                      marks: Sequence[float] = (), width: float = 720) -> str:
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
    str
        An ``<svg>`` element. Each segment is a ``<rect>`` whose ``data-value`` is its share.
    """
    values = np.asarray(values, dtype=float).reshape(len(rows), len(segments))
    left = max([text_width(r) for r in rows] + [40]) + 12
    plot_w = width - left - 16
    legend, legend_h = _legend(segments, left, 6, plot_w)
    top = 6 + legend_h + 6
    height = top + len(rows) * ROW_PX + 40
    out = _open(width, height, title) + legend
    for i, label in enumerate(rows):
        y = top + i * ROW_PX
        out.append(f'<text x="{_n(left - 8)}" y="{_n(y + BAR_PX - 3)}" '
                   f'text-anchor="end">{_e(label)}</text>')
        row = values[i]
        if np.isnan(row).all():
            out.append(f'<text x="{_n(left + 4)}" y="{_n(y + BAR_PX - 3)}" fill="#777">'
                       "无数据 no data</text>")
            continue
        x = left
        for (seg_label, colour), share in zip(segments, np.nan_to_num(row), strict=True):
            w = max(share, 0.0) * plot_w
            if w > 0:
                out.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{BAR_PX}" '
                           f'fill="{_e(colour)}" data-value="{share:.4f}">'
                           f"<title>{_e(label)} · {_e(seg_label)}: {share:.1%}</title></rect>")
            x += w
    axis_y = top + len(rows) * ROW_PX + 2
    out.append(f'<line x1="{_n(left)}" y1="{_n(axis_y)}" x2="{_n(left + plot_w)}" '
               f'y2="{_n(axis_y)}" stroke="#444"/>')
    for tick in np.linspace(0, 1, 6):
        x = left + tick * plot_w
        out.append(f'<line x1="{_n(x)}" y1="{_n(axis_y)}" x2="{_n(x)}" y2="{_n(axis_y + 4)}" '
                   'stroke="#444"/>')
        out.append(f'<text x="{_n(x)}" y="{_n(axis_y + 16)}" text-anchor="middle">'
                   f"{tick:.0%}</text>")
    for mark in marks:
        x = left + mark * plot_w
        out.append(f'<line x1="{_n(x)}" y1="{_n(top - 3)}" x2="{_n(x)}" y2="{_n(axis_y)}" '
                   'stroke="#b71c1c" stroke-dasharray="4 3"/>')
    out.append(f'<text x="{_n(left + plot_w / 2)}" y="{_n(axis_y + 32)}" '
               f'text-anchor="middle">{_e(axis_label)}</text>')
    out.append("</svg>")
    return "".join(out)


def _nice_step(span: float, target_ticks: int = 6) -> float:
    raw = span / max(target_ticks, 1)
    if raw <= 0:
        return 1.0
    power = 10 ** np.floor(np.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= raw:
            return float(m * power)
    return float(10 * power)


def column_chart(labels: Sequence[str], values: Sequence[float], *, title: str,
                 axis_label: str, value_label: str, colours: Sequence[str] | str = "#41b6c4",
                 marks: Sequence[tuple[float, str]] = (), width: float = 720,
                 height: float = 220) -> str:
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
    str
        An ``<svg>`` element; each column is a ``<rect>`` whose ``data-value`` is its value.
    """
    vals = np.asarray(values, dtype=float)
    n = len(vals)
    fills = [colours] * n if isinstance(colours, str) else list(colours)
    top_value = float(np.nanmax(vals)) if n and np.isfinite(vals).any() else 0.0
    step = _nice_step(top_value if top_value > 0 else 1.0, 4)
    y_max = step * np.ceil(top_value / step) if top_value > 0 else step
    left = text_width(f"{y_max:,.0f}") + 40
    top, bottom = 12, 44
    plot_w, plot_h = width - left - 12, height - top - bottom
    col_w = plot_w / max(n, 1)
    out = _open(width, height, title)
    for tick in np.arange(0, y_max + step / 2, step):
        y = top + plot_h - tick / y_max * plot_h
        out.append(f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(left + plot_w)}" '
                   f'y2="{_n(y)}" stroke="#ddd"/>')
        out.append(f'<text x="{_n(left - 6)}" y="{_n(y + 4)}" text-anchor="end">'
                   f"{tick:,.0f}</text>")
    every = max(1, int(np.ceil(max(text_width(lbl) for lbl in labels) / col_w))) if n else 1
    for i, (label, value, fill) in enumerate(zip(labels, vals, fills, strict=True)):
        x = left + i * col_w
        if np.isfinite(value) and value > 0:
            h = value / y_max * plot_h
            out.append(f'<rect x="{_n(x + 1)}" y="{_n(top + plot_h - h)}" '
                       f'width="{_n(max(col_w - 2, 1))}" height="{_n(h)}" fill="{_e(fill)}" '
                       f'data-value="{value:.4g}"><title>{_e(label)}: {value:,.0f}</title>'
                       "</rect>")
        if i % every == 0:
            out.append(f'<text x="{_n(x + col_w / 2)}" y="{_n(top + plot_h + 14)}" '
                       f'text-anchor="middle">{_e(label)}</text>')
    out.append(f'<line x1="{_n(left)}" y1="{_n(top + plot_h)}" x2="{_n(left + plot_w)}" '
               f'y2="{_n(top + plot_h)}" stroke="#444"/>')
    for pos, label in marks:
        x = left + pos * col_w
        out.append(f'<line x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" y2="{_n(top + plot_h)}" '
                   'stroke="#b71c1c" stroke-dasharray="4 3"/>')
        out.append(f'<text x="{_n(x + 3)}" y="{_n(top + 10)}" fill="#b71c1c">{_e(label)}</text>')
    out.append(f'<text x="{_n(left + plot_w / 2)}" y="{_n(height - 6)}" '
               f'text-anchor="middle">{_e(axis_label)}</text>')
    out.append(f'<text transform="translate(12 {_n(top + plot_h / 2)}) rotate(-90)" '
               f'text-anchor="middle">{_e(value_label)}</text>')
    out.append("</svg>")
    return "".join(out)


def line_chart(series: Sequence[Series], *, title: str, x_label: str, y_label: str,
               x_max: float, y_max: float = 1.0, y_percent: bool = True,
               marks: Sequence[float] = (), width: float = 720, height: float = 300) -> str:
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
    str
        An ``<svg>`` element; each line is a ``<polyline>`` with ``data-label``.
    """
    legend, legend_h = _legend([(s.label, s.colour) for s in series], 60, 6, width - 80,
                               line=True)
    left, right, top, bottom = 56, 16, 6 + legend_h + 10, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    out = _open(width, height, title) + legend

    def px(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (left + np.clip(x, 0, x_max) / x_max * plot_w,
                top + plot_h - np.clip(y, 0, y_max) / y_max * plot_h)

    y_step = _nice_step(y_max, 5)
    for tick in np.arange(0, y_max + y_step / 2, y_step):
        _, y = px(np.array([0.0]), np.array([tick]))
        text = f"{tick:.0%}" if y_percent else f"{tick:,.3g}"
        out.append(f'<line x1="{_n(left)}" y1="{_n(y[0])}" x2="{_n(left + plot_w)}" '
                   f'y2="{_n(y[0])}" stroke="#ddd"/>')
        out.append(f'<text x="{_n(left - 6)}" y="{_n(y[0] + 4)}" text-anchor="end">{text}</text>')
    x_step = _nice_step(x_max, 8)
    for tick in np.arange(0, x_max + x_step / 2, x_step):
        x, _ = px(np.array([tick]), np.array([0.0]))
        out.append(f'<text x="{_n(x[0])}" y="{_n(top + plot_h + 16)}" text-anchor="middle">'
                   f"{tick:g}</text>")
    for mark in marks:
        x, _ = px(np.array([mark]), np.array([0.0]))
        out.append(f'<line x1="{_n(x[0])}" y1="{_n(top)}" x2="{_n(x[0])}" '
                   f'y2="{_n(top + plot_h)}" stroke="#999" stroke-dasharray="4 3"/>')
    out.append(f'<rect x="{_n(left)}" y="{_n(top)}" width="{_n(plot_w)}" height="{_n(plot_h)}" '
               'fill="none" stroke="#444"/>')
    for s in series:
        x, y = px(np.asarray(s.x, dtype=float), np.asarray(s.y, dtype=float))
        keep = np.isfinite(x) & np.isfinite(y)
        points = " ".join(f"{_n(a)},{_n(b)}" for a, b in zip(x[keep], y[keep], strict=True))
        dash = ' stroke-dasharray="6 3"' if s.dashed else ""
        out.append(f'<polyline points="{points}" fill="none" stroke="{_e(s.colour)}" '
                   f'stroke-width="2"{dash} data-label="{_e(s.label)}">'
                   f"<title>{_e(s.label)}</title></polyline>")
    out.append(f'<text x="{_n(left + plot_w / 2)}" y="{_n(height - 6)}" '
               f'text-anchor="middle">{_e(x_label)}</text>')
    out.append(f'<text transform="translate(14 {_n(top + plot_h / 2)}) rotate(-90)" '
               f'text-anchor="middle">{_e(y_label)}</text>')
    out.append("</svg>")
    return "".join(out)
