"""Run a batch: plan the regions, skip those up to date, run the rest, combine the tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from ..outputs.layout import place_copy
from ..outputs.manifest import file_record
from ..outputs.spreadsheet import read_own_csv
from ..progress import QUIET, Progress
from . import combine, storage
from .config import Batch, load_batch
from .execute import run_tasks
from .region import ERROR, FAILED, OK, SKIPPED, RegionTask
from .resume import recorded_outcome, region_files, stale_reason

#: Exit codes: every region done; some failed on bad input; a region hit a fault.
EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


@dataclass
class BatchRun:
    """What a batch did.

    Attributes
    ----------
    batch : Batch
        The batch file as read: its sections and regions.
    out_dir : Path
        The batch folder (regions in sub-folders named by their keys).
    summaries : list of dict
        One per region, in batch order: ``key, name, status`` (``ok``, ``skipped`` = up to
        date, ``failed`` = bad input, ``error``), ``reason``, ``seconds``, ``worker``,
        ``peak_memory_mb``, ``cells``, ``population``.
    tables : dict
        ``districts``, ``index``, ``totals``, ``regions`` (see :mod:`circle15.batch.combine`).
    executor : dict
        How it ran: ``executor``, ``workers``, ``peak_memory_mb_by_worker`` …
    paths : dict
        Batch-level files written.
    seconds : float
        Wall time of the whole batch.
    """

    batch: Batch
    out_dir: Path
    summaries: list[dict[str, Any]]
    tables: dict[str, pd.DataFrame]
    executor: dict[str, Any]
    paths: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 when every region is done, 2 when some failed on bad input, 1 on a fault."""
        statuses = {s["status"] for s in self.summaries}
        if ERROR in statuses:
            return EXIT_INTERNAL
        return EXIT_BAD_INPUT if FAILED in statuses else EXIT_OK

    def failed(self) -> list[dict[str, Any]]:
        """The regions that did not finish.

        Returns
        -------
        list of dict
            Their summaries (``status`` ``failed`` or ``error``, with the ``reason``).
        """
        return [s for s in self.summaries if s["status"] in (FAILED, ERROR)]


def run_batch(
    path: str | Path,
    out: str | Path | None = None,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    memory_limit: int | None = None,
    resume: bool = True,
    progress: Progress = QUIET,
    wait: bool = False,
) -> BatchRun:
    """Run every region of a batch file and write the per-region and combined outputs.

    The batch folder is one publication (see :mod:`circle15.outputs.staging`): regions
    and combined tables appear together, complete, or not at all.

    Parameters
    ----------
    path : str or Path
        The batch TOML file.
    out : str or Path, optional
        The batch folder (default ``out/<batch name>``).
    scheduler : str, optional
        None: local processes; ``"local"``: a Dask LocalCluster; else a Dask scheduler
        address (``tcp://host:8786``). See :func:`circle15.batch.execute.run_tasks`.
    workers : int, optional
        Worker processes (0: one region after another in this process).
    memory_limit : int, optional
        Bytes per worker.
    resume : bool
        Skip regions whose inputs and outputs are unchanged since their last run, or
        that an interrupted run of the batch finished.
    progress : Progress
        One line per region as it finishes.
    wait : bool
        Wait for another circle15 writing to the batch folder instead of stopping.

    Returns
    -------
    BatchRun
        Each region's status, the combined tables and how it ran; ``exit_code`` is what
        ``circle15 batch`` exits with.

    Raises
    ------
    ConfigError
        When the batch file is wrong (nothing runs then). A region's bad data do not
        raise: the region is reported ``failed`` with the reason.
    OutputError
        When the batch folder cannot be written or another circle15 is writing to it.
    """
    from ..outputs.batch import BATCH_FILES
    from ..outputs.staging import Publication

    started = datetime.now(UTC)
    path = Path(path)
    out_dir = Path(out) if out is not None else Path("out") / _batch_name(path)
    with Publication(
        out_dir,
        kind="batch",
        outputs=BATCH_FILES,
        inputs=[path],
        wait=wait,
        progress=progress,
        keep_partial=True,
    ) as publication:
        batch = load_batch(path)
        return _run(
            batch,
            publication,
            started,
            scheduler=scheduler,
            workers=workers,
            memory_limit=memory_limit,
            resume=resume,
            progress=progress,
        )


