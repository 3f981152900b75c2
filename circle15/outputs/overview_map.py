"""Overview map of a batch; built by :mod:`circle15.outputs.webmap.overview`.

This module keeps the names the batch outputs import.
"""

from __future__ import annotations

from .webmap.overview import (
    build_overview_map,
    district_layer_name,
    region_layer_name,
    write_overview_map,
)

__all__ = ["build_overview_map", "district_layer_name", "region_layer_name", "write_overview_map"]
