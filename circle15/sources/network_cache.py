"""The network cache: walking networks built from OSM extracts and centreline files, kept.

Building a network from a province extract or from centrelines that need noding takes
seconds to minutes; a study is run many times on the same files. The finished network
(clipped to the area plus buffer, simplified or noded, projected to the study CRS) is
kept as GeoParquet in a per-user folder and read back in a fraction of a second.

**Where.** ``$CIRCLE15_CACHE/networks`` or the platform's user cache folder
(``platformdirs.user_cache_dir("circle15")``, e.g. ``~/.cache/circle15/networks``),
created with mode 0700. Deleting the folder is always safe. Entries unused the longest
are removed when the folder grows beyond :data:`MAX_BYTES`.

**Key.** An entry is found by the SHA-256 of: what built it (``kind`` and the reader's
version, which includes the OSM walk filter), the study CRS, the area (its WKB), the
buffer, the reader's settings, and each input file's identity — its resolved path, size,
modification time (ns), inode and device. Not its content hash: hashing a province
extract (hundreds of MB) costs seconds, more than reading the cached network; any
rewrite of the file (download, copy, edit, ``touch``) changes its size, time or inode, so
a stale entry is never found — at worst an unchanged copy of a file misses once.

**Safety.** An entry is a folder (``nodes.parquet``, ``edges.parquet``, ``entry.json``
with the SHA-256 of both) written under a temporary name and renamed into place, so two
processes never see half an entry (when two write the same entry, the first rename
wins). An entry that cannot be read or whose files do not match their recorded hashes
(cut short, damaged) is rebuilt, with a warning.

**Off.** ``[network] cache = false`` in a study or batch file, ``circle15 run
--no-cache``, or ``CIRCLE15_NO_CACHE=1``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import warn
from ..model import WalkingNetwork
from ..progress import QUIET, Progress

#: Layout of an entry; bump when the stored columns or files change.
FORMAT_VERSION = 2
#: Keep the cache folder below this size (the least recently used entries go first).
MAX_BYTES = 5 << 30
#: Temporary folders older than this (seconds) are leftovers of killed runs.
STALE_TEMP_S = 3600
ENTRY_FILE = "entry.json"
_TEMP = ".tmp-"
_TRASH = ".trash-"


@dataclass
class CacheUse:
    """How a network was obtained, for the manifest.

    ``status``: ``hit`` (read from the cache), ``stored`` (built, then stored),
    ``rebuilt`` (an unreadable entry was replaced), ``off`` (cache not used) or
    ``not stored`` (built; the cache folder could not be written).
    """

    status: str
    key: str
    folder: str | None
    seconds: float

    def record(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {
            "cache": self.status,
            "cache_key": self.key,
            "cache_entry": self.folder,
            "seconds": round(self.seconds, 3),
        }


def cache_root() -> Path:
    """The cache folder (``$CIRCLE15_CACHE/networks`` or the user cache folder)."""
    root = os.environ.get("CIRCLE15_CACHE")
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("circle15", appauthor=False)
    return Path(root) / "networks"


def cache_disabled_by_env() -> bool:
    """True when ``CIRCLE15_NO_CACHE`` is set to anything but ``0``/empty."""
    return os.environ.get("CIRCLE15_NO_CACHE", "").strip() not in ("", "0")


def file_identity(path: Path) -> dict[str, Any]:
    """What tells a file apart without reading it: path, size, mtime (ns), inode, device."""
    stat = path.stat()
    return {
        "path": str(path.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "inode": stat.st_ino,
        "device": stat.st_dev,
    }


def geometry_digest(geometry) -> str:
    """SHA-256 of a geometry's WKB (the same shape gives the same digest)."""
    import shapely

    return hashlib.sha256(shapely.to_wkb(geometry, hex=False)).hexdigest()


