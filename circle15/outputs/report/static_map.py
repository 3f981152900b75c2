"""A printable map per category: walking-time tiers with sub-district outlines, as SVG.

``map.html`` cannot go into a PDF or a meeting pack; this map can. Per category the
populated cells are merged into one shape per walking-time tier (the map's colours), drawn
under the sub-district outlines with their names, the study outline and the category's
facilities, with a legend and a scale bar. Everything is computed with shapely on arrays
(one merge per tier, not per cell) and written as SVG paths of whole pixels in relative
coordinates, simplified to half a pixel, so that a map is a few tens of kilobytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from markupsafe import Markup

from ...analysis.gaps import cells_form_coverage
from ...analysis.grid import Grid, class_outlines, regular_grid
from ...schema import time_col
from ...standards import Category
from ._palette import OUTLINE_COLOUR
from .charts import FONT_PX, fit, legend, nice_step, svg
from .context import tier_segments

if TYPE_CHECKING:
    from ...result import CoverageResult

__all__ = ["MAP_HEIGHT", "MAP_WIDTH", "PrintMaps", "svg_path"]

MAP_WIDTH = 680
MAP_HEIGHT = 560
#: Douglas-Peucker tolerance, in pixels of the drawn map.
SIMPLIFY_PX = 0.5
_LEGEND_PX = 22
_POLYGONAL = (3, 6)  # shapely type ids of Polygon and MultiPolygon


def _join(values: np.ndarray, first: np.ndarray, last: np.ndarray) -> str:
    """Integers as one space-separated string, ``m`` before each ``first``, ``z`` after each
    ``last`` (indices into ``values``)."""
    tokens = values.astype(np.int64).astype(str).astype(object)
    tokens[first] = "m" + tokens[first]
    tokens[last] = tokens[last] + "z"
    return " ".join(tokens.tolist())


def svg_path(geometries: np.ndarray, to_px: Any, *, closed: bool = True) -> str:
    """The ``d`` of one SVG path drawing every ring (or line) of ``geometries``.

    Coordinates are moved to pixels by ``to_px`` (an ``(n, 2)`` array function), rounded
    to whole pixels and written relative to the previous point; repeated points are
    dropped, and so are rings left with fewer than three corners (smaller than a pixel).

    Parameters
    ----------
    geometries : ndarray of shapely geometries
        Polygons (their rings are drawn; fill them with ``fill-rule="evenodd"``) or lines.
    to_px : callable
        Map coordinates ``(n, 2)`` to pixel coordinates ``(n, 2)``.
    closed : bool, default True
        Close each part (``z``); False for lines.
    """
    geoms = np.asarray(geometries, dtype=object)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if not len(geoms):
        return ""
    parts = shapely.get_parts(geoms)
    if closed:
        parts = shapely.get_rings(parts[np.isin(shapely.get_type_id(parts), _POLYGONAL)])
    coords, ring = shapely.get_coordinates(parts, return_index=True)
    if not len(coords):
        return ""
    xy = np.rint(to_px(coords)).astype(np.int64)
    new_ring = np.r_[True, ring[1:] != ring[:-1]]
    moved = np.r_[True, (xy[1:] != xy[:-1]).any(axis=1)]
    keep = new_ring | moved
    if closed:  # the closing point repeats the first: "z" draws that edge
        keep &= ~np.r_[ring[1:] != ring[:-1], True]
    xy, ring = xy[keep], ring[keep]
    counts = np.bincount(ring, minlength=len(parts))
    enough = counts[ring] >= (3 if closed else 2)
    xy, ring = xy[enough], ring[enough]
    if not len(xy):
        return ""
    start = np.r_[True, ring[1:] != ring[:-1]]
    deltas = np.diff(xy, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    # A new part moves from the previous part's start point (where "z" leaves the pen) or,
    # for lines, from the previous part's last point.
    if closed:
        starts = np.flatnonzero(start)
        previous_start = np.r_[[[0, 0]], xy[starts[:-1]]]
        deltas[starts] = xy[starts] - previous_start
    flat = deltas.ravel()
    first = 2 * np.flatnonzero(start)
    last = 2 * np.r_[np.flatnonzero(start)[1:] - 1, len(xy) - 1] + 1
    text = _join(flat, first, last)
    return text if closed else text.replace("z", "")


def _dots(points: np.ndarray, to_px: Any) -> str:
    """One path of zero-length segments, drawn as dots by ``stroke-linecap="round"``."""
    pts = np.asarray(points, dtype=object)
    pts = pts[~(shapely.is_missing(pts) | shapely.is_empty(pts))]
    if not len(pts):
        return ""
    xy = np.rint(to_px(shapely.get_coordinates(shapely.centroid(pts)))).astype(np.int64)
    xy = np.unique(xy, axis=0)
    return " ".join(f"M{x} {y}h0" for x, y in xy.tolist())


@dataclass
class PrintMaps:
    """Printable tier maps of a run, sharing one frame, outlines and cell merge rule.

    Build once per report with :meth:`of`; :meth:`category` draws one category.
    """

    result: CoverageResult
    width: float
    height: float
    origin: tuple[float, float]
    scale: float  # pixels per map unit
    x_stretch: float  # cos(latitude) for longitude/latitude data, else 1
    coverage: bool
    polygonal: bool
    outlines: str
    area: str
    labels: list[dict[str, Any]]
    #: The cells' lattice when they are a regular grid: tiers are then traced on it.
    grid: Grid | None = None

    @classmethod
    def of(
        cls, result: CoverageResult, width: float = MAP_WIDTH, height: float = MAP_HEIGHT
    ) -> PrintMaps | None:
        """The maps' frame for ``result``; None when there are no cells to draw."""
        cells = result.cells
        if cells is None or not len(cells) or cells.geometry.isna().all():
            return None
        geoms = cells.geometry.to_numpy()
        frames = [geoms]
        if result.zones is not None and len(result.zones):
            frames.append(result.zones.geometry.to_numpy())
        if result.area is not None and not result.area.is_empty:
            frames.append(np.array([result.area], dtype=object))
        x0, y0, x1, y1 = shapely.total_bounds(np.concatenate(frames))
        stretch = 1.0
        if cells.crs is not None and cells.crs.is_geographic:
            stretch = math.cos(math.radians((y0 + y1) / 2))
        span_x, span_y = max((x1 - x0) * stretch, 1e-9), max(y1 - y0, 1e-9)
        scale = min(width / span_x, height / span_y)
        grid = regular_grid(geoms)
        coverage = grid is not None or cells_form_coverage(geoms)
        maps = cls(
            result,
            span_x * scale,
            span_y * scale,
            (x0, y1),
            scale,
            stretch,
            coverage,
            bool(np.isin(shapely.get_type_id(geoms), _POLYGONAL).all()),
            "",
            "",
            [],
            grid,
        )
        maps._draw_frame()
        return maps

    def to_px(self, coords: np.ndarray) -> np.ndarray:
        """Map coordinates to pixels (y down)."""
        x = (coords[:, 0] - self.origin[0]) * self.x_stretch * self.scale
        y = (self.origin[1] - coords[:, 1]) * self.scale
        return np.column_stack([x, y])

    @property
    def tolerance(self) -> float:
        """Simplification tolerance in map units."""
        return SIMPLIFY_PX / self.scale

    def _draw_frame(self) -> None:
        zones = self.result.zones
        if zones is not None and len(zones):
            shapes = shapely.simplify(zones.geometry.to_numpy(), self.tolerance)
            self.outlines = svg_path(shapes, self.to_px)
            points = shapely.get_coordinates(shapely.point_on_surface(zones.geometry.to_numpy()))
            xy = self.to_px(points)
            names = [str(d) for d in zones["district"]] if "district" in zones else []
            self.labels = [
                {"x": x, "y": y, "text": fit(name, 140, FONT_PX - 1)}
                for (x, y), name in zip(xy.tolist(), names, strict=False)
            ]
        area = self.result.area
        if area is not None and not area.is_empty:
            self.area = svg_path(
                np.array([shapely.simplify(area, self.tolerance)], dtype=object), self.to_px
            )

    def tiers(self, key: str, cat: Category) -> list[dict[str, Any]]:
        """Per walking-time class present: its legend name, colour and path."""
        cells = self.result.cells
        if time_col(key) not in cells:
            return []
        t = np.asarray(cells[time_col(key)], dtype=float)
        n = len(cat.tiers_min) + 1  # tiers, beyond the last, then unreachable
        tier = np.where(np.isnan(t), n, np.searchsorted(np.asarray(cat.tiers_min), t, side="left"))
        geoms = cells.geometry.to_numpy()
        segments = tier_segments(cat)
        out = []
        merge = shapely.coverage_union_all if self.coverage else shapely.union_all
        traced = (
            class_outlines(self.grid, tier, n + 1)
            if self.polygonal and self.grid is not None
            else None
        )
        for i in range(n + 1):  # a handful of tiers: the loop is not over cells
            mine = geoms[tier == i]
            if not len(mine):
                continue
            if self.polygonal:
                merged = traced[i] if traced is not None else merge(mine)
                # Plain Douglas-Peucker: keeping the topology of a city's tier (tens of
                # thousands of holes) costs GEOS minutes, and a printed path is only drawn
                # (even-odd fill), never measured.
                shape = shapely.simplify(merged, self.tolerance, preserve_topology=False)
                d, dots = svg_path(np.array([shape], dtype=object), self.to_px), ""
            else:
                d, dots = "", _dots(mine, self.to_px)
            out.append(
                {
                    "name": segments[i][0],
                    "colour": segments[i][1],
                    "d": d,
                    "dots": dots,
                    "cells": len(mine),
                }
            )
        return out

    def category(
        self, key: str, cat: Category, facilities: Any = None, colour: str = "#d95f02"
    ) -> Markup | None:
        """The printable map of one category, or None without cells."""
        tiers = self.tiers(key, cat)
        if not tiers:
            return None
        dots = ""
        if facilities is not None and len(facilities) and "category" in facilities:
            mine = facilities[facilities["category"] == key]
            dots = _dots(mine.geometry.to_numpy(), self.to_px) if len(mine) else ""
        items, legend_h = legend(
            [
                *((t["name"], t["colour"]) for t in tiers),
                (f"设施 {cat.label}", colour),
                ("街道边界 Sub-districts", OUTLINE_COLOUR),
            ],
            0,
            2,
            self.width,
        )
        for item, kind in zip(items, ["tier"] * len(tiers) + ["dot", "line"], strict=True):
            item["kind"] = kind
        top = legend_h + 8
        return svg(
            "tier_map.svg",
            title=f"{cat.label}: 步行时间分级地图 walking-time map",
            width=self.width,
            height=self.height + top + 34,
            top=top,
            tiers=tiers,
            legend=items,
            outlines=self.outlines,
            area=self.area,
            labels=self.labels,
            facilities=dots,
            facility_colour=colour,
            scale=self._scale_bar(),
            synthetic=self.result.synthetic,
        )

    def _scale_bar(self) -> dict[str, Any] | None:
        """A scale bar of a round length about a fifth of the map's width."""
        crs = self.result.cells.crs
        if crs is None:
            return None
        metres_per_unit = 1.0
        if crs.is_geographic:
            metres_per_unit = 111_320.0
        else:
            factor = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
            metres_per_unit = float(factor or 1.0)
        px_per_metre = self.scale / metres_per_unit
        metres = nice_step(self.width / 5 / px_per_metre, 1)
        text = f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"
        return {"px": metres * px_per_metre, "text": text}
