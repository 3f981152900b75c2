"""Interactive maps: the coverage map, the batch overview and the sites map.

Small modules with one job each: :mod:`.style` (colours, classes, layer names),
:mod:`.encode` (compact typed arrays and geometries), :mod:`.layers` and
:mod:`.facilities` (each layer's data), :mod:`.legend`, :mod:`.elements` (folium elements
rendered from ``templates/``), :mod:`.build` (the coverage map), :mod:`.overview` (batch)
and :mod:`.sites` (before/after sites). The browser side is ``static/c15-*.js`` (and
``circle15-map.css``), inlined into every page: it draws the layers from the data and writes
every value from input files as text.
"""

from .build import build_map, render_map, write_map
from .style import (
    FACILITY_COLOURS,
    UNREACHABLE_COLOUR,
    choropleth_layer_name,
    coverage_class,
    coverage_class_names,
    facility_layer_name,
    gap_layer_name,
    layer_names,
    service_area_layer_name,
    tier_colours,
    tier_index,
    tier_labels,
    tier_names,
    walking_layer_name,
)

__all__ = [
    "FACILITY_COLOURS",
    "UNREACHABLE_COLOUR",
    "build_map",
    "choropleth_layer_name",
    "coverage_class",
    "coverage_class_names",
    "facility_layer_name",
    "gap_layer_name",
    "layer_names",
    "render_map",
    "service_area_layer_name",
    "tier_colours",
    "tier_index",
    "tier_labels",
    "tier_names",
    "walking_layer_name",
    "write_map",
]
