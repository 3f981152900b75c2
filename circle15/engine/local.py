"""Many bounded searches on a city-sized graph, each over the few nodes it can reach.

scipy's Dijkstra returns one graph-wide row per source even with a distance limit, so a
catchment search from every facility of a city costs sources x graph nodes however small
the catchments are (5,200 facilities on a 1.4M-node graph: 7 billion distances). Here the
sources are searched in groups: one multi-source search (``min_only``) finds every node
within the limit of any source of the group, and the exact per-source searches then run
on the subgraph of those nodes only. A shortest path within the limit never leaves that
subgraph (every node on it is within the limit of the source), so the distances are the
same as on the whole graph.

The group size balances the graph-wide first search against the dense per-source rows; it
adapts to the catchment size measured on the previous group.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

#: Largest dense block (sources x reached nodes) of one group. Blocks this small are
#: reused by the allocator instead of being mapped afresh (page faults cost more than the
#: searches with 256 MB blocks).
MAX_BLOCK = 2_000_000
#: A graph-wide pass costs about this many dense entries per graph node (measured).
_PASS_COST = 3.0


@dataclass(frozen=True)
class LocalSearch:
    """Bounded distances from one group of items, over the nodes they reach.

    Attributes
    ----------
    items : ndarray of int64
        Positions of the group's items in the caller's array.
    rows : ndarray of int64
        ``(len(items), m)``: row of ``dist`` for each of an item's source nodes, -1 for
        none.
    nodes : ndarray of int64
        Graph nodes within the limit of some source of the group, sorted.
    dist : ndarray of float
        ``(rows, len(nodes))`` metres; ``inf`` beyond the limit.
    """

    items: np.ndarray
    rows: np.ndarray
    nodes: np.ndarray
    dist: np.ndarray


def _induced(csr: sp.csr_array, nodes: np.ndarray, local: np.ndarray) -> sp.csr_array:
    """The subgraph on ``nodes`` (sorted), numbered by ``local`` (graph node -> position)."""
    start = csr.indptr[nodes]
    counts = csr.indptr[nodes + 1] - start
    total = int(counts.sum())
    first = np.cumsum(counts) - counts
    flat = np.arange(total) - np.repeat(first - start, counts)
    cols = local[csr.indices[flat]]
    keep = cols >= 0
    row = np.repeat(np.arange(len(nodes)), counts)[keep]
    indptr = np.zeros(len(nodes) + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=len(nodes)), out=indptr[1:])
    # Built from (data, indices, indptr) so that zero-length edges stay edges.
    return sp.csr_array((csr.data[flat][keep], cols[keep], indptr), shape=(len(nodes), len(nodes)))


def _next_size(n_nodes: int, group: int, reached: int, left: int) -> int:
    """Group size that minimises the cost per source given the reach per source seen."""
    per_source = max(reached / max(group, 1), 1.0)
    best = np.sqrt(_PASS_COST * n_nodes / per_source)
    fits = np.sqrt(MAX_BLOCK / per_source)  # group x (group x per_source) <= MAX_BLOCK
    return int(max(1, min(best, fits, left)))


def local_searches(
    csr: sp.csr_array,
    item_nodes: np.ndarray,
    limit_m: float,
) -> Iterator[LocalSearch]:
    """Bounded searches from every item's source nodes, a group of items at a time.

    Parameters
    ----------
    csr : scipy.sparse.csr_array
        Symmetric graph, weights in metres (``RoutingGraph.csr``).
    item_nodes : ndarray of int64
        ``(k, m)``: the source nodes of each of ``k`` items (a facility: its node; a site
        off the graph: the two nodes it joins through); -1 for none. Items with no node
        are skipped.
    limit_m : float
        Search radius in metres.

    Yields
    ------
    LocalSearch
    """
    item_nodes = np.asarray(item_nodes, dtype=np.int64).reshape(len(item_nodes), -1)
    n = csr.shape[0]
    usable = np.flatnonzero((item_nodes >= 0).any(axis=1))
    # Node numbers are often spatial (street order, points sorted along streets), so
    # items in node order share their neighbourhoods and groups reach fewer nodes.
    key = np.where(item_nodes[usable] >= 0, item_nodes[usable], n).min(axis=1)
    usable = usable[np.argsort(key, kind="stable")]
    local = np.full(n, -1, dtype=np.int64)
    pos, size = 0, min(16, len(usable))
    while pos < len(usable):
        items = usable[pos : pos + size]
        ends, inverse = np.unique(item_nodes[items], return_inverse=True)
        inverse = inverse.reshape(len(items), -1)
        if ends[0] < 0:  # -1 marks a missing node: no row
            ends = ends[1:]
            inverse = inverse - 1
        reach = dijkstra(csr, directed=True, indices=ends, min_only=True, limit=limit_m)
        nodes = np.flatnonzero(np.isfinite(reach))
        local[nodes] = np.arange(len(nodes))
        sub = _induced(csr, nodes, local)
        dist = dijkstra(sub, directed=True, indices=local[ends], limit=limit_m)
        local[nodes] = -1
        yield LocalSearch(items, inverse, nodes, dist.reshape(len(ends), len(nodes)))
        pos += len(items)
        size = _next_size(n, len(items), len(nodes), len(usable) - pos)
