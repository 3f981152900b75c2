"""Where a batch's inputs live: local paths, ``file://`` URLs or any fsspec URL.

A batch on a cluster reads its inputs from storage every worker can reach: a shared
folder (NFS, SMB), given as a plain path or a ``file://`` URL, or object storage and
archives through fsspec (``s3://bucket/network.gpkg``, ``zip://roads.gpkg::file:///data/
ningbo.zip``, ``https://…``). Local files are read where they are. Anything else is
copied once per worker into a cache that belongs to the user (``$CIRCLE15_INPUT_CACHE``,
else ``~/.cache/circle15/inputs``; mode 0700, refused when another user owns it), filed
under the SHA-256 of its content and checked against the hash the batch computed when it
started: a file that changed meanwhile, or a cached copy that is not what it should be,
is never read. A shapefile travels with its sidecar files, and its hash covers them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

from ..errors import ConfigError, InputError

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
            "pip install 'circle15[batch]'"
        ) from None
    try:
        return fsspec.core.url_to_fs(reference)
    except (ImportError, ValueError) as exc:
        raise ConfigError(
            f"{reference}: cannot open this URL ({exc}); install the fsspec "
            "driver for its scheme (e.g. s3fs for s3://)"
        ) from None


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
    """Hex SHA-256 of the content a reference names (streamed, 1 MiB at a time).

    For a shapefile, the SHA-256 of its parts' hashes (``.shp`` and the sidecars present),
    so that a changed attribute table (``.dbf``) or projection (``.prj``) counts too.
    """
    local = _local_path(reference)
    if local is not None:
        return _content_hash({suffix: _local_hash(p) for suffix, p in _local_parts(local)})
    fs, path = _filesystem(reference)
    return _content_hash({suffix: _remote_hash(fs, p) for suffix, p in _remote_parts(fs, path)})


def local_copy(reference: str, cache: Path | None = None, expected: str | None = None) -> Path:
    """A local path holding the file a reference names.

    Local files are returned as they are. Remote ones are downloaded into the user's
    cache (``cache``, else ``$CIRCLE15_INPUT_CACHE``, else ``~/.cache/circle15/inputs``)
    under ``<sha256>/<file name>``, with a shapefile's sidecars beside it. A copy already
    there is reused only when its content still has that hash.

    Parameters
    ----------
    reference : str
        Path or URL.
    cache : Path, optional
        Cache folder (created with mode 0700).
    expected : str, optional
        The SHA-256 the content must have (:func:`sha256` when the batch started).

    Raises
    ------
    InputError
        When the content's hash is not ``expected`` (the file changed since the batch
        started).
    ConfigError
        When the cache folder belongs to another user or cannot be made private.
    """
    local = _local_path(reference)
    if local is not None:
        return local
    fs, path = _filesystem(reference)
    root = cache_folder(cache)
    name = Path(path.rstrip("/")).name
    if expected:
        cached = root / expected / name
        if cached.is_file() and _cached_hash(cached) == expected:
            return cached
    download = Path(tempfile.mkdtemp(prefix=".download-", dir=root))
    try:
        parts = _remote_parts(fs, path)
        for suffix, part in parts:
            target = download / (Path(name).stem + suffix if suffix else name)
            fs.get_file(part, str(target))
        digest = _cached_hash(download / name)
        if expected and digest != expected:
            raise InputError(
                f"{reference}: its content changed while the batch ran (SHA-256 "
                f"{digest[:12]}… now, {expected[:12]}… when the batch started); run the "
                "batch again once the file stays put"
            )
        final = root / digest
        try:
            os.rename(download, final)
        except OSError:  # another worker filed the same content first: use that copy
            if not (final / name).is_file() or _cached_hash(final / name) != digest:
                shutil.rmtree(final, ignore_errors=True)  # not what it should be: replace
                os.rename(download, final)
    finally:
        shutil.rmtree(download, ignore_errors=True)
    return final / name


def cache_folder(cache: Path | str | None = None) -> Path:
    """The user's private input cache, created with mode 0700.

    Raises
    ------
    ConfigError
        When it exists and belongs to another user (a shared ``/tmp`` folder someone else
        made), or is not a folder.
    """
    root = Path(cache or os.environ.get(CACHE_ENV) or _user_cache() / "inputs")
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = os.stat(root)
    except OSError as exc:
        raise ConfigError(
            f"input cache {root}: cannot use it ({exc.strerror}); set "
            f"{CACHE_ENV} to a folder of your own"
        ) from None
    if not stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"input cache {root} is not a folder; set {CACHE_ENV} to a folder")
    if hasattr(os, "getuid"):
        if info.st_uid != os.getuid():
            raise ConfigError(
                f"input cache {root} belongs to another user (uid {info.st_uid}), who could "
                f"change the files cached there; set {CACHE_ENV} to a folder of your own"
            )
        if info.st_mode & 0o077:
            try:
                os.chmod(root, 0o700)
            except OSError as exc:
                raise ConfigError(
                    f"input cache {root} is open to other users and cannot be "
                    f"made private ({exc.strerror}); set {CACHE_ENV} to a "
                    "folder of your own"
                ) from None
    return root


def _user_cache() -> Path:
    base = os.environ.get("CIRCLE15_CACHE")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache") / "circle15"


def _content_hash(parts: dict[str, str]) -> str:
    """One file's SHA-256, or for a file with sidecars the SHA-256 of ``suffix:hash`` lines."""
    if list(parts) == [""]:
        return parts[""]
    lines = "".join(f"{suffix or '.shp'}:{digest}\n" for suffix, digest in parts.items())
    return hashlib.sha256(lines.encode("ascii")).hexdigest()


def _local_parts(path: Path) -> list[tuple[str, Path]]:
    """``("", the file)`` and, for a shapefile, ``(".dbf", …)`` for each sidecar present."""
    parts: list[tuple[str, Path]] = [("", path)]
    if path.suffix.lower() == ".shp":
        for suffix in _SHAPEFILE_SIDECARS:
            for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
                if candidate.is_file():
                    parts.append((suffix, candidate))
                    break
    return parts


def _remote_parts(fs, path: str) -> list[tuple[str, str]]:
    parts: list[tuple[str, str]] = [("", path)]
    if path.lower().endswith(".shp"):
        stem = path[: -len(".shp")]
        for suffix in _SHAPEFILE_SIDECARS:
            for candidate in (stem + suffix, stem + suffix.upper()):
                with contextlib.suppress(OSError, ValueError):
                    if fs.isfile(candidate):
                        parts.append((suffix, candidate))
                        break
    return parts


def _local_hash(path: Path) -> str:
    from ..outputs.manifest import sha256 as file_sha256

    return file_sha256(path)


def _remote_hash(fs, path: str) -> str:
    digest = hashlib.sha256()
    with fs.open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cached_hash(path: Path) -> str:
    """The content hash of a cached file and the sidecars beside it."""
    return _content_hash({suffix: _local_hash(p) for suffix, p in _local_parts(path)})
