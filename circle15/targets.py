"""``[targets]``: what a study or a plan wants to reach, read from its TOML file.

A target names a category and a kind (:data:`circle15.settings.TARGET_KINDS`)::

    [targets]
    elderly_canteen.new_facilities = 27          # 新建 2 + 3 + 22 (facilities opened)
    childcare.new_capacity = 100                 # 新增托位 100 个 (capacity added)
    sports_venue.area_per_resident = 2.9         # 人均体育场地面积 2.9 m²
    childcare.capacity_per_1000 = 4.5            # 千人指标
    elderly_canteen.coverage = 1.0               # share of the cohort within the target

    [targets.childcare]                          # the same, one table per category,
    new_capacity = 100                           #   with where the figure comes from
    source = "2024 work plan (一)1"

:func:`circle15.analysis.targets.evaluate_targets` says which are met.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from .errors import ConfigError
from .settings import TARGET_ALIASES, TARGET_KINDS, Target

__all__ = ["CategoryTargets", "resolve_targets"]

_BIG = 1e9


class CategoryTargets(BaseModel):
    """The targets of one category (``[targets.<category>]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    new_facilities: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    """Facilities opened (新建) between the baseline and the plan or the later vintage."""
    new_capacity: Annotated[float, Field(ge=-_BIG, le=_BIG)] | None = None
    """Capacity added (新增): the capacity after minus before, in the category's unit."""
    capacity_per_resident: Annotated[float, Field(ge=0, le=_BIG)] | None = None
    """Capacity of the facilities in the study area per resident (人均), e.g. m² of sports
    ground."""
    area_per_resident: Annotated[float, Field(ge=0, le=_BIG)] | None = None
    """Another name of `capacity_per_resident` (人均面积), for categories measured in m²."""
    capacity_per_1000: Annotated[float, Field(ge=0, le=_BIG)] | None = None
    """Capacity of the facilities in the study area per 1,000 residents (千人指标)."""
    places_per_1000: Annotated[float, Field(ge=0, le=_BIG)] | None = None
    """Another name of `capacity_per_1000` (千人托位/学位), for categories counted in places."""
    coverage: Annotated[float, Field(ge=0, le=1)] | None = None
    """Share of the category's cohort within the target walking time, whole area (0–1)."""
    source: Annotated[str, Field(max_length=500)] = ""
    """Where the figures come from (e.g. `"2024 work plan (一)1"`), shown beside them."""


def resolve_targets(
    section: dict[str, CategoryTargets], categories: list[str], where: str
) -> tuple[Target, ...]:
    """The targets of a ``[targets]`` section, checked against the study's categories.

    Raises
    ------
    ConfigError
        A category the study does not have, or one kind given under two names.
    """
    out: list[Target] = []
    for key, targets in section.items():
        if key not in categories:
            raise ConfigError(
                f"{where}: targets.{key}: not a category of this study ({', '.join(categories)})"
            )
        given = {k: v for k, v in targets.model_dump().items() if v is not None and k != "source"}
        kinds: dict[str, str] = {}
        for name, value in given.items():
            kind = TARGET_ALIASES.get(name, name)
            if kind in kinds:
                raise ConfigError(
                    f"{where}: targets.{key}: {kinds[kind]} and {name} are the "
                    "same target; give one of them"
                )
            kinds[kind] = name
            assert kind in TARGET_KINDS
            out.append(Target(key, kind, float(value), targets.source, name))
    return tuple(out)
