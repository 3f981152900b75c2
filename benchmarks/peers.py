"""What a user would otherwise pick: pandana, networkx and the osmnx isochrone recipe.

Every peer gets circle15's routing graph (cells and facilities already spliced into the
streets, the same snapped nodes), so the comparison is of the network work, not of the
snapping, and the answers can be checked exactly. Each ``run_*`` returns its step timings
and its answers; ``check_*`` compares them with circle15's and raises when they differ.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import shapely

from circle15 import Study
from circle15.model import WalkingNetwork

from .workload import Core

#: Tolerances of the distance checks. pandana keeps edge weights in whole millimetres
#: (truncated) and reports single precision, so its distances run short by up to a
#: millimetre per street segment: a few centimetres over a long walk.
RTOL_DOUBLE, ATOL_DOUBLE = 1e-9, 1e-6
RTOL_PANDANA, ATOL_PANDANA = 1e-5, 0.05


def routing_node_xy(core: Core, network: WalkingNetwork) -> np.ndarray:
    """Coordinates of every routing-graph node: junctions, feet on the streets, points."""
    graph = core.graph
    xy = np.full((graph.n_nodes, 2), np.nan)
    xy[: graph.n_street_nodes] = shapely.get_coordinates(network.nodes.geometry.to_numpy())
    geoms = network.edges.geometry.to_numpy()[graph.split_edge]
    length = network.edges["length_m"].to_numpy(dtype=float)[graph.split_edge]
    share = np.divide(graph.split_offset, length, out=np.zeros(len(length)), where=length > 0)
    feet = shapely.line_interpolate_point(geoms, share, normalized=True)
    xy[graph.split_node] = shapely.get_coordinates(feet)
    sets = [core.cell_points, *core.facility_points.values()]
    for points, nodes in zip(sets, graph.point_nodes, strict=True):
        ok = nodes >= 0
        xy[nodes[ok]] = shapely.get_coordinates(points[ok])
    return xy


def _edges(core: Core) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    coo = core.graph.csr.tocoo()
    upper = coo.row < coo.col
    return coo.row[upper].astype(np.int64), coo.col[upper].astype(np.int64), coo.data[upper]


def _cell_values(by_node, cell_nodes: np.ndarray) -> np.ndarray:
    """Per cell, the value at its graph node (``inf`` for unsnapped cells)."""
    out = np.full(len(cell_nodes), np.inf)
    ok = cell_nodes >= 0
    out[ok] = by_node[cell_nodes[ok]]
    return out


# ------------------------------------------------------------------------------ networkx


def run_networkx(core: Core, study: Study) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """``networkx.multi_source_dijkstra_path_length`` from each category's facilities."""
    import networkx as nx

    i, j, w = _edges(core)
    start = time.perf_counter()
    g = nx.Graph()
    g.add_nodes_from(range(core.graph.n_nodes))
    g.add_weighted_edges_from(zip(i.tolist(), j.tolist(), w.tolist(), strict=True))
    t = {"build": time.perf_counter() - start}
    start = time.perf_counter()
    out = {}
    for key in study.categories:
        fac = core.facility_nodes[key]
        dist = nx.multi_source_dijkstra_path_length(g, set(fac[fac >= 0].tolist()))
        out[key] = np.array(
            [dist.get(int(n), np.inf) if n >= 0 else np.inf for n in core.cell_nodes]
        )
    t["search"] = time.perf_counter() - start
    t["total"] = t["build"] + t["search"]
    return t, out


def check_distances(
    core: Core, theirs: dict[str, np.ndarray], rtol: float = RTOL_DOUBLE, atol: float = ATOL_DOUBLE
) -> str:
    """Raise unless every cell's distance equals circle15's; a one-line summary."""
    worst, n = 0.0, 0
    for key, dist in theirs.items():
        ours = core.nearest[key].distance_m
        if not np.array_equal(np.isinf(ours), np.isinf(dist)):
            bad = int((np.isinf(ours) != np.isinf(dist)).sum())
            raise AssertionError(f"{key}: {bad} cells reachable on one side only")
        fin = np.isfinite(ours)
        np.testing.assert_allclose(dist[fin], ours[fin], rtol=rtol, atol=atol, err_msg=key)
        if fin.any():
            worst = max(worst, float(np.max(np.abs(dist[fin] - ours[fin]))))
        n += len(ours)
    return f"{n:,} cell-category distances equal (max diff {worst:.1e} m)"


