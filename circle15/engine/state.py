"""The engine state of a run, kept so that what-ifs reuse it instead of starting over."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .graph import Attachment, RoutingGraph
from .nearest import NearestFacility
from .sites import SiteSet
from .snapping import EdgeIndex, Snap

#: Values kept per (name, category) by :meth:`EngineState.memo_for`.
MEMO_DEPTH = 4


@dataclass(frozen=True)
class EngineState:
    """What a coverage run computed once: the street index, the routing graph, the cells'
    place in it, and per category the facilities (as sites) and each cell's nearest one.

    ``sites[key]`` lists a category's facilities in the order of that category's rows in
    ``CoverageResult.facilities``; ``nearest[key].facility`` holds positions in it.

    Attributes
    ----------
    edge_index : EdgeIndex
        Spatial index of the street edges, for snapping new sites.
    graph : RoutingGraph
        Streets with the cells and the run's facilities spliced in.
    max_snap_m : float
        Snap limit in metres.
    cell_snap : Snap
        Where each populated cell meets the streets.
    cell_nodes : ndarray of int64
        Graph node of each populated cell (-1 unsnapped).
    sites : dict of str to SiteSet
        Facilities per category.
    nearest : dict of str to NearestFacility
        Walking metres from each cell to its nearest facility, per category.
    """

    edge_index: EdgeIndex
    graph: RoutingGraph
    max_snap_m: float
    cell_snap: Snap
    cell_nodes: np.ndarray
    sites: dict[str, SiteSet]
    nearest: dict[str, NearestFacility]
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def memo(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, worked out once and shared by every state derived from this one."""
        if name not in self._cache:
            self._cache[name] = compute()
        return self._cache[name]

    def memo_for(self, category: str, name: str, compute: Callable[[], Any]) -> Any:
        """Like :meth:`memo`, for a value that depends on one category's sites: worked out
        again once that category's sites change (kept while they are the same object).

        The last few values are kept, so that states derived from one another (a baseline
        and its what-ifs) do not push each other's values out.
        """
        value = self.peek_for(category, name)
        if value is None:
            value = compute()
            self.remember_for(category, name, value)
        return value

    def peek_for(self, category: str, name: str) -> Any:
        """The value :meth:`memo_for` holds for the category's current sites, else None.

        A value found moves to the front, so the values in use (a baseline's, while
        what-ifs start from it again and again) are the last to go.
        """
        kept = self._cache.get((name, category), [])
        for i, (sites, value) in enumerate(kept):
            if sites is self.sites[category]:
                if i:
                    kept.insert(0, kept.pop(i))
                return value
        return None

    def remember_for(self, category: str, name: str, value: Any) -> None:
        """Store ``value`` as :meth:`memo_for` would have computed it for the category's
        current sites (when a caller can derive it more cheaply than from scratch)."""
        kept = [(s, v) for s, v in self._cache.get((name, category), ())
                if s is not self.sites[category]]
        self._cache[(name, category)] = [(self.sites[category], value), *kept][:MEMO_DEPTH]

    @property
    def node_piece(self) -> np.ndarray:
        """Network piece (connected component) of every graph node."""
        labels: np.ndarray = self.memo("node_piece", self.graph.components)
        return labels

    def attach(self, points: np.ndarray) -> tuple[Snap, Attachment]:
        """Snap points (study CRS) to the streets and say where they join the graph."""
        snap = self.edge_index.snap(points, self.max_snap_m)
        return snap, self.graph.attach(snap)

    def updated(self, category: str, sites: SiteSet, nearest: NearestFacility) -> EngineState:
        """A copy with one category's sites and nearest facilities replaced."""
        return replace(self, sites={**self.sites, category: sites},
                       nearest={**self.nearest, category: nearest}, _cache=self._cache)
