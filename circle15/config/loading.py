"""Loading a study file: validated, paths made absolute, categories resolved.

:func:`load_config` reads the file (:func:`~circle15.config.toml_files.read_toml`),
validates it against :class:`~circle15.config.sections.StudyConfig`, makes every path
absolute relative to the file and checks it exists, and merges ``[categories.*]`` with the
standards into :class:`LoadedConfig`. Validation errors name the file and the field
(:func:`_explain`, also used for batch files).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigError
from ..standards import Category, Standards, load_standards, validate_category
from ..targets import resolve_targets
from .sections import StudyConfig
from .toml_files import read_toml


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
        self.targets = resolve_targets(config.targets, list(self.categories), path.name)
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
        """Every input file the study file names, by its config field, for the manifest.

        An outline looked up by ``adcode``/``name`` is not a file of the study: see
        ``Study.input_files`` for the complete list.
        """
        c = self.config
        files = {"network.path": c.network.path, "population.path": c.population.path}
        if c.boundary.outline is not None:
            files = {"boundary.outline": c.boundary.outline, **files}
        if c.boundary.districts:
            files["boundary.districts"] = c.boundary.districts
        p = c.population
        for name in ("areas", "weights", "age_table"):
            if getattr(p, name) is not None:
                files[f"population.{name}"] = getattr(p, name)
        files.update(
            {
                f"facilities.{k}.path": s.path
                for k, s in c.facilities.items()
                if s.path is not None and s.path != c.network.path
            }
        )
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
    raw = read_toml(path, "study file")
    try:
        config = StudyConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_explain(path, exc)) from None
    config = _absolute_paths(config, path.parent.resolve(), path)
    # Absolute but not resolved: a study file that is a link (e.g. one written by
    # ``circle15 fetch``) keeps its folder as the base of relative paths.
    return LoadedConfig(Path(os.path.abspath(path)), config, standards or load_standards())


def _explain(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{field}: unknown field; check its spelling")
        elif err["type"] == "missing":
            lines.append(f"{field}: required field is missing")
        elif err["type"] == "value_error":  # our validators: the message names the value
            lines.append(f"{field}: {err['msg'].removeprefix('Value error, ')}")
        elif err["type"] == "finite_number":
            lines.append(
                f"{field}: {err.get('input')!r} is not a finite number; write the "
                "value itself (nan, inf and overflowing numbers such as 1e309 are "
                "refused)"
            )
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
        raise ConfigError(
            f'{where}: boundary: give outline = "<file>", or for a Chinese '
            'county or city adcode = "330211" or name = "宁波市镇海区"'
        )
    boundary = b.model_copy(
        update={
            "outline": check("boundary.outline", b.outline) if b.outline else None,
            "districts": check("boundary.districts", b.districts) if b.districts else None,
        }
    )
    network = config.network.model_copy(update={"path": check("network.path", config.network.path)})
    p = config.population
    population = p.model_copy(
        update={
            "path": check("population.path", p.path),
            **{
                name: check(f"population.{name}", getattr(p, name))
                for name in ("areas", "weights", "age_table")
                if getattr(p, name) is not None
            },
        }
    )
    facilities = {}
    for k, s in config.facilities.items():
        if s.path is not None:
            facilities[k] = s.model_copy(update={"path": check(f"facilities.{k}.path", s.path)})
        elif s.source == "osm":
            facilities[k] = s.model_copy(update={"path": network.path})
        else:
            raise ConfigError(
                f"{where}: facilities.{k}.path: required field is missing "
                '(or set source = "osm" to take them from OpenStreetMap)'
            )
    return config.model_copy(
        update={
            "boundary": boundary,
            "network": network,
            "population": population,
            "facilities": facilities,
        }
    )


def _resolve_categories(
    config: StudyConfig, standards: Standards, where: str
) -> dict[str, Category]:
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
                key=key,
                name_zh=changes["name_zh"],
                name_en=changes["name_en"],
                age_min=changes["age_min"],
                age_max=changes["age_max"],
                tiers_min=changes.get("tiers_min", base.tiers_min),
                target_min=changes.get("target_min", base.target_min),
                speed_kmh=changes.get("speed_kmh", base.speed_kmh),
                capacity_unit=changes.get("capacity_unit", ""),
                sources={"all": f"defined in {where}"},
                norm=changes.get("norm"),
                norm_per=changes.get("norm_per", 1.0),
                norm_base=changes.get("norm_base", "cohort"),
                step_free=changes.get("step_free", False),
            )
        validate_category(category, f"{where}: categories.{key}")
        out[key] = category
    unused = sorted(set(config.categories) - set(config.facilities))
    if unused:
        raise ConfigError(
            f"{where}: categories.{unused[0]}: no [facilities.{unused[0]}] table to go with it"
        )
    return out
