"""The HTML report: one self-contained page a planner can hand to a meeting, or print.

``report.html`` holds, per category and sub-district, the share of the target cohort within
5, 10 and 15 minutes' walk, a printable map of the walking-time tiers, the gaps ranked by
population, charts (coverage bars, walking-time distributions, and Lorenz curves when the
result carries equity measures), the interactive map (embedded from ``map.html`` beside it,
and linked), the data sources with their SHA-256, how residents were counted, where the
network is broken, the parameters and standards with their sources and "unverified" flags,
and the date. ``comparison.html`` shows a comparison with a reference index on its own.

Pages are jinja2 templates (``templates/``, autoescaped) and one stylesheet
(``report.css``, screen and print) read with :mod:`importlib.resources`; charts and maps
are inline SVG from templates too (:mod:`.charts`, :mod:`.static_map`). Sections are
functions of a :class:`ReportContext` listed in :data:`SECTIONS`.
"""

from __future__ import annotations

from .assessment import MEASURE_LABELS, build_comparison_page
from .build import SECTIONS, build_report, write_report
from .context import ReportContext
from .coverage import TOP_GAPS
from .provenance import REFERENCES

__all__ = [
    "MEASURE_LABELS",
    "REFERENCES",
    "SECTIONS",
    "TOP_GAPS",
    "ReportContext",
    "build_comparison_page",
    "build_report",
    "write_report",
]
