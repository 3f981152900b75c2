"""What a step-free walk avoids on a network, and what a run says about it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from ..model import WalkingNetwork

__all__ = ["NO_STEPS_WARNING", "avoided_streets", "step_free_summary", "step_ways_of"]

#: Said when categories walk step-free but the network cannot say where steps are.
NO_STEPS_WARNING = (
    "the walking network does not say where steps are (no highway class, wheelchair or "
    "steps column): the step-free walking times of {} are the ordinary ones. Use an "
    "OpenStreetMap network (highway=steps, wheelchair=no), or name the column that marks "
    "steps in your centrelines with [network] steps_field"
)


def step_ways_of(network: WalkingNetwork) -> np.ndarray | None:
    """Per street edge: steps or ``wheelchair=no`` (the readers' ``steps`` column); None
    when the network does not say."""
    if "steps" not in network.edges.columns:
        return None
    return network.edges["steps"].fillna(False).to_numpy(dtype=bool)


def avoided_streets(network: WalkingNetwork, avoided: np.ndarray) -> pd.DataFrame:
    """The avoided edges by row: ``kind`` (``steps`` or ``wheelchair=no``), ``name``,
    ``length_m`` and ``geometry`` (study CRS)."""
    edges = network.edges
    rows = np.flatnonzero(avoided)
    wheelchair = (
        edges["wheelchair"]
        .astype("string")
        .fillna("")
        .str.lower()
        .str.contains(r"(?:^|;)\s*no\b", regex=True)
        .to_numpy(dtype=bool)
        if "wheelchair" in edges
        else np.zeros(len(edges), bool)
    )
    highway = (
        edges["highway"].astype("string").fillna("").str.lower().to_numpy(dtype=object)
        if "highway" in edges
        else np.full(len(edges), "", dtype=object)
    )
    steps = np.array(["steps" in h for h in highway[rows]], dtype=bool)
    kind = np.where(wheelchair[rows] & ~steps, "wheelchair=no", "steps")
    names = (
        edges["name"].to_numpy(dtype=object)[rows]
        if "name" in edges
        else np.full(len(rows), None, dtype=object)
    )
    names = np.array(
        [n if isinstance(n, str) and n and n != "nan" else None for n in names], dtype=object
    )
    return pd.DataFrame(
        {
            "kind": kind,
            "name": names,
            "length_m": edges["length_m"].to_numpy(dtype=float)[rows],
            "geometry": edges.geometry.to_numpy()[rows],
        },
        index=rows,
    )


def step_free_summary(
    categories: list[str],
    avoided: np.ndarray | None,
    network: WalkingNetwork,
    profile: Any,
    barriers: pd.DataFrame | None,
) -> dict[str, Any]:
    """The run's ``diagnostics["step_free"]``: which categories, what was avoided, who is
    cut off."""
    out: dict[str, Any] = {
        "categories": list(categories),
        "network_marks_steps": avoided is not None,
    }
    if avoided is not None:
        length = shapely.length(network.edges.geometry.to_numpy()[avoided])
        out["avoided_edges"] = int(avoided.sum())
        out["avoided_km"] = round(float(length.sum()) / 1e3, 3)
    if profile is not None:
        out["points_also_on_step_free_streets"] = int(profile.moved)
    if barriers is not None and len(barriers):
        whole = barriers[barriers["district"] == "ALL"]
        out["barrier_population"] = dict(
            zip(
                whole["category"].astype(str),
                whole["barrier_population"].astype(float).round(2),
                strict=True,
            )
        )
    return out
