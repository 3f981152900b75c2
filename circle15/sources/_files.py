"""Shared helpers for readers: open vector files with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio

from ..errors import InputError


def read_vector(path: Path, layer: str | None = None, what: str = "file", *,
                allow_missing_crs: bool = False) -> gpd.GeoDataFrame:
    """Read a vector layer, turning driver errors into an ``InputError`` naming the file.

    A file without a CRS is an error unless ``allow_missing_crs`` (the caller declares one).
    """
    if layer is not None:
        try:
            layers = [name for name, _ in pyogrio.list_layers(path)]
        except Exception as exc:  # pyogrio raises several types for unreadable files
            raise InputError(f"{what} {path}: cannot be opened as a GIS file ({exc})") from None
        if layer not in layers:
            raise InputError(
                f"{what} {path}: has no layer {layer!r}; layers are: {', '.join(layers)}"
            )
    try:
        frame = gpd.read_file(path, layer=layer)
    except Exception as exc:
        raise InputError(f"{what} {path}: cannot be read ({exc})") from None
    if frame.crs is None and not allow_missing_crs:
        raise InputError(
            f"{what} {path}: has no coordinate reference system; save it with one "
            "(e.g. EPSG:4326 for longitude/latitude)"
        )
    return frame


def require_columns(frame, columns: list[str], path: Path, what: str) -> None:
    """Raise ``InputError`` naming the first missing column and the columns present."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        present = ", ".join(str(c) for c in frame.columns if c != "geometry")
        raise InputError(
            f"{what} {path}: column {missing[0]!r} not found; columns are: {present}"
        )
