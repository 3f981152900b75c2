"""Where the walking network is broken: separate pieces with their residents, and loose ends.

A planner's centrelines often fall apart where they were drawn: a street that stops a metre
short of the one it meets, an estate whose paths never reach the road. Residents there
cannot walk to anything, and the run counts them as unreachable. This module lists such
places as map features, so that they can be found and fixed:

- **separate pieces** (``kind = "separate_piece"``): every connected piece of the street
  network but the largest (by junctions), with its streets (a MultiLineString), their
  length, the residents snapped to it and the categories with no facility on it;
- **loose ends** (``kind = "loose_end"``): dead ends (a node with one street) lying within
  ``loose_end_m`` metres of a street line they are not joined to -- neither their own
  street nor one meeting it at its other end -- i.e. a probable drawing gap; ``nearest_m``
  is the gap.

Pure function of the engine's graph labels and the network: no file I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..model import WalkingNetwork
from ..standards import Category

#: Columns of the ``network_issues`` table (and GeoPackage layer), geometry last.
NETWORK_ISSUE_COLUMNS = [
    "issue_id",
    "kind",
    "description",
    "population",
    "length_m",
    "nearest_m",
    "geometry",
]
SEPARATE_PIECE = "separate_piece"
LOOSE_END = "loose_end"


def network_issues(
    network: WalkingNetwork,
    labels: np.ndarray,
    cell_nodes: np.ndarray,
    cell_population: np.ndarray,
    facility_nodes: Mapping[str, np.ndarray],
    categories: Mapping[str, Category],
    *,
    loose_end_m: float = 5.0,
    edge_tree: shapely.STRtree | None = None,
) -> gpd.GeoDataFrame:
    """Separate network pieces and loose ends, as map features.

    Parameters
    ----------
    network : WalkingNetwork
        The street network (its nodes are graph nodes ``0..n_nodes-1``).
    labels : ndarray
        Connected-piece label of every routing-graph node
        (``engine.RoutingGraph.components()``), street nodes first.
    cell_nodes : ndarray
        Graph node of each populated cell, -1 where it is not snapped.
    cell_population : ndarray
        Residents of each cell (all ages).
    facility_nodes : mapping
        Per category, the graph node of each facility (-1 where not snapped).
    categories : mapping
        Categories by key, for their names.
    loose_end_m : float, default 5
        A dead end this close to a street line it is not joined to is a loose end;
        0 lists none.
    edge_tree : shapely.STRtree, optional
        An STRtree of the network's edge geometries in edge order (the engine's
        ``EdgeIndex.tree``), reused instead of building another.

    Returns
    -------
    GeoDataFrame
        ``NETWORK_ISSUE_COLUMNS`` in the network's CRS: ``issue_id`` (``piece-001`` …,
        most residents first; ``loose-001`` …, smallest gap first), ``kind``, a bilingual
        ``description``, ``population`` (residents snapped to the piece; 0 for a loose
        end), ``length_m`` (street length of the piece; 0 for a loose end), ``nearest_m``
        (a loose end's gap to the nearest line it is not joined to; NaN for a piece),
        geometry (MultiLineString for a piece, Point for a loose end).
    """
    pieces = _separate_pieces(
        network, labels, cell_nodes, cell_population, facility_nodes, categories
    )
    ends = _loose_ends(network, loose_end_m, edge_tree)
    frames = [f for f in (pieces, ends) if len(f)]
    if not frames:
        return gpd.GeoDataFrame(
            {c: pd.Series(dtype=_DTYPES[c]) for c in NETWORK_ISSUE_COLUMNS[:-1]},
            geometry=gpd.GeoSeries([], crs=network.crs),
            crs=network.crs,
        )
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out[NETWORK_ISSUE_COLUMNS], geometry="geometry", crs=network.crs)


_DTYPES = {
    "issue_id": object,
    "kind": object,
    "description": object,
    "population": float,
    "length_m": float,
    "nearest_m": float,
}


def summarise(issues: gpd.GeoDataFrame) -> dict[str, Any]:
    """Counts for the run's diagnostics (``manifest.json``)."""
    pieces = issues[issues["kind"] == SEPARATE_PIECE]
    return {
        "separate_pieces": len(pieces),
        "residents_on_separate_pieces": float(pieces["population"].sum()),
        "loose_ends": int((issues["kind"] == LOOSE_END).sum()),
    }


def issue_warnings(issues: gpd.GeoDataFrame, loose_end_m: float) -> list[str]:
    """A warning for the loose ends (separate pieces are warned about with their
    residents by ``checks.run_warnings``), pointing at the layer that shows them."""
    ends = int((issues["kind"] == LOOSE_END).sum())
    if not ends:
        return []
    return [
        f"the walking network has {ends:,} loose ends: dead ends within {loose_end_m:g} m "
        "of a street line they are not joined to, probably drawing gaps that cut "
        "routes; see the network_issues layer of results.gpkg (analysis.loose_end_m)"
    ]


def _separate_pieces(
    network: WalkingNetwork,
    labels: np.ndarray,
    cell_nodes: np.ndarray,
    cell_population: np.ndarray,
    facility_nodes: Mapping[str, np.ndarray],
    categories: Mapping[str, Category],
) -> pd.DataFrame:
    u = network.edges["u"].to_numpy(dtype=np.int64)
    v = network.edges["v"].to_numpy(dtype=np.int64)
    length = network.edges["length_m"].to_numpy(dtype=float)
    piece_of_edge = labels[u]
    # Pieces with streets, numbered 0..k-1 (labels are small integers: array lookups, no
    # hashing); a node without any street is no piece to fix.
    remap = np.full(int(labels.max()) + 1, -1)
    names = np.flatnonzero(np.bincount(piece_of_edge, minlength=len(remap)) > 0)
    remap[names] = np.arange(len(names))
    edge_piece = remap[piece_of_edge]
    used = np.zeros(len(labels), bool)
    used[u] = used[v] = True
    nodes = np.bincount(remap[labels[np.flatnonzero(used)]], minlength=len(names))
    street_m = np.bincount(edge_piece, weights=length, minlength=len(names))
    main = np.lexsort((-street_m, -nodes))[0]
    others = np.setdiff1d(np.arange(len(names)), [main])
    if not len(others):
        return pd.DataFrame(columns=NETWORK_ISSUE_COLUMNS)

    def piece_index(graph_nodes: np.ndarray) -> np.ndarray:
        """Index into ``names`` of each node's piece, -1 off the streets' pieces."""
        ok = graph_nodes >= 0
        return np.where(ok, remap[labels[np.where(ok, graph_nodes, 0)]], -1)

    cells = piece_index(np.asarray(cell_nodes))
    pop = np.asarray(cell_population, dtype=float)
    residents = np.bincount(cells[cells >= 0], weights=pop[cells >= 0], minlength=len(names))
    has = {}
    for key in categories:
        at = piece_index(np.asarray(facility_nodes.get(key, np.empty(0, np.int64))))
        has[key] = np.isin(np.arange(len(names)), at[at >= 0])

    # One MultiLineString per piece, from its edges' parts (grouped in sorted order).
    keep = np.isin(edge_piece, others)
    parts, owner = shapely.get_parts(network.edges.geometry.to_numpy()[keep], return_index=True)
    group = edge_piece[keep][owner]
    order = np.argsort(group, kind="stable")
    lines = shapely.multilinestrings(parts[order], indices=np.searchsorted(others, group[order]))
    table = pd.DataFrame(
        {
            "piece": others,
            "nodes": nodes[others],
            "population": residents[others],
            "length_m": street_m[others],
            "geometry": lines,
        }
    )
    table = table.sort_values(
        ["population", "length_m", "nodes"], ascending=False, kind="stable"
    ).reset_index(drop=True)
    table["issue_id"] = [f"piece-{i:03d}" for i in range(1, len(table) + 1)]
    table["kind"] = SEPARATE_PIECE
    table["nearest_m"] = np.nan
    labels_of = {k: f"{c.name_zh} {c.name_en}" for k, c in categories.items()}
    table["description"] = [
        _piece_text(
            int(nd), float(p), float(m), [labels_of[k] for k in categories if not has[k][pc]]
        )
        for pc, nd, p, m in zip(
            table["piece"], table["nodes"], table["population"], table["length_m"], strict=True
        )
    ]
    return table[NETWORK_ISSUE_COLUMNS]


def _piece_text(nodes: int, residents: float, metres: float, missing: list[str]) -> str:
    who = (
        f"{residents:,.0f} residents snapped to it"
        if residents > 0
        else "no residents snapped to it"
    )
    what = f"no facility of {', '.join(missing)}" if missing else "facilities of every category"
    consequence = (
        " — they count as unreachable for those categories; join it to the "
        "main network where it should connect"
        if residents > 0 and missing
        else ""
    )
    return (
        f"独立路网片段 separate network piece: {nodes:,} nodes, {metres:,.0f} m of street, "
        f"{who}; {what}{consequence}"
    )


def _loose_ends(
    network: WalkingNetwork, within_m: float, tree: shapely.STRtree | None
) -> pd.DataFrame:
    if within_m <= 0:
        return pd.DataFrame(columns=NETWORK_ISSUE_COLUMNS)
    u = network.edges["u"].to_numpy(dtype=np.int64)
    v = network.edges["v"].to_numpy(dtype=np.int64)
    n = network.n_nodes
    # Degree over distinct neighbours: parallel streets count once, self-loops not at all.
    a, b = np.minimum(u, v), np.maximum(u, v)
    pair = np.sort((a * np.int64(n) + b)[a != b])
    pair = pair[np.r_[True, pair[1:] != pair[:-1]]] if len(pair) else pair
    a, b = pair // n, pair % n
    degree = np.bincount(np.concatenate([a, b]), minlength=n)
    dead = np.flatnonzero(degree == 1)
    if not len(dead):
        return pd.DataFrame(columns=NETWORK_ISSUE_COLUMNS)
    # The one neighbour of each dead end.
    ends = np.concatenate([a, b])
    other = np.concatenate([b, a])
    first = np.full(n, -1)
    first[ends[::-1]] = other[::-1]
    neighbour = first[dead]

    points = network.nodes.geometry.to_numpy()[dead]
    lines = network.edges.geometry.to_numpy()
    tree = tree if tree is not None else shapely.STRtree(lines)
    hit_point, hit_line = tree.query(points, predicate="dwithin", distance=within_m)
    # Not a loose end: lines that meet the dead end, or meet its neighbour (an overshoot
    # past a junction is no gap).
    own = np.stack([dead[hit_point], neighbour[hit_point]], axis=1)
    joined = ((u[hit_line][:, None] == own) | (v[hit_line][:, None] == own)).any(axis=1)
    hit_point, hit_line = hit_point[~joined], hit_line[~joined]
    if not len(hit_point):
        return pd.DataFrame(columns=NETWORK_ISSUE_COLUMNS)
    gap = shapely.distance(points[hit_point], lines[hit_line])
    best = np.full(len(dead), np.inf)
    np.minimum.at(best, hit_point, gap)
    loose = np.flatnonzero(np.isfinite(best))
    order = loose[np.lexsort((dead[loose], best[loose]))]
    table = pd.DataFrame(
        {
            "issue_id": [f"loose-{i:03d}" for i in range(1, len(order) + 1)],
            "kind": LOOSE_END,
            "description": [
                f"断头 loose end: a dead end {g:.1f} m from a street line it is not "
                "joined to — probably a drawing gap; join the lines"
                for g in best[order]
            ],
            "population": 0.0,
            "length_m": 0.0,
            "nearest_m": best[order],
            "geometry": points[order],
        }
    )
    return table[NETWORK_ISSUE_COLUMNS]
