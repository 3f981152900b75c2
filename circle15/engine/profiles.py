"""Walking profiles: every walkable way, or a step-free walk that avoids steps.

A step-free walk (walkers, wheelchairs, strollers) cannot use ways with steps or ways
tagged ``wheelchair=no``. Its graph keeps the node numbering of the ordinary routing graph
(:func:`circle15.engine.graph.build_routing_graph`) and drops those ways' segments, so
cells and facilities keep their graph nodes and every search can run on either graph. A
point whose nearest street is a flight of steps also hangs, in the step-free graph, from
the nearest step-free street (through a new split node numbered after the ordinary
graph's nodes), as it would have been snapped had the steps not been there; a point with
no step-free street within the snap limit reaches nothing step-free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra

from .graph import Attachment, RoutingGraph, _symmetric_csr, pendant_legs, split_streets
from .sites import SiteSet, with_virtual_sources
from .snapping import EdgeIndex, Snap

__all__ = ["ORDINARY", "STEP_FREE", "Profile", "step_free_profile", "steps_on_routes"]

ORDINARY = "ordinary"
STEP_FREE = "step_free"


@dataclass(frozen=True)
class Profile:
    """A walking profile's routing graph and the street index new points snap to.

    Attributes
    ----------
    name : str
        ``"ordinary"`` or ``"step_free"``.
    graph : RoutingGraph
        Its routing graph; nodes ``0 .. ordinary.n_nodes - 1`` are the ordinary graph's.
    edge_index : EdgeIndex
        The streets a new point (a what-if site, a candidate) snaps to.
    avoided : ndarray of bool, optional
        Street edges the profile leaves out (None: none).
    steps_segments : tuple of ndarray, optional
        ``(keys, street)``: the ordinary graph's segments along avoided streets, as sorted
        keys ``min(a, b) * n + max(a, b)``, and the street edge of each; what
        :func:`steps_on_routes` looks routes up in.
    streets : DataFrame, optional
        The avoided streets by edge row (``kind``, ``name``, ``length_m``, ``geometry``),
        for the tables that name them.
    moved : int
        Points whose nearest street is avoided that also hang from the nearest step-free
        street.
    """

    name: str
    graph: RoutingGraph
    edge_index: EdgeIndex
    avoided: np.ndarray | None = None
    steps_segments: tuple[np.ndarray, np.ndarray] | None = None
    streets: pd.DataFrame | None = None
    moved: int = 0

    def attach(self, points: np.ndarray, max_snap_m: float) -> tuple[Snap, Attachment]:
        """Snap points to this profile's streets and say where they join its graph."""
        snap = self.edge_index.snap(points, max_snap_m)
        return snap, self.graph.attach(snap)


def step_free_profile(
    ordinary: RoutingGraph,
    edge_index: EdgeIndex,
    avoided: np.ndarray,
    points: np.ndarray,
    max_snap_m: float,
    *,
    streets: pd.DataFrame | None = None,
) -> Profile:
    """The step-free profile of an ordinary routing graph.

    Parameters
    ----------
    ordinary : RoutingGraph
        The routing graph with every point spliced in (``build_routing_graph``).
    edge_index : EdgeIndex
        Index of the step-free streets only (``EdgeIndex(network, keep=~avoided)``).
    avoided : ndarray of bool
        Per street edge: steps or ``wheelchair=no``.
    points : ndarray of shapely.Point
        The points of the graph's point sets, concatenated in the order they were passed
        to ``build_routing_graph`` (cells, then each category's facilities).
    max_snap_m : float
        Snap limit in metres.
    streets : DataFrame, optional
        The avoided streets' names and geometry (``Profile.streets``).

    Returns
    -------
    Profile
    """
    n, k = ordinary.n_street_nodes, len(ordinary.split_node)
    u, v, w = ordinary.edge_u, ordinary.edge_v, ordinary.edge_length
    split, pendant, leg = pendant_legs(ordinary)
    on_avoided = avoided[ordinary.split_edge] if k else np.empty(0, bool)
    pendants = (
        np.concatenate(ordinary.point_nodes) if ordinary.point_nodes else np.empty(0, np.int64)
    )
    # Points whose street is avoided hang from the nearest step-free street as well.
    snapped = np.flatnonzero(pendants >= 0)
    moved = snapped[on_avoided[pendants[snapped] - n - k]]
    again = edge_index.snap(np.asarray(points, dtype=object)[moved], max_snap_m)
    ok = again.snapped
    alt_edge, alt_off = again.edge[ok], again.offset_m[ok]
    alt_leg, alt_owner = again.leg_m[ok], pendants[moved[ok]]
    order = np.lexsort((alt_off, alt_edge))
    alt_edge, alt_off, alt_leg, alt_owner = (
        x[order] for x in (alt_edge, alt_off, alt_leg, alt_owner)
    )
    alt_node = ordinary.n_nodes + np.arange(len(order))

    keep = ~on_avoided
    e = np.concatenate([ordinary.split_edge[keep], alt_edge])
    o = np.concatenate([ordinary.split_offset[keep], alt_off])
    nodes = np.concatenate([split[keep], alt_node])
    sort = np.lexsort((o, e))
    e, o, nodes = e[sort], o[sort], nodes[sort]
    a, b, weight, street = split_streets(u, v, w, e, o, nodes)
    walkable = ~avoided[street]
    a = np.concatenate([a[walkable], split, alt_node])
    b = np.concatenate([b[walkable], pendant, alt_owner])
    weight = np.concatenate([weight[walkable], leg, alt_leg])
    csr = _symmetric_csr(a, b, np.maximum(weight, 0.0), ordinary.n_nodes + len(alt_node))
    graph = RoutingGraph(
        csr=csr,
        n_street_nodes=n,
        point_nodes=ordinary.point_nodes,
        edge_u=u,
        edge_v=v,
        edge_length=w,
        split_edge=e,
        split_offset=o,
        split_node=nodes,
    )
    return Profile(
        STEP_FREE,
        graph,
        edge_index,
        avoided,
        _avoided_segments(ordinary, avoided),
        streets,
        len(alt_node),
    )


