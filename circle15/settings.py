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
        matching weight in ``step_weights`` (see :meth:`step_limits`); ``gaussian`` is
        Dai's (2010) curve ``(exp(-t²/2T²) - exp(-1/2)) / (1 - exp(-1/2))``, 1 at the
        door, 0 at ``T`` = the catchment.
    step_weights : tuple of float
        One weight per tier of the category (5/10/15 minutes by default), in ``[0, 1]``,
        plus one for the step from the last tier to the catchment when the catchment is
        longer than the last tier.
    catchment_min : float, optional
        Catchment in minutes; by default each category's target time. It always takes
        effect: residents farther than it share nothing, and under step decay a catchment
        beyond the last tier needs a weight for the extra step (else the study file is
        refused), so that it can never silently end at the last tier.
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

    def step_limits(self, category: Category) -> tuple[float, ...]:
        """Upper limits (minutes) of the decay steps of ``category`` under step decay.

        The category's tiers cut at the catchment, the last step ending at the catchment:
        tiers 5/10/15 give ``(5, 10, 15)`` for a 15-minute catchment, ``(5, 10, 12)`` for
        12 minutes and ``(5, 10, 15, 20)`` for 20 minutes. Each step takes the weight of
        its tier in ``step_weights``; beyond the catchment the weight is 0.
        """
        limit = self.catchment_for(category)
        inside = tuple(t for t in category.tiers_min if t < limit)
        return (*inside, limit)

    def check_tiers(self, category: Category) -> None:
        """Raise ``ConfigError`` unless step decay has a weight for every step of ``category``.

        One weight per tier of the category, plus one when the catchment is longer than
        the last tier (for the step from the last tier to the catchment).
        """
        if self.method == "2sfca" or self.decay != "step":
            return
        tiers = category.tiers_min
        limit = self.catchment_for(category)
        beyond = limit > tiers[-1]
        needed = len(tiers) + int(beyond)
        if len(self.step_weights) == needed:
            return
        listed = ", ".join(f"{t:g}" for t in tiers)
        if beyond and len(self.step_weights) == len(tiers):
            raise ConfigError(
                f"supply.catchment_min = {limit:g} min is beyond the last tier of category "
                f"{category.key!r} ({listed} min): under step decay its weights would end at "
                f"{tiers[-1]:g} min and the catchment would silently be {tiers[-1]:g} min. "
                f"Give step_weights a weight for {tiers[-1]:g}-{limit:g} min too "
                f"({needed} weights, e.g. [{', '.join(f'{w:g}' for w in self.step_weights)}"
                f', 0.1]), or use decay = "gaussian"'
            )
        raise ConfigError(
            f"supply.step_weights has {len(self.step_weights)} weights but category "
            f"{category.key!r} has {len(tiers)} tiers ({listed} min)"
            + (f" and a catchment of {limit:g} min beyond them" if beyond else "")
            + f"; give {needed}, one per tier"
            + (" plus one for the step to the catchment" if beyond else "")
        )


#: The three dimensions of the index, with their Chinese names.
DIMENSIONS = {"accessibility": "可及", "balance": "均衡", "quality": "优质"}

#: Name given to the whole study area in the index table's ``name_en`` column.
ALL_NAME_EN = "whole area"


@dataclass(frozen=True)
class Indicator:
    """An indicator the index can use.

    ``goalposts`` are ``(worst, best)``; None means ``(target time, 0)`` minutes.
    ``unserved`` names the case in which the indicator has no value although the
    district has residents of the cohort, because nobody is served at all: ``no_route``
    (nobody can walk to any facility: no walking time to average or compare),
    ``no_supply`` (the 2SFCA supply is 0 for everyone: the share of each is 0/0) or
    ``no_coverage`` (nobody within the target in any sub-district). With ``[index]
    unserved = "worst"`` (the default) the indicator then scores 0, the worst.
    """

    name: str
    description: str
    higher_is_better: bool
    goalposts: tuple[float, float] | None
    unserved: str | None = None