def _batch_name(path: Path) -> str:
    """The ``[batch] name`` (the default folder), read before anything else."""
    from ..config import path_component, read_toml

    name = read_toml(path, "batch file").get("batch", {}).get("name")
    try:
        return path_component(name, "batch.name")
    except ValueError:
        load_batch(path)  # says what is wrong with the file
        raise


def _run(
    batch: Batch,
    publication,
    started: datetime,
    *,
    scheduler: str | None,
    workers: int | None,
    memory_limit: int | None,
    resume: bool,
    progress: Progress,
) -> BatchRun:
    out_dir, run_dir = publication.out, publication.folder
    publication.check_inputs(
        [storage.absolute_reference(ref, batch.path.parent) for ref in batch.inputs.values()]
    )
    publication.check_names([f"{r.key}/manifest.json" for r in batch.regions])
    with progress.step(f"checking the inputs of {len(batch.regions)} regions"):
        references = sorted({ref for r in batch.regions for ref in batch.region_inputs(r).values()})
        hashes = {ref: storage.sha256(ref) for ref in references}
        tasks = [
            RegionTask.make(batch, r, run_dir, hashes, published=out_dir) for r in batch.regions
        ]
        file_hashes: dict[str, str] = {}
        reasons: dict[str, str | None] = {}
        outcomes: dict[str, dict[str, Any]] = {}
        for task in tasks:
            reasons[task.key] = "asked to run all"
            if not resume:
                continue
            # The published region, then what interrupted runs of the batch finished.
            places = [task.published, *(f / task.key for f in reversed(publication.leftovers))]
            for n, place in enumerate(places):
                reason = stale_reason(task, file_hashes, folder=place)
                if n == 0:
                    reasons[task.key] = reason
                if reason is None:
                    for rel in region_files(task, place):
                        place_copy(place / rel, Path(task.out_dir) / rel)
                    outcomes[task.key] = recorded_outcome(task, place)
                    break
    to_run = [t for t in tasks if t.key not in outcomes]
    if outcomes:
        progress.say(f"{len(outcomes)} of {len(tasks)} regions are up to date and kept")

    def done(summary: dict[str, Any]) -> None:
        outcomes[summary["key"]] = summary
        progress.say(region_line(summary, len(outcomes) - (len(tasks) - len(to_run)), len(to_run)))

    executor = run_tasks(
        to_run, done, scheduler=scheduler, workers=workers, memory_limit=memory_limit
    )
    summaries = [outcomes[t.key] for t in tasks]
    with progress.step("combining the regions' tables and drawing the overview map"):
        tables, zones = _combine(tasks, summaries)
        regions = _region_frame(batch, summaries)
        categories = batch.categories
        manifest = {
            "batch": batch.name,
            "title": batch.title,
            "synthetic_data": batch.section.synthetic,
            "started_utc": started.isoformat(timespec="seconds"),
            "batch_file": file_record(batch.path),
            "inputs": {ref: {"sha256": h} for ref, h in hashes.items()},
            "executor": executor,
            "regions": [
                _manifest_entry(t, s, run_dir, out_dir)
                for t, s in zip(tasks, summaries, strict=True)
            ],
        }
        from ..outputs.batch import write_batch_outputs

        paths = write_batch_outputs(
            run_dir,
            tables=tables,
            regions=regions,
            zones=zones,
            categories=categories,
            title=batch.title,
            synthetic=batch.section.synthetic,
            notice=batch.section.notice,
            manifest=manifest,
            publication=publication,
        )
    with progress.step("publishing the batch folder"):
        publication.publish()
    seconds = (datetime.now(UTC) - started).total_seconds()
    return BatchRun(
        batch,
        out_dir,
        summaries,
        tables,
        executor,
        {name: out_dir / name for name in paths},
        round(seconds, 2),
    )


