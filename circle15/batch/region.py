"""One region of a batch, run where it is sent: a local process or a Dask worker.

:func:`run_region` is the task. It reads the inputs from shared storage itself, runs the
region's study, writes the region's outputs into its folder (on shared storage too) and
returns only a small summary (status, reason, seconds, memory, where it ran): no frame
travels back through the scheduler. A region whose data are bad comes back ``failed``
with the reason and never raises, so the other regions go on.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import Circle15Error, InputError
from ..outputs.atomic import write_text
from ..outputs.manifest import write_json
from . import storage
from .config import DISTRICTS_FILE, OUTLINE_FILE, STUDY_FILE, Batch, Region, ZoneSource

#: The region's record, written last: status, reason and the fingerprint of its inputs.
RECORD_FILE = "batch_region.json"
#: Statuses: ran now, up to date from an earlier run, bad input, circle15 or worker fault.
OK, SKIPPED, FAILED, ERROR = "ok", "skipped", "failed", "error"


@dataclass(frozen=True)
class RegionTask:
    """Everything a worker needs to run one region (small: no data, only references).

    ``out_dir`` is where the region is written (its folder in the batch's run, which
    nobody reads yet); ``published_dir`` where it is read once the batch is published
    (``out/<batch>/<key>``), which its manifest's paths name. ``input_hashes``: the
    SHA-256 of each input reference when the batch started.
    """

    batch: str
    key: str
    name: str
    out_dir: str
    document: dict[str, Any]
    study_text: str
    outline_wkb: bytes
    outline_crs: str
    zones: ZoneSource | None
    fingerprint: str
    published_dir: str = ""
    input_hashes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def make(
        cls,
        batch: Batch,
        region: Region,
        out_dir: Path,
        hashes: dict[str, str],
        published: Path | None = None,
    ) -> RegionTask:
        """The task of ``region``; ``hashes`` maps each input reference to its SHA-256.

        ``out_dir``: the batch folder the region is written into; ``published``: the
        batch folder it is read from later (default: ``out_dir``).
        """
        refs = batch.region_inputs(region).values()
        return cls(
            batch=batch.name,
            key=region.key,
            name=region.name,
            out_dir=str(Path(out_dir) / region.key),
            document=batch.study_document(region),
            study_text=batch.study_text(region),
            outline_wkb=region.outline_wkb,
            outline_crs=region.outline_crs,
            zones=region.zones,
            fingerprint=batch.fingerprint(region, hashes),
            published_dir=str(Path(published or out_dir) / region.key),
            input_hashes={ref: hashes[ref] for ref in refs if ref in hashes},
        )

    @property
    def published(self) -> Path:
        """The region's folder once the batch is published."""
        return Path(self.published_dir or self.out_dir)


#: What a failed region's folder keeps: what it ran with, and why it failed.
_KEPT_ON_FAILURE = (RECORD_FILE, STUDY_FILE, OUTLINE_FILE, DISTRICTS_FILE)