def _avoided_segments(ordinary: RoutingGraph, avoided: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keys of the ordinary graph's segments along avoided streets, sorted, and their street."""
    a, b, _, street = split_streets(
        ordinary.edge_u,
        ordinary.edge_v,
        ordinary.edge_length,
        ordinary.split_edge,
        ordinary.split_offset,
        ordinary.split_node,
    )
    on = avoided[street]
    keys = _keys(a[on], b[on], ordinary.n_nodes)
    order = np.argsort(keys, kind="stable")
    return keys[order], street[on][order]


def _keys(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    return np.asarray(np.minimum(a, b).astype(np.int64) * np.int64(n) + np.maximum(a, b))


def steps_on_routes(
    graph: RoutingGraph,
    sites: SiteSet,
    origin_nodes: np.ndarray,
    segments: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Which avoided streets each origin's shortest walk to its nearest site crosses.

    One multi-source search from the sites (as :func:`circle15.engine.sites.nearest_site`)
    keeps its predecessors; every origin's route is then walked back to its site, all
    origins together, one step per round.

    Parameters
    ----------
    graph : RoutingGraph
        The ordinary routing graph (steps allowed).
    sites : SiteSet
        The sites (facilities) searched from.
    origin_nodes : ndarray of int64
        Graph nodes of the origins to trace (-1: none).
    segments : tuple of ndarray
        ``Profile.steps_segments``.

    Returns
    -------
    origin, street : ndarray of int64
        One pair per avoided street on an origin's route (each pair once), ``origin``
        indexing ``origin_nodes``.
    """
    origin_nodes = np.asarray(origin_nodes, dtype=np.int64)
    keys, street = segments
    empty = (np.empty(0, np.int64), np.empty(0, np.int64))
    if not len(keys) or not len(origin_nodes) or not sites.snapped.any():
        return empty
    csr, rows = with_virtual_sources(graph, sites)
    n = graph.n_nodes
    dist, pred, _ = dijkstra(
        csr,
        directed=True,
        indices=n + np.arange(len(rows)),
        min_only=True,
        return_predecessors=True,
    )
    who = np.flatnonzero(origin_nodes >= 0)
    at = origin_nodes[who]
    reached = np.isfinite(dist[at])
    who, at = who[reached], at[reached]
    avoided = np.zeros(graph.edge_u.shape[0] + 1, dtype=bool)
    avoided[street] = True
    site_street = sites.streets()[rows]  # a site outside the graph walks along its street
    found_o: list[np.ndarray] = []
    found_s: list[np.ndarray] = []
    while len(at):
        prev = pred[at]
        going = prev >= 0
        who, at, prev = who[going], at[going], prev[going]
        inside = (prev < n) & (at < n)
        key = _keys(at[inside], prev[inside], n)
        pos = np.clip(np.searchsorted(keys, key), 0, len(keys) - 1)
        hit = keys[pos] == key
        found_o.append(who[inside][hit])
        found_s.append(street[pos[hit]])
        # the first step from a site outside the graph runs along the site's own street
        first = prev >= n
        own = site_street[prev[first] - n]
        on = (own >= 0) & avoided[own]
        found_o.append(who[first][on])
        found_s.append(own[on])
        at = prev
    if not found_o:
        return empty
    pairs = np.unique(np.column_stack([np.concatenate(found_o), np.concatenate(found_s)]), axis=0)
    return pairs[:, 0], pairs[:, 1]
