"""Resume a batch: a region whose inputs and outputs are unchanged need not run again.

A region is up to date when its folder holds a record of a successful run with the same
fingerprint (its study file, outline, sub-district rule, the SHA-256 of every input and
the circle15 version), its ``manifest.json`` lists the same study file and inputs (by
SHA-256), and every output the manifest lists is still there with the same SHA-256.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..outputs.manifest import sha256
from .config import DISTRICTS_FILE, OUTLINE_FILE, STUDY_FILE
from .region import OK, RECORD_FILE, RegionTask


def stale_reason(
    task: RegionTask, hashes: dict[str, str] | None = None, folder: Path | None = None
) -> str | None:
    """Why ``task`` must run again, or None when its outputs are up to date.

    Parameters
    ----------
    task : RegionTask
        The region as the batch file now describes it.
    hashes : dict, optional
        SHA-256 of files by path, filled in as files are hashed (shared inputs are then
        hashed once per batch, not once per region).
    folder : Path, optional
        Where the region's files are (default: its published folder); an interrupted
        batch's run folder is checked the same way. Paths in its manifest that name the
        published folder are looked up here.
    """
    hashes = {} if hashes is None else hashes
    out = Path(folder) if folder is not None else task.published
    record = _json(out / RECORD_FILE)
    if record is None:
        return "not run before"
    if record.get("status") != OK:
        return f"last run {record.get('status', 'unfinished')}"
    if record.get("fingerprint") != task.fingerprint:
        return "inputs or settings changed"
    manifest = _json(out / "manifest.json")
    if manifest is None or not isinstance(manifest.get("outputs"), dict):
        return "outputs incomplete"
    study = out / STUDY_FILE
    if (
        not study.is_file()
        or study.read_text(encoding="utf-8") != task.study_text
        or manifest.get("config", {}).get("sha256") != _hash(study, hashes)
    ):
        return f"{STUDY_FILE} changed"
    for field, entry in manifest.get("inputs", {}).items():
        path = _here(Path(entry["path"]), task.published, out)
        if path.is_file() and _hash(path, hashes) != entry["sha256"]:
            return f"input {field} changed"  # remote inputs: covered by the fingerprint
    for name, entry in manifest["outputs"].items():
        path = out / name
        if not path.is_file() or sha256(path) != entry.get("sha256"):
            return f"output {name} missing or changed"
    return None


def region_files(task: RegionTask, folder: Path) -> list[str]:
    """The files of an up-to-date region in ``folder``: those its manifest lists, the
    manifest and the record (not files a user put beside them)."""
    manifest = _json(folder / "manifest.json") or {"outputs": {}}
    written = [
        *manifest["outputs"],
        "manifest.json",
        RECORD_FILE,
        STUDY_FILE,
        OUTLINE_FILE,
        DISTRICTS_FILE,
    ]
    return [rel for rel in dict.fromkeys(written) if (folder / rel).is_file()]


def _here(path: Path, published: Path, folder: Path) -> Path:
    """``path`` under ``published`` looked up in ``folder`` instead."""
    try:
        return folder / path.relative_to(published)
    except ValueError:
        return path


def recorded_outcome(task: RegionTask, folder: Path | None = None) -> dict[str, Any]:
    """The summary of an up-to-date region, from its record, marked ``skipped``."""
    record = _json((Path(folder) if folder is not None else task.published) / RECORD_FILE) or {}
    keep = ("cells", "population", "warnings", "seconds", "worker", "peak_memory_mb", "started_utc")
    return {
        "key": task.key,
        "name": task.name,
        "status": "skipped",
        "reason": "up to date (inputs and outputs unchanged)",
        **{k: record.get(k) for k in keep},
    }


def _hash(path: Path, hashes: dict[str, str]) -> str:
    key = str(path)
    if key not in hashes:
        hashes[key] = sha256(path)
    return hashes[key]


def _json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
