"""Reading a walking network from an OSM file the way other tools do: osmnx and pyrosm.

``osmnx_walk_graph`` is the recipe circle15 itself used before issue 14 (and the oracle of
``tests/sources/test_osm.py``): pyosmium keeps the ways that pass the walk filter and touch the
polygon grown by 500 m and writes them as OSM XML, which osmnx reads
(``graph_from_xml``), truncates (``truncate_by_edge``), simplifies and truncates again —
exactly what ``osmnx.graph_from_polygon`` does with an Overpass answer. ``pyrosm_walk``
is pyrosm's own parse of the whole file into its walking network (its filter, not
simplified), the yardstick of issue 14's target.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from circle15.model import WalkingNetwork
from circle15.sources.network import network_from_graph
from circle15.sources.osm import OSMNX_QUERY_BUFFER_M, _grow, _keeping_step_free_tags
from circle15.sources.osm_filter import WALK_FILTER, compile_filter

#: Way tags written to the XML (osmnx keeps those of ``settings.useful_tags_way``).
EDGE_TAGS = (
    "highway",
    "name",
    "bridge",
    "tunnel",
    "layer",
    "foot",
    "access",
    "service",
    "oneway",
    "ref",
    "width",
    "lanes",
    "maxspeed",
    "junction",
    "est_width",
    "area",
    "wheelchair",
    "ramp:wheelchair",
)


def osmnx_walk_graph(path: Path, polygon: BaseGeometry) -> nx.MultiDiGraph:
    """osmnx's simplified ``walk`` graph of the ways of ``path`` near ``polygon`` (WGS84)."""
    import osmnx as ox

    grown = _grow(polygon, OSMNX_QUERY_BUFFER_M)
    with tempfile.TemporaryDirectory(prefix="circle15-osmnx-") as tmp:
        xml = Path(tmp) / "walk.osm"
        if _write_walk_ways(path, grown, xml) == 0:
            raise ValueError(f"{path}: no walkable way near the polygon")
        with _keeping_step_free_tags():  # as circle15 keeps them
            graph = ox.graph_from_xml(xml, bidirectional=True, simplify=False, retain_all=True)
    graph = ox.truncate.truncate_graph_polygon(graph, grown, truncate_by_edge=True)
    graph = ox.simplify_graph(graph)
    return ox.truncate.truncate_graph_polygon(graph, polygon, truncate_by_edge=True)


def osmnx_walk_network(path: Path, crs: CRS, polygon: BaseGeometry) -> WalkingNetwork:
    """:func:`osmnx_walk_graph` made undirected (``ox.convert.to_undirected``), in ``crs``."""
    return network_from_graph(osmnx_walk_graph(path, polygon), crs, source=str(path))


def _write_walk_ways(path: Path, polygon: BaseGeometry, out: Path) -> int:
    """Write the walkable ways touching ``polygon`` and their nodes as OSM XML."""
    keep = compile_filter(WALK_FILTER)
    west, south, east, north = polygon.bounds
    ways: list[tuple[int, dict[str, str], list[int]]] = []
    xs: list[float] = []
    ys: list[float] = []
    node_ids: list[int] = []
    owner: list[int] = []
    processor = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    for way in processor:
        tags = {t.k: t.v for t in way.tags}
        if not keep(tags):
            continue
        refs = [(n.ref, n.lon, n.lat) for n in way.nodes if n.location.valid()]
        if len(refs) < 2:
            continue
        lon = [r[1] for r in refs]
        lat = [r[2] for r in refs]
        if max(lon) < west or min(lon) > east or max(lat) < south or min(lat) > north:
            continue
        owner.extend([len(ways)] * len(refs))
        node_ids.extend(r[0] for r in refs)
        xs.extend(lon)
        ys.extend(lat)
        ways.append(
            (way.id, {k: v for k, v in tags.items() if k in EDGE_TAGS}, [r[0] for r in refs])
        )
    if not ways:
        return 0
    lines = shapely.linestrings(np.column_stack([xs, ys]), indices=np.asarray(owner))
    shapely.prepare(polygon)
    touching = shapely.intersects(polygon, lines)
    owner_arr = np.asarray(owner)
    keep_node = touching[owner_arr]
    ids = np.asarray(node_ids, dtype=np.int64)[keep_node]
    unique, first = np.unique(ids, return_index=True)
    node_x = np.asarray(xs)[keep_node][first]
    node_y = np.asarray(ys)[keep_node][first]
    writer = osmium.SimpleWriter(str(out))
    try:
        for nid, x, y in zip(unique.tolist(), node_x.tolist(), node_y.tolist(), strict=True):
            writer.add_node(osmium.osm.mutable.Node(id=nid, location=(x, y), version=1))
        for i in np.flatnonzero(touching).tolist():
            wid, tags, refs = ways[i]
            writer.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, tags=tags, version=1))
    finally:
        writer.close()
    return int(touching.sum())


def pyrosm_walk(path: Path) -> tuple[int, int]:
    """pyrosm's walking network of the whole file: (nodes, edges) of ``get_network``."""
    import pyrosm

    nodes, edges = pyrosm.OSM(str(path)).get_network("walking", nodes=True)
    return len(nodes), len(edges)
