"""circle15: 15-minute public-service circle analysis over a real walking network."""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING

from .errors import Circle15Error, ConfigError, InputError

if TYPE_CHECKING:
    from .result import CoverageResult
    from .standards import Category, load_standards
    from .study import Study

#: Names loaded on first use (PEP 562), so that ``circle15 --version`` and the checks of
#: the command line and its environment run before numpy and scipy are imported.
_LAZY = {"CoverageResult": ".result", "Category": ".standards",
         "load_standards": ".standards", "Study": ".study"}

__all__ = [
    "Category",
    "Circle15Error",
    "ConfigError",
    "CoverageResult",
    "InputError",
    "Study",
    "__version__",
    "load_standards",
]


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
