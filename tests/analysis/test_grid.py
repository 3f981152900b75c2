"""Grid cells: lattice detection, neighbours and traced outlines against shapely (oracle)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
import shapely.affinity
from scipy.sparse.csgraph import connected_components

from circle15.analysis.gap_parts import cell_adjacency
from circle15.analysis.grid import class_outlines, grid_adjacency, group_outlines, regular_grid


def _cells(
    rng: np.random.Generator,
    n_cols=40,
    n_rows=30,
    size=100.0,
    keep=0.7,
    x0=351_234.5,
    y0=3_312_777.25,
) -> np.ndarray:
    cols, rows = np.meshgrid(np.arange(n_cols), np.arange(n_rows))
    cols, rows = cols.ravel(), rows.ravel()
    mask = rng.random(len(cols)) < keep
    order = rng.permutation(int(mask.sum()))  # files list cells in any order
    c, r = cols[mask][order], rows[mask][order]
    return shapely.box(x0 + c * size, y0 + r * size, x0 + (c + 1) * size, y0 + (r + 1) * size)


@pytest.mark.parametrize("seed", range(5))
def test_neighbours_and_outlines_equal_shapely(seed):
    rng = np.random.default_rng(seed)
    cells = _cells(rng)
    grid = regular_grid(cells)
    assert grid is not None
    adj = grid_adjacency(grid)
    oracle = cell_adjacency(cells)  # intersections of positive length, by shapely
    assert (adj != oracle).nnz == 0
    # Groups: edge-connected pieces of a random subset, as gap areas are.
    chosen = np.flatnonzero(rng.random(len(cells)) < 0.6)
    n, part = connected_components(adj[chosen][:, chosen], directed=False)
    outlines = group_outlines(grid, chosen, part, n)
    for g in range(n):
        want = shapely.union_all(cells[chosen[part == g]])
        got = outlines[g]
        assert got.is_valid
        assert got.area == pytest.approx(want.area, rel=1e-12)
        assert shapely.symmetric_difference(got, want).area < 1e-6


@pytest.mark.parametrize("seed", range(5))
def test_class_outlines_equal_the_shapely_union_of_each_class(seed):
    # Oracle: shapely's union of each class's cells (walking-time tiers on a printed map:
    # scattered, touching at corners, around holes; some cells in no class).
    rng = np.random.default_rng(seed)
    cells = _cells(rng)
    grid = regular_grid(cells)
    classes = rng.integers(-1, 4, len(cells))
    classes[classes == 2] = -1  # a class without cells
    outlines = class_outlines(grid, classes, 5)
    assert outlines[2] is None and outlines[4] is None
    for k in (0, 1, 3):
        want = shapely.union_all(cells[classes == k])
        got = outlines[k]
        assert got.area == pytest.approx(want.area, rel=1e-12)
        assert shapely.symmetric_difference(got, want).area < 1e-6


def test_a_group_around_a_hole_keeps_the_hole():
    size = 10.0
    ring = [(c, r) for c in range(3) for r in range(3) if (c, r) != (1, 1)]
    cells = np.array(
        [shapely.box(c * size, r * size, (c + 1) * size, (r + 1) * size) for c, r in ring]
    )
    grid = regular_grid(cells)
    outline = group_outlines(grid, np.arange(len(cells)), np.zeros(len(cells), int), 1)[0]
    assert len(outline.interiors) == 1 and outline.area == pytest.approx(800.0)


def test_what_is_not_a_regular_grid_is_refused():
    rng = np.random.default_rng(0)
    cells = _cells(rng, n_cols=5, n_rows=5, keep=1.0)
    assert regular_grid(cells) is not None
    rotated = np.array([shapely.affinity.rotate(c, 10, origin=(0, 0)) for c in cells])
    assert regular_grid(rotated) is None
    assert regular_grid(np.append(cells, cells[0])) is None  # a cell twice
    shifted = cells.copy()
    shifted[0] = shapely.affinity.translate(shifted[0], 37.0, 0.0)  # off the lattice
    assert regular_grid(shifted) is None
    assert regular_grid(shapely.buffer(shapely.centroid(cells), 50)) is None  # not boxes
