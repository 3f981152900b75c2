"""Inline SVG charts; moved to :mod:`circle15.outputs.report.charts` (kept as an alias)."""

from __future__ import annotations

from .report.charts import Series, column_chart, line_chart, stacked_bar_chart, text_width

__all__ = ["Series", "column_chart", "line_chart", "stacked_bar_chart", "text_width"]