def run_region(task: RegionTask) -> dict[str, Any]:
    """Run one region's study and write its outputs; never raises for bad input.

    A region that fails keeps only its study file, outline, sub-districts and the record
    saying why: no partial outputs.

    Returns
    -------
    dict
        ``key, name, status`` (``ok``, ``failed`` for bad input, ``error`` for anything
        else), ``reason``, ``seconds``, ``worker``, ``peak_memory_mb`` (the worker
        process's peak resident memory so far), ``cells``, ``population``.
    """
    started = datetime.now(UTC)
    clock = time.perf_counter()
    out = Path(task.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # From here until the new manifest is written, the folder is not a complete run.
    for stale in (RECORD_FILE, "manifest.json"):
        (out / stale).unlink(missing_ok=True)
    outcome: dict[str, Any] = {
        "key": task.key,
        "name": task.name,
        "status": OK,
        "reason": "",
        "cells": 0,
        "population": 0.0,
        "warnings": 0,
    }
    try:
        result = _run(task, out, started)
        outcome["cells"] = len(result.cells)
        outcome["population"] = float(result.cells["pop_total"].sum())
        # Warnings (facilities off the streets, residents on network islands …) are in
        # the region's manifest.json; the count tells the reviewer where to look.
        outcome["warnings"] = len(result.diagnostics.get("warnings", []))
    except Circle15Error as exc:
        outcome.update(status=FAILED, reason=str(exc))
    except MemoryError:
        outcome.update(
            status=FAILED,
            reason="ran out of memory: give each worker more "
            "(--memory-limit) or run fewer at once (--workers)",
        )
    except Exception as exc:  # a bug: reported with the region, the other regions go on
        tail = "".join(traceback.format_exception(exc)[-3:]).strip()
        outcome.update(
            status=ERROR,
            reason=f"internal error ({type(exc).__name__}: {exc}); please report it. {tail}",
        )
    if outcome["status"] != OK:
        _remove_partial_outputs(out)
    outcome.update(
        seconds=round(time.perf_counter() - clock, 3),
        worker=worker_name(),
        peak_memory_mb=peak_memory_mb(),
        started_utc=started.isoformat(timespec="seconds"),
    )
    write_json(
        out / RECORD_FILE,
        {**outcome, "batch": task.batch, "fingerprint": task.fingerprint, "circle15": __version__},
    )
    return outcome


def _remove_partial_outputs(out: Path) -> None:
    for entry in out.iterdir():
        if entry.name not in _KEPT_ON_FAILURE:
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def _run(task: RegionTask, out: Path, started: datetime):
    """Write the region's outline, sub-districts and study file, then run the study."""
    import geopandas as gpd
    import shapely

    from ..outputs import write_run_files
    from ..progress import Progress
    from ..sources.guard import reading
    from ..sources.region import read_region_inputs, region_zones
    from ..study import Study

    outline = gpd.GeoDataFrame(
        {"name": [task.name], "key": [task.key]},
        geometry=[shapely.from_wkb(task.outline_wkb)],
        crs=task.outline_crs,
    )
    _write_vector(outline, out / OUTLINE_FILE)
    if task.zones is not None:
        z = task.zones
        local = storage.local_copy(z.reference, expected=task.input_hashes.get(z.reference))
        with reading(local, "sub-district file"):
            zones = region_zones(
                local,
                outline,
                district_field=z.district_field,
                name_en_field=z.name_en_field,
                declared_crs=z.crs,
                region_field=z.region_field,
                region_names=(task.key, task.name),
                take_all=z.own,
            )
        _write_vector(zones, out / DISTRICTS_FILE)
    record = write_text(out / STUDY_FILE, task.study_text)
    progress = Progress(enabled=False)  # keeps the step timings for the manifest
    with tempfile.TemporaryDirectory(prefix="circle15-region-") as tmp:
        # The study file the readers see: inputs as local files (remote ones copied here).
        resolved = Path(tmp) / STUDY_FILE
        write_text(resolved, _resolved_text(task.document, out, task.input_hashes))
        study = Study.from_config(resolved, progress, read=read_region_inputs)
        result = study.run()
        _check_unchanged(task)
        write_run_files(
            result,
            out,
            published=task.published,
            config=record,
            inputs=study.input_files(),
            started=started,
            progress=progress,
        )
    return result


def _check_unchanged(task: RegionTask) -> None:
    """The inputs read are those the batch hashed when it started (the manifest records
    their hashes as read; a file replaced meanwhile would make the record a lie)."""
    for reference, expected in task.input_hashes.items():
        if storage.is_url(reference) and not reference.startswith("file://"):
            continue  # remote: the cached copy was checked against the hash when fetched
        if storage.sha256(reference) != expected:
            raise InputError(
                f"{reference}: the file changed while the batch ran; run the "
                "batch again once it stays put"
            )


def _resolved_text(
    document: dict[str, Any], out: Path, hashes: dict[str, str] | None = None
) -> str:
    """The study document with every reference turned into a local path (remote files
    copied into the cache and checked against the batch's ``hashes``)."""
    import tomli_w

    hashes = hashes or {}

    def local(reference: str) -> str:
        return str(storage.local_copy(reference, expected=hashes.get(reference)))

    doc = json.loads(json.dumps(document))
    doc["boundary"]["outline"] = str(out / doc["boundary"]["outline"])
    if "districts" in doc["boundary"]:
        doc["boundary"]["districts"] = str(out / doc["boundary"]["districts"])
    doc["network"]["path"] = local(doc["network"]["path"])
    population = doc["population"]
    for key in ("path", "areas", "weights", "age_table"):
        if population.get(key) is not None:
            population[key] = local(population[key])
    for source in doc["facilities"].values():
        if source.get("path") is not None:
            source["path"] = local(source["path"])
    return tomli_w.dumps(doc)


def _write_vector(frame, path: Path) -> None:
    from ..outputs.atomic import atomic_path

    with atomic_path(path) as tmp:
        frame.to_file(tmp, driver="GeoJSON")


def worker_name() -> str:
    """Where this runs: the Dask worker's address, else ``host:pid``."""
    if "distributed" in sys.modules:
        try:
            from distributed import get_worker

            return str(get_worker().address)
        except ValueError:  # not inside a Dask task
            pass
    return f"{socket.gethostname()}:{os.getpid()}"


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, MB (``getrusage``; KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)
