"""circle15: 15-minute public-service circle analysis over a real walking network."""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import Circle15Error, ConfigError, InputError
from .result import CoverageResult
from .standards import Category, load_standards
from .study import Study

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
