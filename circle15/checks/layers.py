"""The layers of a study checked against each other, in the study CRS, before computing.

:func:`check_inputs` stops on a study area without extent, a network that misses the area
or has no length, and facilities all outside the area (recognising swapped longitude and
latitude) or in another coordinate system than declared (:mod:`circle15.checks.offsets`);
it warns about facilities outside the area and blank capacities.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS, Transformer

from ..errors import InputError
from ..model import Districts, FacilityLayer, PopulationGrid, WalkingNetwork
from .offsets import _network_offset, _offset_messages


def check_inputs(
    config,
    districts: Districts,
    network: WalkingNetwork,
    population: PopulationGrid,
    facilities: dict[str, FacilityLayer],
) -> list[str]:
    """Check the layers of a study against each other before any computation.

    Parameters
    ----------
    config : LoadedConfig
        The study file (for facility CRSs, the network buffer and messages).
    districts, network, population, facilities
        The layers as read, in the study CRS.

    Returns
    -------
    list of str
        Warnings, each one sentence a planner can act on.

    Raises
    ------
    InputError
        An empty study area, a network away from the area, facilities all outside it (with
        the reason when it is swapped coordinates), or facilities whose coordinates are in
        another system than declared (when no system was declared).
    """
    warnings: list[str] = []
    if districts.area.is_empty or districts.area.area <= 0:
        raise InputError(
            "boundary outline: the study area has no extent (empty or "
            "zero-area polygons); check the outline file"
        )
    _network_reaches_area(network, districts)
    _network_has_length(network)
    streets = shapely.STRtree(network.edges.geometry.to_numpy())
    buffer_m = config.config.network.buffer_m
    warnings += _network_offset(config, network, streets, facilities)
    for key, layer in facilities.items():
        source = config.config.facilities[key]
        name = f" {source.path.name}" if source.path is not None else ""
        what = f"facilities ({key}){name}"
        if source.source != "osm":  # OpenStreetMap data and streets share WGS84
            warnings += _offset_messages(layer, streets, source.crs, what, key)
        warnings += _outside_area(layer, districts, buffer_m, what)
        warnings += _capacity_notes(layer, what)
    warnings += districts.notes + network.notes
    warnings += population.notes
    warnings += [note for layer in facilities.values() for note in layer.notes]
    return warnings


def _network_reaches_area(network: WalkingNetwork, districts: Districts) -> None:
    """The walking network must have streets inside the study area."""
    lines = network.edges.geometry.to_numpy()
    inside = shapely.STRtree(lines).query(districts.area, predicate="intersects")
    if len(inside):
        return
    gap_km = shapely.distance(shapely.box(*network.edges.total_bounds), districts.area) / 1000
    raise InputError(
        f"network: none of its {len(lines):,} street segments lies within the study area "
        f"(the nearest is {gap_km:,.1f} km away); check that the network covers the area "
        "and that its coordinate system is the one declared"
    )


def _network_has_length(network: WalkingNetwork) -> None:
    """A network whose streets all have length 0 would put everyone 0 minutes from
    everything (100 % coverage)."""
    lengths = network.edges["length_m"].to_numpy(dtype=float)
    if not (lengths > 0).any():
        raise InputError(
            f"network: all {len(lengths):,} of its street segments have length 0 m, so every "
            "walk would take 0 minutes; check the file's length column (osmnx: 'length', in "
            "metres) and that the lines have their real coordinates"
        )


def _outside_area(
    layer: FacilityLayer, districts: Districts, buffer_m: float, what: str
) -> list[str]:
    """Facilities beyond the area plus the network buffer: all of them is an error."""
    points = layer.facilities.geometry.to_numpy()
    reach = shapely.buffer(districts.area, buffer_m)
    shapely.prepare(reach)
    outside = ~shapely.contains(reach, points)
    if not outside.any():
        return []
    ids = layer.facilities["facility_id"].astype(str).to_numpy()[outside]
    if outside.all():
        if _swapped_inside(points, layer.facilities.crs, reach):
            raise InputError(
                f"{what}: every facility lies outside the study area, and with longitude "
                "and latitude swapped they would lie inside it: the file gives latitude "
                "first. Swap the coordinate columns (or name them with lon_field and "
                "lat_field), or export the file again with longitude first"
            )
        gap_km = shapely.distance(shapely.multipoints(points), districts.area) / 1000
        raise InputError(
            f"{what}: none of its {len(points):,} facilities lies within {buffer_m:,.0f} m "
            f"of the study area (the nearest is {gap_km:,.1f} km away); check the file "
            "and its coordinate system (crs)"
        )
    shown = ", ".join(ids[:5]) + (" …" if len(ids) > 5 else "")
    return [
        f"{what}: {len(ids)} of {len(points)} facilities lie more than {buffer_m:,.0f} m "
        f"outside the study area ({shown}); they serve no one in it unless the street "
        "network reaches them"
    ]


def _swapped_inside(points: np.ndarray, crs: CRS, reach: shapely.Geometry) -> bool:
    """Whether most facilities, read with longitude and latitude swapped, fall inside."""
    to_wgs = Transformer.from_crs(crs, 4326, always_xy=True)
    back = Transformer.from_crs(4326, crs, always_xy=True)
    lon, lat = to_wgs.transform(shapely.get_x(points), shapely.get_y(points))
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 90)  # lat read as lon
    if not ok.any():
        return False
    x, y = back.transform(lat[ok], lon[ok])
    return bool(shapely.contains_xy(reach, x, y).mean() >= 0.5)


def _capacity_notes(layer: FacilityLayer, what: str) -> list[str]:
    capacity = layer.facilities["capacity"].to_numpy(dtype=float)
    blank = np.isnan(capacity)
    if not blank.any():
        return []
    if blank.all():
        return [
            f"{what}: no facility has a capacity; supply per resident (2SFCA) and the "
            "norms cannot be computed for this category"
        ]
    return [
        f"{what}: {int(blank.sum())} of {len(capacity)} facilities have no capacity; "
        "supply (2SFCA) treats them as set by supply.missing_capacity"
    ]
