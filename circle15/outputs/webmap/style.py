"""Colours, classes and names shared by every circle15 map (and by the report's charts).

Walking-time tiers sample ColorBrewer YlGnBu (near = light, far = dark), sub-district
coverage uses YlGn, facility markers Dark2, one colour per category. Layer names are
bilingual and written once here: the layer control, the legend and the tests use them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ...schema import UNREACHABLE
from ...standards import Category
from .._html import column

__all__ = [
    "BARRIERS_SHORT",
    "BARRIER_COLOUR",
    "CELL_OPACITY",
    "CHOROPLETH_SHORT",
    "COVERAGE_BREAKS",
    "COVERAGE_COLOURS",
    "FACILITIES_SHORT",
    "FACILITY_COLOURS",
    "GAPS_SHORT",
    "GAP_COLOUR",
    "ISSUES_LAYER_NAME",
    "NO_BASEMAP_NAME",
    "NO_DATA_COLOUR",
    "SEPARATOR",
    "SERVICE_AREAS_SHORT",
    "STEPS_COLOUR",
    "STUDY_LAYER_NAME",
    "UNREACHABLE_COLOUR",
    "WALKING_SHORT",
    "ZONES_LAYER_NAME",
    "category_colours",
    "choropleth_layer_name",
    "column",
    "coverage_class",
    "coverage_class_names",
    "facility_layer_name",
    "full_layer_name",
    "gap_layer_name",
    "layer_names",
    "minutes_text",
    "rgba",
    "service_area_layer_name",
    "tier_colours",
    "tier_index",
    "tier_labels",
    "tier_names",
    "walking_layer_name",
]

WGS84 = "EPSG:4326"
#: ``district`` value of the study-wide rows of ``CoverageResult.districts``.
ALL_DISTRICTS = "ALL"

# ColorBrewer YlGnBu (9 classes): near = light, far = dark; tiers sample it evenly.
_YLGNBU = (
    "#ffffd9",
    "#edf8b1",
    "#c7e9b4",
    "#7fcdbb",
    "#41b6c4",
    "#1d91c0",
    "#225ea8",
    "#253494",
    "#081d58",
)
UNREACHABLE_COLOUR = "#525252"
#: Opacity of the walking-time cells (their pane), so streets of a basemap show through.
CELL_OPACITY = 0.7
GAP_COLOUR = "#e31a1c"
# ColorBrewer YlGn (5 classes) for coverage shares, low = light.
COVERAGE_BREAKS = (0.2, 0.4, 0.6, 0.8)
COVERAGE_COLOURS = ("#ffffcc", "#c2e699", "#78c679", "#31a354", "#006837")
NO_DATA_COLOUR = "#d9d9d9"
# ColorBrewer Dark2, one colour per category for facility markers.
FACILITY_COLOURS = (
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
    "#1b9e77",
    "#666666",
    "#1f78b4",
    "#b15928",
)
#: Residents cut off by steps (areas) and the steps on their walks (lines).
BARRIER_COLOUR = "#6a3d9a"
STEPS_COLOUR = "#111111"
#: Network problems: a piece of street network apart from the rest, and a loose end.
ISSUE_COLOURS = {"separate_piece": "#c51b7d", "loose_end": "#ff7f00"}
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")

#: Separator between a group heading and a layer's short name in a full layer name.
SEPARATOR = " · "
#: Short names of a category's layers under its heading in the layer control.
FACILITIES_SHORT = "设施 facilities"
WALKING_SHORT = "步行可达 walking access"
SERVICE_AREAS_SHORT = "服务范围 service areas"
GAPS_SHORT = "服务缺口 gaps"
CHOROPLETH_SHORT = "街道覆盖率 coverage by sub-district"
BARRIERS_SHORT = "台阶阻隔 cut off by steps"
STUDY_LAYER_NAME = "研究范围 Study area"
ZONES_LAYER_NAME = "街道边界 Sub-districts"
ISSUES_LAYER_NAME = "路网问题 Network issues"
NO_BASEMAP_NAME = "无底图 No basemap"


def minutes_text(x: float) -> str:
    """A number of minutes as written in labels: ``15``, ``7.5``."""
    return f"{x:g}"


def rgba(colour: str, alpha: float) -> str:
    """``#rrggbb`` as ``rgba(r,g,b,alpha)``."""
    if not _HEX.match(colour):
        raise ValueError(f"colour must be #rrggbb, got {colour!r}")
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha:g})"


def category_colours(keys: Sequence[str]) -> dict[str, str]:
    """Marker colour of each category, in order (Dark2, repeated after eight)."""
    return {key: FACILITY_COLOURS[i % len(FACILITY_COLOURS)] for i, key in enumerate(keys)}


