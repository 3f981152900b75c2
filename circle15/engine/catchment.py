"""Bounded searches: who lies within reach of each facility or candidate site, stored sparse.

Used by capacity-aware supply (catchments of every facility) and by what-if and site
selection (the reach of a new site). Rows are sources, columns are targets (cells); an
entry is the walking distance in metres, present only within the limit, so a city with
thousands of facilities fits in memory.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from .graph import Attachment, RoutingGraph

#: Dense search rows held at once: rows x graph nodes x 8 bytes stays near 256 MB.
_CHUNK_CELLS = 32_000_000


def _chunks(n_sources: int, n_nodes: int) -> list[slice]:
    step = max(1, _CHUNK_CELLS // max(n_nodes, 1))
    return [slice(i, min(i + step, n_sources)) for i in range(0, n_sources, step)]


def _sparse(rows: list[np.ndarray], cols: list[np.ndarray], vals: list[np.ndarray],
            shape: tuple[int, int]) -> sp.csr_array:
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


def node_catchments(graph: RoutingGraph, source_nodes: np.ndarray, target_nodes: np.ndarray,
                    limit_m: float) -> sp.csr_array:
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
    valid_t = np.flatnonzero(target_nodes >= 0)
    rows, cols, vals = [], [], []
    valid_s = np.flatnonzero(source_nodes >= 0)
    for part in _chunks(len(valid_s), graph.n_nodes):
        idx = valid_s[part]
        dist = dijkstra(graph.csr, directed=True, indices=source_nodes[idx], limit=limit_m)
        sub = dist[:, target_nodes[valid_t]]
        r, c = np.nonzero(np.isfinite(sub))
        rows.append(idx[r])
        cols.append(valid_t[c])
        vals.append(sub[r, c])
    return _sparse(rows, cols, vals, (len(source_nodes), len(target_nodes)))


def point_catchments(graph: RoutingGraph, points: Attachment, target_nodes: np.ndarray,
                     limit_m: float) -> sp.csr_array:
    """Walking metres from points outside the graph (new sites) to target nodes.

    Each point joins the graph between two nodes (see :meth:`RoutingGraph.attach`); its
    distance to a target is its leg plus the shorter way out through either node. One
    bounded search per distinct joining node.

    Returns
    -------
    scipy.sparse.csr_array
        Shape ``(len(points), len(target_nodes))``, entries within ``limit_m`` only.
    """
    target_nodes = np.asarray(target_nodes, dtype=np.int64)
    valid_t = np.flatnonzero(target_nodes >= 0)
    ok = np.flatnonzero(points.node_a >= 0)
    rows, cols, vals = [], [], []
    # Two searches per point at most; chunk the points so dense rows stay bounded.
    for part in _chunks(len(ok), 2 * graph.n_nodes):
        idx = ok[part]
        ends, inverse = np.unique(np.concatenate([points.node_a[idx], points.node_b[idx]]),
                                  return_inverse=True)
        ia, ib = inverse[: len(idx)], inverse[len(idx):]
        dist = dijkstra(graph.csr, directed=True, indices=ends, limit=limit_m)
        reach = dist[:, target_nodes[valid_t]]
        total = points.leg[idx, None] + np.minimum(points.dist_a[idx, None] + reach[ia],
                                                   points.dist_b[idx, None] + reach[ib])
        r, c = np.nonzero(total <= limit_m)
        rows.append(idx[r])
        cols.append(valid_t[c])
        vals.append(total[r, c])
    return _sparse(rows, cols, vals, (len(points), len(target_nodes)))
