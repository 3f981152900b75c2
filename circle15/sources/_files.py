"""Shared helpers for readers: open vector files with errors that name the file."""

from __future__ import annotations

import stat
from pathlib import Path

import geopandas as gpd
import pyogrio

from ..errors import InputError
from ._encoding import Encoding, dbf_encoding


def check_regular(path: Path | str | None, what: str) -> None:
    """Refuse a FIFO, a device or a socket at once: reading one would hang or never end.

    Regular files and folders (a File Geodatabase is a folder) pass; a missing path is
    left to the reader, whose message says what it expected.
    """
    if path is None or "://" in str(path):
        return
    try:
        mode = Path(path).stat().st_mode
    except (OSError, ValueError):
        return
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return
    kind = (
        "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    raise InputError(f"{what} {path}: is {kind}, not a file; give the path of a saved file")


def read_vector(
    path: Path,
    layer: str | None = None,
    what: str = "file",
    *,
    allow_missing_crs: bool = False,
    crs_field: str | None = None,
    encoding: Encoding | None = None,
    notes: list[str] | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector layer, turning driver errors into an ``InputError`` naming the file.

    Parameters
    ----------
    path : Path
        The file.
    layer : str, optional
        Its layer.
    what : str
        What the file is to the study, for messages.
    allow_missing_crs : bool
        A file without a CRS is an error unless the caller declares one.
    crs_field : str, optional
        The study-file key that declares the CRS (``"[network] crs"``), named in the
        error for a file without one (a shapefile without ``.prj``).
    encoding : Encoding, optional
        Declared text encoding of the attributes (``encoding = "GBK"``).
    notes : list of str, optional
        Receives a warning naming the encoding used when it was found from the bytes
        (a shapefile without ``.cpg``) rather than declared or given by the file.
    """
    check_regular(path, what)
    if layer is not None:
        try:
            layers = [name for name, _ in pyogrio.list_layers(path)]
        except Exception as exc:  # pyogrio raises several types for unreadable files
            raise InputError(f"{what} {path}: cannot be opened as a GIS file ({exc})") from None
        if layer not in layers:
            raise InputError(
                f"{what} {path}: has no layer {layer!r}; layers are: {', '.join(layers)}"
            )
    found = encoding
    if found is None and Path(path).suffix.lower() == ".shp":
        found = dbf_encoding(Path(path))
    options = {"encoding": found.name} if found is not None else {}
    try:
        frame = gpd.read_file(path, layer=layer, **options)
    except Exception as exc:
        raise InputError(f"{what} {path}: cannot be read ({exc})") from None
    if found is not None and found.worth_saying and notes is not None:
        field = (
            crs_field.replace(" crs", " encoding").replace("_crs", "_encoding")
            if crs_field
            else "encoding"
        )
        notes.append(
            f"{what} {Path(path).name}: attribute text read as {found.label} (the "
            f"shapefile has no .cpg file; encoding {found.how} from the bytes"
            f"{'' if found.sure else ', not certain'}); if names look wrong, set "
            f'{field} = "..." (UTF-8, GBK, UTF-16, Latin-1)'
        )
    if frame.crs is None and not allow_missing_crs:
        hint = (
            f'set {crs_field} = "EPSG:..." in the study file to the system the '
            'coordinates are in (e.g. "EPSG:4549" for CGCS2000 3-degree zone 40, '
            '"EPSG:4326" for longitude/latitude)'
            if crs_field
            else "save it with one (e.g. EPSG:4326 for longitude/latitude)"
        )
        missing = (
            "has no coordinate reference system (a shapefile without its .prj file)"
            if Path(path).suffix.lower() == ".shp"
            else "has no coordinate reference system"
        )
        raise InputError(f"{what} {path}: {missing}; {hint}")
    return frame


def require_columns(frame, columns: list[str], path: Path, what: str) -> None:
    """Raise ``InputError`` naming the first missing column and the columns present."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        present = ", ".join(str(c) for c in frame.columns if c != "geometry")
        raise InputError(f"{what} {path}: column {missing[0]!r} not found; columns are: {present}")