# --------------------------------------------------------------------------------------
# Walking-time tiers and coverage classes
# --------------------------------------------------------------------------------------
def tier_labels(category: Category) -> list[str]:
    """Tier labels as written in ``tier_<key>``: ``["0-5", "5-10", "10-15", ">15"]``.

    ``"unreachable"`` is not included; it is the class after the last label.
    """
    edges = [0.0, *category.tiers_min]
    return [f"{minutes_text(a)}-{minutes_text(b)}" for a, b in itertools.pairwise(edges)] + [
        f">{minutes_text(category.tiers_min[-1])}"
    ]


def tier_names(category: Category) -> list[str]:
    """Bilingual legend names of the tiers, then of the unreachable class.

    E.g. ``["5分钟内 within 5 min", "5–10分钟 5–10 min", "10–15分钟 10–15 min",
    "超过15分钟 over 15 min", "不可达 unreachable"]``.
    """
    t = [minutes_text(x) for x in category.tiers_min]
    names = [f"{t[0]}分钟内 within {t[0]} min"]
    names += [f"{a}–{b}分钟 {a}–{b} min" for a, b in itertools.pairwise(t)]
    names += [f"超过{t[-1]}分钟 over {t[-1]} min", "不可达 unreachable"]
    return names


def tier_colours(n_tiers: int) -> list[str]:
    """Colours for ``n_tiers + 1`` time classes (light = near), then the unreachable colour."""
    lightest = 2 if n_tiers + 1 <= len(_YLGNBU) - 2 else 0  # skip the palest when possible
    idx = np.rint(np.linspace(lightest, len(_YLGNBU) - 1, n_tiers + 1)).astype(int)
    return [_YLGNBU[i] for i in idx] + [UNREACHABLE_COLOUR]


def tier_index(cells: pd.DataFrame, category: Category) -> np.ndarray:
    """Index of each cell's tier in :func:`tier_names` (the last index is unreachable).

    Uses ``tier_<key>`` where it holds a known label and falls back to ``t_<key>``
    (minutes, NaN when unreachable; a time equal to a tier's upper bound is in that tier).
    """
    n = len(category.tiers_min) + 1
    minutes = pd.to_numeric(column(cells, f"t_{category.key}"), errors="coerce").to_numpy(float)
    from_minutes = np.where(
        np.isnan(minutes), n, np.searchsorted(category.tiers_min, minutes, side="left")
    )
    labels = [*tier_labels(category), UNREACHABLE]
    codes = pd.Categorical(column(cells, f"tier_{category.key}"), categories=labels).codes
    return np.where(codes >= 0, codes, from_minutes).astype(int)


def coverage_class(coverage: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    """Choropleth class of coverage shares (0-1): 0..4 for 0-20 % … 80-100 %, -1 for NaN."""
    share = np.asarray(coverage, dtype=float)
    return np.where(np.isnan(share), -1, np.digitize(share, COVERAGE_BREAKS))


def coverage_class_names() -> list[str]:
    """Legend names of the coverage classes, e.g. ``"0–20%"``."""
    edges = [0, *(round(b * 100) for b in COVERAGE_BREAKS), 100]
    return [f"{a}–{b}%" for a, b in itertools.pairwise(edges)]


# --------------------------------------------------------------------------------------
# Layer names
# --------------------------------------------------------------------------------------
def full_layer_name(group: str, short: str) -> str:
    """The name a layer is known by outside the control.

    E.g. ``"托育 Childcare · 设施 facilities"``; a layer outside any group keeps its short name.
    """
    return f"{group}{SEPARATOR}{short}" if group else short


def facility_layer_name(category: Category) -> str:
    """Full name of a category's facility markers."""
    return full_layer_name(category.label, FACILITIES_SHORT)


def walking_layer_name(category: Category) -> str:
    """Full name of a category's cells coloured by walking time."""
    return full_layer_name(category.label, WALKING_SHORT)


def service_area_layer_name(category: Category) -> str:
    """Full name of a category's facility service areas."""
    return full_layer_name(category.label, SERVICE_AREAS_SHORT)


def gap_layer_name(category: Category) -> str:
    """Full name of a category's gap areas."""
    return full_layer_name(category.label, GAPS_SHORT)


def choropleth_layer_name(category: Category) -> str:
    """Full name of a category's sub-district coverage choropleth."""
    return full_layer_name(category.label, CHOROPLETH_SHORT)


def layer_names(category: Category) -> list[str]:
    """Full names of a category's layers, in layer-control order."""
    return [
        facility_layer_name(category),
        walking_layer_name(category),
        service_area_layer_name(category),
        gap_layer_name(category),
        choropleth_layer_name(category),
    ]
