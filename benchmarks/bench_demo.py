"""Walking times on the demo: circle15's engine against networkx, answers checked first.

Run: ``.venv/bin/python benchmarks/bench_demo.py``. Prints one row per step with the time
of each and the ratio. Both sides get the same graph (the routing graph with cells and
facilities spliced in), so the comparison is of the search, not of the snapping.
"""

from __future__ import annotations

import time

import networkx as nx
import numpy as np

from circle15 import Study
from circle15.engine import build_routing_graph, nearest_facility
from circle15.engine.snapping import EdgeIndex


def _best_of(fn, repeat: int = 3) -> tuple[float, object]:
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def main() -> None:
    study = Study.demo()
    net, cells = study.network, study.population.cells
    index = EdgeIndex(net)
    t_snap, snaps = _best_of(lambda: (
        index.snap(cells.geometry.centroid.to_numpy(), 300.0),
        [index.snap(f.facilities.geometry.to_numpy(), 300.0) for f in study.facilities.values()],
    ))
    cell_snap, fac_snaps = snaps
    t_graph, graph = _best_of(lambda: build_routing_graph(net, [cell_snap, *fac_snaps]))
    cell_nodes, fac_nodes = graph.point_nodes[0], graph.point_nodes[1:]

    t_ours, ours = _best_of(lambda: [nearest_facility(graph, cell_nodes, f) for f in fac_nodes])

    coo = graph.csr.tocoo()
    G = nx.Graph()
    G.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(),
                                  strict=True))

    def with_networkx():
        out = []
        for f in fac_nodes:
            dist = nx.multi_source_dijkstra_path_length(G, set(f[f >= 0].tolist()))
            out.append(np.array([dist.get(int(n), np.inf) if n >= 0 else np.inf
                                 for n in cell_nodes]))
        return out

    t_nx, theirs = _best_of(with_networkx, repeat=1)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.distance_m, b, rtol=1e-9)

    print(f"demo: {net.n_nodes:,} nodes, {net.n_edges:,} edges, {len(cells):,} cells, "
          f"{len(fac_nodes)} categories; answers identical")
    print(f"{'step':<44}{'seconds':>10}")
    print(f"{'circle15 snap cells + facilities to edges':<44}{t_snap:>10.4f}")
    print(f"{'circle15 build routing graph':<44}{t_graph:>10.4f}")
    print(f"{'circle15 nearest facility, all categories':<44}{t_ours:>10.4f}")
    print(f"{'networkx multi_source_dijkstra, all cats':<44}{t_nx:>10.4f}")
    print(f"networkx / circle15 (search only): {t_nx / t_ours:.1f}x")


if __name__ == "__main__":
    main()
