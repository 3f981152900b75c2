"""Find the embedded Zhenhai demo, rebuilding it from its seed when it is not shipped."""

from __future__ import annotations

import os
from pathlib import Path

from ..progress import QUIET, Progress

DEMO_CONFIG = "zhenhai.toml"


def repository_data_dir() -> Path:
    """The ``data/`` folder of a source checkout (where the demo is committed)."""
    return Path(__file__).resolve().parents[2] / "data"


def cache_dir() -> Path:
    """Where a demo rebuilt from its seed is kept (``$CIRCLE15_CACHE`` or ~/.cache)."""
    root = os.environ.get("CIRCLE15_CACHE") or Path.home() / ".cache" / "circle15"
    from .. import __version__

    return Path(root) / f"demo-{__version__}"


def demo_config_path(progress: Progress = QUIET) -> Path:
    """Path of the demo study file, building the demo data first if it is missing.

    A source checkout ships the demo under ``data/``; an installed wheel does not, so the
    demo is rebuilt there by the same seeded code (a minute or so, once).
    """
    shipped = repository_data_dir() / DEMO_CONFIG
    if shipped.is_file():
        return shipped
    cached = cache_dir() / DEMO_CONFIG
    if not cached.is_file():
        from .build import build_demo

        progress.say(f"demo data not found; building it from its seed into {cached.parent}")
        build_demo(cached.parent)
    return cached