INDICATORS: dict[str, Indicator] = {
    i.name: i
    for i in [
        Indicator(
            "coverage",
            "share of the cohort within the target walking time of a facility "
            "(unreachable residents count as not covered)",
            True,
            (0.0, 1.0),
        ),
        Indicator(
            "reachable",
            "share of the cohort with a walking route to at least one "
            "facility, at any time: snapped to a street within the snap limit, on a "
            "network piece where a facility of the category stands; "
            "1 - unreachable_population / population",
            True,
            (0.0, 1.0),
        ),
        Indicator(
            "mean_time",
            "mean walking time (minutes) of the cohort who can reach a facility",
            False,
            None,
            "no_route",
        ),
        Indicator(
            "p90_time",
            "90th-percentile walking time (minutes) of the cohort who can "
            "reach a facility: the shortest time within which at least 90% of them live "
            "(weighted inverted CDF, no interpolation)",
            False,
            None,
            "no_route",
        ),
        Indicator(
            "gini_time",
            "Gini of walking time over the cohort who can reach a facility",
            False,
            (1.0, 0.0),
            "no_route",
        ),
        Indicator(
            "theil_time",
            "Theil T of walking time over the cohort who can reach a facility",
            False,
            (1.0, 0.0),
            "no_route",
        ),
        Indicator(
            "gini_supply", "Gini of 2SFCA supply over the cohort", False, (1.0, 0.0), "no_supply"
        ),
        Indicator(
            "theil_supply",
            "Theil T of 2SFCA supply over the cohort",
            False,
            (1.0, 0.0),
            "no_supply",
        ),
        Indicator(
            "ede_time",
            "equally-distributed equivalent (Atkinson) of the residents' "
            "walking-time achievement: each resident scored on the mean_time goalposts "
            "(1 at the best, 0 at or beyond the worst or without a route), then "
            "(mean a^(1-e))^(1/(1-e)); the level everyone would need to be as well off",
            True,
            (0.0, 1.0),
        ),
        Indicator(
            "ede_supply",
            "equally-distributed equivalent (Atkinson) of the residents' "
            "supply achievement: each resident's 2SFCA supply over the supply per head "
            "that meets the norm, capped at 1",
            True,
            (0.0, 1.0),
        ),
        Indicator(
            "coverage_balance",
            "a sub-district's coverage over the sub-districts' mean coverage (capped at "
            "1); for ALL, the lowest over the mean (min/mean ratio)",
            True,
            (0.0, 1.0),
            "no_coverage",
        ),
        Indicator(
            "norm_ratio", "capacity within reach (2SFCA) per head over the norm", True, (0.0, 1.0)
        ),
        Indicator(
            "provision_ratio",
            "capacity located in the district per head over the norm",
            True,
            (0.0, 1.0),
        ),
    ]
}