# ------------------------------------------------------------------------------- pandana


def pandana_search_radius(core: Core) -> float:
    """A radius that holds every reachable cell's nearest facility, so that pandana's
    answers are complete (it reports the radius itself for anything farther)."""
    finite = [d.distance_m[np.isfinite(d.distance_m)] for d in core.nearest.values()]
    longest = max((float(f.max()) for f in finite if len(f)), default=1.0)
    return float(np.ceil(longest * 1.001 + 1.0))


def target_radius(study: Study, key: str) -> float:
    """Metres walked in the category's target time."""
    cat = study.categories[key]
    return cat.target_min * cat.metres_per_minute


def run_pandana(
    core: Core,
    study: Study,
    *,
    within_target: bool = False,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """pandana: network (contraction hierarchy) + ``precompute`` + ``nearest_pois``.

    ``precompute`` takes the longest target distance (the 15-minute walk), as a user
    would for accessibility aggregations. ``nearest_pois`` searches far enough to find
    every reachable cell's nearest facility (:func:`pandana_search_radius`), or with
    ``within_target`` only as far as the target distance (the cheaper question "who is
    within 15 minutes, and how far", without the times of the others).
    """
    import pandana

    xy = routing_node_xy(core, study.network)
    i, j, w = _edges(core)
    full = pandana_search_radius(core)
    precompute_m = max(c.target_min * c.metres_per_minute for c in study.categories.values())
    nodes = pd.RangeIndex(core.graph.n_nodes)
    start = time.perf_counter()
    net = pandana.Network(
        pd.Series(xy[:, 0], index=nodes),
        pd.Series(xy[:, 1], index=nodes),
        pd.Series(i),
        pd.Series(j),
        pd.DataFrame({"metres": w}),
        twoway=True,
    )
    t = {"build": time.perf_counter() - start}
    start = time.perf_counter()
    net.precompute(precompute_m)
    t["precompute"] = time.perf_counter() - start
    start = time.perf_counter()
    out, mapped = {}, {}
    for key in study.categories:
        radius = float(np.ceil(target_radius(study, key))) if within_target else full
        fac = core.facility_nodes[key]
        pts = xy[fac[fac >= 0]]
        net.set_pois(key, radius, 1, pd.Series(pts[:, 0]), pd.Series(pts[:, 1]))
        found = net.nearest_pois(radius, key, num_pois=1)
        by_node = found[1].to_numpy(dtype=float, copy=True)
        by_node[by_node >= radius] = np.inf  # pandana's way of saying "none within radius"
        out[key] = _cell_values(by_node, core.cell_nodes)
        mapped[key] = net.get_node_ids(pd.Series(pts[:, 0]), pd.Series(pts[:, 1])).to_numpy()
    t["search"] = time.perf_counter() - start
    t["total"] = t["build"] + t["precompute"] + t["search"]
    # pandana places each facility on its nearest node; that must be circle15's node.
    for key, got in mapped.items():
        fac = core.facility_nodes[key]
        ours = fac[fac >= 0]
        # Coincident nodes (a zero-length leg) are the same place.
        same = (xy[got] == xy[ours]).all(axis=1)
        if not same.all():
            raise AssertionError(
                f"{key}: pandana placed {int((~same).sum())} "
                "facilities on other nodes than circle15"
            )
    return t, out


# ------------------------------------------------------------------ osmnx isochrone recipe


def run_osmnx_recipe(core: Core, study: Study) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The osmnx isochrone recipe: an ego graph per facility, then the cells inside.

    The graph is an osmnx MultiDiGraph (``ox.graph_from_gdfs``, both directions of every
    street); for each facility ``nx.ego_graph(G, node, radius, distance="length")`` with
    the category's target distance (the recipe's ``time`` attribute at one walking speed
    is the same search), and a cell is covered when its node lies in any ego graph.
    Returns, per category, a boolean covered mask.
    """
    import geopandas as gpd
    import networkx as nx
    import osmnx as ox

    xy = routing_node_xy(core, study.network)
    i, j, w = _edges(core)
    n = core.graph.n_nodes
    nodes = gpd.GeoDataFrame(
        {"x": xy[:, 0], "y": xy[:, 1]},
        index=pd.Index(np.arange(n), name="osmid"),
        geometry=shapely.points(xy),
        crs=study.crs,
    )
    u, v = np.concatenate([i, j]), np.concatenate([j, i])
    edges = gpd.GeoDataFrame(
        {"length": np.concatenate([w, w])},
        index=pd.MultiIndex.from_arrays(
            [u, v, np.zeros(len(u), dtype=np.int64)], names=["u", "v", "key"]
        ),
        geometry=shapely.linestrings(np.stack([xy[u], xy[v]], axis=1)),
        crs=study.crs,
    )
    start = time.perf_counter()
    g = ox.graph_from_gdfs(nodes, edges)
    t = {"build": time.perf_counter() - start}
    start = time.perf_counter()
    out = {}
    for key, cat in study.categories.items():
        radius = cat.target_min * cat.metres_per_minute
        inside: set[int] = set()
        fac = core.facility_nodes[key]
        for node in fac[fac >= 0].tolist():
            inside.update(nx.ego_graph(g, node, radius=radius, distance="length").nodes)
        out[key] = np.isin(core.cell_nodes, np.fromiter(inside, dtype=np.int64)) & (
            core.cell_nodes >= 0
        )
    t["search"] = time.perf_counter() - start
    t["total"] = t["build"] + t["search"]
    return t, out


def check_within_target(core: Core, study: Study, theirs: dict[str, np.ndarray]) -> str:
    """Raise unless distances within the search radius equal circle15's and nothing
    beyond it is reported (pandana searched to ``ceil(target distance)`` only)."""
    for key, dist in theirs.items():
        radius = float(np.ceil(target_radius(study, key)))
        ours = core.nearest[key].distance_m
        inside = ours <= radius
        # pandana's millimetre weights may move a cell a hair across the radius.
        edge = np.abs(ours - radius) <= ATOL_PANDANA
        found = np.isfinite(dist)
        if ((inside != found) & ~edge).any():
            raise AssertionError(
                f"{key}: {int(((inside != found) & ~edge).sum())} cells "
                "within the radius on one side only"
            )
        both = inside & found
        np.testing.assert_allclose(
            dist[both], ours[both], rtol=RTOL_PANDANA, atol=ATOL_PANDANA, err_msg=key
        )
    n = sum(len(d) for d in theirs.values())
    return f"{n:,} cell-category distances within the target equal"


def check_covered(core: Core, study: Study, theirs: dict[str, np.ndarray]) -> str:
    """Raise unless the covered cells equal circle15's (within the target time)."""
    n = 0
    for key, covered in theirs.items():
        cat = study.categories[key]
        d = core.nearest[key].distance_m
        limit = cat.target_min * cat.metres_per_minute
        ours = d / cat.metres_per_minute <= cat.target_min
        differ = ours != covered
        # A cell exactly on the limit may fall either side by a rounding of metres/minutes.
        differ &= np.abs(d - limit) > 1e-6
        if differ.any():
            raise AssertionError(f"{key}: {int(differ.sum())} cells covered on one side only")
        n += len(d)
    return f"{n:,} cell-category coverage flags equal"


PEERS = {
    "pandana": (
        run_pandana,
        lambda core, study, ans: check_distances(core, ans, RTOL_PANDANA, ATOL_PANDANA),
    ),
    "pandana-15min": (
        lambda core, study: run_pandana(core, study, within_target=True),
        check_within_target,
    ),
    "networkx": (run_networkx, lambda core, study, ans: check_distances(core, ans)),
    "osmnx-recipe": (run_osmnx_recipe, check_covered),
}
