"""The street network as a symmetric scipy CSR graph, with snapped points spliced in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ..model import WalkingNetwork
from .snapping import Snap


@dataclass(frozen=True)
class RoutingGraph:
    """A routable graph: street nodes, then one node per snapped point.

    Each snapped point splits its edge at the foot of its perpendicular (so two points on
    one edge reach each other along it) and hangs from that split node by a pendant edge
    as long as its snap leg. Walking from a point therefore costs the leg plus the network
    distance, and no route passes through another point's pendant.

    Attributes
    ----------
    csr : scipy.sparse.csr_array
        Symmetric adjacency matrix, weights in metres.
    n_street_nodes : int
        Nodes ``0..n_street_nodes-1`` are the network's junctions.
    point_nodes : tuple of ndarray
        For each point set passed to :func:`build_routing_graph`, the graph node of each
        point (its pendant end), -1 for unsnapped points.
    edge_u, edge_v, edge_length : ndarray
        The street edges' end nodes and weights.
    split_edge, split_offset, split_node : ndarray
        Every split node on the streets, sorted by (edge, offset from ``u``): where points
        not in the graph (a what-if site, a candidate) attach, see :meth:`attach`.
    """

    csr: sp.csr_array
    n_street_nodes: int
    point_nodes: tuple[np.ndarray, ...]
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length: np.ndarray
    split_edge: np.ndarray
    split_offset: np.ndarray
    split_node: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Number of graph nodes, street and point nodes together."""
        return self.csr.shape[0]

    def components(self) -> np.ndarray:
        """Connected-piece label of every graph node."""
        _, labels = connected_components(self.csr, directed=False)
        return labels

    def attach(self, snap: Snap) -> Attachment:
        """Where points that are not in the graph would join it, without rebuilding it.

        A point on street edge ``e`` at offset ``o`` lies between the two graph nodes that
        bracket ``o`` on ``e`` (split nodes of other points, or the edge's end nodes); its
        walking distance to any node ``x`` is ``leg + min(d_a + dist(a, x), d_b + dist(b,
        x))``. This is exact, so what-if sites need no new graph.
        """
        ok = snap.snapped
        e = np.where(ok, snap.edge, 0)
        o = np.where(ok, snap.offset_m, 0.0)
        # Position among the split nodes, ordered by (edge, offset): a composite key keeps
        # the search vectorised (offsets are below the longest edge plus one metre).
        scale = float(self.edge_length.max(initial=0.0)) + 1.0
        keys = self.split_edge * scale + self.split_offset
        lo = np.searchsorted(self.split_edge, e, side="left")
        hi = np.searchsorted(self.split_edge, e, side="right")
        pos = np.clip(np.searchsorted(keys, e * scale + o, side="right"), lo, hi)
        has_prev, has_next = pos > lo, pos < hi
        prev_i, next_i = np.maximum(pos - 1, 0), np.minimum(pos, max(len(keys) - 1, 0))
        node_a = np.where(has_prev, self.split_node[prev_i] if len(keys) else 0, self.edge_u[e])
        off_a = np.where(has_prev, self.split_offset[prev_i] if len(keys) else 0.0, 0.0)
        node_b = np.where(has_next, self.split_node[next_i] if len(keys) else 0, self.edge_v[e])
        off_b = np.where(
            has_next, self.split_offset[next_i] if len(keys) else 0.0, self.edge_length[e]
        )
        node_a = np.where(ok, node_a, -1)
        node_b = np.where(ok, node_b, -1)
        return Attachment(
            node_a=node_a,
            dist_a=np.where(ok, o - off_a, np.inf),
            node_b=node_b,
            dist_b=np.where(ok, off_b - o, np.inf),
            leg=np.where(ok, snap.leg_m, np.inf),
        )


@dataclass(frozen=True)
class Attachment:
    """How points outside the graph join it: through node ``a`` or node ``b``.

    Distances in metres; ``node_a``/``node_b`` are -1 (and distances inf) for unsnapped
    points.
    """

    node_a: np.ndarray
    dist_a: np.ndarray
    node_b: np.ndarray
    dist_b: np.ndarray
    leg: np.ndarray

    def __len__(self) -> int:
        return len(self.node_a)


