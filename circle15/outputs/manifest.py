"""The manifest: every file of an output folder with its SHA-256, the inputs with theirs,
parameters, versions and timings.

A manifest lists every file in its folder (``outputs``, keyed by the path relative to the
folder), so that a reviewer, or circle15 itself before it replaces anything, can check the
folder against it. It is strict JSON: NaN and infinities are written as ``null``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from .atomic import write_text

#: ``format`` of manifests written by this version (older ones have none).
FORMAT = "circle15-manifest/2"
MANIFEST = "manifest.json"

_PACKAGES = (
    "circle15",
    "numpy",
    "scipy",
    "pandas",
    "shapely",
    "geopandas",
    "pyproj",
    "pyogrio",
    "networkx",
    "osmnx",
    "folium",
)


#: Hashes computed in this process, by file identity and modification (size, times).
_HASHES: dict[tuple[int, int, int, int, int], str] = {}


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes.

    A file hashed before in this process and not modified since (same device, inode, size,
    modification and change times) is not read again: checking an output folder before a run and
    publishing after it read each file once.
    """
    with open(path, "rb") as fh:
        info = os.fstat(fh.fileno())
        key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        if key in _HASHES and info.st_ino:
            return _HASHES[key]
        digest = hashlib.sha256()
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if len(_HASHES) > 100_000:
        _HASHES.clear()
    _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def file_record(
    path: Path, *, folder: Path | None = None, published: Path | None = None
) -> dict[str, Any]:
    """Path, size and hash of a file.

    A file inside ``folder`` (a run being written) is recorded at its place under
    ``published`` (where it will be read once the run is published).
    """
    path = Path(path)
    shown = path
    if folder is not None and published is not None:
        try:
            shown = Path(published) / path.relative_to(folder)
        except ValueError:
            pass
    return {"path": str(shown), "bytes": path.stat().st_size, "sha256": sha256(path)}


def versions() -> dict[str, str]:
    """Python and key package versions."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def strict(value: Any) -> Any:
    """``value`` as plain JSON data: NaN and ±inf become None, numpy scalars Python
    numbers, paths and dates strings (so that ``json.dumps(allow_nan=False)`` holds)."""
    if isinstance(value, Mapping):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [strict(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()  # numpy scalar
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def dumps(document: Any) -> str:
    """Strict JSON text (UTF-8, indented) of ``document``."""
    return json.dumps(strict(document), ensure_ascii=False, indent=2, allow_nan=False)


def write_json(path: Path, document: Any) -> Path:
    """Write ``document`` as strict JSON, atomically."""
    return write_text(path, dumps(document) + "\n")


def folder_records(
    folder: Path, published: Path, *, order: Iterable[str] = (), skip: Iterable[str] = (MANIFEST,)
) -> dict[str, dict[str, Any]]:
    """A record of every file under ``folder``, keyed by relative POSIX path.

    Files named in ``order`` come last, in that order (the order they were written);
    the others first, sorted.
    """
    from .layout import run_files

    skip = set(skip)
    found = [rel for rel in run_files(folder) if rel not in skip]
    order = [rel for rel in dict.fromkeys(order) if rel in found]
    first = [rel for rel in found if rel not in set(order)]
    return {
        rel: file_record(folder / rel, folder=folder, published=published)
        for rel in [*first, *order]
    }


def run_document(
    *,
    study: str,
    config: Path,
    inputs: dict[str, Path],
    parameters: dict[str, Any],
    diagnostics: dict[str, Any],
    timings: dict[str, float],
    started: datetime,
    synthetic: bool,
    folder: Path | None = None,
    published: Path | None = None,
    run_date: datetime | None = None,
) -> dict[str, Any]:
    """The manifest of a study run, without its ``outputs`` (see :func:`write_folder_manifest`).

    Inputs inside ``folder`` (a run being written) are recorded under ``published``.
    ``run_date``: the date the outputs show, when ``SOURCE_DATE_EPOCH`` sets it.
    ``diagnostics["warnings"]`` is repeated at the top level as ``warnings``.
    """
    return {
        "study": study,
        "synthetic_data": synthetic,
        "warnings": list(diagnostics.get("warnings", [])),
        "started_utc": started.isoformat(timespec="seconds"),
        "run_date_utc": (run_date or started).isoformat(timespec="seconds"),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_seconds": round((datetime.now(UTC) - started).total_seconds(), 2),
        "config": file_record(config, folder=folder, published=published),
        "inputs": {
            k: file_record(p, folder=folder, published=published) for k, p in inputs.items()
        },
        "parameters": parameters,
        "diagnostics": diagnostics,
        "step_seconds": timings,
    }


def write_folder_manifest(
    folder: Path,
    document: Mapping[str, Any],
    *,
    published: Path | None = None,
    order: Iterable[str] = (),
    records: Mapping[str, dict[str, Any]] | None = None,
    stamp: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``folder/manifest.json``: ``document`` plus a record of every file in ``folder``.

    ``published``: where the folder will be read (recorded paths point there). ``order``:
    files written in this order, listed last. ``records``: outputs recorded already
    (files carried over from an earlier run), listed first and not hashed again.
    ``stamp``: fields added to the record of each file of this run (e.g. the command).
    """
    folder = Path(folder)
    published = Path(published) if published is not None else folder
    fresh = folder_records(folder, published, order=order, skip=(MANIFEST, *(records or {})))
    for record in fresh.values():
        record.update(stamp or {})
    full = {
        "format": FORMAT,
        **document,
        "outputs": {**(records or {}), **fresh},
        "versions": versions(),
        "platform": platform.platform(),
    }
    return write_json(folder / MANIFEST, full)


def write_manifest(
    path: Path,
    *,
    study: str,
    config: Path,
    inputs: dict[str, Path],
    outputs: dict[str, Path],
    parameters: dict[str, Any],
    diagnostics: dict[str, Any],
    timings: dict[str, float],
    started: datetime,
    synthetic: bool,
    output_dir: Path | None = None,
    run_date: datetime | None = None,
) -> Path:
    """Write a run's ``manifest.json`` into the folder of ``path``, listing every file there.

    ``output_dir``: where that folder is published (recorded paths point there);
    ``outputs``: the files in the order they were written (listed last).
    """
    folder = Path(path).parent
    document = run_document(
        study=study,
        config=config,
        inputs=inputs,
        parameters=parameters,
        diagnostics=diagnostics,
        timings=timings,
        started=started,
        synthetic=synthetic,
        folder=folder,
        published=output_dir,
        run_date=run_date,
    )
    order = [_relative(p, folder) for p in outputs.values()]
    return write_folder_manifest(folder, document, published=output_dir, order=order)


def _relative(path: Path, folder: Path) -> str:
    path = Path(path)
    return path.relative_to(folder).as_posix() if path.is_relative_to(folder) else path.name


def read_manifest(path: Path) -> dict[str, Any] | None:
    """A circle15 manifest (any version) at ``path``, or None when it is not one."""
    try:
        if os.path.getsize(path) > 256 << 20:
            return None
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(document, dict) or not isinstance(document.get("outputs"), dict):
        return None
    if not ("format" in document or "study" in document or "batch" in document):
        return None
    return document
