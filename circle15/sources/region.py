"""Read a study's inputs for one region of a batch: streets and facilities within reach.

A batch shares one network, one population grid and one set of facility tables among many
regions (a city's districts, a province's counties). Each region keeps the streets and
facilities within its outline plus ``[network] buffer_m``, so that residents near a
border walk to the school across it, and counts the residents inside its outline only.
Network and population files in GeoPackage form are read through a bounding-box filter,
so a worker reads its region's share of a province file, not all of it.

A street junction is kept when it lies within the reach, a street when both its ends
are kept (as osmnx truncates a graph to a polygon); junctions left without streets are
dropped. A facility is kept when it lies within the reach.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from ..config import LoadedConfig
from ..errors import InputError
from ..model import FacilityLayer, WalkingNetwork
from ..progress import QUIET, Progress
from ._files import read_vector, require_columns
from .boundaries import read_outline
from .guard import reading
from .inputs import (
    StudyInputs,
    network_source,
    read_boundaries,
    read_study_facilities,
    read_study_population,
    read_walking_network,
)
from .network import network_from_frames
from .population import grid_from_layer


def read_region_inputs(loaded: LoadedConfig, progress: Progress = QUIET) -> StudyInputs:
    """Read a region's study: the network and facilities within its outline + buffer.

    Parameters
    ----------
    loaded : LoadedConfig
        The region's study file; ``[boundary] outline`` is the region.
    progress : Progress
        Step log.

    Returns
    -------
    StudyInputs
        As :func:`circle15.sources.inputs.read_inputs` returns, with the network and the
        facilities limited to ``area.buffer(network.buffer_m)``.

    Raises
    ------
    Circle15Error
        When an input is invalid; the message names the file and what to fix.
    """
    c = loaded.config
    crs, districts = read_boundaries(loaded, progress)
    reach = shapely.buffer(districts.area, c.network.buffer_m)
    with progress.step("reading walking network"), reading(c.network.path, "network"):
        n = c.network
        if network_source(n.path, n.source) == "gpkg":
            network = read_network_within(
                n.path, crs, reach, n.nodes_layer, n.edges_layer, steps_field=n.steps_field
            )
        else:  # OSM files and centrelines are already read within area + buffer
            network = clip_network(read_walking_network(loaded, crs, districts, progress), reach)
    with progress.step("reading population"), reading(c.population.path, "population"):
        p = c.population
        if p.source == "grid" or (p.source == "auto" and _is_vector_grid(p.path)):
            raw = read_within(p.path, p.layer, districts.area, crs, "population grid")
            population = grid_from_layer(raw, p.path, crs, districts, p.cell_id_field)
        else:
            population = read_study_population(loaded, crs, districts)
    with progress.step("reading facilities"):
        facilities = {
            k: clip_facilities(layer, reach)
            for k, layer in read_study_facilities(loaded, crs, districts).items()
        }
    return StudyInputs(crs, districts, network, population, facilities)


def _is_vector_grid(path: Path) -> bool:
    from .facilities import TABLE_SUFFIXES
    from .inputs import RASTER_SUFFIXES

    suffix = path.suffix.lower()
    return suffix not in RASTER_SUFFIXES and suffix not in TABLE_SUFFIXES


def file_bbox(
    path: Path, layer: str | None, area: BaseGeometry, crs: CRS
) -> tuple[float, float, float, float] | None:
    """Bounds of ``area`` (in ``crs``) in the CRS of a layer, or None when it has none.

    The box's edges are densified before they are transformed, so it holds the whole area.
    """
    info = pyogrio.read_info(path, layer=layer)
    if not info.get("crs"):
        return None
    to_file = Transformer.from_crs(crs, CRS.from_user_input(info["crs"]), always_xy=True)
    return tuple(to_file.transform_bounds(*area.bounds, densify_pts=21))


def read_within(
    path: Path, layer: str | None, area: BaseGeometry, crs: CRS, what: str
) -> gpd.GeoDataFrame:
    """The features of a layer whose box meets the bounding box of ``area`` (in ``crs``).

    A filter for speed only (GeoPackages answer it from their spatial index); callers
    select exactly afterwards. A file that cannot be opened this way is read by
    :func:`~circle15.sources._files.read_vector`, whose errors name the file and the fix.
    """
    try:
        bbox = file_bbox(path, layer, area, crs)
    except Exception:  # a missing layer, an unreadable file: let read_vector explain
        bbox = None
    if bbox is None:
        return read_vector(path, layer, what)
    return gpd.read_file(path, layer=layer, bbox=bbox)


def read_network_within(
    path: Path,
    crs: CRS,
    reach: BaseGeometry,
    nodes_layer: str = "nodes",
    edges_layer: str = "edges",
    *,
    steps_field: str | None = None,
) -> WalkingNetwork:
    """An osmnx-layout GeoPackage network, limited to ``reach`` (in ``crs``).

    Raises
    ------
    InputError
        When a layer or column is missing, or no street lies within reach.
    """
    what = "network"
    nodes = read_within(path, nodes_layer, reach, crs, what).to_crs(crs)
    edges = read_within(path, edges_layer, reach, crs, what).to_crs(crs)
    require_columns(nodes, ["osmid"], path, f"{what} layer {nodes_layer!r} of")
    require_columns(edges, ["u", "v"], path, f"{what} layer {edges_layer!r} of")
    inside = shapely.covered_by(nodes.geometry.to_numpy(), reach)
    kept = nodes["osmid"].to_numpy()[inside]
    edges = edges[np.isin(edges["u"].to_numpy(), kept) & np.isin(edges["v"].to_numpy(), kept)]
    if len(edges) == 0:
        raise InputError(
            f"network {path}: no street lies within the region and its buffer; "
            "check that the network covers the region (and its CRS)"
        )
    used = np.isin(
        nodes["osmid"].to_numpy(), np.concatenate([edges["u"].to_numpy(), edges["v"].to_numpy()])
    )
    return network_from_frames(
        nodes[inside & used].reset_index(drop=True),
        edges.reset_index(drop=True),
        crs,
        f"network {path}",
        f"layer {nodes_layer!r}",
        f"layer {edges_layer!r}",
        steps_field=steps_field,
    )


def clip_network(network: WalkingNetwork, reach: BaseGeometry) -> WalkingNetwork:
    """The streets with both ends within ``reach``, renumbered; bare junctions dropped.

    Raises
    ------
    InputError
        When no street is left.
    """
    inside = shapely.covered_by(network.nodes.geometry.to_numpy(), reach)
    u = network.edges["u"].to_numpy()
    v = network.edges["v"].to_numpy()
    keep_edge = inside[u] & inside[v]
    used = np.zeros(len(inside), bool)
    used[u[keep_edge]] = used[v[keep_edge]] = True
    if not keep_edge.any():
        raise InputError(
            "the walking network has no street within the region and its "
            "buffer; check that the network covers the region"
        )
    position = np.cumsum(used) - 1
    edges = network.edges[keep_edge].copy()
    edges["u"] = position[u[keep_edge]]
    edges["v"] = position[v[keep_edge]]
    return WalkingNetwork(
        nodes=network.nodes[used].reset_index(drop=True),
        edges=edges.reset_index(drop=True),
        provenance=network.provenance,
        notes=network.notes,
    )


def clip_facilities(layer: FacilityLayer, reach: BaseGeometry) -> FacilityLayer:
    """The facilities within ``reach``; the others are beyond any resident's walk here."""
    inside = shapely.covered_by(layer.facilities.geometry.to_numpy(), reach)
    return FacilityLayer(
        category=layer.category,
        facilities=layer.facilities[inside].reset_index(drop=True),
        source=layer.source,
        notes=list(layer.notes),
    )


