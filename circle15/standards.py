"""Public-service categories and their standards, loaded from ``standards.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

from .errors import ConfigError

STANDARDS_FILE = "standards.toml"


@dataclass(frozen=True)
class Category:
    """One kind of public service and the yardsticks it is measured by.

    Attributes
    ----------
    key : str
        Machine name used in column names (``t_<key>``), e.g. ``"childcare"``.
    name_zh, name_en : str
        Names shown on maps and in tables.
    age_min, age_max : int
        Target cohort, inclusive ages; ``age_max >= 200`` means "and over".
    tiers_min : tuple of float
        Walking-time tiers reported, minutes, increasing.
    target_min : float
        Walking time within which a resident counts as covered.
    speed_kmh : float
        Walking speed used to turn metres into minutes for this cohort.
    capacity_unit : str
        What the facility capacity counts (places, seats, m²).
    life_circle_min, life_circle_radius_m : float
        GB 50180-2018 life-circle reference for the category.
    sources : dict
        Source of each figure.
    unverified : tuple of str
        Fields whose figure could not be checked against the official text.
    norm : float, optional
        Per-capita norm: capacity (in ``capacity_unit``) wanted for every ``norm_per``
        people of ``norm_base``, e.g. 4.5 childcare places per 1,000 residents. None when
        the category has no norm.
    norm_per : float
        The number of people the norm is stated for (1,000 or 1).
    norm_base : str
        Who the norm counts: ``"residents"`` (everyone) or ``"cohort"`` (the target cohort).
    step_free : bool
        Walking profile: True routes the cohort around steps (``highway=steps``) and ways
        tagged ``wheelchair=no`` (walkers, wheelchairs, strollers), and the run reports who
        reaches a facility in time only by using steps.
    """

    key: str
    name_zh: str
    name_en: str
    age_min: int
    age_max: int
    tiers_min: tuple[float, ...]
    target_min: float
    speed_kmh: float
    capacity_unit: str = ""
    life_circle_min: float | None = None
    life_circle_radius_m: float | None = None
    sources: dict[str, str] = field(default_factory=dict)
    unverified: tuple[str, ...] = ()
    norm: float | None = None
    norm_per: float = 1.0
    norm_base: str = "cohort"
    step_free: bool = False

    @property
    def label(self) -> str:
        """Bilingual label, e.g. ``"托育 Childcare"``."""
        return f"{self.name_zh} {self.name_en}"

    @property
    def cohort_label(self) -> str:
        """Target cohort in words, e.g. ``"ages 0-2"`` or ``"ages 60+"``."""
        if self.age_max >= 200:
            return "all ages" if self.age_min == 0 else f"ages {self.age_min}+"
        return f"ages {self.age_min}-{self.age_max}"

    @property
    def profile(self) -> str:
        """The walking profile: ``"step_free"`` or ``"ordinary"`` (every walkable way)."""
        return "step_free" if self.step_free else "ordinary"

    @property
    def metres_per_minute(self) -> float:
        """Walking speed in metres per minute."""
        return self.speed_kmh * 1000.0 / 60.0

    @property
    def norm_label(self) -> str:
        """The norm in words, e.g. ``"4.5 托位 places per 1,000 residents"``; "" if none."""
        if self.norm is None:
            return ""
        per = "per resident" if self.norm_per == 1 else f"per {self.norm_per:,g} residents"
        if self.norm_base == "cohort":
            per += f" ({self.cohort_label})"
        return " ".join(p for p in (f"{self.norm:g}", self.capacity_unit, per) if p)


@dataclass(frozen=True)
class Standards:
    """All categories with the defaults they were filled from."""

    categories: dict[str, Category]
    max_snap_m: float
    sources: dict[str, str]

    def select(self, keys: list[str] | None) -> Standards:
        """Return the standards restricted to ``keys`` (in that order)."""
        if keys is None:
            return self
        unknown = [k for k in keys if k not in self.categories]
        if unknown:
            raise ConfigError(
                f"unknown category {unknown[0]!r}; known categories are "
                f"{', '.join(self.categories)}"
            )
        return replace(self, categories={k: self.categories[k] for k in keys})


def _category(raw: dict[str, Any], defaults: dict[str, Any], where: str) -> Category:
    merged = {**defaults, **raw}
    try:
        tiers = tuple(float(t) for t in merged["tiers_min"])
        category = Category(
            key=str(merged["key"]),
            name_zh=str(merged["name_zh"]),
            name_en=str(merged["name_en"]),
            age_min=int(merged["age_min"]),
            age_max=int(merged["age_max"]),
            tiers_min=tiers,
            target_min=float(merged["target_min"]),
            speed_kmh=float(merged["speed_kmh"]),
            capacity_unit=str(merged.get("capacity_unit", "")),
            life_circle_min=merged.get("life_circle_min"),
            life_circle_radius_m=merged.get("life_circle_radius_m"),
            sources={**defaults.get("sources", {}), **merged.get("sources", {})},
            unverified=tuple(merged.get("unverified", {}).get("fields", ())),
            norm=None if merged.get("norm") is None else float(merged["norm"]),
            norm_per=float(merged.get("norm_per", 1.0)),
            norm_base=str(merged.get("norm_base", "cohort")),
            step_free=_flag(merged.get("step_free", False), "step_free"),
        )
    except KeyError as exc:
        raise ConfigError(f"{where}: category is missing the field {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: a category field has the wrong type ({exc})") from None
    validate_category(category, where)
    return category


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be true or false, not {value!r}")
    return value


def validate_category(category: Category, where: str) -> None:
    """Raise ``ConfigError`` when a category's figures cannot be right."""
    prefix = f"{where}: category {category.key!r}"
    if not category.tiers_min or any(t <= 0 for t in category.tiers_min):
        raise ConfigError(f"{prefix}: tiers_min must be positive minutes, e.g. [5, 10, 15]")
    if any(b <= a for a, b in zip(category.tiers_min, category.tiers_min[1:], strict=False)):
        raise ConfigError(
            f"{prefix}: tiers_min {list(category.tiers_min)} must be strictly increasing"
        )
    if category.target_min <= 0:
        raise ConfigError(f"{prefix}: target_min must be a positive number of minutes")
    if not 0.5 <= category.speed_kmh <= 10:
        raise ConfigError(
            f"{prefix}: speed_kmh {category.speed_kmh} is not a walking speed; use 0.5-10 km/h"
        )
    if category.age_min < 0 or category.age_max < category.age_min:
        raise ConfigError(f"{prefix}: ages {category.age_min}-{category.age_max} are not a range")
    if category.norm is not None and not category.norm > 0:
        raise ConfigError(f"{prefix}: norm {category.norm} must be a positive capacity")
    if not category.norm_per > 0:
        raise ConfigError(f"{prefix}: norm_per {category.norm_per} must be positive, e.g. 1000")
    if category.norm_base not in ("residents", "cohort"):
        raise ConfigError(
            f'{prefix}: norm_base {category.norm_base!r} must be "residents" or "cohort"'
        )


def parse_standards(data: dict[str, Any], where: str) -> Standards:
    """Build ``Standards`` from a parsed standards TOML document."""
    defaults = data.get("defaults", {})
    cats = [
        _category(c, defaults, f"{where} [[category]] #{i + 1}")
        for i, c in enumerate(data.get("category", []))
    ]
    if not cats:
        raise ConfigError(f"{where}: no [[category]] tables found")
    keys = [c.key for c in cats]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ConfigError(f"{where}: category key {dupes[0]!r} is defined twice")
    return Standards(
        categories={c.key: c for c in cats},
        max_snap_m=float(defaults.get("max_snap_m", 300.0)),
        sources=dict(defaults.get("sources", {})),
    )


def load_standards() -> Standards:
    """Load the standards shipped with circle15 (``circle15/standards.toml``).

    Returns
    -------
    Standards
        ``categories`` (a :class:`Category` by key, in the file's order), the default
        ``max_snap_m`` and the ``sources`` of the defaults.
    """
    text = resources.files("circle15").joinpath(STANDARDS_FILE).read_text(encoding="utf-8")
    return parse_standards(tomllib.loads(text), f"circle15/{STANDARDS_FILE}")
