"""osmnx's simplified walking graph, built from way arrays with numpy instead of networkx.

Until issue 14 circle15 wrote the walkable ways of a file as OSM XML and let osmnx 2.1
build the graph: ``graph_from_xml(bidirectional=True, simplify=False, retain_all=True)``,
``truncate_graph_polygon(grown, truncate_by_edge=True)``, ``simplify_graph``,
``truncate_graph_polygon(polygon, truncate_by_edge=True)`` and, for the network,
``convert.to_undirected``. :func:`walk_graph` gives the same nodes and edges, with the
same lengths (to rounding), from :class:`~circle15.sources.osm_ways.WayArrays`:

- **graph**: one node per OSM node of the ways (nodes repeated one after the other in a
  way count once), one street segment per consecutive pair, its length the great-circle
  distance of osmnx (``osmnx.distance.great_circle``, same formula and radius);
- **truncation** (``truncate_by_edge``): a node outside the polygon stays when one of its
  neighbours is inside; "inside" is osmnx's test, point-intersects any of the polygon's
  quadrats (``osmnx.utils_geo._intersect_index_quadrats``), which includes the boundary;
- **simplification** with osmnx's default rules (``edge_attrs_differ=None``,
  ``node_attrs_include=None``): a node is kept (an *endpoint*) unless it has exactly two
  distinct neighbours and one segment to each. Nodes where the way or its tags change are
  therefore *not* kept (they are with ``edge_attrs_differ``, which circle15 never used).
  The segments between endpoints merge into one edge: its length the sum, its geometry
  the nodes in order, its tags the distinct values of its ways (several joined with ``;``
  in sorted order, where osmnx gives a list in ``set`` order). A street that closes on
  itself at a junction becomes a self-loop; a ring touching no junction at all (no
  endpoint in its piece) is dropped, as osmnx's ``remove_rings`` does;
- **undirected**: each street once; parallel streets between two junctions are kept,
  except copies with the same way ids and the same geometry (either direction), which
  ``to_undirected`` merges.

The chains between endpoints are found without walking them one by one: each segment
end at a non-endpoint points to the other segment there, and pointer jumping (doubling)
gives every segment its chain and its rank along it in ``log2`` (chain length) rounds of
numpy indexing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components
from shapely.geometry import LineString, MultiPolygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import split

from .osm_ways import WAY_TAGS, WayArrays

#: osmnx.distance.EARTH_RADIUS_M
EARTH_RADIUS_M = 6_371_009


#: Points this close to a polygon's boundary (degrees, 0.1 mm) get osmnx's exact test.
_HAIR = 1e-9


class NoStreetsInside(ValueError):
    """No node of the graph lies within the polygon (osmnx's ValueError)."""


@dataclass
class WalkGraph:
    """An undirected walking graph in WGS84.

    Nodes ``node_id``/``lon``/``lat`` (ascending OSM id); edge ``i`` runs from node
    ``u[i]`` to node ``v[i]`` along ``line_lon/line_lat[line_start[i]:line_start[i+1]]``,
    ``length`` metres; ``tags[key][i]`` its tag values (``None`` when none).
    """

    node_id: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    line_start: np.ndarray
    line_lon: np.ndarray
    line_lat: np.ndarray
    tags: dict[str, np.ndarray]


def distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (``np.unique`` by sorting: its hash path is much slower)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def great_circle(lat1, lon1, lat2, lon2) -> np.ndarray:
    """osmnx's great-circle distance in metres (same operations, same rounding)."""
    y1 = np.deg2rad(lat1)
    y2 = np.deg2rad(lat2)
    dy = y2 - y1
    x1 = np.deg2rad(lon1)
    x2 = np.deg2rad(lon2)
    dx = x2 - x1
    h = np.sin(dy / 2) ** 2 + np.cos(y1) * np.cos(y2) * np.sin(dx / 2) ** 2
    h = np.minimum(1, h)
    return 2 * np.arcsin(np.sqrt(h)) * EARTH_RADIUS_M


def touching_ways(ways: WayArrays, polygon: BaseGeometry) -> WayArrays:
    """The ways whose line intersects ``polygon`` (WGS84)."""
    if ways.n_ways == 0:
        return ways
    start = ways.start[:-1]
    west, south, east, north = polygon.bounds
    near = (
        (np.maximum.reduceat(ways.lon, start) >= west)
        & (np.minimum.reduceat(ways.lon, start) <= east)
        & (np.maximum.reduceat(ways.lat, start) >= south)
        & (np.minimum.reduceat(ways.lat, start) <= north)
    )
    ways = ways.take(near)
    if ways.n_ways == 0:
        return ways
    owner = np.repeat(np.arange(ways.n_ways), np.diff(ways.start))
    lines = shapely.linestrings(np.column_stack([ways.lon, ways.lat]), indices=owner)
    shapely.prepare(polygon)
    return ways.take(shapely.intersects(polygon, lines))


def inside(lon: np.ndarray, lat: np.ndarray, polygon: BaseGeometry) -> np.ndarray:
    """osmnx's "node within polygon": the point intersects one of the polygon's quadrats.

    Points farther than a hair (1e-9 degrees) inside or outside the boundary are decided
    by the polygon itself; only those on the boundary go through osmnx's quadrats, whose
    cut lines and ``buffer(0)`` decide them exactly as in osmnx.
    """
    inner = shapely.buffer(polygon, -_HAIR)
    outer = shapely.buffer(polygon, _HAIR)
    shapely.prepare(inner)
    shapely.prepare(outer)
    found = shapely.contains_xy(inner, lon, lat)
    edge = np.flatnonzero(~found & shapely.intersects_xy(outer, lon, lat))
    if len(edge):
        points = shapely.points(lon[edge], lat[edge])
        pieces = quadrats(polygon)
        for piece in pieces:
            shapely.prepare(piece)
        found[edge] = np.logical_or.reduce([shapely.intersects(piece, points) for piece in pieces])
    return found


def quadrats(polygon: BaseGeometry, min_num: int = 3) -> list[BaseGeometry]:
    """``osmnx.utils_geo._quadrat_cut_geometry`` as ``_intersect_index_quadrats`` uses it.

    The polygon split by a grid of lines ``max(0.1, sqrt(area) / 10)`` apart, each piece
    ``buffer(0)``-ed, keeping valid pieces of positive area; done the same way so that
    points on a boundary fall on the same side as in osmnx.
    """
    width = max(0.1, np.sqrt(polygon.area) / 10)
    left, bottom, right, top = polygon.bounds
    x_num = int(np.ceil((right - left) / width) + 1)
    y_num = int(np.ceil((top - bottom) / width) + 1)
    xs = np.linspace(left, right, num=max(x_num, min_num))
    ys = np.linspace(bottom, top, num=max(y_num, min_num))
    lines = [LineString([(x, ys[0]), (x, ys[-1])]) for x in xs] + [
        LineString([(xs[0], y), (xs[-1], y)]) for y in ys
    ]
    geoms = [polygon]
    for line in lines:
        geoms = [
            g
            for geom in geoms
            for g in (split(geom, line).geoms if geom.intersects(line) else [geom])
        ]
    pieces = [p.buffer(0) for p in MultiPolygon(geoms).geoms]
    return [p for p in pieces if p.is_valid and p.area > 0]


# --------------------------------------------------------------------------------------
# The graph


@dataclass
class _Segments:
    """Unsimplified graph: nodes, and segments (a, b) of way ``way`` with ``length``."""

    node_id: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    a: np.ndarray
    b: np.ndarray
    way: np.ndarray
    length: np.ndarray


def walk_graph(ways: WayArrays, polygon: BaseGeometry, grown: BaseGeometry) -> WalkGraph:
    """The simplified, undirected walking graph of ``ways`` (module doc), WGS84.

    ``ways`` are the ways touching ``grown`` (:func:`touching_ways`); the graph is
    truncated to ``grown``, simplified, then truncated to ``polygon``.

    Raises
    ------
    NoStreetsInside
        When no node lies within ``grown`` or, after simplification, ``polygon``.
    """
    seg = _segments(ways)
    seg = _truncate(seg, inside(seg.lon, seg.lat, grown))
    ends, edges = _simplify(seg)
    within = np.zeros(len(seg.node_id), dtype=bool)
    within[ends] = inside(seg.lon[ends], seg.lat[ends], polygon)
    keep_node, keep_edge = _truncate_mask(edges.u, edges.v, within)
    edges = _drop_copies(seg, edges.take(keep_edge), len(ways.way_id))
    kept = ends[keep_node[ends]]
    position = np.full(len(seg.node_id), -1, dtype=np.int64)
    position[kept] = np.arange(len(kept))
    points = _ranges(edges.first, edges.n_points, edges.sequence)
    return WalkGraph(
        seg.node_id[kept],
        seg.lon[kept],
        seg.lat[kept],
        position[edges.u],
        position[edges.v],
        edges.length,
        np.r_[0, np.cumsum(edges.n_points)].astype(np.int64),
        seg.lon[points],
        seg.lat[points],
        _merged_tags(ways, edges),
    )


@dataclass
class _Edges:
    """Simplified edges: per edge ``u``, ``v``, ``length``, its node ``sequence[first:
    first + n_points]`` and ``edge`` id; ``way_edge``/``way_id`` pairs give each edge id's
    ways."""

    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    first: np.ndarray
    n_points: np.ndarray
    edge: np.ndarray
    sequence: np.ndarray
    way_edge: np.ndarray
    way_id: np.ndarray

    def take(self, mask: np.ndarray) -> _Edges:
        return _Edges(
            self.u[mask],
            self.v[mask],
            self.length[mask],
            self.first[mask],
            self.n_points[mask],
            self.edge[mask],
            self.sequence,
            self.way_edge,
            self.way_id,
        )


def _segments(ways: WayArrays) -> _Segments:
    counts = np.diff(ways.start)
    owner = np.repeat(np.arange(ways.n_ways), counts)
    ids = ways.node_id
    # osmnx drops a node repeated right after itself in a way (itertools.groupby)
    repeat = np.r_[False, (ids[1:] == ids[:-1]) & (owner[1:] == owner[:-1])]
    ids, owner = ids[~repeat], owner[~repeat]
    lon, lat = ways.lon[~repeat], ways.lat[~repeat]
    node_id, first, index = np.unique(ids, return_index=True, return_inverse=True)
    same_way = owner[1:] == owner[:-1]
    a, b = index[:-1][same_way], index[1:][same_way]
    lon, lat = lon[first], lat[first]
    return _Segments(
        node_id, lon, lat, a, b, owner[:-1][same_way], great_circle(lat[a], lon[a], lat[b], lon[b])
    )


def _truncate_mask(
    a: np.ndarray, b: np.ndarray, within: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """osmnx's ``truncate_by_edge``: keep nodes inside, and outside nodes with a
    neighbour inside; keep the segments between kept nodes."""
    if not within.any():
        raise NoStreetsInside("Found no graph nodes within the requested polygon.")
    keep = within.copy()
    keep[b[within[a]]] = True
    keep[a[within[b]]] = True
    return keep, keep[a] & keep[b]


def _truncate(seg: _Segments, within: np.ndarray) -> _Segments:
    keep, keep_segment = _truncate_mask(seg.a, seg.b, within)
    position = np.cumsum(keep) - 1
    return _Segments(
        seg.node_id[keep],
        seg.lon[keep],
        seg.lat[keep],
        position[seg.a[keep_segment]],
        position[seg.b[keep_segment]],
        seg.way[keep_segment],
        seg.length[keep_segment],
    )


def _simplify(seg: _Segments) -> tuple[np.ndarray, _Edges]:
    """The endpoints (positions in ``seg``) and the merged edges between them (module doc).

    Each chain of segments through non-endpoints becomes one edge, taken in one direction
    (osmnx builds both, and ``to_undirected`` keeps one); segments between two endpoints
    stay as they are.
    """
    n, m = len(seg.node_id), len(seg.a)
    a, b = seg.a, seg.b
    degree = np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
    pairs = distinct(np.minimum(a, b) * n + np.maximum(a, b))
    neighbours = np.bincount(pairs // n, minlength=n) + np.bincount(pairs % n, minlength=n)
    middle = (degree == 2) & (neighbours == 2)
    # a piece whose nodes are all "middle" is a ring touching no junction: osmnx drops it
    _, piece = connected_components(coo_array((np.ones(m), (a, b)), shape=(n, n)), directed=False)
    has_end = np.zeros(piece.max() + 1 if n else 0, dtype=bool)
    has_end[piece[~middle]] = True
    ring = ~has_end[piece]
    ends = np.flatnonzero(~middle)

    # Half-edges: h < m runs a -> b, h >= m runs b -> a.
    tail, head = np.r_[a, b], np.r_[b, a]
    reverse = np.r_[np.arange(m, 2 * m), np.arange(m)]
    step_of = np.full(2 * m, -1, dtype=np.int64)
    out = np.flatnonzero(middle[tail] & ~ring[tail])
    out = out[np.argsort(tail[out], kind="stable")]  # two half-edges leave each middle node
    step_of[reverse[out[0::2]]] = out[1::2]
    step_of[reverse[out[1::2]]] = out[0::2]
    pointer = np.where(step_of >= 0, step_of, np.arange(2 * m))
    rank = (step_of >= 0).astype(np.int64)  # steps to the chain's last half-edge
    last_of = step_of < 0
    while not last_of[pointer].all():
        rank = rank + rank[pointer]
        pointer = pointer[pointer]

    # One direction per chain: from the half-edge leaving an endpoint, kept when its id
    # is below that of the reverse chain's first half-edge.
    starts = np.flatnonzero(~middle[tail] & middle[head] & ~ring[head])
    starts = starts[starts < reverse[pointer[starts]]]
    chain_of = np.full(2 * m, -1, dtype=np.int64)
    chain_of[pointer[starts]] = np.arange(len(starts))
    members = np.flatnonzero((middle[head] | middle[tail]) & ~ring[tail])
    members = members[chain_of[pointer[members]] >= 0]
    chain = chain_of[pointer[members]]
    order = np.lexsort((-rank[members], chain))
    members, chain = members[order], chain[order]
    n_chains = len(starts)
    first = np.searchsorted(chain, np.arange(n_chains))
    size = np.diff(np.r_[first, len(members)])
    last = first + size - 1
    chain_length = (
        np.add.reduceat(np.r_[seg.length, seg.length][members], first) if n_chains else np.empty(0)
    )
    chain_nodes = np.insert(tail[members], last + 1, head[members[last]])

    direct = np.flatnonzero(~middle[a] & ~middle[b])
    n_direct = len(direct)
    n_points = np.r_[np.full(n_direct, 2), size + 1].astype(np.int64)
    way_edge = np.r_[np.arange(n_direct), n_direct + chain]
    way_id = np.r_[seg.way[direct], np.r_[seg.way, seg.way][members]]
    n_ways = int(seg.way.max()) + 1 if m else 1
    pairs = distinct(way_edge * n_ways + way_id)
    return ends, _Edges(
        u=np.r_[a[direct], tail[members[first]]].astype(np.int64),
        v=np.r_[b[direct], head[members[last]]].astype(np.int64),
        length=np.r_[seg.length[direct], chain_length],
        first=(np.cumsum(n_points) - n_points).astype(np.int64),
        n_points=n_points,
        edge=np.arange(n_direct + n_chains),
        sequence=np.r_[np.column_stack([a[direct], b[direct]]).ravel(), chain_nodes],
        way_edge=pairs // n_ways,
        way_id=pairs % n_ways,
    )


def _ranges(first: np.ndarray, counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values[first[i]:first[i] + counts[i]]`` for every i, concatenated."""
    total = int(counts.sum())
    offsets = np.repeat(first - (np.cumsum(counts) - counts), counts)
    return values[np.arange(total) + offsets]


def _drop_copies(seg: _Segments, edges: _Edges, n_ways: int) -> _Edges:
    """Parallel edges with the same ways and the same geometry (either way) count once."""
    key = np.minimum(edges.u, edges.v) * len(seg.node_id) + np.maximum(edges.u, edges.v)
    shared = np.flatnonzero(pd.Series(key).duplicated(keep=False).to_numpy())
    if len(shared) == 0:
        return edges
    mine = np.isin(edges.way_edge, edges.edge[shared])
    ways = pd.Series(edges.way_id[mine]).groupby(edges.way_edge[mine]).agg(frozenset).to_dict()
    seen: set[tuple] = set()
    keep = np.ones(len(key), dtype=bool)
    for i in shared.tolist():
        f, c = int(edges.first[i]), int(edges.n_points[i])
        points = edges.sequence[f : f + c]
        coords = tuple(zip(seg.lon[points].tolist(), seg.lat[points].tolist(), strict=True))
        signature = (int(key[i]), ways[int(edges.edge[i])], min(coords, coords[::-1]))
        if signature in seen:
            keep[i] = False
        seen.add(signature)
    return edges.take(keep)


def _merged_tags(ways: WayArrays, edges: _Edges) -> dict[str, np.ndarray]:
    """Per edge and tag, the distinct values of its ways (sorted, ``;``-joined)."""
    n = len(edges.edge)
    row_of = np.full(
        int(edges.way_edge.max()) + 1 if len(edges.way_edge) else 0, -1, dtype=np.int64
    )
    row_of[edges.edge] = np.arange(n)
    row = row_of[edges.way_edge]
    out = {}
    for key in WAY_TAGS:
        codes, values = pd.factorize(ways.tags[key], use_na_sentinel=True)
        values = np.asarray(values, dtype=object)
        code = codes[edges.way_id]
        ok = (code >= 0) & (row >= 0)
        pairs = distinct(row[ok] * (len(values) + 1) + code[ok])
        pair_row, pair_code = pairs // (len(values) + 1), pairs % (len(values) + 1)
        merged = np.full(n, None, dtype=object)
        rows, start, count = np.unique(pair_row, return_index=True, return_counts=True)
        single = count == 1
        merged[rows[single]] = values[pair_code[start[single]]]
        for r, s, c in zip(
            rows[~single].tolist(), start[~single].tolist(), count[~single].tolist(), strict=True
        ):
            merged[r] = ";".join(sorted(values[pair_code[s : s + c]].tolist()))
        out[key] = merged
    return out
