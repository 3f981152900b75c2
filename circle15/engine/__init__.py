"""Walking-time engine: street network as a CSR graph, edge snapping, nearest-facility search."""

from .graph import RoutingGraph, build_routing_graph
from .nearest import NearestFacility, nearest_facility
from .snapping import Snap, snap_to_edges

__all__ = [
    "NearestFacility",
    "RoutingGraph",
    "Snap",
    "build_routing_graph",
    "nearest_facility",
    "snap_to_edges",
]
