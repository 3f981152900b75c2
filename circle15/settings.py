"""What to compute, as plain settings: capacity-aware supply and the 可及/均衡/优质 index.

The study file's ``[supply]`` and ``[index]`` sections become these frozen dataclasses
(``config`` validates them); ``analysis`` computes with them. Keeping them here, below
both, lets ``config`` describe a study without importing the analysis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from .errors import ConfigError
from .standards import Category

#: Step weights of the enhanced 2SFCA for three sub-zones (Luo & Qi 2009, Table 1: the
#: Gaussian weights 1.00, 0.68 and 0.22 of their 0-10, 10-20 and 20-30 minute zones).
LUO_QI_STEP_WEIGHTS = (1.0, 0.68, 0.22)

Method = Literal["2sfca", "e2sfca"]
Decay = Literal["step", "gaussian"]
MissingCapacity = Literal["exclude", "median"]


@dataclass(frozen=True)
class SupplySettings:
    """How supply is computed (the study file's ``[supply]`` section).

    Attributes
    ----------
    method : {"2sfca", "e2sfca"}
        Plain two-step floating catchment, or its enhanced form with distance decay.
    decay : {"step", "gaussian"}
        The E2SFCA's decay: ``step`` gives each walking-time tier of the category the
        matching weight in ``step_weights``; ``gaussian`` is Dai's (2010) curve
        ``(exp(-t²/2T²) - exp(-1/2)) / (1 - exp(-1/2))``, 1 at the door, 0 at ``T``.
    step_weights : tuple of float
        One weight per tier of the category (5/10/15 minutes by default), in ``[0, 1]``.
    catchment_min : float, optional
        Catchment in minutes; by default each category's target time.
    missing_capacity : {"exclude", "median"}
        A facility of unknown capacity adds nothing to supply (``exclude``), or is given
        the median known capacity of its category (``median``).
    """

    method: Method = "2sfca"
    decay: Decay = "step"
    step_weights: tuple[float, ...] = LUO_QI_STEP_WEIGHTS
    catchment_min: float | None = None
    missing_capacity: MissingCapacity = "exclude"

    def catchment_for(self, category: Category) -> float:
        """Catchment of ``category`` in minutes."""
        return self.catchment_min if self.catchment_min is not None else category.target_min

    def check_tiers(self, category: Category) -> None:
        """Raise ``ConfigError`` unless step decay has one weight per tier of ``category``."""
        if self.method == "2sfca" or self.decay != "step":
            return
        if len(self.step_weights) != len(category.tiers_min):
            raise ConfigError(
                f"supply.step_weights has {len(self.step_weights)} weights but category "
                f"{category.key!r} has {len(category.tiers_min)} tiers "
                f"({', '.join(f'{t:g}' for t in category.tiers_min)} min); give one per tier"
            )


#: The three dimensions of the index, with their Chinese names.
DIMENSIONS = {"accessibility": "可及", "balance": "均衡", "quality": "优质"}

#: Name given to the whole study area in the index table's ``name_en`` column.
ALL_NAME_EN = "whole area"


@dataclass(frozen=True)
class Indicator:
    """An indicator the index can use.

    ``goalposts`` are ``(worst, best)``; None means ``(target time, 0)`` minutes.
    """

    name: str
    description: str
    higher_is_better: bool
    goalposts: tuple[float, float] | None


INDICATORS: dict[str, Indicator] = {i.name: i for i in [
    Indicator("coverage", "share of the cohort within the target walking time", True,
              (0.0, 1.0)),
    Indicator("reachable", "share of the cohort with a walking route to any facility", True,
              (0.0, 1.0)),
    Indicator("mean_time", "mean walking time of the cohort who can reach a facility, min",
              False, None),
    Indicator("p90_time", "90th-percentile walking time, minutes", False, None),
    Indicator("gini_time", "Gini of walking time over the cohort", False, (1.0, 0.0)),
    Indicator("theil_time", "Theil T of walking time over the cohort", False, (1.0, 0.0)),
    Indicator("gini_supply", "Gini of 2SFCA supply over the cohort", False, (1.0, 0.0)),
    Indicator("theil_supply", "Theil T of 2SFCA supply over the cohort", False, (1.0, 0.0)),
    Indicator("coverage_balance",
              "a sub-district's coverage over the sub-districts' mean coverage (capped at "
              "1); for ALL, the lowest over the mean (min/mean ratio)", True, (0.0, 1.0)),
    Indicator("norm_ratio", "capacity within reach (2SFCA) per head over the norm", True,
              (0.0, 1.0)),
    Indicator("provision_ratio", "capacity located in the district per head over the norm",
              True, (0.0, 1.0)),
]}


def _default_indicators() -> dict[str, dict[str, float]]:
    return {"accessibility": {"coverage": 0.5, "mean_time": 0.5},
            "balance": {"gini_time": 1.0, "gini_supply": 1.0, "coverage_balance": 1.0},
            "quality": {"norm_ratio": 1.0}}


@dataclass(frozen=True)
class IndexSettings:
    """How the index is computed (the study file's ``[index]`` section).

    Attributes
    ----------
    normalisation : {"goalposts", "minmax"}
        Fixed goalposts, or relative to the sub-districts.
    scale : float
        Scores are reported on ``0..scale``.
    weights : mapping
        Weight of each dimension in the composite.
    indicators : mapping
        Per dimension, the indicators used and their weights.
    category_weights : mapping
        Weight of each category (1 when not listed).
    goalposts : mapping
        ``(worst, best)`` per indicator, replacing the defaults of ``INDICATORS``.
    """

    normalisation: Literal["goalposts", "minmax"] = "goalposts"
    scale: float = 100.0
    weights: Mapping[str, float] = field(
        default_factory=lambda: dict.fromkeys(DIMENSIONS, 1.0))
    indicators: Mapping[str, Mapping[str, float]] = field(default_factory=_default_indicators)
    category_weights: Mapping[str, float] = field(default_factory=dict)
    goalposts: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def check(self, categories: Sequence[str], where: str = "index") -> None:
        """Raise ``ConfigError`` naming the field when a name or weight cannot be used."""
        for dim in self.weights:
            if dim not in DIMENSIONS:
                raise ConfigError(f"{where}.weights.{dim}: not a dimension; use "
                                  f"{', '.join(DIMENSIONS)}")
        for dim, used in self.indicators.items():
            if dim not in DIMENSIONS:
                raise ConfigError(f"{where}.indicators.{dim}: not a dimension; use "
                                  f"{', '.join(DIMENSIONS)}")
            for name in used:
                if name not in INDICATORS:
                    raise ConfigError(f"{where}.indicators.{dim}.{name}: unknown indicator; "
                                      f"known: {', '.join(INDICATORS)}")
        for name in self.goalposts:
            if name not in INDICATORS:
                raise ConfigError(f"{where}.goalposts.{name}: unknown indicator; known: "
                                  f"{', '.join(INDICATORS)}")
            worst, best = self.goalposts[name]
            if worst == best:
                raise ConfigError(f"{where}.goalposts.{name}: worst and best are equal")
        for key in self.category_weights:
            if key not in categories:
                raise ConfigError(f"{where}.category_weights.{key}: not a category of this "
                                  f"study ({', '.join(categories)})")
        groups = {"weights": self.weights, "category_weights": self.category_weights,
                  **{f"indicators.{d}": v for d, v in self.indicators.items()}}
        for label, weights in groups.items():
            if any(not w >= 0 for w in weights.values()):
                raise ConfigError(f"{where}.{label}: weights must be 0 or more")
        if not any(w > 0 for w in self.weights.values()):
            raise ConfigError(f"{where}.weights: give at least one dimension a weight above 0")


