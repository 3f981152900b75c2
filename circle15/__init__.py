"""circle15: 15-minute public-service circle analysis over a real walking network.

The names below are the public API, loaded on first use (PEP 562) so that
``import circle15.engine`` stays light (no pydantic, folium or study loading)::

    from circle15 import Study
    result = Study.from_config("data/zhenhai.toml").run()
    session = circle15.WhatIfSession(result)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .analysis.compare import Comparison, compare_with_reference
    from .batch.run import run_batch
    from .errors import (
        Circle15Error,
        Circle15Warning,
        ConfigError,
        InputError,
        OutputError,
    )
    from .outputs import write_outputs
    from .planning import (
        SiteSelection,
        WhatIfSession,
        apply_scenario,
        load_scenario,
        run_scenario,
        select_sites,
    )
    from .result import CoverageResult
    from .sources.reference import read_reference
    from .standards import Category, load_standards
    from .study import Study

#: Public name -> module that defines it.
_PUBLIC = {
    "Study": ".study",
    "CoverageResult": ".result",
    "WhatIfSession": ".planning",
    "SiteSelection": ".planning",
    "select_sites": ".planning",
    "load_scenario": ".planning",
    "apply_scenario": ".planning",
    "run_scenario": ".planning",
    "run_batch": ".batch.run",
    "Comparison": ".analysis.compare",
    "compare_with_reference": ".analysis.compare",
    "read_reference": ".sources.reference",
    "write_outputs": ".outputs",
    "Category": ".standards",
    "load_standards": ".standards",
    "Circle15Error": ".errors",
    "Circle15Warning": ".errors",
    "ConfigError": ".errors",
    "InputError": ".errors",
    "OutputError": ".errors",
}

__all__ = [
    "Category",
    "Circle15Error",
    "Circle15Warning",
    "Comparison",
    "ConfigError",
    "CoverageResult",
    "InputError",
    "OutputError",
    "SiteSelection",
    "Study",
    "WhatIfSession",
    "__version__",
    "apply_scenario",
    "compare_with_reference",
    "load_scenario",
    "load_standards",
    "read_reference",
    "run_batch",
    "run_scenario",
    "select_sites",
    "write_outputs",
]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name], __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'circle15' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
