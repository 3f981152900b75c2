"""A study is one TOML file: what to read, which categories, with which thresholds.

Paths in the file are relative to the file itself. Validation errors name the file and
the field, e.g. ``zhenhai.toml: network.path: file not found: network/walk.gpkg``.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError
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
    """``[boundary]``: the study area and its sub-districts."""

    outline: Path
    districts: Path | None = None
    district_field: str = "district"
    name_en_field: str | None = "name_en"


class NetworkSection(_Section):
    """``[network]``: the walking network (osmnx GeoPackage layout: nodes + edges)."""

    path: Path
    nodes_layer: str = "nodes"
    edges_layer: str = "edges"


class PopulationSection(_Section):
    """``[population]``: the population grid."""

    path: Path
    layer: str | None = None
    cell_id_field: str = "cell_id"


class FacilitySource(_Section):
    """``[facilities.<category>]``: one facility table."""

    path: Path
    layer: str | None = None
    id_field: str = "facility_id"
    name_field: str = "name"
    capacity_field: str | None = "capacity"
    lon_field: str = "lon"
    lat_field: str = "lat"
    crs: str = "EPSG:4326"


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


class AnalysisSection(_Section):
    """``[analysis]``: engine parameters."""

    max_snap_m: PositiveFloat | None = None


class StudyConfig(_Section):
    """A whole study file."""

    study: StudySection
    boundary: BoundarySection
    network: NetworkSection
    population: PopulationSection
    facilities: dict[str, FacilitySource]
    categories: dict[str, CategoryOverride] = {}
    analysis: AnalysisSection = AnalysisSection()

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

    @property
    def name(self) -> str:
        """The study key, used as the output folder name."""
        return self.config.study.name

    def input_files(self) -> dict[str, Path]:
        """Every input file by its config field, for the manifest."""
        c = self.config
        files = {"boundary.outline": c.boundary.outline, "network.path": c.network.path,
                 "population.path": c.population.path}
        if c.boundary.districts:
            files["boundary.districts"] = c.boundary.districts
        files.update({f"facilities.{k}.path": s.path for k, s in c.facilities.items()})
        return files


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
    if not path.is_file():
        raise ConfigError(f"study file not found: {path}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the study file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
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
    boundary = b.model_copy(update={
        "outline": check("boundary.outline", b.outline),
        "districts": check("boundary.districts", b.districts) if b.districts else None,
    })
    network = config.network.model_copy(
        update={"path": check("network.path", config.network.path)})
    population = config.population.model_copy(
        update={"path": check("population.path", config.population.path)})
    facilities = {
        k: s.model_copy(update={"path": check(f"facilities.{k}.path", s.path)})
        for k, s in config.facilities.items()
    }
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
            )
        validate_category(category, f"{where}: categories.{key}")
        out[key] = category
    unused = sorted(set(config.categories) - set(config.facilities))
    if unused:
        raise ConfigError(
            f"{where}: categories.{unused[0]}: no [facilities.{unused[0]}] table to go with it"
        )
    return out