def _default_indicators() -> dict[str, dict[str, float]]:
    return {
        "accessibility": {"coverage": 0.5, "mean_time": 0.5},
        "balance": {"ede_time": 1.0, "ede_supply": 1.0},
        "quality": {"norm_ratio": 1.0},
    }


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
    inequality_aversion : float
        Atkinson's ``e`` of the ``ede_*`` indicators, in ``[0, 1)``: 0 is the plain mean
        (inequality costs nothing); the larger, the more an uneven spread is marked down.
        Below 1 so that residents with nothing (0) count without sending the whole
        measure to 0.
    unserved : {"worst", "missing"}
        An indicator without a value because nobody of the cohort is served (see
        ``Indicator.unserved``: no walking route at all, supply 0 everywhere) scores the
        worst, 0 (``"worst"``), or is left out with the other weights rescaled
        (``"missing"``).
    categories : tuple of str, optional
        The categories that count towards the districts' index (``[index] categories``);
        None counts every category of the study. Categories left out keep their own
        scores (``score_*`` in the district table) but weigh nothing in the index.
    """

    normalisation: Literal["goalposts", "minmax"] = "goalposts"
    scale: float = 100.0
    weights: Mapping[str, float] = field(default_factory=lambda: dict.fromkeys(DIMENSIONS, 1.0))
    indicators: Mapping[str, Mapping[str, float]] = field(default_factory=_default_indicators)
    category_weights: Mapping[str, float] = field(default_factory=dict)
    goalposts: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    inequality_aversion: float = 0.5
    unserved: Literal["worst", "missing"] = "worst"
    categories: tuple[str, ...] | None = None

    def category_weight(self, key: str) -> float:
        """Weight of a category in the index: 0 when ``categories`` leaves it out."""
        if self.categories is not None and key not in self.categories:
            return 0.0
        return float(self.category_weights.get(key, 1.0))

    def check(self, categories: Sequence[str], where: str = "index") -> None:
        """Raise ``ConfigError`` naming the field when a name or weight cannot be used."""
        for dim in self.weights:
            if dim not in DIMENSIONS:
                raise ConfigError(
                    f"{where}.weights.{dim}: not a dimension; use {', '.join(DIMENSIONS)}"
                )
        for dim, used in self.indicators.items():
            if dim not in DIMENSIONS:
                raise ConfigError(
                    f"{where}.indicators.{dim}: not a dimension; use {', '.join(DIMENSIONS)}"
                )
            for name in used:
                if name not in INDICATORS:
                    raise ConfigError(
                        f"{where}.indicators.{dim}.{name}: unknown indicator; "
                        f"known: {', '.join(INDICATORS)}"
                    )
        for name in self.goalposts:
            if name not in INDICATORS:
                raise ConfigError(
                    f"{where}.goalposts.{name}: unknown indicator; known: {', '.join(INDICATORS)}"
                )
            worst, best = self.goalposts[name]
            if worst == best:
                raise ConfigError(f"{where}.goalposts.{name}: worst and best are equal")
        for key in self.categories or ():
            if key not in categories:
                raise ConfigError(
                    f"{where}.categories: {key!r} is not a category of this "
                    f"study ({', '.join(categories)})"
                )
        if self.categories is not None and len(set(self.categories)) < len(self.categories):
            raise ConfigError(f"{where}.categories: a category is listed twice")
        for key in self.category_weights:
            if key not in categories:
                raise ConfigError(
                    f"{where}.category_weights.{key}: not a category of this "
                    f"study ({', '.join(categories)})"
                )
        groups = {
            "weights": self.weights,
            "category_weights": self.category_weights,
            **{f"indicators.{d}": v for d, v in self.indicators.items()},
        }
        for label, weights in groups.items():
            if any(not w >= 0 for w in weights.values()):
                raise ConfigError(f"{where}.{label}: weights must be 0 or more")
        if not 0 <= self.inequality_aversion < 1:
            raise ConfigError(
                f"{where}.inequality_aversion: {self.inequality_aversion:g} is "
                "outside [0, 1); 0 is the plain mean, 0.5 the default"
            )
        if self.unserved not in ("worst", "missing"):
            raise ConfigError(f'{where}.unserved: use "worst" or "missing"')
        if not any(w > 0 for w in self.weights.values()):
            raise ConfigError(f"{where}.weights: give at least one dimension a weight above 0")
        if not any(self.category_weight(k) > 0 for k in categories):
            raise ConfigError(
                f"{where}: no category counts towards the index (every one is "
                "left out of categories or weighted 0)"
            )


#: Kinds of target a study (or a plan's scenario) may set per category, with what they
#: measure and whether they need a before (``change``) or hold for one run (``level``).
TARGET_KINDS: dict[str, tuple[str, str]] = {
    "new_facilities": ("facilities opened (新建)", "change"),
    "new_capacity": ("capacity added: after minus before (新增)", "change"),
    "capacity_per_resident": (
        "capacity of the facilities in the study area per resident (人均)",
        "level",
    ),
    "capacity_per_1000": (
        "capacity of the facilities in the study area per 1,000 residents (千人指标)",
        "level",
    ),
    "coverage": ("share of the category's cohort within its target walking time", "level"),
}
#: Other names of a target kind (the work plan's 人均体育场地面积 is an area per resident).
TARGET_ALIASES = {
    "area_per_resident": "capacity_per_resident",
    "places_per_1000": "capacity_per_1000",
}


@dataclass(frozen=True)
class Target:
    """One target of a study or plan: ``value`` of ``kind`` for ``category``.

    ``kind`` is one of :data:`TARGET_KINDS` (an alias of :data:`TARGET_ALIASES` is
    stored as given in ``name`` and resolved in ``kind``); ``source`` says where the
    figure comes from (e.g. a clause of the work plan).
    """

    category: str
    kind: str
    value: float
    source: str = ""
    name: str = ""

    @property
    def label(self) -> str:
        """``elderly_canteen.new_facilities`` as written in the study file."""
        return f"{self.category}.{self.name or self.kind}"

    @property
    def needs_before(self) -> bool:
        """True for a target of change (new facilities, new capacity)."""
        return TARGET_KINDS[self.kind][1] == "change"


# --------------------------------------------------------------------------------------
# Matching the facilities of two vintages (circle15 diff)

#: A facility of the same category and name this close in the other vintage is the same.
NAME_MATCH_M = 500.0
#: A facility of the same category this close in the other vintage is the same (renamed).
PLACE_MATCH_M = 25.0
#: A matched facility farther than this from where it was has moved.
MOVED_M = 10.0