def build_routing_graph(network: WalkingNetwork, snaps: Sequence[Snap]) -> RoutingGraph:
    """Build the routing graph with every point set in ``snaps`` spliced in.

    Parameters
    ----------
    network : WalkingNetwork
        Street network; edge weights are ``length_m``.
    snaps : sequence of Snap
        Point sets (cells, facilities of each category), each snapped to ``network``.

    Returns
    -------
    RoutingGraph
    """
    u = network.edges["u"].to_numpy(dtype=np.int64)
    v = network.edges["v"].to_numpy(dtype=np.int64)
    w = network.edges["length_m"].to_numpy(dtype=float)
    n_street = network.n_nodes

    edge = np.concatenate([s.edge for s in snaps]) if snaps else np.empty(0, np.int64)
    offset = np.concatenate([s.offset_m for s in snaps]) if snaps else np.empty(0)
    leg = np.concatenate([s.leg_m for s in snaps]) if snaps else np.empty(0)
    snapped = np.flatnonzero(edge >= 0)
    k = len(snapped)

    # Split nodes (on the street) are numbered n_street.., pendant nodes n_street+k..
    order = snapped[np.lexsort((offset[snapped], edge[snapped]))]
    e, off = edge[order], offset[order]
    split = n_street + np.arange(k)
    pendant = split + k
    a, b, weight, _ = split_streets(u, v, w, e, off, split)
    a = np.concatenate([a, split])
    b = np.concatenate([b, pendant])
    weight = np.concatenate([weight, leg[order]])
    csr = _symmetric_csr(a, b, np.maximum(weight, 0.0), n_street + 2 * k)

    node_of = np.full(len(edge), -1, dtype=np.int64)
    node_of[order] = pendant
    bounds = np.cumsum([0] + [len(s) for s in snaps])
    point_nodes = tuple(node_of[bounds[i] : bounds[i + 1]] for i in range(len(snaps)))
    return RoutingGraph(
        csr=csr,
        n_street_nodes=n_street,
        point_nodes=point_nodes,
        edge_u=u,
        edge_v=v,
        edge_length=w,
        split_edge=e,
        split_offset=off,
        split_node=split,
    )


def split_streets(
    u: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
    edge: np.ndarray,
    offset: np.ndarray,
    node: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The street segments left when edges are split at points.

    Parameters
    ----------
    u, v, w : ndarray
        Street edges: end nodes and length in metres.
    edge, offset, node : ndarray
        Split points sorted by (edge, offset): the edge each lies on, its distance from
        the edge's ``u`` end and the graph node it becomes.

    Returns
    -------
    a, b, weight, street : ndarray
        Segments (end nodes and metres) and the street edge each one lies along.
    """
    k = len(edge)
    first = np.r_[True, edge[1:] != edge[:-1]] if k else np.empty(0, bool)
    last = np.r_[edge[1:] != edge[:-1], True] if k else np.empty(0, bool)
    prev_node = np.where(first, u[edge], np.r_[-1, node[:-1]])
    prev_off = np.where(first, 0.0, np.r_[0.0, offset[:-1]])
    untouched = np.ones(len(u), bool)
    untouched[edge] = False
    a = np.concatenate([u[untouched], prev_node, node[last]])
    b = np.concatenate([v[untouched], node, v[edge[last]]])
    weight = np.concatenate([w[untouched], offset - prev_off, w[edge[last]] - offset[last]])
    street = np.concatenate([np.flatnonzero(untouched), edge, edge[last]])
    return a, b, weight, street


def pendant_legs(graph: RoutingGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The snapped points of a graph built by :func:`build_routing_graph`: each split
    node on the streets, the pendant node hanging from it and the leg between them (m)."""
    k = len(graph.split_node)
    split = graph.split_node
    pendant = split + k
    if not k:
        return split, pendant, np.empty(0)
    leg = np.asarray(graph.csr[split, pendant], dtype=float).ravel()
    return split, pendant, leg


def _symmetric_csr(a: np.ndarray, b: np.ndarray, w: np.ndarray, n: int) -> sp.csr_array:
    """Undirected CSR graph keeping the shortest of parallel edges and dropping self-loops."""
    keep = a != b
    lo, hi, w = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep]), w[keep]
    # scipy sums duplicate entries; parallel streets must give the shorter one instead.
    # One sort of an integer key per undirected edge finds them (a 3-key lexsort of both
    # directions cost several times more on city networks).
    key = lo * np.int64(n) + hi
    order = np.argsort(key, kind="stable")
    key = key[order]
    start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.empty(0, int)
    if len(start) < len(key):
        lo, hi = lo[order][start], hi[order][start]
        w = np.minimum.reduceat(w[order], start)
    i = np.concatenate([lo, hi])
    j = np.concatenate([hi, lo])
    x = np.concatenate([w, w])
    # Explicit zero weights (a point exactly on a node) are kept as edges by csgraph.
    csr = sp.csr_array((x, (i, j)), shape=(n, n))
    csr.sort_indices()
    return csr
