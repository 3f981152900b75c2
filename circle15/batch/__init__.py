"""Many regions in one batch: a city's districts or a province's counties, same standards.

``circle15 batch BATCH.toml`` (or :func:`run_batch`) runs one study per region, each with
the streets and facilities within its outline plus the buffer (so that access across a
region's border counts) and the residents inside it, on local processes or a Dask
cluster; writes each region's outputs into ``out/<batch>/<region>/`` and the combined
tables and overview map into ``out/<batch>/``. A region with bad data is reported and the
others go on; a re-run skips the regions whose inputs and outputs are unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Batch, Region, load_batch
    from .run import BatchRun, run_batch

#: Loaded on first use (PEP 562): the ``circle15`` parser imports ``batch.cli`` only.
_LAZY = {
    "Batch": ".config",
    "Region": ".config",
    "load_batch": ".config",
    "BatchRun": ".run",
    "run_batch": ".run",
}

__all__ = ["Batch", "BatchRun", "Region", "load_batch", "run_batch"]


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
