"""Inline SVG charts: valid XML, bars and lines where the numbers put them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from circle15.outputs.svg_charts import (
    Series,
    column_chart,
    line_chart,
    stacked_bar_chart,
    text_width,
)

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def _rects(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if "data-value" in r.attrib]


def test_stacked_bars_are_proportional_to_shares() -> None:
    shares = np.array([[0.2, 0.3, 0.5], [0.1, 0.0, 0.4]])
    svg = stacked_bar_chart(
        ["甲 A", "乙 B"],
        [("≤5", "#111111"), ("5–10", "#222222"), (">10", "#333333")],
        shares,
        title="t",
        axis_label="share",
        marks=[0.5],
    )
    rects = _rects(_parse(svg))
    assert len(rects) == 5  # the zero-width segment is not drawn
    first = rects[:3]
    plot_w = sum(float(r.get("width")) for r in first)  # row 1 sums to 100 %
    for r, share in zip(first, [0.2, 0.3, 0.5], strict=True):
        assert float(r.get("width")) == pytest.approx(share * plot_w, abs=0.1)
        assert float(r.get("data-value")) == pytest.approx(share)
    # segments are laid end to end from the same left edge on each row
    assert float(first[1].get("x")) == pytest.approx(
        float(first[0].get("x")) + float(first[0].get("width")), abs=0.1
    )
    second = rects[3:]
    assert float(second[0].get("x")) == pytest.approx(float(first[0].get("x")))
    assert float(second[1].get("width")) == pytest.approx(0.4 * plot_w, abs=0.1)
    assert second[1].get("fill") == "#333333"


def test_stacked_bars_show_missing_rows_and_escape_labels() -> None:
    svg = stacked_bar_chart(
        ["<b>&", "x"],
        [("a", "#000000")],
        np.array([[np.nan], [0.5]]),
        title="<t>",
        axis_label="a & b",
    )
    root = _parse(svg)  # escaping keeps it well-formed XML
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "<b>&" in texts and "无数据 no data" in texts and "a & b" in texts
    assert "<b>" not in svg
    assert root.find(f"{SVG}title").text == "<t>"


def test_columns_are_proportional_to_values() -> None:
    svg = column_chart(
        ["1", "2", "3", "不可达"],
        [100, 250, 0, 50],
        title="t",
        axis_label="min",
        value_label="people",
        colours=["#a", "#b", "#c", "#d"],
        marks=[(2.0, "2 min")],
    )
    rects = _rects(_parse(svg))
    assert [float(r.get("data-value")) for r in rects] == [100, 250, 50]
    heights = [float(r.get("height")) for r in rects]
    assert heights[1] / heights[0] == pytest.approx(2.5, rel=1e-2)
    assert heights[2] / heights[0] == pytest.approx(0.5, rel=1e-2)
    # bottoms line up on the axis
    bottoms = {round(float(r.get("y")) + float(r.get("height")), 1) for r in rects}
    assert len(bottoms) == 1
    assert [r.get("fill") for r in rects] == ["#a", "#b", "#d"]


def test_line_chart_maps_points_onto_the_axes() -> None:
    series = [
        Series("a", "#ff0000", [0, 10, 20, 40], [0, 0.5, 1.0, 1.0]),
        Series("b", "#0000ff", [0, 20], [0.2, 0.2], dashed=True),
    ]
    root = _parse(line_chart(series, title="t", x_label="x", y_label="y", x_max=20))
    frame = next(r for r in root.iter(f"{SVG}rect") if r.get("fill") == "none")
    left, top = float(frame.get("x")), float(frame.get("y"))
    w, h = float(frame.get("width")), float(frame.get("height"))
    lines = {p.get("data-label"): p for p in root.iter(f"{SVG}polyline")}
    pts = [tuple(map(float, xy.split(","))) for xy in lines["a"].get("points").split()]
    assert pts[0] == pytest.approx((left, top + h), abs=0.1)
    assert pts[1] == pytest.approx((left + w / 2, top + h / 2), abs=0.1)
    assert pts[2] == pytest.approx((left + w, top), abs=0.1)
    assert pts[3] == pytest.approx((left + w, top), abs=0.1)  # x = 40 is clipped to x_max
    assert lines["b"].get("stroke-dasharray") == "6 3"


def test_text_width_counts_wide_characters() -> None:
    assert text_width("ab", 10) == pytest.approx(12)
    assert text_width("托育", 10) == pytest.approx(20)


# --------------------------------------------------------------------------------------
# Paths of the printed maps (oracle: shapely areas, read back by tests/factories/svg_paths.py)
# --------------------------------------------------------------------------------------
def test_svg_path_draws_polygons_with_holes_in_whole_pixels() -> None:
    from shapely.geometry import MultiPolygon, Polygon

    from circle15.outputs.report.static_map import svg_path

    from ..factories.svg_paths import painted

    square = Polygon(
        [(0, 0), (100, 0), (100, 100), (0, 100)], holes=[[(20, 20), (60, 20), (60, 60), (20, 60)]]
    )
    far = Polygon([(300, 50), (340, 50), (340, 90)])
    shapes = np.array([MultiPolygon([square, far])], dtype=object)

    def to_px(xy: np.ndarray) -> np.ndarray:  # 1 unit = 0.5 px, y down from 200
        return np.column_stack([xy[:, 0] * 0.5, (200 - xy[:, 1]) * 0.5])

    d = svg_path(shapes, to_px)
    assert d.count("m") == 3 and d.count("z") == 3
    drawn = painted(d)
    # 100x100 square less a 40x40 hole, plus a triangle of 800: in px (x0.25 per unit²)
    assert drawn.area == pytest.approx((100 * 100 - 40 * 40 + 800) * 0.25)
    assert drawn.bounds == pytest.approx((0, 50, 170, 100))


def test_svg_path_drops_rings_smaller_than_a_pixel() -> None:
    from shapely.geometry import box

    from circle15.outputs.report.static_map import svg_path

    shapes = np.array([box(0, 0, 0.3, 0.3), box(10, 10, 30, 30)], dtype=object)
    d = svg_path(shapes, lambda xy: xy)
    assert d.count("m") == 1  # the speck is gone, the square stays
    assert svg_path(np.array([], dtype=object), lambda xy: xy) == ""


def test_regular_grid_agrees_with_the_coverage_check() -> None:
    """Oracle: GEOS's coverage_is_valid, on grids with and without a fault."""
    import shapely
    from shapely import affinity

    from circle15.analysis.grid import regular_grid

    x, y = np.meshgrid(np.arange(6) * 200.0 + 360_000, np.arange(4) * 200.0 + 3_300_000)
    grid = shapely.box(x.ravel(), y.ravel(), x.ravel() + 200, y.ravel() + 200)
    shifted = grid.copy()
    shifted[7] = affinity.translate(grid[7], 50, 0)  # overlaps its neighbour
    turned = np.array([affinity.rotate(g, 10) for g in grid], dtype=object)
    twice = np.concatenate([grid, grid[:1]])  # one cell twice
    for cells, expected in ((grid, True), (shifted, False), (twice, False)):
        assert (regular_grid(cells) is not None) == expected
        assert bool(shapely.coverage_is_valid(cells)) == expected
    assert regular_grid(turned) is None  # not axis-aligned: left to the exact check
    assert regular_grid(np.array([], dtype=object)) is None
