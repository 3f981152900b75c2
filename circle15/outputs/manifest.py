"""The run manifest: inputs with hashes, parameters, versions and timings."""

from __future__ import annotations

import hashlib
import json
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from .atomic import write_text

_PACKAGES = ("circle15", "numpy", "scipy", "pandas", "shapely", "geopandas", "pyproj",
             "pyogrio", "networkx", "osmnx", "folium")


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_record(path: Path) -> dict[str, Any]:
    """Path, size and hash of a file."""
    return {"path": str(path), "bytes": path.stat().st_size, "sha256": sha256(path)}


def versions() -> dict[str, str]:
    """Python and key package versions."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_manifest(path: Path, *, study: str, config: Path, inputs: dict[str, Path],
                   outputs: dict[str, Path], parameters: dict[str, Any],
                   diagnostics: dict[str, Any], timings: dict[str, float],
                   started: datetime, synthetic: bool, output_dir: Path | None = None,
                   run_date: datetime | None = None) -> Path:
    """Write ``manifest.json`` so that a reviewer can verify a result against its inputs.

    ``output_dir``: where the outputs end up when they are written elsewhere first (the
    staging folder); their recorded paths point there. ``run_date``: the date the outputs
    show, when ``SOURCE_DATE_EPOCH`` sets it. ``diagnostics["warnings"]`` is repeated at
    the top level as ``warnings``.
    """
    records = {k: file_record(p) for k, p in outputs.items()}
    if output_dir is not None:
        for record, p in zip(records.values(), outputs.values(), strict=True):
            record["path"] = str(Path(output_dir) / Path(p).name)
    document = {
        "study": study,
        "synthetic_data": synthetic,
        "warnings": list(diagnostics.get("warnings", [])),
        "started_utc": started.isoformat(timespec="seconds"),
        "run_date_utc": (run_date or started).isoformat(timespec="seconds"),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_seconds": round((datetime.now(UTC) - started).total_seconds(), 2),
        "config": file_record(config),
        "inputs": {k: file_record(p) for k, p in inputs.items()},
        "outputs": records,
        "parameters": parameters,
        "diagnostics": diagnostics,
        "step_seconds": timings,
        "versions": versions(),
        "platform": platform.platform(),
    }
    return write_text(path, json.dumps(document, ensure_ascii=False, indent=2, default=str))
