"""A run's output folder read back: the tables ``circle15 diff`` compares.

A folder written by ``circle15 run`` holds ``manifest.json`` (the study, its categories'
standards and settings), ``districts.csv``, ``index.csv`` (when the run computed the
index) and ``results.gpkg`` (cells, sub-districts, facilities). Reading them gives the
same tables the run had, as a :class:`RunRecord` (what :mod:`circle15.analysis.diff`
compares); anything missing is named in the error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from ..errors import ConfigError, InputError
from ..model import OPEN_AGE
from ..standards import Category
from .manifest import MANIFEST
from .spreadsheet import read_own_csv

__all__ = ["RunRecord", "is_run_folder", "read_run_folder"]


@dataclass
class RunRecord:
    """The tables of a run read back from its output folder (``CoverageResult``'s names)."""

    name: str
    title: str
    folder: Path
    categories: dict[str, Category]
    cells: gpd.GeoDataFrame | None
    districts: pd.DataFrame
    facilities: gpd.GeoDataFrame
    index: pd.DataFrame | None
    zones: gpd.GeoDataFrame
    area: Any
    synthetic: bool = False
    notice: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)


def is_run_folder(path: Path) -> bool:
    """True for a folder holding a run's ``manifest.json``."""
    return Path(path).is_dir() and (Path(path) / MANIFEST).is_file()


def _category(key: str, p: dict[str, Any], where: str) -> Category:
    ages = str(p.get("ages", ""))
    found = re.findall(r"\d+", ages)
    age_min = int(p.get("age_min", found[0] if found else 0))
    age_max = int(p.get("age_max", found[1] if len(found) > 1 else OPEN_AGE))
    try:
        return Category(
            key=key,
            name_zh=str(p["name_zh"]),
            name_en=str(p["name_en"]),
            age_min=age_min,
            age_max=age_max,
            tiers_min=tuple(float(t) for t in p["tiers_min"]),
            target_min=float(p["target_min"]),
            speed_kmh=float(p["speed_kmh"]),
            capacity_unit=str(p.get("capacity_unit", "")),
            sources=dict(p.get("sources", {})),
            unverified=tuple(p.get("unverified", ())),
            norm=None if p.get("norm") is None else float(p["norm"]),
            norm_per=float(p.get("norm_per", 1.0)),
            norm_base=str(p.get("norm_base", "cohort")),
            step_free=bool(p.get("step_free", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"{where}: parameters.categories.{key} cannot be read ({exc}); "
            "run the study again with this version of circle15"
        ) from None


def read_run_folder(path: str | Path) -> RunRecord:
    """Read the tables of a run from its output folder.

    Raises
    ------
    ConfigError
        When the folder is not a run's (no ``manifest.json``, or a missing table).
    """
    folder = Path(path)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise ConfigError(
            f"{folder}: not a circle15 run folder (no {MANIFEST}); give the "
            "folder a `circle15 run` wrote, or a study file"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{manifest_path}: cannot be read ({exc})") from None
    if "study" not in manifest:
        raise ConfigError(
            f"{folder}: its {MANIFEST} is not a run's; give the folder a `circle15 run` wrote"
        )
    for name in ("districts.csv", "results.gpkg"):
        if not (folder / name).is_file():
            raise ConfigError(f"{folder}: has no {name}; give the folder of a whole run")
    parameters = manifest.get("parameters", {}) or {}
    cats = parameters.get("categories") or {}
    if not cats:
        raise ConfigError(f"{manifest_path}: names no categories; run the study again")
    categories = {k: _category(k, p, str(manifest_path)) for k, p in cats.items()}
    gpkg = folder / "results.gpkg"
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    for needed in ("facilities", "districts"):
        if needed not in layers:
            raise ConfigError(f"{gpkg}: has no layer {needed!r}")
    zones = gpd.read_file(gpkg, layer="districts")
    facilities = gpd.read_file(gpkg, layer="facilities")
    if facilities.geometry.name != "geometry":
        facilities = facilities.rename_geometry("geometry")
    facilities["facility_id"] = facilities["facility_id"].astype(str)
    cells = gpd.read_file(gpkg, layer="cells") if "cells" in layers else None
    districts = read_own_csv(folder / "districts.csv")
    index = read_own_csv(folder / "index.csv") if (folder / "index.csv").is_file() else None
    study = parameters.get("study") or {}
    return RunRecord(
        name=str(manifest.get("study", folder.name)),
        title=str(study.get("title") or manifest.get("study", folder.name)),
        folder=folder,
        categories=categories,
        cells=cells,
        districts=districts,
        facilities=facilities,
        index=index,
        zones=zones[["district", "name_en", "geometry"]]
        if "name_en" in zones
        else zones[["district", "geometry"]],
        area=shapely.union_all(zones.geometry.to_numpy()),
        synthetic=bool(manifest.get("synthetic_data", False)),
        notice=str(study.get("notice", "")),
        parameters=parameters,
    )
