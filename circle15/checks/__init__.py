"""Data checks between reading and computing: stop on inputs that would give wrong numbers,
and warn, in the outputs, about what a planner should know before reading them.

The readers (``circle15.sources``) check each file on its own: columns, numbers, ids,
geometries. The checks here look at the layers together, in the study CRS:

- the study area is a polygon and the network reaches it;
- facilities lie where the network and the area are: not all outside the area (swapped
  longitude/latitude is recognised), and not shifted by the systematic offset of Chinese
  map coordinates (GCJ-02/BD-09 data declared as WGS84, or the reverse), see
  :func:`coordinate_offset`;
- after snapping: someone and something of each category reach a street, and how many
  residents live on network pieces without any facility of a category
  (:func:`run_warnings`).

Errors are ``InputError`` (the CLI exits with code 2); warnings are sentences collected in
``result.diagnostics["warnings"]``, printed by the CLI and written to ``manifest.json``
and ``report.html``.

The package's modules, each with one job:

- :mod:`~circle15.checks.layers`: the layers against each other (:func:`check_inputs`);
- :mod:`~circle15.checks.offsets`: coordinates in another system than declared;
- :mod:`~circle15.checks.diagnostics`: after snapping, and a run's warnings.

Every name is importable from ``circle15.checks`` itself.
"""

from __future__ import annotations

from .diagnostics import (
    SPREAD_WARNING_SHARE,
    check_snapping,
    population_method,
    population_without_facility,
    run_warnings,
)
from .layers import check_inputs
from .offsets import MIN_FACILITIES_FOR_OFFSET, OffsetFinding, coordinate_offset, point_crs_messages

__all__ = [
    "MIN_FACILITIES_FOR_OFFSET",
    "SPREAD_WARNING_SHARE",
    "OffsetFinding",
    "check_inputs",
    "check_snapping",
    "coordinate_offset",
    "point_crs_messages",
    "population_method",
    "population_without_facility",
    "run_warnings",
]
