"""Which reader reads which part of a study file: one dispatch for every supported source."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyproj import CRS

from ..config import LoadedConfig
from ..errors import ConfigError
from ..model import Districts, FacilityLayer, PopulationGrid, WalkingNetwork
from ..progress import QUIET, Progress
from ._encoding import declared_encoding
from .alignment import check_alignment, official_outline_check
from .boundaries import admin_outline, read_districts, read_outline
from .crs import study_crs
from .facilities import TABLE_SUFFIXES, read_facilities
from .guard import reading
from .network import read_network
from .population import population_summary, read_population

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img", ".asc")


@dataclass
class StudyInputs:
    """Everything read for a study, projected to ``crs``."""

    crs: CRS
    districts: Districts
    network: WalkingNetwork
    population: PopulationGrid
    facilities: dict[str, FacilityLayer]


def read_boundaries(loaded: LoadedConfig, progress: Progress = QUIET) -> tuple[CRS, Districts]:
    """The study CRS and the ``[boundary]`` section's area and sub-districts."""
    c = loaded.config
    b = c.boundary
    encoding = declared_encoding(b.encoding, f"{loaded.path.name}: boundary.encoding")
    notes: list[str] = []
    with progress.step("reading boundaries"):
        with reading(b.outline, "boundary outline"):
            outline = (
                read_outline(b.outline, b.outline_crs, encoding=encoding, notes=notes)
                if b.outline is not None
                else admin_outline(b.adcode, b.name)
            )
        crs = study_crs(outline, c.study.crs)
        if b.outline is not None and b.outline_crs is None:
            official_outline_check(outline, crs, b.outline, notes)
        with reading(b.districts or b.outline, "sub-district file"):
            districts = read_districts(
                c.study.name,
                outline,
                crs,
                b.districts,
                b.district_field,
                b.name_en_field,
                zones_crs=b.districts_crs,
                encoding=encoding,
            )
        if b.districts is not None and b.districts_crs is None and b.outline != b.districts:
            with reading(b.districts, "sub-district file"):
                zones = read_outline(
                    b.districts,
                    None,
                    "sub-district file",
                    crs_field="[boundary] districts_crs",
                    encoding=encoding,
                )
                check_alignment(
                    zones,
                    districts,
                    crs,
                    "sub-district file",
                    b.districts,
                    "[boundary] districts_crs",
                    notes,
                    reference=outline.to_crs(crs).geometry.to_numpy(),
                )
    districts.notes[:0] = notes
    return crs, districts


def read_inputs(loaded: LoadedConfig, progress: Progress = QUIET) -> StudyInputs:
    """Read the boundary, network, population and facilities a study file names.

    Raises
    ------
    Circle15Error
        When an input is invalid; the message names the file and what to fix.
    """
    c = loaded.config
    crs, districts = read_boundaries(loaded, progress)
    with progress.step("reading walking network"), reading(c.network.path, "network"):
        network = read_walking_network(loaded, crs, districts, progress)
    with progress.step("reading population"), reading(c.population.path, "population"):
        population = read_study_population(loaded, crs, districts)
    progress.say(population_summary(population.method))
    with progress.step("reading facilities"):
        facilities = read_study_facilities(loaded, crs, districts)
    for note in [
        *districts.notes,
        *network.notes,
        *(n for layer in facilities.values() for n in layer.notes),
    ]:
        progress.say(note)
    return StudyInputs(crs, districts, network, population, facilities)


def network_source(path: Path, declared: str) -> str:
    """``gpkg``, ``osm`` or ``centrelines`` for a ``[network]`` section."""
    from .osm_filter import is_osm_file

    if declared in ("osm_pbf", "osm_xml"):
        return "osm"
    if declared != "auto":
        return declared
    if is_osm_file(path):
        return "osm"
    if path.suffix.lower() == ".gpkg":
        import pyogrio

        layers = {name for name, _ in pyogrio.list_layers(path)}
        if {"nodes", "edges"} <= layers:
            return "gpkg"
    return "centrelines"