def cache_key(kind: str, files: Sequence[Path], settings: dict[str, Any]) -> str:
    """SHA-256 of everything an entry depends on (module doc)."""
    document = {
        "kind": kind,
        "format": FORMAT_VERSION,
        "files": [file_identity(Path(f)) for f in files],
        "settings": settings,
    }
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cached_network(
    kind: str,
    files: Sequence[Path],
    settings: dict[str, Any],
    build: Callable[[], WalkingNetwork],
    *,
    crs,
    enabled: bool = True,
    root: Path | None = None,
    progress: Progress = QUIET,
) -> WalkingNetwork:
    """The network ``build()`` returns, from the cache when an entry exists.

    Parameters
    ----------
    kind : str
        What builds it (``osm-walk``, ``centrelines``), part of the key and the folder name.
    files : sequence of Path
        The input files (all of a shapefile's parts).
    settings : dict
        Everything else the network depends on (JSON-ready): reader version, CRS, area
        digest, buffer, reader options.
    build : callable
        Builds the network when it is not cached.
    crs : pyproj.CRS
        The network's CRS (that of ``build()``'s network; part of ``settings``).
    enabled : bool
        False: build, and neither read nor write the cache.
    root : Path, optional
        Cache folder (default :func:`cache_root`).

    Returns
    -------
    WalkingNetwork
        With ``provenance`` telling how it was obtained (:class:`CacheUse`) and, when an
        entry had to be rebuilt, a note saying so.
    """
    start = time.perf_counter()
    if not enabled or cache_disabled_by_env():
        network = build()
        return _stamp(network, CacheUse("off", "", None, time.perf_counter() - start))
    key = cache_key(kind, files, settings)
    folder = (root or cache_root()) / f"{kind}-{key[:40]}"
    problem = None
    if folder.is_dir():
        try:
            network = _read_entry(folder, key, crs)
        except Exception as exc:  # any damage: rebuild (below) and say so
            problem = f"{type(exc).__name__}: {exc}"
        else:
            _touch(folder)
            progress.say(f"network read from the cache ({folder})")
            return _stamp(network, CacheUse("hit", key, str(folder), time.perf_counter() - start))
    network = build()
    failed = _write_entry(folder, key, network, kind, files, settings)
    status = "not stored" if failed else ("rebuilt" if problem else "stored")
    use = CacheUse(status, key, None if failed else str(folder), time.perf_counter() - start)
    network = _stamp(network, use)
    if problem:
        network.notes.append(
            warn(
                f"network cache entry {folder} could not be read ({problem}); the network was "
                "built again from its file" + ("" if failed else " and the entry replaced")
            )
        )
    if failed:
        network.notes.append(warn(failed))
    return network


def _stamp(network: WalkingNetwork, use: CacheUse) -> WalkingNetwork:
    network.provenance.update(use.record())
    return network


# --------------------------------------------------------------------------------------
# Entries


def _read_entry(folder: Path, key: str, crs) -> WalkingNetwork:
    entry = json.loads((folder / ENTRY_FILE).read_text(encoding="utf-8"))
    if entry.get("key") != key or entry.get("format") != FORMAT_VERSION:
        raise ValueError("the entry's key or format does not match")
    frames = {}
    for layer in ("nodes", "edges"):
        path = folder / f"{layer}.parquet"
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"][layer]:
            raise ValueError(f"{path.name} does not match its recorded SHA-256")
        frames[layer] = _read_geoparquet(data, crs)
        if len(frames[layer]) != entry["rows"][layer]:
            raise ValueError(
                f"{path.name} has {len(frames[layer])} rows, not {entry['rows'][layer]}"
            )
    network = WalkingNetwork(nodes=frames["nodes"], edges=frames["edges"])
    network.provenance.update(entry.get("provenance", {}))
    # What the reader warned about when it built the network is still true of it.
    network.notes.extend(entry.get("notes", []))
    return network


