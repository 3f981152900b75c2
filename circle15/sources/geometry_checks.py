"""Geometry checks shared by the readers: missing, wrong-kind, mixed and invalid shapes.

A facility drawn as a road, a population grid with a few stray points among its cells or
a street layer holding polygons gives wrong walking times without any error. These checks
name the file, the first bad row and the fix; self-intersecting polygons (common in
hand-digitised or re-projected grids) are repaired and the repair is reported.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely

from ..errors import InputError

#: Geometry kinds a reader accepts, by the names used in messages: shapely type ids.
KINDS = {"point": (0, 4), "line": (1, 2, 5), "polygon": (3, 6)}
_TYPE_NAMES = np.array(
    [
        "Point",
        "LineString",
        "LinearRing",
        "Polygon",
        "MultiPoint",
        "MultiLineString",
        "MultiPolygon",
        "GeometryCollection",
    ],
    dtype=object,
)


def check_geometries(
    geometries: np.ndarray,
    allowed: Sequence[str],
    what: str,
    *,
    rows: Sequence | None = None,
    allow_missing: bool = False,
    single_kind: bool = False,
) -> tuple[np.ndarray, list[str]]:
    """Check a layer's geometries and repair invalid polygons.

    Parameters
    ----------
    geometries : ndarray of shapely geometries
        One per feature (None for a feature without geometry).
    allowed : sequence of str
        Kinds from :data:`KINDS` the layer may hold, e.g. ``("point", "polygon")``.
    what : str
        The file as named in messages, e.g. ``"population grid cells.gpkg"``.
    rows : sequence, optional
        How to name each feature in messages (row numbers or ids); default 1, 2, ...
    allow_missing : bool
        Features without geometry are allowed (the caller fills or drops them).
    single_kind : bool
        All features must be of one kind (a grid of cells, not cells and points).

    Returns
    -------
    geometries : ndarray
        The input with invalid polygons made valid.
    notes : list of str
        What was repaired, for the run's warnings.

    Raises
    ------
    InputError
        A missing geometry (unless allowed), a kind not in ``allowed``, or mixed kinds with
        ``single_kind``; the message names the first such feature and the fix.
    """
    geometries = np.asarray(geometries, dtype=object)
    rows = list(rows) if rows is not None else list(range(1, len(geometries) + 1))
    missing = shapely.is_missing(geometries) | shapely.is_empty(geometries)
    if missing.any() and not allow_missing:
        i = int(np.flatnonzero(missing)[0])
        raise InputError(
            f"{what}: {int(missing.sum())} feature(s) have no geometry (first: "
            f"{rows[i]}); draw them or delete those rows"
        )
    coords, owner = shapely.get_coordinates(geometries, include_z=False, return_index=True)
    broken = ~np.isfinite(coords).all(axis=1) | (np.abs(np.nan_to_num(coords)) > 1e12).any(axis=1)
    if broken.any():
        bad = np.unique(owner[broken])
        shown = ", ".join(str(rows[i]) for i in bad[:5]) + (" …" if len(bad) > 5 else "")
        raise InputError(
            f"{what}: {len(bad)} feature(s) have coordinates that are NaN, "
            f"infinite or absurdly large (feature {shown}); correct or delete "
            "them and export the file again"
        )
    type_id = shapely.get_type_id(geometries)
    kinds = np.where(missing, "", _TYPE_NAMES[np.clip(type_id, 0, 7)])
    found = np.full(len(geometries), "other", dtype=object)
    for name, ids in KINDS.items():
        found[np.isin(type_id, ids)] = name
    found[missing] = ""
    wrong = (found != "") & ~np.isin(found, list(allowed))
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        counts = _counts(kinds[~missing])
        raise InputError(
            f"{what}: feature {rows[i]} is a {kinds[i]}, but this layer must hold "
            f"{' or '.join(allowed)} geometries (found {counts}); export only the right "
            "features or choose the right layer"
        )
    present = sorted(set(found[~missing]))
    if single_kind and len(present) > 1:
        counts = _counts(kinds[~missing])
        i = int(np.flatnonzero(found == present[-1])[0])
        raise InputError(
            f"{what}: mixed geometries ({counts}), e.g. feature {rows[i]}; "
            f"keep one kind ({' or '.join(allowed)}) in this layer"
        )
    notes: list[str] = []
    polygon = np.isin(type_id, KINDS["polygon"]) & ~missing
    invalid = polygon & ~shapely.is_valid(geometries)
    if invalid.any():
        i = int(np.flatnonzero(invalid)[0])
        reason = shapely.is_valid_reason(geometries[i])
        geometries = geometries.copy()
        geometries[invalid] = shapely.make_valid(
            geometries[invalid], method="structure", keep_collapsed=False
        )
        notes.append(
            f"{what}: {int(invalid.sum())} invalid polygon(s) were repaired (first: "
            f"{rows[i]}, {reason}); check them in QGIS (Vector > Geometry Tools > "
            "Check Validity)"
        )
    return geometries, notes


def _counts(kinds: np.ndarray) -> str:
    names, counts = np.unique(kinds.astype(str), return_counts=True)
    return ", ".join(f"{c} {n}" for n, c in zip(names, counts, strict=True))
