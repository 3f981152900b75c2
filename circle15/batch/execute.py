"""Where the regions run: local processes, a Dask LocalCluster, or an existing Dask cluster.

Every executor takes the same region tasks and calls ``on_done`` with each region's small
summary as soon as it finishes (the progress line), whatever the order.

- **Local processes** (default): a ``ProcessPoolExecutor`` of ``workers`` processes, each
  with a memory limit (``RLIMIT_DATA``; default: the memory available when the batch
  starts, shared out among the workers), so that a region too big for it fails with
  "ran out of memory" instead of the machine swapping. A worker process that dies (killed,
  out of memory) breaks the pool; the pool is started again and the regions that were
  running are tried again, up to ``attempts`` times.
- **Dask** (``scheduler="local"``: a ``LocalCluster``; an address: an existing
  cluster): one task per region. Dask moves a task whose worker dies to another worker
  (up to its ``allowed-failures``). Workers need circle15 installed and read the inputs
  and write the outputs on storage they share with this machine.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import resource
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..errors import ConfigError
from .region import ERROR, RegionTask, peak_memory_mb, run_region, worker_name

Summary = dict[str, Any]
OnDone = Callable[[Summary], None]
#: Times a region is started before a dying worker counts against it for good.
ATTEMPTS = 3


def available_memory() -> int:
    """Bytes of memory available for new work now (``MemAvailable``, else all of it)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def parse_memory(text: str | int | None) -> int | None:
    """``"4GB"``, ``"512MB"``, ``"2GiB"`` or a number of bytes → bytes (None stays None).

    See :func:`circle15.arguments.memory_size` (64 MB to 2⁶⁰ bytes, finite).
    """
    from ..arguments import memory_size

    return memory_size(text)


def run_tasks(
    tasks: Sequence[RegionTask],
    on_done: OnDone,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    memory_limit: int | None = None,
) -> dict[str, Any]:
    """Run every task and report each summary to ``on_done``.

    Parameters
    ----------
    tasks : sequence of RegionTask
        The regions to run.
    on_done : callable
        Called with each region's summary as it finishes.
    scheduler : str, optional
        None: local processes; ``"local"``: a Dask ``LocalCluster``; else the address of a
        running Dask scheduler (``tcp://host:8786``).
    workers : int, optional
        Worker processes (local processes and LocalCluster; default: one per core, at most
        one per region). 0 runs the regions one after another in this process.
    memory_limit : int, optional
        Bytes per worker (local processes and LocalCluster).

    Returns
    -------
    dict
        How the batch ran: ``executor``, ``workers``, ``memory_limit_per_worker``,
        ``peak_memory_mb_by_worker``.
    """
    if not tasks:
        return {"executor": "none", "workers": 0}
    if scheduler is None:
        n = workers if workers is not None else min(os.cpu_count() or 1, len(tasks))
        if n == 0:
            return _run_here(tasks, on_done)
        return _run_processes(tasks, on_done, n, memory_limit)
    return _run_dask(tasks, on_done, scheduler, workers, memory_limit)


def _run_here(tasks: Sequence[RegionTask], on_done: OnDone) -> dict[str, Any]:
    for task in tasks:
        on_done(run_region(task))
    return {
        "executor": "this process",
        "workers": 1,
        "peak_memory_mb_by_worker": {worker_name(): peak_memory_mb()},
    }


# ----------------------------------------------------------------------------------------
# Local processes

_STARTED = None  # in a pool process: the queue on which it says which region it starts


def _init_process(limit: int | None, started) -> None:
    global _STARTED
    _STARTED = started
    if limit:
        # Private writable memory, not address space: libraries reserve far more address
        # space than they ever touch.
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def _pool_task(task: RegionTask) -> Summary:
    if _STARTED is not None:
        _STARTED.put(task.key)
    return run_region(task)


def _run_processes(
    tasks: Sequence[RegionTask], on_done: OnDone, workers: int, memory_limit: int | None
) -> dict[str, Any]:
    limit = memory_limit or available_memory() // workers
    pending = {t.key: t for t in tasks}
    attempts = dict.fromkeys(pending, 0)
    peaks: dict[str, float] = {}

    def done(summary: Summary) -> None:
        pending.pop(summary["key"])
        if summary.get("worker"):
            peaks[summary["worker"]] = max(
                peaks.get(summary["worker"], 0.0), summary["peak_memory_mb"] or 0.0
            )
        on_done(summary)

    restarts = 0
    while pending:
        broken, interrupted = _pool_round(list(pending.values()), done, workers, limit)
        restarts += broken
        for key in interrupted:  # a worker process died while these ran
            attempts[key] += 1
            if attempts[key] >= ATTEMPTS:
                on_done(
                    _died(
                        pending.pop(key),
                        f"its worker process died {attempts[key]} times (killed, or out of memory)",
                    )
                )
    return {
        "executor": "local processes",
        "workers": workers,
        "memory_limit_per_worker": limit,
        "peak_memory_mb_by_worker": peaks,
        "pool_restarts": restarts,
    }


