"""Read the study outline and its sub-district zones."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely
from pyproj import CRS

from ..errors import InputError
from ..model import Districts
from ._files import read_vector, require_columns


def read_outline(path: Path) -> gpd.GeoDataFrame:
    """Read the study outline in its own CRS (all features, dissolved later)."""
    outline = read_vector(path, what="boundary outline")
    if outline.empty:
        raise InputError(f"boundary outline {path}: has no features")
    return outline


def read_districts(
    name: str,
    outline: gpd.GeoDataFrame,
    crs: CRS,
    zones_path: Path | None = None,
    district_field: str = "district",
    name_en_field: str | None = "name_en",
) -> Districts:
    """Build ``Districts`` from an outline and optional sub-district zones.

    Without zones the whole area is one district named after the study.
    """
    area = shapely.union_all(outline.to_crs(crs).geometry.make_valid().to_numpy())
    provenance = {"outline": str(outline.get("provenance", [""])[0])}
    if zones_path is None:
        zones = gpd.GeoDataFrame({"district": [name], "name_en": [name]},
                                 geometry=[area], crs=crs)
        return Districts(name=name, zones=zones, area=area, provenance=provenance)

    raw = read_vector(zones_path, what="sub-district file")
    require_columns(raw, [district_field], zones_path, "sub-district file")
    names = raw[district_field].astype(str).str.strip()
    if names.duplicated().any():
        dup = names[names.duplicated()].iloc[0]
        raise InputError(f"sub-district file {zones_path}: district {dup!r} appears twice; "
                         "merge its polygons or give each a unique name")
    if (names == "ALL").any():
        raise InputError(f"sub-district file {zones_path}: 'ALL' is reserved for the whole area")
    en = (raw[name_en_field].astype(str) if name_en_field and name_en_field in raw.columns
          else names)
    zones = gpd.GeoDataFrame(
        {"district": names.to_numpy(), "name_en": en.to_numpy()},
        geometry=raw.to_crs(crs).geometry.make_valid().to_numpy(),
        crs=crs,
    )
    if "provenance" in raw.columns:
        provenance["districts"] = str(raw["provenance"].iloc[0])
    return Districts(name=name, zones=zones, area=area, provenance=provenance)
