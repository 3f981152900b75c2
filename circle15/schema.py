"""Names shared by every layer: table columns, the whole-area row, tier labels.

The bottom of the package: it imports nothing of circle15, so any module may use it.
Column names follow one rule, ``<measure>_<category key>``; build them here instead of
spelling f-strings across the code, as cityseer's ``config.prep_gdf_key`` does.
"""

from __future__ import annotations

import itertools

#: ``district`` value of the rows that describe the whole study area.
ALL = "ALL"
#: Tier label of residents who cannot reach any facility of the category over the network.
UNREACHABLE = "unreachable"


def pop_col(key: str) -> str:
    """Column of a category's target cohort per cell, e.g. ``pop_childcare``."""
    return f"pop_{key}"


def time_col(key: str) -> str:
    """Column of walking minutes to the nearest facility (NaN when unreachable)."""
    return f"t_{key}"


def nearest_col(key: str) -> str:
    """Column of the nearest facility's id (None when unreachable)."""
    return f"nearest_{key}"


def tier_col(key: str) -> str:
    """Column of the walking-time tier label (``0-5`` … ``>15``, ``unreachable``)."""
    return f"tier_{key}"


def supply_col(key: str) -> str:
    """Column of 2SFCA capacity per resident of the cohort within reach."""
    return f"supply_{key}"


def with_steps_col(key: str) -> str:
    """Column of walking minutes over every walkable way, steps included, of a category
    walked step-free (its ``t_<key>`` avoids steps)."""
    return f"t_with_steps_{key}"


def barrier_col(key: str) -> str:
    """Column saying a cell is within the target only by using steps (step-free categories)."""
    return f"barrier_{key}"


def format_minutes(value: float) -> str:
    """A tier limit as it appears in labels: ``5`` for 5.0, ``7.5`` for 7.5."""
    return f"{value:g}"


def tier_names(tiers: tuple[float, ...] | list[float]) -> list[str]:
    """Labels of the tiers in order: ``["0-5", "5-10", "10-15", ">15"]`` for (5, 10, 15)."""
    edges = [0.0, *tiers]
    return [f"{format_minutes(a)}-{format_minutes(b)}" for a, b in itertools.pairwise(edges)] + [
        f">{format_minutes(tiers[-1])}"
    ]