def read_walking_network(
    loaded: LoadedConfig, crs: CRS, districts: Districts, progress: Progress = QUIET
) -> WalkingNetwork:
    """The ``[network]`` section's network, within the study area plus ``buffer_m``.

    Networks built from OSM files and centrelines go through the network cache
    (:mod:`circle15.sources.network_cache`) unless ``[network] cache = false``.
    """
    n = loaded.config.network
    source = network_source(n.path, n.source)
    if source == "gpkg":
        return read_network(n.path, crs, n.nodes_layer, n.edges_layer, steps_field=n.steps_field)
    from .network_cache import cached_network, geometry_digest

    where = {
        "crs": crs.to_wkt(),
        "area_wkb_sha256": geometry_digest(districts.area),
        "buffer_m": n.buffer_m,
    }
    if source == "osm":
        if n.steps_field is not None:
            raise ConfigError(
                f"{loaded.path.name}: network.steps_field: not used with an "
                "OpenStreetMap network, whose steps are highway=steps; remove it"
            )
        from .osm import OSM_READER_VERSION, read_osm_network, study_polygon_wgs84

        return cached_network(
            "osm-walk",
            [n.path],
            {**where, "reader": OSM_READER_VERSION},
            lambda: read_osm_network(
                n.path, crs, study_polygon_wgs84(districts.area, crs, n.buffer_m), progress
            ),
            crs=crs,
            enabled=n.cache,
            progress=progress,
        )
    from .centrelines import CENTRELINES_VERSION, centreline_files, read_centrelines

    encoding = declared_encoding(n.encoding, f"{loaded.path.name}: network.encoding")
    settings = {
        **where,
        "reader": CENTRELINES_VERSION,
        "layer": n.layer,
        "source_crs": n.crs,
        "grade_separation": n.grade_separation,
        "snap_tolerance_m": n.snap_tolerance_m,
        "encoding": n.encoding,
        "steps_field": n.steps_field,
    }
    return cached_network(
        "centrelines",
        centreline_files(n.path),
        settings,
        lambda: read_centrelines(
            n.path,
            crs,
            layer=n.layer,
            source_crs=n.crs,
            area=districts.area.buffer(n.buffer_m),
            grade_separation=n.grade_separation,
            snap_tolerance_m=n.snap_tolerance_m,
            steps_field=n.steps_field,
            encoding=encoding,
        ),
        crs=crs,
        enabled=n.cache,
        progress=progress,
    )


def read_study_population(loaded: LoadedConfig, crs: CRS, districts: Districts) -> PopulationGrid:
    """The ``[population]`` section: a vector grid, a raster or a census table."""
    p = loaded.config.population
    source = p.source
    if source == "auto":
        suffix = p.path.suffix.lower()
        source = (
            "raster"
            if suffix in RASTER_SUFFIXES
            else "census"
            if suffix in TABLE_SUFFIXES
            else "grid"
        )
    _only_keys_of(loaded, source)
    encoding = declared_encoding(p.encoding, f"{loaded.path.name}: population.encoding")
    if source == "raster":
        from .census import age_shares
        from .raster import read_raster_population

        if (p.age_table is None) != (p.age_area is None):
            raise ConfigError(
                f"{loaded.path.name}: population: age_table and age_area go "
                "together (the census row whose age structure to apply)"
            )
        shares = (
            age_shares(p.age_table, p.age_area, p.table_field) if p.age_table is not None else None
        )
        grid = read_raster_population(p.path, crs, districts, source_crs=p.crs, age_shares=shares)
        if shares is not None:
            grid.method["age_structure"] = (
                f"one census row ({p.age_area} of {p.age_table.name}) applied to every pixel"
            )
        return grid
    if source == "census":
        from .census import read_census_population

        return read_census_population(
            p.path,
            crs,
            districts,
            areas=p.areas,
            areas_layer=p.areas_layer,
            area_field=p.area_field,
            table_field=p.table_field,
            cell_size_m=p.cell_size_m,
            weights=p.weights,
            weight_field=p.weight_field,
            residential_values=p.residential_values,
            areas_crs=p.areas_crs,
            sheet=p.sheet or p.layer,
            encoding=encoding,
        )
    return read_population(
        p.path,
        crs,
        districts,
        layer=p.layer,
        cell_id_field=p.cell_id_field,
        source_crs=p.crs,
        encoding=encoding,
    )


