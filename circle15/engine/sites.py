"""Sets of sites that may lie outside the routing graph, and the nearest one to each origin.

A what-if site (a new canteen, a moved school) is not spliced into the routing graph:
rebuilding the graph for every idea would cost more than the search itself. Instead each
site joins the graph through two nodes at known costs (see :meth:`RoutingGraph.attach`),
and a search from several such sites adds one *virtual node* per site with one-way edges
to its two joining nodes. One-way edges leave every other route unchanged, so distances
equal those of a graph with the sites spliced in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from .graph import Attachment, RoutingGraph
from .nearest import NearestFacility


@dataclass(frozen=True)
class SiteSet:
    """Sites joining the routing graph through node ``a`` or node ``b``.

    A facility already in the graph joins through its own pendant node at cost 0 (``a``
    and ``b`` are that node); a new site joins through the two nodes that bracket it on
    its street, at the cost of its snap leg plus the walk along the street to each.

    Attributes
    ----------
    node_a, node_b : ndarray of int64
        Joining nodes; -1 for a site farther than the snap limit from every street.
    cost_a, cost_b : ndarray of float
        Metres from the site to ``node_a`` / ``node_b``; inf for unsnapped sites.
    street : ndarray of int64, optional
        The street edge a site outside the graph walks along to ``node_a``/``node_b``
        (-1 for a site that is a graph node); None when nobody said.
    """

    node_a: np.ndarray
    cost_a: np.ndarray
    node_b: np.ndarray
    cost_b: np.ndarray
    street: np.ndarray | None = None

    @classmethod
    def from_nodes(cls, nodes: np.ndarray) -> SiteSet:
        """Sites that are graph nodes themselves (``-1`` for unsnapped ones)."""
        nodes = np.asarray(nodes, dtype=np.int64)
        cost = np.where(nodes >= 0, 0.0, np.inf)
        return cls(nodes, cost, nodes.copy(), cost.copy())

    @classmethod
    def from_attachment(cls, attachment: Attachment, street: np.ndarray | None = None) -> SiteSet:
        """Sites outside the graph, joined as ``attachment`` says (along ``street``, the
        snap's edges, when given)."""
        # A site on a split node can come out a rounding error (1e-9 m) below zero along
        # its street; Dijkstra needs costs of at least zero.
        return cls(
            attachment.node_a,
            np.maximum(attachment.leg + attachment.dist_a, 0.0),
            attachment.node_b,
            np.maximum(attachment.leg + attachment.dist_b, 0.0),
            None if street is None else np.asarray(street, dtype=np.int64),
        )

    def streets(self) -> np.ndarray:
        """:attr:`street`, -1 where unknown."""
        if self.street is None:
            return np.full(len(self), -1, dtype=np.int64)
        return self.street

    @classmethod
    def empty(cls) -> SiteSet:
        """No sites."""
        return cls.from_nodes(np.empty(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.node_a)

    @property
    def snapped(self) -> np.ndarray:
        """Boolean mask of the sites that join the network."""
        return self.node_a >= 0

    def take(self, index: np.ndarray) -> SiteSet:
        """The sites at positions ``index`` (integer positions or a boolean mask)."""
        return SiteSet(
            self.node_a[index],
            self.cost_a[index],
            self.node_b[index],
            self.cost_b[index],
            None if self.street is None else self.street[index],
        )

    def concat(self, other: SiteSet) -> SiteSet:
        """These sites followed by ``other``'s."""
        street = (
            None
            if self.street is None and other.street is None
            else np.concatenate([self.streets(), other.streets()])
        )
        node_a, cost_a, node_b, cost_b = (
            np.concatenate([getattr(self, f), getattr(other, f)])
            for f in ("node_a", "cost_a", "node_b", "cost_b")
        )
        return SiteSet(node_a, cost_a, node_b, cost_b, street)


def with_virtual_sources(graph: RoutingGraph, sites: SiteSet) -> tuple[sp.csr_array, np.ndarray]:
    """The graph's CSR matrix with one extra node per snapped site.

    Returns
    -------
    csr : scipy.sparse.csr_array
        ``graph.n_nodes + k`` square; row ``n + i`` holds one-way edges from the ``i``-th
        snapped site to its joining nodes. Nothing points back, so no route through the
        network can use a site as a short cut.
    rows : ndarray of int64
        Position in ``sites`` of each virtual node ``n + i``.
    """
    rows = np.flatnonzero(sites.snapped)
    n, k = graph.n_nodes, len(rows)
    a, b = sites.node_a[rows], sites.node_b[rows]
    ca, cb = sites.cost_a[rows], sites.cost_b[rows]
    same = a == b  # a facility in the graph: one edge, the cheaper of the two costs
    first = np.where(same | (a < b), a, b)  # columns sorted within each row
    second = np.where(same | (a < b), b, a)
    c1 = np.where(same, np.minimum(ca, cb), np.where(a < b, ca, cb))
    c2 = np.where(a < b, cb, ca)
    counts = np.where(same, 1, 2)
    cols = np.empty(int(counts.sum()), dtype=np.int64)
    vals = np.empty(len(cols))
    start = (np.cumsum(counts) - counts).astype(np.int64)
    cols[start], vals[start] = first, c1
    two = ~same
    cols[start[two] + 1], vals[start[two] + 1] = second[two], c2[two]
    base = graph.csr
    indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(counts)])
    # Built from (data, indices, indptr) so that zero costs stay explicit edges.
    csr = sp.csr_array(
        (np.concatenate([base.data, vals]), np.concatenate([base.indices, cols]), indptr),
        shape=(n + k, n + k),
    )
    return csr, rows


def nearest_site(
    graph: RoutingGraph, origin_nodes: np.ndarray, sites: SiteSet, limit_m: float = np.inf
) -> NearestFacility:
    """Walking distance from each origin to its nearest site, and which site it is.

    One multi-source Dijkstra (scipy's ``min_only``) from virtual nodes standing for the
    sites; see :func:`with_virtual_sources`.

    Parameters
    ----------
    graph : RoutingGraph
        The routing graph (not modified).
    origin_nodes : ndarray of int64
        Graph nodes of the origins (cells); -1 for unsnapped origins, which get ``inf``.
    sites : SiteSet
        Candidate nearest sites; unsnapped sites are ignored.
    limit_m : float, optional
        Stop the search at this distance; origins beyond it get ``inf``.

    Returns
    -------
    NearestFacility
        ``facility`` holds positions in ``sites``.
    """
    origin_nodes = np.asarray(origin_nodes, dtype=np.int64)
    distance = np.full(len(origin_nodes), np.inf)
    facility = np.full(len(origin_nodes), -1, dtype=np.int64)
    csr, rows = with_virtual_sources(graph, sites)
    if len(rows) == 0:
        return NearestFacility(distance, facility)
    n = graph.n_nodes
    dist, _, source = dijkstra(
        csr,
        directed=True,
        indices=n + np.arange(len(rows)),
        min_only=True,
        return_predecessors=True,
        limit=limit_m,
    )
    ok = np.flatnonzero(origin_nodes >= 0)
    d, src = dist[origin_nodes[ok]], source[origin_nodes[ok]]
    found = np.isfinite(d) & (src >= n)
    distance[ok[found]] = d[found]
    facility[ok[found]] = rows[src[found] - n]
    return NearestFacility(distance, facility)
