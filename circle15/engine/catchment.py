"""Bounded searches: who lies within reach of each facility or candidate site, stored sparse.

Used by capacity-aware supply (catchments of every facility) and by what-if and site
selection (the reach of a new site). Rows are sources, columns are targets (cells); an
entry is the walking distance in metres, present only within the limit, so a city with
thousands of facilities fits in memory. The searches run group by group on the subgraph
each group can reach (:mod:`circle15.engine.local`), so their cost follows the catchments'
size, not the city's.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .graph import Attachment, RoutingGraph
from .local import LocalSearch, local_searches


def _targets_at(target_nodes: np.ndarray, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Targets grouped by graph node: node ``x`` holds ``order[ptr[x]:ptr[x + 1]]``."""
    valid = np.flatnonzero(target_nodes >= 0)
    order = valid[np.argsort(target_nodes[valid], kind="stable")]
    ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(target_nodes[valid], minlength=n_nodes), out=ptr[1:])
    return ptr, order


def _targets_within(
    search: LocalSearch,
    ptr: np.ndarray,
    order: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Targets lying on the nodes a search reached: (column in ``search.dist``, target)."""
    count = ptr[search.nodes + 1] - ptr[search.nodes]
    has = np.flatnonzero(count)
    count = count[has]
    first = np.cumsum(count) - count
    flat = np.arange(int(count.sum())) - np.repeat(first - ptr[search.nodes[has]], count)
    return np.repeat(has, count), order[flat]


def _sparse(
    rows: list[np.ndarray], cols: list[np.ndarray], vals: list[np.ndarray], shape: tuple[int, int]
) -> sp.csr_array:
    if not rows:
        return sp.csr_array(shape)
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    # Built directly in CSR form so that explicit zeros (a cell on a facility's doorstep)
    # are kept as entries rather than read as "out of reach".
    order = np.lexsort((c, r))
    r, c, v = r[order], c[order], v[order]
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.add.at(indptr, r + 1, 1)
    return sp.csr_array((v, c, np.cumsum(indptr)), shape=shape)


def node_catchments(
    graph: RoutingGraph, source_nodes: np.ndarray, target_nodes: np.ndarray, limit_m: float
) -> sp.csr_array:
    """Walking metres from each source node to every target node within ``limit_m``.

    Parameters
    ----------
    graph : RoutingGraph
        The routing graph.
    source_nodes, target_nodes : ndarray of int64
        Graph nodes (e.g. facility and cell pendants); -1 entries get empty rows/columns.
    limit_m : float
        Search radius in metres (a facility's catchment).

    Returns
    -------
    scipy.sparse.csr_array
        Shape ``(len(source_nodes), len(target_nodes))``; absent entries are out of reach.
    """
    source_nodes = np.asarray(source_nodes, dtype=np.int64)
    target_nodes = np.asarray(target_nodes, dtype=np.int64)
    if len(source_nodes) == 0:  # a category without facilities: nothing is in reach
        return sp.csr_array((0, len(target_nodes)))
    ptr, order = _targets_at(target_nodes, graph.n_nodes)
    rows, cols, vals = [], [], []
    for search in local_searches(graph.csr, source_nodes[:, None], limit_m):
        at, target = _targets_within(search, ptr, order)
        sub = search.dist[search.rows[:, 0]][:, at]
        r, c = np.nonzero(np.isfinite(sub))
        rows.append(search.items[r])
        cols.append(target[c])
        vals.append(sub[r, c])
    return _sparse(rows, cols, vals, (len(source_nodes), len(target_nodes)))


def point_catchments(
    graph: RoutingGraph, points: Attachment, target_nodes: np.ndarray, limit_m: float
) -> sp.csr_array:
    """Walking metres from points outside the graph (new sites) to target nodes.

    Each point joins the graph between two nodes (see :meth:`RoutingGraph.attach`); its
    distance to a target is its leg plus the shorter way out through either node. One
    bounded search per distinct joining node, over the nodes within reach only (see
    :mod:`circle15.engine.local`).

    Returns
    -------
    scipy.sparse.csr_array
        Shape ``(len(points), len(target_nodes))``, entries within ``limit_m`` only.
    """
    target_nodes = np.asarray(target_nodes, dtype=np.int64)
    ptr, order = _targets_at(target_nodes, graph.n_nodes)
    ends = np.column_stack([points.node_a, points.node_b])
    ends[points.node_a < 0] = -1
    rows, cols, vals = [], [], []
    for search in local_searches(graph.csr, ends, limit_m):
        at, target = _targets_within(search, ptr, order)
        reach = search.dist[:, at]
        idx = search.items
        ia, ib = search.rows[:, 0], search.rows[:, 1]
        total = points.leg[idx, None] + np.minimum(
            points.dist_a[idx, None] + reach[ia], points.dist_b[idx, None] + reach[ib]
        )
        r, c = np.nonzero(total <= limit_m)
        rows.append(idx[r])
        cols.append(target[c])
        vals.append(total[r, c])
    return _sparse(rows, cols, vals, (len(points), len(target_nodes)))
