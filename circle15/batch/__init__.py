"""Many regions in one batch: a city's districts or a province's counties, same standards.

``circle15 batch BATCH.toml`` (or :func:`run_batch`) runs one study per region, each with
the streets and facilities within its outline plus the buffer (so that access across a
region's border counts) and the residents inside it, on local processes or a Dask
cluster; writes each region's outputs into ``out/<batch>/<region>/`` and the combined
tables and overview map into ``out/<batch>/``. A region with bad data is reported and the
others go on; a re-run skips the regions whose inputs and outputs are unchanged.
"""

from __future__ import annotations

from .config import Batch, Region, load_batch
from .run import BatchRun, run_batch

__all__ = ["Batch", "BatchRun", "Region", "load_batch", "run_batch"]
