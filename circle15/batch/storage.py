"""Where a batch's inputs live: local paths, ``file://`` URLs or any fsspec URL.

A batch on a cluster reads its inputs from storage every worker can reach: a shared
folder (NFS, SMB), given as a plain path or a ``file://`` URL, or object storage and
archives through fsspec (``s3://bucket/network.gpkg``, ``zip://roads.gpkg::file:///data/
ningbo.zip``, ``https://…``). Local files are read where they are; anything else is
copied once per worker into a local cache, keeping its file name (readers dispatch on the
suffix) and, for a shapefile, its sidecar files.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from ..errors import ConfigError

#: ``scheme://`` or ``scheme::`` (fsspec chaining) at the start of a reference.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*(://|::)")
#: A shapefile's companions, fetched along with it.
_SHAPEFILE_SIDECARS = (".shx", ".dbf", ".prj", ".cpg")
#: Environment variable naming the folder where remote inputs are cached on a worker.
CACHE_ENV = "CIRCLE15_INPUT_CACHE"


def is_url(reference: str) -> bool:
    """True for ``scheme://…`` and chained ``scheme::…`` references (not Windows drives)."""
    return bool(_URL.match(reference)) and not re.match(r"^[A-Za-z]:[\\/]", reference)


def absolute_reference(reference: str, base: Path) -> str:
    """A plain path made absolute against ``base`` (the batch file's folder); URLs as given.

    ``file://`` URLs become plain absolute paths, so that a study file written for a
    region can be run as it is.
    """
    if is_url(reference):
        local = _local_path(reference)
        return str(local) if local is not None else reference
    path = Path(reference).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def _local_path(reference: str) -> Path | None:
    """The local file a reference names, or None when it lives elsewhere."""
    if not is_url(reference):
        return Path(reference)
    if reference.startswith("file://"):
        from urllib.parse import unquote, urlparse

        parsed = urlparse(reference)
        if parsed.netloc not in ("", "localhost"):
            return None
        return Path(unquote(parsed.path))
    return None


def _filesystem(reference: str):
    """``(fsspec filesystem, path within it)`` of a URL."""
    try:
        import fsspec
    except ImportError:
        raise ConfigError(
            f"{reference}: reading inputs from URLs needs fsspec; install it with "
            "pip install 'circle15[batch]'") from None
    try:
        return fsspec.core.url_to_fs(reference)
    except (ImportError, ValueError) as exc:
        raise ConfigError(f"{reference}: cannot open this URL ({exc}); install the fsspec "
                          "driver for its scheme (e.g. s3fs for s3://)") from None


def exists(reference: str) -> bool:
    """Whether the file a reference names exists."""
    local = _local_path(reference)
    if local is not None:
        return local.is_file()
    fs, path = _filesystem(reference)
    try:
        return bool(fs.isfile(path))
    except (OSError, ValueError):
        return False


def sha256(reference: str) -> str:
    """Hex SHA-256 of the bytes a reference names (streamed, 1 MiB at a time)."""
    digest = hashlib.sha256()
    local = _local_path(reference)
    if local is not None:
        opened = open(local, "rb")  # closed by the with below
    else:
        fs, path = _filesystem(reference)
        opened = fs.open(path, "rb")
    with opened as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def local_copy(reference: str, cache: Path | None = None) -> Path:
    """A local path holding the file a reference names.

    Local files are returned as they are. Remote ones are downloaded into ``cache``
    (default: ``$CIRCLE15_INPUT_CACHE`` or the system's temporary folder) under a folder
    named after the URL, keeping the file's name; a copy already there with the same size
    is reused. The download goes to a temporary name first, so a worker killed halfway
    never leaves a truncated file behind for the next one.
    """
    local = _local_path(reference)
    if local is not None:
        return local
    fs, path = _filesystem(reference)
    root = Path(cache or os.environ.get(CACHE_ENV)
                or Path(tempfile.gettempdir()) / "circle15-inputs")
    folder = root / hashlib.sha256(reference.encode("utf-8")).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    name = Path(path.rstrip("/")).name
    target = folder / name
    _fetch(fs, path, target)
    if target.suffix.lower() == ".shp":
        stem = path[: -len(".shp")]
        for suffix in _SHAPEFILE_SIDECARS:
            for candidate in (stem + suffix, stem + suffix.upper()):
                if fs.isfile(candidate):
                    _fetch(fs, candidate, folder / (Path(name).stem + suffix))
                    break
    return target


def _fetch(fs, path: str, target: Path) -> None:
    size = fs.size(path)
    if target.is_file() and size is not None and target.stat().st_size == size:
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        fs.get_file(path, tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