def _pool_round(
    tasks: list[RegionTask], done: OnDone, workers: int, limit: int
) -> tuple[bool, set[str]]:
    """Run tasks in a fresh pool until all finish or the pool breaks.

    Returns whether a worker process died, and the keys of the regions that had started
    and not finished when it did.
    """
    # "spawn": a clean interpreter per worker; forking a parent that holds GDAL and
    # thread pools is not safe.
    context = multiprocessing.get_context("spawn")
    started = context.Queue()
    finished: set[str] = set()
    broken = False
    with ProcessPoolExecutor(
        max_workers=min(workers, len(tasks)),
        mp_context=context,
        initializer=_init_process,
        initargs=(limit, started),
    ) as pool:
        futures = {pool.submit(_pool_task, t): t for t in tasks}
        waiting = set(futures)
        while waiting and not broken:
            finished_now, waiting = wait(waiting, return_when=FIRST_COMPLETED)
            for future in finished_now:
                broken |= _collect(future, futures[future], finished, done)
    for future in waiting:  # the pool broke: keep what finished before it did
        if not future.cancelled():
            _collect(future, futures[future], finished, done)
    interrupted = set()
    if broken:
        interrupted = _drain(started) - finished
        # A worker that died before saying which region it started: count it against
        # every region of this round that did not finish, so that retries always end.
        interrupted = interrupted or {t.key for t in tasks} - finished
    started.close()
    return broken, interrupted


def _collect(future, task: RegionTask, finished: set[str], done: OnDone) -> bool:
    """Report a finished future's summary; True when it failed because the pool broke."""
    try:
        summary = future.result()
    except BrokenProcessPool:
        return True
    except Exception as exc:  # the worker failed around the region (e.g. out of memory)
        summary = _died(
            task,
            f"its worker process failed ({type(exc).__name__}: {exc}); "
            "if memory is short, give each worker more (--memory-limit) "
            "or run fewer at once (--workers)",
        )
    finished.add(task.key)
    done(summary)
    return False


def _drain(started) -> set[str]:
    """The region keys the pool's processes said they started."""
    found = set()
    while True:
        try:
            found.add(started.get(timeout=0.2))
        except queue.Empty:
            return found


def _died(task: RegionTask, reason: str) -> Summary:
    return {
        "key": task.key,
        "name": task.name,
        "status": ERROR,
        "reason": reason,
        "seconds": None,
        "worker": None,
        "peak_memory_mb": None,
        "cells": 0,
        "population": 0.0,
    }


# ----------------------------------------------------------------------------------------
# Dask


def _run_dask(
    tasks: Sequence[RegionTask],
    on_done: OnDone,
    scheduler: str,
    workers: int | None,
    memory_limit: int | None,
) -> dict[str, Any]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ConfigError(
            "--scheduler needs Dask distributed: pip install 'circle15[batch]'"
        ) from None
    cluster = None
    if scheduler == "local":
        n = workers or min(os.cpu_count() or 1, len(tasks))
        # One thread per worker: one region at a time in each process, so that the
        # memory limit is per region.
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            memory_limit=memory_limit or "auto",
            dashboard_address=None,
        )
        client = Client(cluster)
        where = "a Dask LocalCluster"
    else:
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise ConfigError(
                f"--scheduler {scheduler}: cannot reach a Dask scheduler there "
                f"({exc}); start one (dask scheduler) or check the "
                "address"
            ) from None
        where = f"the Dask cluster at {scheduler}"
    token = uuid.uuid4().hex[:8]
    peaks: dict[str, float] = {}
    try:
        futures = {
            client.submit(run_region, t, key=f"circle15-{t.batch}-{t.key}-{token}", pure=False): t
            for t in tasks
        }
        for future in as_completed(futures):
            task = futures[future]
            try:
                summary = future.result()
            except Exception as exc:  # KilledWorker: its workers kept dying
                summary = _died(task, f"{type(exc).__name__}: {exc}")
            if summary.get("worker"):
                peaks[summary["worker"]] = max(
                    peaks.get(summary["worker"], 0.0), summary["peak_memory_mb"] or 0.0
                )
            on_done(summary)
        # The workers' own peaks (including those that ran nothing of this batch).
        for address, peak in client.run(peak_memory_mb).items():
            peaks[address] = max(peaks.get(address, 0.0), peak)
        info = client.scheduler_info()
        n_workers = len(info.get("workers", {}))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return {
        "executor": where,
        "workers": n_workers,
        "memory_limit_per_worker": memory_limit,
        "peak_memory_mb_by_worker": peaks,
    }
