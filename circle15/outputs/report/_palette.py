"""The map's colours, so that the report's charts and printed maps match ``map.html``.

The one place the report takes anything from the web map: its palettes.
"""

from __future__ import annotations

from ..webmap.style import FACILITY_COLOURS, UNREACHABLE_COLOUR, tier_colours

__all__ = [
    "BEYOND_COLOUR",
    "FACILITY_COLOURS",
    "OUTLINE_COLOUR",
    "UNREACHABLE_COLOUR",
    "tier_colours",
]

#: Residents who can reach a facility but beyond the histogram's last minute.
BEYOND_COLOUR = "#9e9e9e"
#: Sub-district outlines on the printed maps.
OUTLINE_COLOUR = "#222222"