def region_zones(
    path: Path,
    outline: gpd.GeoDataFrame,
    *,
    district_field: str,
    name_en_field: str | None,
    declared_crs: str | None = None,
    region_field: str | None = None,
    region_names: tuple[str, ...] = (),
    take_all: bool = False,
) -> gpd.GeoDataFrame:
    """A region's sub-districts out of a file of zones, as ``district, name_en, geometry``.

    Parameters
    ----------
    path : Path
        Zones file (any vector format; ``declared_crs`` may be ``GCJ-02``/``BD-09``).
    outline : GeoDataFrame
        The region's outline.
    district_field, name_en_field : str
        Columns holding the zone's name and English name.
    region_field : str, optional
        Column naming each zone's region: the zones whose value is one of
        ``region_names`` are taken. Without it, the zones whose inner point lies in the
        outline are taken.
    take_all : bool
        Take every zone of the file (a region's own sub-district file).

    Raises
    ------
    InputError
        When a column is missing, no zone belongs to the region or a name repeats; the
        message names the file.
    """
    what = "sub-district file"
    zones = read_outline(path, declared_crs, what=what)
    require_columns(zones, [district_field], path, what)
    if not take_all:
        if region_field is not None:
            require_columns(zones, [region_field], path, what)
            mine = zones[region_field].astype(str).str.strip().isin(region_names).to_numpy()
            rule = f"whose {region_field} is {' or '.join(repr(n) for n in region_names)}"
        else:
            area = shapely.union_all(outline.to_crs(zones.crs).geometry.to_numpy())
            mine = shapely.within(zones.geometry.representative_point().to_numpy(), area)
            rule = "inside the region"
        zones = zones[mine]
        if zones.empty:
            raise InputError(
                f"{what} {path}: no sub-district {rule}; the region is left "
                "without sub-districts, add them or correct the file"
            )
    names = zones[district_field].astype(str).str.strip()
    if names.duplicated().any():
        raise InputError(
            f"{what} {path}: district {names[names.duplicated()].iloc[0]!r} "
            "appears twice in one region; merge its polygons or give each a "
            "unique name"
        )
    en = (
        zones[name_en_field].astype(str)
        if name_en_field and name_en_field in zones.columns
        else names
    )
    return gpd.GeoDataFrame(
        {"district": names.to_numpy(), "name_en": en.to_numpy()},
        geometry=zones.geometry.to_numpy(),
        crs=zones.crs,
    )