def region_line(summary: dict[str, Any], n: int, total: int) -> str:
    """One progress line: ``region 3/12 r03 (name): ok in 2.1 s, peak 312 MB``."""
    head = f"region {n}/{total} {summary['key']} ({summary['name']}): "
    if summary["status"] == OK:
        return (
            head + f"ok in {summary['seconds']:.1f} s, peak {summary['peak_memory_mb']:,.0f}"
            f" MB on {summary['worker']}"
        )
    reason = str(summary["reason"])
    return head + f"{summary['status'].upper()}: {reason[:300]}{'…' if len(reason) > 300 else ''}"


def _combine(
    tasks: list[RegionTask], summaries: list[dict[str, Any]]
) -> tuple[dict[str, pd.DataFrame], gpd.GeoDataFrame | None]:
    """Read the finished regions' tables and sub-districts from their folders."""
    done = [t for t, s in zip(tasks, summaries, strict=True) if s["status"] in (OK, SKIPPED)]
    names = {t.key: t.name for t in tasks}
    districts = combine.stack({t.key: _csv(Path(t.out_dir) / "districts.csv") for t in done}, names)
    index = combine.rank_in_batch(
        combine.stack({t.key: _csv(Path(t.out_dir) / "index.csv") for t in done}, names)
    )
    totals = (
        combine.totals(districts)
        if len(districts)
        else pd.DataFrame(columns=["category", "regions", "population"])
    )
    regions = combine.regions_table(summaries, districts, index)
    zones = []
    for t in done:
        gpkg = Path(t.out_dir) / "results.gpkg"
        if gpkg.is_file():
            layer = gpd.read_file(gpkg, layer="districts", columns=["district", "name_en"])
            # 10 m simplification: the overview is for comparing, not for surveying
            layer["geometry"] = layer.geometry.simplify(10.0)
            zones.append(layer.to_crs(4326).assign(region=t.key, region_name=t.name))
    zone_frame = gpd.GeoDataFrame(pd.concat(zones, ignore_index=True), crs=4326) if zones else None
    return {
        "districts": districts,
        "index": index,
        "totals": totals,
        "regions": regions,
    }, zone_frame


def _csv(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    # The region's own CSV: names that were guarded against spreadsheet formulas come back
    # as the region wrote them, so they match its map and the other tables.
    return read_own_csv(
        path,
        keep_default_na=False,
        na_values=[""],
        dtype={"district": str, "name_en": str, "rank": "Int64"},
    )


def _region_frame(batch: Batch, summaries: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """Region outlines in WGS84 with their status, for the overview map."""
    frames = []
    for region, s in zip(batch.regions, summaries, strict=True):
        frames.append(
            gpd.GeoDataFrame(
                {
                    "region": [region.key],
                    "region_name": [region.name],
                    "status": [s["status"]],
                    "reason": [s["reason"]],
                },
                geometry=[shapely.from_wkb(region.outline_wkb)],
                crs=region.outline_crs,
            ).to_crs(4326)
        )
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=4326)


def _manifest_entry(
    task: RegionTask, summary: dict[str, Any], run_dir: Path, out_dir: Path
) -> dict[str, Any]:
    entry = {
        k: summary.get(k)
        for k in ("key", "name", "status", "reason", "seconds", "worker", "peak_memory_mb")
    }
    manifest = Path(task.out_dir) / "manifest.json"
    entry["folder"] = task.key
    entry["fingerprint"] = task.fingerprint
    if summary["status"] in (OK, SKIPPED) and manifest.is_file():
        entry["manifest"] = file_record(manifest, folder=run_dir, published=out_dir)
    return entry