#: The ``[population]`` keys each source reads; any other key given is an error.
POPULATION_KEYS = {
    "grid": {"path", "source", "layer", "cell_id_field", "crs", "encoding"},
    "raster": {"path", "source", "crs", "age_table", "age_area", "table_field"},
    "census": {
        "path",
        "source",
        "layer",
        "sheet",
        "areas",
        "areas_layer",
        "areas_crs",
        "area_field",
        "table_field",
        "cell_size_m",
        "weights",
        "weight_field",
        "residential_values",
        "encoding",
    },
}
_INSTEAD = {
    ("census", "crs"): "the census areas' system is areas_crs",
    ("raster", "areas_crs"): "a raster's system is crs",
    ("grid", "areas_crs"): "a grid's system is crs",
}


def _only_keys_of(loaded: LoadedConfig, source: str) -> None:
    """Refuse ``[population]`` keys the chosen source would ignore (e.g. ``crs`` with a
    census table, whose polygons' system is ``areas_crs``)."""
    p = loaded.config.population
    given = {k for k in p.model_fields_set if getattr(p, k) != type(p).model_fields[k].default}
    unused = sorted(given - POPULATION_KEYS[source])
    if unused:
        key = unused[0]
        why = _INSTEAD.get(
            (source, key),
            f"it applies to "
            f"{' or '.join(s for s, keys in POPULATION_KEYS.items() if key in keys)}"
            " populations",
        )
        how = ", detected from the file" if p.source == "auto" else ""
        raise ConfigError(
            f"{loaded.path.name}: population.{key}: not used with a {source} "
            f'population (source = "{source}"{how}); {why}. Remove it or '
            "correct it"
        )


def read_study_facilities(
    loaded: LoadedConfig, crs: CRS, districts: Districts
) -> dict[str, FacilityLayer]:
    """Every ``[facilities.<category>]``: tables, files, or OpenStreetMap by tag mapping."""
    c = loaded.config
    out: dict[str, FacilityLayer] = {}
    by_osm_file: dict[Path, list[str]] = {}
    for key, s in c.facilities.items():
        if s.source == "osm":
            by_osm_file.setdefault(s.path, []).append(key)
        else:
            with reading(s.path, f"facilities ({key})"):
                if s.sheet is not None and s.layer is not None and s.sheet != s.layer:
                    raise ConfigError(
                        f"{loaded.path.name}: facilities.{key}: sheet and "
                        "layer name different sheets; give one"
                    )
                out[key] = read_facilities(
                    s.path,
                    key,
                    crs,
                    layer=s.sheet or s.layer,
                    id_field=s.id_field,
                    name_field=s.name_field,
                    capacity_field=s.capacity_field,
                    lon_field=s.lon_field,
                    lat_field=s.lat_field,
                    source_crs=s.crs,
                    encoding=declared_encoding(
                        s.encoding, f"{loaded.path.name}: facilities.{key}.encoding"
                    ),
                    dedupe=s.dedupe,
                    dedupe_m=s.dedupe_m,
                )
    if by_osm_file:
        from .osm import read_osm_features, study_polygon_wgs84
        from .osm_facilities import classify
        from .osm_filter import is_osm_file

        reach = districts.area.buffer(c.network.buffer_m)
        polygon = study_polygon_wgs84(districts.area, crs, c.network.buffer_m)
        for path, keys in by_osm_file.items():
            if not is_osm_file(path):
                raise ConfigError(
                    f'{loaded.path.name}: facilities.{keys[0]}: source = "osm" needs an '
                    f"OpenStreetMap file (.osm.pbf/.osm), but {path.name} is not one; set "
                    "path to one"
                )
            with reading(path, f"facilities ({', '.join(keys)})"):
                out.update(classify(read_osm_features(path, polygon), keys, crs, reach))
    return {key: out[key] for key in c.facilities}
