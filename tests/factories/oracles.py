"""Oracles several test files share, written without circle15's engine or writers.

- :func:`oracle_graph`: a networkx graph of the streets with every snapped point spliced
  in on a pendant leg (routing oracle of the engine and OSM tests);
- :func:`oracle_metres`: brute-force snapping and networkx Dijkstra, ordinary or step-free
  (step-free, barrier and diff tests);
- :func:`check_folder`: an output folder against its ``manifest.json``, from the manifest
  format alone, hashing every visible file with hashlib (interrupted-run, publishing and
  output-folder tests).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections import defaultdict
from pathlib import Path

import networkx as nx
import numpy as np
import shapely
from shapely.geometry import Point

from circle15.model import WalkingNetwork

#: Points farther than this from every street stay unsnapped (the tests' ``max_snap_m``).
MAX_SNAP_M = 300.0
#: circle15's own folder inside an output folder.
STATE = ".circle15"


def oracle_graph(n_nodes, edges, point_sets):
    """networkx graph with every snapped point spliced in; returns (G, pendant keys)."""
    G = nx.Graph()
    G.add_nodes_from(("node", i) for i in range(n_nodes))

    def link(a, b, w):
        assert w >= -1e-9
        if a == b:  # a loop never shortens a path
            return
        if G.has_edge(a, b):
            G[a][b]["weight"] = min(G[a][b]["weight"], w)
        else:
            G.add_edge(a, b, weight=w)

    on_edge = defaultdict(list)
    pendants = []
    for s, snaps in enumerate(point_sets):
        keys = []
        for i, sn in enumerate(snaps):
            if sn is None:
                keys.append(None)
                continue
            e, off, leg = sn
            key = ("pt", s, i)
            on_edge[e].append((off, ("foot", s, i)))
            link(("foot", s, i), key, leg)
            keys.append(key)
        pendants.append(keys)

    for row, (u, v, length) in enumerate(edges):
        prev, prev_off = ("node", u), 0.0
        for off, foot in sorted(on_edge[row]):
            link(prev, foot, off - prev_off)
            prev, prev_off = foot, off
        link(prev, ("node", v), length - prev_off)
    return G, pendants


def _nearest_street(point: Point, geoms: np.ndarray, rows: np.ndarray) -> tuple[int, float, float]:
    """Brute force: the row of the nearest street among ``rows`` (lowest on a tie), the
    foot's offset along it and the distance."""
    dist = shapely.distance(point, geoms[rows])
    best = rows[np.flatnonzero(dist == dist.min())[0]]
    return int(best), float(shapely.line_locate_point(geoms[best], point)), float(dist.min())


def oracle_metres(
    network: WalkingNetwork, cells: np.ndarray, facilities: np.ndarray, step_free: bool
) -> np.ndarray:
    """networkx: metres from each cell to the nearest facility, inf without a route."""
    edges = network.edges
    geoms = edges.geometry.to_numpy()
    lengths = edges["length_m"].to_numpy(dtype=float)
    drawn = shapely.length(geoms)
    steps = (
        edges["highway"].astype(str).str.contains("steps")
        | (edges["wheelchair"].astype(str) == "no")
    ).to_numpy()
    everything = np.arange(len(edges))
    usable = everything[~steps] if step_free else everything
    points = np.concatenate([cells, facilities])
    feet: dict[int, list[tuple[float, str]]] = {}
    legs = {}
    for i, point in enumerate(points):
        row, along, dist = _nearest_street(point, geoms, everything)
        if step_free and steps[row]:
            row, along, dist = _nearest_street(point, geoms, usable)
        if dist > MAX_SNAP_M:
            continue
        offset = min(max(along / drawn[row], 0.0), 1.0) * lengths[row]
        feet.setdefault(row, []).append((offset, f"p{i}"))
        legs[f"p{i}"] = dist
    g = nx.Graph()

    def link(a, b, w):
        if a == b:
            return
        if not g.has_edge(a, b) or g[a][b]["weight"] > w:
            g.add_edge(a, b, weight=w)

    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    for row in usable:
        chain = [(0.0, f"n{u[row]}"), *sorted(feet.get(row, [])), (lengths[row], f"n{v[row]}")]
        for (o1, a), (o2, b) in itertools.pairwise(chain):
            na = f"s{a}" if a.startswith("p") else a
            nb = f"s{b}" if b.startswith("p") else b
            link(na, nb, o2 - o1)
    for name, leg in legs.items():
        g.add_edge(f"s{name}", name, weight=leg)
    sources = [f"p{len(cells) + j}" for j in range(len(facilities)) if f"p{len(cells) + j}" in g]
    dist = nx.multi_source_dijkstra_path_length(g, sources) if sources else {}
    return np.array([dist.get(f"p{i}", np.inf) for i in range(len(cells))])


def visible_files(out: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """SHA-256 of every file a reader of ``out`` sees (links followed), but circle15's own
    folder and the names in ``skip`` (the user's files)."""
    found = {}
    for root, dirs, files in os.walk(out):
        dirs[:] = [d for d in dirs if d != STATE]
        for name in files:
            path = Path(root) / name
            rel = path.relative_to(out).as_posix()
            if rel in skip or not path.exists():  # a dangling link shows no file
                continue
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def check_folder(out: Path, skip: tuple[str, ...] = ()) -> dict | None:
    """The folder's manifest when the folder matches it exactly, None when it has none."""
    path = out / "manifest.json"
    if not path.exists():
        return None
    manifest = json.loads(path.read_text(encoding="utf-8"))
    files = visible_files(out, skip)
    listed = {rel: record["sha256"] for rel, record in manifest["outputs"].items()}
    files.pop("manifest.json")
    assert files == listed, (
        sorted(set(files) ^ set(listed)),
        [r for r in files if files[r] != listed.get(r)],
    )
    return manifest
