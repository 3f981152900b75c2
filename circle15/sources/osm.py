"""OpenStreetMap in: the walking network and facility candidates, offline or online.

Offline, an ``.osm.pbf`` extract (e.g. a Geofabrik province file) or ``.osm`` XML is read
with pyosmium, keeping only what lies within the study area plus its buffer: the ways that
pass :data:`~circle15.sources.osm_filter.WALK_FILTER` become a small OSM XML file that
osmnx turns into a graph exactly as it turns an Overpass answer into one (same
truncation and simplification as ``osmnx.graph_from_polygon``); features with the tags of
:mod:`circle15.sources.osm_facilities` become a frame of candidates. Online, osmnx asks
the Overpass API for the same filter and tags (its HTTP cache makes reruns offline).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmium
import osmnx as ox
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from ..errors import InputError
from ..model import WalkingNetwork
from .network import network_from_graph
from .osm_facilities import FEATURE_KEYS, QUERY_TAGS, USEFUL_TAGS, OsmFeatures, tidy_features
from .osm_filter import WALK_FILTER, compile_filter

#: osmnx downloads 500 m beyond the polygon before truncating; so does the offline path.
OSMNX_QUERY_BUFFER_M = 500.0
#: Way tags kept on network edges.
EDGE_TAGS = ("highway", "name", "bridge", "tunnel", "layer", "foot", "access", "service",
             "oneway", "ref", "width", "lanes", "maxspeed", "junction", "est_width", "area",
             "wheelchair", "ramp:wheelchair")
#: Way tags a step-free walk needs (``highway=steps`` is kept with ``highway``), which
#: osmnx drops unless they are among its ``useful_tags_way``.
STEP_FREE_TAGS = ("wheelchair", "ramp:wheelchair")


def study_polygon_wgs84(area: BaseGeometry, crs: CRS, buffer_m: float) -> BaseGeometry:
    """The study area grown by ``buffer_m`` metres, in WGS84 longitude/latitude."""
    grown = shapely.buffer(area, buffer_m) if buffer_m > 0 else area
    out = gpd.GeoSeries([grown], crs=crs).to_crs(4326).iloc[0]
    return shapely.make_valid(out)


# --------------------------------------------------------------------------------------
# Network


def read_osm_network(path: Path, crs: CRS, polygon: BaseGeometry) -> WalkingNetwork:
    """Walking network of an OSM file within ``polygon`` (WGS84), projected to ``crs``.

    Raises
    ------
    InputError
        When the file cannot be read or holds no walkable way inside the polygon.
    """
    return network_from_graph(walk_graph_from_file(path, polygon), crs, source=str(path))


def walk_graph_from_file(path: Path, polygon: BaseGeometry) -> nx.MultiDiGraph:
    """osmnx graph of the walkable ways of an OSM file, as ``graph_from_polygon`` builds it.

    Steps mirror ``osmnx.graph_from_polygon``: take the ways that pass the walk filter
    and touch the polygon grown by 500 m, build the graph with every way walkable both
    ways, truncate to the grown polygon, simplify, truncate to the polygon.
    """
    grown = _grow(polygon, OSMNX_QUERY_BUFFER_M)
    with tempfile.TemporaryDirectory(prefix="circle15-osm-") as tmp:
        xml = Path(tmp) / "walk.osm"
        n_ways = _write_walk_ways(path, grown, xml)
        if n_ways == 0:
            raise InputError(f"network {path}: no walkable way of OpenStreetMap lies within "
                             "the study area and its buffer; is it the right extract?")
        with _keeping_step_free_tags():
            graph = ox.graph_from_xml(xml, bidirectional=True, simplify=False,
                                      retain_all=True)
    return _truncate_and_simplify(graph, grown, polygon, path)


def walk_graph_online(polygon: BaseGeometry) -> nx.MultiDiGraph:
    """osmnx graph of the walkable ways within ``polygon`` (WGS84), from Overpass.

    Uses osmnx's settings (``ox.settings.use_cache``/``cache_folder``/``overpass_url``):
    a query answered once is read from the cache afterwards.
    """
    with _keeping_step_free_tags():
        return ox.graph_from_polygon(polygon, network_type="walk", custom_filter=WALK_FILTER,
                                     simplify=True, retain_all=True, truncate_by_edge=True)


@contextlib.contextmanager
def _keeping_step_free_tags() -> Iterator[None]:
    """osmnx keeps the ways' wheelchair tags too while it builds a graph."""
    before = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = [*before, *(t for t in STEP_FREE_TAGS if t not in before)]
    try:
        yield
    finally:
        ox.settings.useful_tags_way = before


