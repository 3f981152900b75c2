"""Walking-time engine: street network as a CSR graph, edge snapping, nearest-facility search."""

from .catchment import node_catchments, point_catchments
from .graph import Attachment, RoutingGraph, build_routing_graph
from .nearest import NearestFacility, nearest_facility
from .snapping import Snap, snap_to_edges

__all__ = [
    "Attachment",
    "NearestFacility",
    "RoutingGraph",
    "Snap",
    "build_routing_graph",
    "nearest_facility",
    "node_catchments",
    "point_catchments",
    "snap_to_edges",
]
