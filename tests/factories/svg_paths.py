"""Read back the SVG paths the printed maps are drawn with, independently of circle15.

The paths use relative ``m``/``l`` coordinates in whole pixels: each part starts with
``m dx dy`` (from the previous part's start, where ``z`` left the pen), then relative
points, then ``z``. Filled with ``fill-rule="evenodd"``, the painted area is the XOR of
the rings, which shapely computes here as the oracle.
"""

from __future__ import annotations

import re

import numpy as np
import shapely
from shapely.geometry import Polygon


def rings(d: str, *, closed: bool = True) -> list[np.ndarray]:
    """The parts of a path as arrays of absolute pixel coordinates."""
    out: list[list[tuple[float, float]]] = []
    pen = np.zeros(2)
    start = np.zeros(2)
    numbers: list[float] = []
    for token in d.split():
        new = token.startswith("m")
        end = token.endswith("z")
        value = float(token.strip("mz"))
        if new:
            numbers = []
            out.append([])
        numbers.append(value)
        if len(numbers) == 2:
            step = np.array(numbers)
            numbers = []
            pen = pen + step
            if not out[-1]:
                start = pen.copy()
            out[-1].append(tuple(pen))
        if end:
            pen = start.copy()  # "z" returns the pen to the part's start
    return [np.array(r) for r in out]


def painted(d: str) -> shapely.Geometry:
    """The area an evenodd-filled path paints, as a shapely geometry."""
    shape = Polygon()
    for ring in rings(d):
        if len(ring) >= 3:
            shape = shape.symmetric_difference(shapely.make_valid(Polygon(ring)))
    return shape


def path_of(svg: str, attribute: str, value: str) -> str:
    """The ``d`` of the first ``<path>`` with ``attribute="value"``."""
    match = re.search(rf'<path d="([^"]*)"[^>]*{attribute}="{re.escape(value)}"', svg)
    assert match, (attribute, value)
    return match.group(1)
