"""OpenStreetMap in: the walking network and facility candidates, offline or online.

Offline, an ``.osm.pbf`` extract (e.g. a Geofabrik province file) or ``.osm`` XML is read
with libosmium (:mod:`circle15.sources.osm_ways`: the ways with a ``highway`` tag that
pass :data:`~circle15.sources.osm_filter.WALK_FILTER`, as numpy arrays) and turned into
the graph osmnx's ``graph_from_polygon`` would build from the same ways — same nodes,
same edges, same lengths — with numpy instead of networkx
(:mod:`circle15.sources.osm_graph`). Built networks are kept in the network cache
(:mod:`circle15.sources.network_cache`), so that the next run of the study reads it in a
fraction of a second. Features with the tags of :mod:`circle15.sources.osm_facilities`
become a frame of candidates. Online, osmnx asks the Overpass API for the same filter and
tags (its HTTP cache makes reruns offline).

Why not osmnx, pyrosm or pyosmium's Python objects for the network (measured side by
side, ``benchmarks/README.md``): osmnx builds and simplifies the graph in networkx,
34 s for the Porto extract (348k nodes); pyrosm parses the whole file into Python
objects (3-5 s for Porto) and does not simplify; pyosmium's per-object Python access
costs about 2 µs per node reference. libosmium in C++ plus numpy reads Porto's network
in about a second.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from ..errors import InputError
from ..model import WalkingNetwork
from ..progress import QUIET, Progress
from .network import KEPT_EDGE_TAGS, step_ways
from .osm_facilities import FEATURE_KEYS, QUERY_TAGS, USEFUL_TAGS, OsmFeatures, tidy_features
from .osm_filter import WALK_FILTER
from .osm_graph import NoStreetsInside, WalkGraph, touching_ways, walk_graph
from .osm_ways import WAY_TAGS, read_walk_ways

if TYPE_CHECKING:
    import networkx as nx

#: osmnx downloads 500 m beyond the polygon before truncating; so does the offline path.
OSMNX_QUERY_BUFFER_M = 500.0
#: What the network cache keys an OSM network by, besides file, area and buffer: bump
#: the number when the reader changes what it builds; the filter is in it already.
OSM_READER_VERSION = (
    "osm-walk-1:"
    + hashlib.sha256(f"{WALK_FILTER}|{WAY_TAGS}|{OSMNX_QUERY_BUFFER_M}".encode()).hexdigest()[:16]
)
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


def read_osm_network(
    path: Path, crs: CRS, polygon: BaseGeometry, progress: Progress = QUIET
) -> WalkingNetwork:
    """Walking network of an OSM file within ``polygon`` (WGS84), projected to ``crs``.

    The network osmnx's ``graph_from_polygon`` builds from the same ways (see
    :func:`walk_graph_from_file`), undirected, with ``length_m`` (great-circle metres).

    Raises
    ------
    InputError
        When the file cannot be read or holds no walkable way inside the polygon.
    """
    return network_from_walk_graph(walk_graph_from_file(path, polygon, progress), crs)


def walk_graph_from_file(
    path: Path, polygon: BaseGeometry, progress: Progress = QUIET
) -> WalkGraph:
    """The walkable ways of an OSM file as osmnx's ``graph_from_polygon`` builds them.

    Steps mirror osmnx: take the ways that pass the walk filter and touch the polygon
    grown by 500 m, build the graph with every way walkable both ways, truncate to the
    grown polygon, simplify, truncate to the polygon (``truncate_by_edge``).
    """
    grown = _grow(polygon, OSMNX_QUERY_BUFFER_M)
    ways = touching_ways(read_walk_ways(path, WALK_FILTER, progress), grown)
    if ways.n_ways == 0:
        raise InputError(
            f"network {path}: no walkable way of OpenStreetMap lies within "
            "the study area and its buffer; is it the right extract?"
        )
    try:
        return walk_graph(ways, polygon, grown)
    except NoStreetsInside as exc:
        raise InputError(
            f"network {path}: no street of the file lies within the study area "
            f"and its buffer ({exc})"
        ) from None


def network_from_walk_graph(graph: WalkGraph, crs: CRS) -> WalkingNetwork:
    """A ``WalkingNetwork`` in ``crs`` from a :class:`~circle15.sources.osm_graph.WalkGraph`.

    Tag columns appear when some edge has the tag (as in osmnx's edge frame).
    """
    if len(graph.u) == 0:
        raise InputError("network: the OpenStreetMap graph has no streets")
    to_crs = Transformer.from_crs(4326, crs, always_xy=True)
    node_x, node_y = to_crs.transform(graph.lon, graph.lat)
    line_x, line_y = to_crs.transform(graph.line_lon, graph.line_lat)
    owner = np.repeat(np.arange(len(graph.u)), np.diff(graph.line_start))
    lines = shapely.linestrings(np.column_stack([line_x, line_y]), indices=owner)
    tags = {k: v for k, v in graph.tags.items() if np.not_equal(v, None).any()}
    edges = gpd.GeoDataFrame(
        {
            "u": graph.u,
            "v": graph.v,
            "length_m": graph.length,
            **{k: tags[k] for k in KEPT_EDGE_TAGS if k in tags},
        },
        geometry=lines,
        crs=crs,
    )
    steps = step_ways(edges)
    if steps is not None:  # highway=steps, wheelchair=no: what step-free walks avoid
        edges["steps"] = steps
    nodes = gpd.GeoDataFrame(
        {"node_id": graph.node_id}, geometry=shapely.points(node_x, node_y), crs=crs
    )
    return WalkingNetwork(nodes=nodes, edges=edges)


def walk_graph_online(polygon: BaseGeometry) -> nx.MultiDiGraph:
    """osmnx graph of the walkable ways within ``polygon`` (WGS84), from Overpass.

    Uses osmnx's settings (``ox.settings.use_cache``/``cache_folder``/``overpass_url``):
    a query answered once is read from the cache afterwards.
    """
    import osmnx as ox

    with _keeping_step_free_tags():
        return ox.graph_from_polygon(
            polygon,
            network_type="walk",
            custom_filter=WALK_FILTER,
            simplify=True,
            retain_all=True,
            truncate_by_edge=True,
        )


@contextlib.contextmanager
def _keeping_step_free_tags() -> Iterator[None]:
    """osmnx keeps the ways' wheelchair tags too while it builds a graph."""
    import osmnx as ox

    before = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = [*before, *(t for t in STEP_FREE_TAGS if t not in before)]
    try:
        yield
    finally:
        ox.settings.useful_tags_way = before


# --------------------------------------------------------------------------------------
# Facility candidates


def read_osm_features(path: Path, polygon: BaseGeometry) -> OsmFeatures:
    """Facility candidates and entrances of an OSM file touching ``polygon`` (WGS84).

    Nodes become points; closed ways and multipolygon relations become polygons (built by
    libosmium's area assembler), with ids ``node/…``, ``way/…``, ``relation/…`` as osmnx
    names them online.
    """
    import osmium

    wkb = osmium.geom.WKBFactory()
    ids: list[str] = []
    geoms: list[str] = []
    rows: list[dict[str, str]] = []
    processor = (
        osmium.FileProcessor(str(path))
        .with_areas(osmium.filter.KeyFilter(*FEATURE_KEYS))
        .with_filter(osmium.filter.KeyFilter(*FEATURE_KEYS))
    )
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
        raise InputError(
            f"facilities: {path} cannot be read as OpenStreetMap data ({exc})"
        ) from None
    frame = gpd.GeoDataFrame(
        rows, geometry=shapely.from_wkb(np.asarray(geoms, dtype=object)) if geoms else [], crs=4326
    )
    frame["osm_id"] = ids
    frame = _single_polygons(frame)
    shapely.prepare(polygon)
    frame = frame[shapely.intersects(polygon, frame.geometry.to_numpy())]
    return tidy_features(frame, str(path))


def features_online(polygon: BaseGeometry) -> OsmFeatures:
    """Facility candidates and entrances within ``polygon`` (WGS84), from Overpass."""
    import osmnx as ox

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
