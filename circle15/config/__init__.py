"""A study is one TOML file: what to read, which categories, with which thresholds.

Paths in the file are relative to the file itself. Validation errors name the file and
the field, e.g. ``zhenhai.toml: network.path: file not found: network/walk.gpkg``.

The package's modules, each with one job:

- :mod:`~circle15.config.values`: limits, name checks and the number types of every schema;
- :mod:`~circle15.config.sections`: the study file's sections and :class:`StudyConfig`;
- :mod:`~circle15.config.toml_files`: reading a TOML file safely (:func:`read_toml`);
- :mod:`~circle15.config.loading`: :func:`load_config` and :class:`LoadedConfig`.

Every name is importable from ``circle15.config`` itself.
"""

from __future__ import annotations

from .loading import LoadedConfig, load_config
from .loading import _explain as _explain
from .sections import (
    AnalysisSection,
    BoundarySection,
    CategoryOverride,
    CompareSection,
    FacilitySource,
    IndexSection,
    NetworkSection,
    OutputsSection,
    PopulationSection,
    StudyConfig,
    StudySection,
    SupplySection,
)
from .toml_files import MAX_TOML_BYTES, MAX_TOML_DEPTH, read_toml
from .values import (
    MAX_AGE,
    MAX_AMOUNT,
    MAX_METRES,
    MAX_MINUTES,
    MAX_NAME_CHARS,
    MAX_WEIGHT,
    Amount,
    Bounded,
    Metres,
    Minutes,
    PathComponent,
    PositiveFloat,
    Weight,
    category_key,
    path_component,
)

__all__ = [
    "MAX_AGE",
    "MAX_AMOUNT",
    "MAX_METRES",
    "MAX_MINUTES",
    "MAX_NAME_CHARS",
    "MAX_TOML_BYTES",
    "MAX_TOML_DEPTH",
    "MAX_WEIGHT",
    "Amount",
    "AnalysisSection",
    "BoundarySection",
    "Bounded",
    "CategoryOverride",
    "CompareSection",
    "FacilitySource",
    "IndexSection",
    "LoadedConfig",
    "Metres",
    "Minutes",
    "NetworkSection",
    "OutputsSection",
    "PathComponent",
    "PopulationSection",
    "PositiveFloat",
    "StudyConfig",
    "StudySection",
    "SupplySection",
    "Weight",
    "category_key",
    "load_config",
    "path_component",
    "read_toml",
]
