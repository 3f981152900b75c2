"""The few types the rest of circle15 speaks: network, facilities, population, districts.

All geometries are in one projected metric CRS chosen for the study (see
``circle15.sources.crs.study_crs``); readers in ``circle15.sources`` produce these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from .errors import InputError

#: Age of the oldest person counted; an age band ``(60, OPEN_AGE)`` means "60 and over".
OPEN_AGE = 200


@dataclass(frozen=True)
class AgeBand:
    """An inclusive range of ages held in one population column, e.g. ``age_1_4``."""

    column: str
    age_min: int
    age_max: int  # OPEN_AGE for an open-ended band such as 60+

    @property
    def years(self) -> int:
        """Number of single years of age in the band."""
        return self.age_max - self.age_min + 1


@dataclass
class WalkingNetwork:
    """An undirected walking network.

    Attributes
    ----------
    nodes : GeoDataFrame
        One row per junction or dead end, Point geometry; its position (0..n-1) is the node
        index used by the engine, and ``node_id`` keeps the source's id (e.g. an OSM id).
    edges : GeoDataFrame
        One row per street segment with ``u``, ``v`` (node positions), ``length_m`` and a
        LineString geometry running from node ``u`` to node ``v``.
    provenance : dict
        How the network was obtained, for the manifest (e.g. whether it came from the
        network cache, and the cache key; see ``circle15.sources.network_cache``).
    notes : list of str
        What a planner should know about how it was read (run warnings).
    """

    nodes: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    provenance: dict[str, Any] = field(default_factory=dict)
    #: What the reader found worth a warning (the encoding of a shapefile without .cpg).
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.edges) == 0:
            raise InputError("the walking network has no street segments (edges)")
        n = len(self.nodes)
        u = self.edges["u"].to_numpy()
        v = self.edges["v"].to_numpy()
        if u.min() < 0 or v.min() < 0 or u.max() >= n or v.max() >= n:
            raise InputError("the walking network has edges whose end nodes are missing")

    @property
    def crs(self) -> CRS | None:
        """Projected CRS of the network."""
        return self.edges.crs

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    @property
    def n_edges(self) -> int:
        """Number of street segments."""
        return len(self.edges)


@dataclass
class FacilityLayer:
    """Facilities of one category.

    ``facilities`` has columns ``facility_id`` (str, unique), ``name``, ``capacity``
    (float, NaN when unknown), ``provenance``, then the planner's own columns listed in
    ``extra_columns`` (地址, 备注, 办园性质 … as text), and Point geometry. ``notes`` says
    what the reader changed on the way in (duplicates dropped, encoding found), for the
    manifest.
    """

    category: str
    facilities: gpd.GeoDataFrame
    source: str = ""
    notes: list[str] = field(default_factory=list)
    #: The file's other columns, carried through for map popups and the workbook.
    extra_columns: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.facilities)


@dataclass
class PopulationGrid:
    """Residents per cell, by age band.

    ``cells`` has ``cell_id`` (str), ``district`` (sub-district name), ``pop_total`` and
    one column per age band, with Polygon geometry (cells) or Point geometry. ``notes``
    says what the reader changed on the way in (cells outside the area dropped, polygons
    repaired), for the run's warnings.
    """

    cells: gpd.GeoDataFrame
    bands: tuple[AgeBand, ...]
    source: str = ""
    notes: list[str] = field(default_factory=list)
    #: How the residents and their ages were obtained (``source``, ``residents``,
    #: ``spread_by``, ``age_structure`` …), for the run's ``population_method``.
    method: dict[str, Any] = field(default_factory=dict)

    def cohort(self, age_min: int, age_max: int) -> np.ndarray:
        """Residents aged ``age_min``..``age_max`` (inclusive) in each cell.

        Bands that only partly overlap the cohort contribute in proportion to the years
        they share with it (residents spread evenly across single years of age), e.g. ages
        3-5 take 2/4 of band 1-4 and 1/5 of band 5-9. Ages ``0..OPEN_AGE`` is everyone
        (``pop_total``). An open band (e.g. 60+) can only be taken whole.
        """
        if age_min <= 0 and age_max >= OPEN_AGE:
            return self.cells["pop_total"].to_numpy(dtype=float)
        top = min(age_max, OPEN_AGE)
        out = np.zeros(len(self.cells))
        years = 0
        for band in self.bands:
            lo, hi = max(age_min, band.age_min), min(top, band.age_max)
            if hi < lo:
                continue
            if band.age_max >= OPEN_AGE:
                if lo != band.age_min or top < OPEN_AGE:
                    raise InputError(
                        f"cannot derive ages {age_min}-{age_max} from the open age band "
                        f"{band.column!r} ({band.age_min}+): supply finer age bands"
                    )
                share = 1.0
            else:
                share = (hi - lo + 1) / band.years
            out += share * self.cells[band.column].to_numpy(dtype=float)
            years += hi - lo + 1
        if years < top - age_min + 1:
            raise InputError(
                f"the population grid's age bands do not cover ages {age_min}-{age_max}; "
                f"bands present: {', '.join(b.column for b in self.bands) or 'none'}"
            )
        return out


@dataclass
class Districts:
    """The study area and its sub-districts (街道/镇).

    ``zones`` has ``district`` (the name used in tables), ``name_en`` and Polygon or
    MultiPolygon geometry; ``area`` is the whole study area.
    """

    name: str
    zones: gpd.GeoDataFrame
    area: BaseGeometry
    provenance: dict[str, str] = field(default_factory=dict)
    #: What the reader found worth a warning (an encoding, a coordinate check).
    notes: list[str] = field(default_factory=list)


def as_float(series: pd.Series) -> np.ndarray:
    """Return a float array of ``series`` (helper for vectorised maths)."""
    return series.to_numpy(dtype=float)
