"""The engine state of a run, kept so that what-ifs reuse it instead of starting over."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .graph import Attachment, RoutingGraph
from .nearest import NearestFacility
from .profiles import ORDINARY, Profile
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
        Walking metres from each cell to its nearest facility, per category, over the
        category's walking profile.
    profiles : dict of str to Profile
        Walking profiles besides the ordinary one (``step_free``), each a routing graph
        that shares the ordinary graph's nodes.
    category_profile : dict of str to str
        The profile of each category that does not walk the ordinary one.
    with_steps : dict of str to (SiteSet, NearestFacility)
        For the categories of another profile: their facilities as sites of the ordinary
        graph and each cell's nearest one over it (steps allowed), to tell who only
        reaches a facility in time by using steps.
    """

    edge_index: EdgeIndex
    graph: RoutingGraph
    max_snap_m: float
    cell_snap: Snap
    cell_nodes: np.ndarray
    sites: dict[str, SiteSet]
    nearest: dict[str, NearestFacility]
    profiles: dict[str, Profile] = field(default_factory=dict)
    category_profile: dict[str, str] = field(default_factory=dict)
    with_steps: dict[str, tuple[SiteSet, NearestFacility]] = field(default_factory=dict)
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
        kept = [
            (s, v)
            for s, v in self._cache.get((name, category), ())
            if s is not self.sites[category]
        ]
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

    @property
    def ordinary(self) -> Profile:
        """The ordinary walking profile: every walkable way."""
        profile: Profile = self.memo(
            "profile_ordinary", lambda: Profile(ORDINARY, self.graph, self.edge_index)
        )
        return profile

    def profile_for(self, category: str) -> Profile:
        """The walking profile of ``category`` (the ordinary one unless it has another)."""
        name = self.category_profile.get(category, ORDINARY)
        return self.ordinary if name == ORDINARY else self.profiles[name]

    def graph_for(self, category: str) -> RoutingGraph:
        """The routing graph a category's residents walk."""
        return self.profile_for(category).graph

    def attach_for(self, category: str, points: np.ndarray) -> tuple[Snap, Attachment]:
        """Snap points to the streets of ``category``'s profile and join them to its graph."""
        return self.profile_for(category).attach(points, self.max_snap_m)

    def node_piece_for(self, category: str) -> np.ndarray:
        """Network piece of every node of ``category``'s routing graph."""
        profile = self.profile_for(category)
        if profile.name == ORDINARY:
            return self.node_piece
        labels: np.ndarray = self.memo(f"node_piece_{profile.name}", profile.graph.components)
        return labels

    def updated(
        self,
        category: str,
        sites: SiteSet,
        nearest: NearestFacility,
        with_steps: tuple[SiteSet, NearestFacility] | None = None,
    ) -> EngineState:
        """A copy with one category's sites and nearest facilities replaced (and, for a
        category of another profile, its sites and nearest facilities with steps)."""
        steps = dict(self.with_steps)
        if with_steps is not None:
            steps[category] = with_steps
        return replace(
            self,
            sites={**self.sites, category: sites},
            nearest={**self.nearest, category: nearest},
            with_steps=steps,
            _cache=self._cache,
        )