def _truncate_and_simplify(graph: nx.MultiDiGraph, grown: BaseGeometry,
                           polygon: BaseGeometry, path: Path) -> nx.MultiDiGraph:
    try:
        graph = ox.truncate.truncate_graph_polygon(graph, grown, truncate_by_edge=True)
        graph = ox.simplify_graph(graph)
        return ox.truncate.truncate_graph_polygon(graph, polygon, truncate_by_edge=True)
    except ValueError as exc:  # osmnx: "Found no graph nodes within the requested polygon"
        raise InputError(f"network {path}: no street of the file lies within the study area "
                         f"and its buffer ({exc})") from None


def _write_walk_ways(path: Path, polygon: BaseGeometry, out: Path) -> int:
    """Write the walkable ways touching ``polygon`` and their nodes as OSM XML."""
    keep = compile_filter(WALK_FILTER)
    west, south, east, north = polygon.bounds
    ways: list[tuple[int, dict[str, str], list[int]]] = []
    xs: list[float] = []
    ys: list[float] = []
    node_ids: list[int] = []
    owner: list[int] = []
    processor = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
                 .with_locations()
                 .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
                 .with_filter(osmium.filter.KeyFilter("highway")))
    try:
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
            ways.append((way.id, {k: v for k, v in tags.items() if k in EDGE_TAGS},
                         [r[0] for r in refs]))
    except RuntimeError as exc:  # libosmium: unreadable or truncated file
        raise InputError(f"network {path}: cannot be read as OpenStreetMap data ({exc})") \
            from None
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


# --------------------------------------------------------------------------------------
# Facility candidates


def read_osm_features(path: Path, polygon: BaseGeometry) -> OsmFeatures:
    """Facility candidates and entrances of an OSM file touching ``polygon`` (WGS84).

    Nodes become points; closed ways and multipolygon relations become polygons (built by
    libosmium's area assembler), with ids ``node/…``, ``way/…``, ``relation/…`` as osmnx
    names them online.
    """
    wkb = osmium.geom.WKBFactory()
    ids: list[str] = []
    geoms: list[str] = []
    rows: list[dict[str, str]] = []
    processor = (osmium.FileProcessor(str(path))
                 .with_areas(osmium.filter.KeyFilter(*FEATURE_KEYS))
                 .with_filter(osmium.filter.KeyFilter(*FEATURE_KEYS)))
    try:
        for obj in processor:
            if obj.is_node():
                if not obj.location.valid():
                    continue
                ids.append(f"node/{obj.id}")
                geoms.append(wkb.create_point(obj))
            elif obj.is_area():
                try:
                    geometry = wkb.create_multipolygon(obj)
                except RuntimeError:  # broken ring in the data: skip like osmnx does
                    continue
                ids.append(f"{'way' if obj.from_way() else 'relation'}/{obj.orig_id()}")
                geoms.append(geometry)
            else:
                continue
            rows.append({t.k: t.v for t in obj.tags if t.k in USEFUL_TAGS})
    except RuntimeError as exc:
        raise InputError(f"facilities: {path} cannot be read as OpenStreetMap data ({exc})") \
            from None
    frame = gpd.GeoDataFrame(rows, geometry=shapely.from_wkb(np.asarray(geoms, dtype=object))
                             if geoms else [], crs=4326)
    frame["osm_id"] = ids
    frame = _single_polygons(frame)
    shapely.prepare(polygon)
    frame = frame[shapely.intersects(polygon, frame.geometry.to_numpy())]
    return tidy_features(frame, str(path))


def features_online(polygon: BaseGeometry) -> OsmFeatures:
    """Facility candidates and entrances within ``polygon`` (WGS84), from Overpass."""
    try:
        raw = ox.features_from_polygon(polygon, tags=QUERY_TAGS)
    except ox._errors.InsufficientResponseError:
        raw = gpd.GeoDataFrame({"osm_id": []}, geometry=[], crs=4326)
        return tidy_features(raw, "OpenStreetMap via Overpass (osmnx)")
    raw = raw.reset_index()
    raw["osm_id"] = raw["element"].astype(str) + "/" + raw["id"].astype(str)
    return tidy_features(_single_polygons(raw), "OpenStreetMap via Overpass (osmnx)")


def _single_polygons(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """libosmium makes every area a MultiPolygon; osmnx a Polygon when it has one part."""
    geoms = frame.geometry.to_numpy()
    multi = shapely.get_type_id(geoms) == 6
    single = multi & (shapely.get_num_geometries(geoms) == 1)
    geoms = geoms.copy()
    geoms[single] = shapely.get_geometry(geoms[single], 0)
    return frame.set_geometry(geoms)


def _grow(polygon: BaseGeometry, metres: float) -> BaseGeometry:
    series = gpd.GeoSeries([polygon], crs=4326)
    utm = series.estimate_utm_crs()
    return shapely.make_valid(series.to_crs(utm).buffer(metres).to_crs(4326).iloc[0])