def _read_geoparquet(data: bytes, crs):
    """A GeoParquet file circle15 wrote (geoarrow points or lines), in ``crs``.

    Read with pyarrow directly: the CRS is the study's (it is part of the key), so the
    file's PROJJSON need not be parsed again, and the coordinates go to shapely in bulk.
    """
    import geopandas as gpd
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely

    table = pq.read_table(pa.BufferReader(data))
    column = table.column("geometry").combine_chunks()
    if pa.types.is_struct(column.type):  # geoarrow.point
        geometry = shapely.points(column.field("x").to_numpy(), column.field("y").to_numpy())
    else:  # geoarrow.linestring: list<struct<x, y>>
        points = column.values
        coords = np.column_stack([points.field("x").to_numpy(), points.field("y").to_numpy()])
        offsets = column.offsets.to_numpy().astype(np.int64)
        geometry = shapely.from_ragged_array(shapely.GeometryType.LINESTRING, coords, (offsets,))
    frame = table.drop_columns(["geometry"]).to_pandas()
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=crs)


def _write_entry(
    folder: Path,
    key: str,
    network: WalkingNetwork,
    kind: str,
    files: Sequence[Path],
    settings: dict[str, Any],
) -> str | None:
    """Store ``network`` under ``folder``; what went wrong when it could not."""
    root = folder.parent
    temp = root / f"{_TEMP}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        _make_private(root)
        _clear_leftovers(root)
        temp.mkdir(mode=0o700)
        digests, rows = {}, {}
        for layer, frame in (("nodes", network.nodes), ("edges", network.edges)):
            path = temp / f"{layer}.parquet"
            frame.to_parquet(path, geometry_encoding="geoarrow", write_covering_bbox=False)
            digests[layer] = hashlib.sha256(path.read_bytes()).hexdigest()
            rows[layer] = len(frame)
        entry = {
            "key": key,
            "format": FORMAT_VERSION,
            "kind": kind,
            "files": [file_identity(Path(f)) for f in files],
            "settings": settings,
            "sha256": digests,
            "rows": rows,
            "provenance": {
                k: v for k, v in network.provenance.items() if not k.startswith("cache")
            },
            "notes": list(network.notes),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        (temp / ENTRY_FILE).write_text(
            json.dumps(entry, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
        )
        if folder.exists():  # a damaged entry: move it aside in one step, then delete it
            trash = root / f"{_TRASH}{uuid.uuid4().hex[:8]}"
            try:
                os.replace(folder, trash)
            except FileNotFoundError:  # another process moved it first
                pass
            shutil.rmtree(trash, ignore_errors=True)
        try:
            os.rename(temp, folder)
        except OSError:
            if not (folder / ENTRY_FILE).is_file():  # not another process's finished entry
                raise
        _prune(root, keep=folder)
        return None
    except Exception as exc:  # a full disk, a read-only folder, a column parquet refuses
        return (
            f"network cache {root} could not store the network "
            f"({type(exc).__name__}: {exc}); it is not cached"
        )
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)


def _make_private(root: Path) -> None:
    """Create the cache folder readable by its user only (mode 0700)."""
    if not root.is_dir():
        root.mkdir(parents=True, mode=0o700, exist_ok=True)
        os.chmod(root, 0o700)


def _touch(folder: Path) -> None:
    """Mark an entry as used (for pruning); a read-only cache is fine."""
    try:
        os.utime(folder / ENTRY_FILE)
    except OSError:
        pass


def _clear_leftovers(root: Path) -> None:
    """Remove temporary folders of killed runs and half-deleted entries."""
    now = time.time()
    for path in root.iterdir():
        if path.name.startswith(_TRASH) or (
            path.name.startswith(_TEMP) and now - path.stat().st_mtime > STALE_TEMP_S
        ):
            shutil.rmtree(path, ignore_errors=True)


def _prune(root: Path, keep: Path, limit: int = MAX_BYTES) -> None:
    """Remove the least recently used entries while the folder is above ``limit``."""
    entries = []
    for path in root.iterdir():
        marker = path / ENTRY_FILE
        if path.name.startswith((_TEMP, _TRASH)) or not marker.is_file():
            continue
        size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
        entries.append((marker.stat().st_mtime, size, path))
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        if path != keep:
            shutil.rmtree(path, ignore_errors=True)
            total -= size
