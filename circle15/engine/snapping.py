"""Attach points (cells, facilities) to the nearest street edge, not the nearest node."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from ..model import WalkingNetwork


@dataclass(frozen=True)
class Snap:
    """Where each point meets the street network.

    Attributes
    ----------
    edge : ndarray of int64
        Row of the nearest edge in ``network.edges``; -1 when the point is farther than
        the snap limit from every street (unsnapped).
    offset_m : ndarray of float
        Network distance from the edge's ``u`` node to the foot of the perpendicular,
        metres (NaN when unsnapped).
    leg_m : ndarray of float
        Straight-line distance from the point to the street, metres (NaN when unsnapped).
        It is walked like any other metre.
    """

    edge: np.ndarray
    offset_m: np.ndarray
    leg_m: np.ndarray

    @property
    def snapped(self) -> np.ndarray:
        """Boolean mask of the points attached to a street."""
        return self.edge >= 0

    def __len__(self) -> int:
        return len(self.edge)


class EdgeIndex:
    """A spatial index of a network's edges, built once and reused for every snap."""

    def __init__(self, network: WalkingNetwork) -> None:
        self.geometry = network.edges.geometry.to_numpy()
        self.length_m = network.edges["length_m"].to_numpy(dtype=float)
        self.tree = shapely.STRtree(self.geometry)

    def snap(self, points: np.ndarray, max_snap_m: float) -> Snap:
        """Snap ``points`` (shapely Points, network CRS) to their nearest edge.

        Parameters
        ----------
        points : ndarray of shapely.Point
            Points in the network's projected CRS.
        max_snap_m : float
            Points farther than this from every edge stay unsnapped.

        Returns
        -------
        Snap
        """
        points = np.asarray(points, dtype=object)
        n = len(points)
        edge = np.full(n, -1, dtype=np.int64)
        offset = np.full(n, np.nan)
        leg = np.full(n, np.nan)
        if n == 0:
            return Snap(edge, offset, leg)
        hits, dist = self.tree.query_nearest(
            points, max_distance=max_snap_m, return_distance=True, all_matches=False
        )
        which, row = hits
        # query_nearest may return a point twice when edges tie; keep the first per point.
        which, first = np.unique(which, return_index=True)
        row, dist = row[first], dist[first]
        geoms = self.geometry[row]
        along = shapely.line_locate_point(geoms, points[which])
        # The edge weight may differ from its drawn length (e.g. OSM `length`); scale the
        # position so that the two parts of a split edge add up to the edge weight.
        drawn = shapely.length(geoms)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(drawn > 0, along / drawn, 0.0)
        edge[which] = row
        offset[which] = np.clip(share, 0.0, 1.0) * self.length_m[row]
        leg[which] = dist
        return Snap(edge, offset, leg)


def snap_to_edges(network: WalkingNetwork, points: np.ndarray, max_snap_m: float) -> Snap:
    """Snap points to the nearest edge of ``network`` within ``max_snap_m`` metres.

    A convenience wrapper over :class:`EdgeIndex` for one-off use.
    """
    return EdgeIndex(network).snap(points, max_snap_m)
