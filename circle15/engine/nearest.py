"""Nearest facility by walking: one multi-source Dijkstra per category."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse.csgraph import dijkstra

from .graph import RoutingGraph


@dataclass(frozen=True)
class NearestFacility:
    """For each origin, the walking distance to the nearest facility and which one it is.

    Attributes
    ----------
    distance_m : ndarray of float
        Network metres including both snap legs; ``inf`` when no facility can be reached
        (other piece of the network) or the origin is unsnapped.
    facility : ndarray of int64
        Position of the nearest facility in the facility set, -1 when unreachable.
    """

    distance_m: np.ndarray
    facility: np.ndarray

    @property
    def reachable(self) -> np.ndarray:
        """Boolean mask of the origins that reach a facility."""
        return self.facility >= 0

    def minutes(self, metres_per_minute: float) -> np.ndarray:
        """Walking time in minutes, NaN where unreachable."""
        out = self.distance_m / metres_per_minute
        out[~self.reachable] = np.nan
        return out


def nearest_facility(
    graph: RoutingGraph,
    origin_nodes: np.ndarray,
    facility_nodes: np.ndarray,
    limit_m: float = np.inf,
) -> NearestFacility:
    """Walking distance from each origin to its nearest facility.

    Runs one Dijkstra from all facilities at once (scipy's ``min_only`` multi-source
    search, equivalent to a virtual super-source), so the cost does not grow with the
    number of facilities.

    Parameters
    ----------
    graph : RoutingGraph
        Graph with origins and facilities spliced in.
    origin_nodes, facility_nodes : ndarray of int64
        Graph nodes (``graph.point_nodes[i]``); -1 marks unsnapped points, which are left
        out (origins get ``inf``; facilities are ignored).
    limit_m : float, optional
        Stop the search at this distance; origins beyond it get ``inf``.

    Returns
    -------
    NearestFacility
    """
    origin_nodes = np.asarray(origin_nodes, dtype=np.int64)
    facility_nodes = np.asarray(facility_nodes, dtype=np.int64)
    distance = np.full(len(origin_nodes), np.inf)
    facility = np.full(len(origin_nodes), -1, dtype=np.int64)
    usable = np.flatnonzero(facility_nodes >= 0)
    if len(usable) == 0:
        return NearestFacility(distance, facility)

    dist, _, source = dijkstra(
        graph.csr,
        directed=True,  # the matrix is symmetric; directed mode skips a transpose per call
        indices=facility_nodes[usable],
        min_only=True,
        return_predecessors=True,
        limit=limit_m,
    )
    node_to_facility = np.full(graph.n_nodes, -1, dtype=np.int64)
    # Several facilities never share a node (each has its own pendant), so this is 1:1.
    node_to_facility[facility_nodes[usable]] = usable
    ok = origin_nodes >= 0
    d = dist[origin_nodes[ok]]
    src = source[origin_nodes[ok]]
    found = np.isfinite(d) & (src >= 0)
    distance[np.flatnonzero(ok)[found]] = d[found]
    facility[np.flatnonzero(ok)[found]] = node_to_facility[src[found]]
    return NearestFacility(distance, facility)
