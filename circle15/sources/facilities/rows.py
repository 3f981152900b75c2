"""A facility table's rows made into a ``FacilityLayer``: ids, names, capacities, repeats.

Every problem of the file (blank or repeated ids, bad capacities, and the coordinate
problems found by :mod:`~circle15.sources.facilities.points`) is reported in one message
with the file's own line numbers and the facility's name. The planner's other columns are
kept; rows repeated exactly are dropped and near-duplicates (the same name nearby) warned
about, merged or refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ...errors import InputError
from ...model import FacilityLayer
from .._files import require_columns
from ..chinese_crs import OffsetSystem
from ..columns import find_column, find_name_column, normalise
from ..duplicates import near_duplicates
from ..tables import Problems, Table, parse_numbers
from ..text import clean_names
from .headers import CAPACITY_NAMES, ID_NAMES, NAME_NAMES, RESERVED_COLUMNS

Dedupe = Literal["warn", "merge", "error"]


def _drop_repeated(table: Table, path: Path, what: str, notes: list[str]) -> Table:
    """Drop rows identical to an earlier row in every cell (copy-paste duplicates)."""
    repeated = table.frame.astype(str).duplicated().to_numpy()
    if not repeated.any():
        return table
    shown = ", ".join(str(n) for n in table.lines[repeated][:8])
    notes.append(
        f"{what}: {int(repeated.sum())} row(s) of {path.name} repeat an earlier row "
        f"exactly and were dropped (row {shown})"
    )
    return table.take(~repeated)


def _assemble(
    frame: gpd.GeoDataFrame,
    lines: np.ndarray,
    used: set[str],
    found: list[tuple[int, str, int]],
    category: str,
    crs: CRS,
    path: Path,
    what: str,
    place: str,
    declared: CRS | OffsetSystem | None,
    notes: list[str],
    fields: tuple[str | None, str | None, str | None],
) -> FacilityLayer:
    """Ids, names, capacities and extra columns, every problem reported at once."""
    if frame.empty:
        raise InputError(f"{what} {path}: has no facilities")
    id_field, name_field, capacity_field = fields
    columns = [c for c in frame.columns if c != frame.geometry.name]
    problems = Problems(what, path, place)
    id_col = find_column(columns, id_field, ID_NAMES)
    if id_col is None and id_field not in (None, "facility_id"):
        require_columns(frame, [id_field], path, what)
    if id_col is not None and normalise(id_col) in ("序号", "no", "no."):
        # a running number is an id only if it is one: unique and never blank
        text = frame[id_col].astype(str).str.strip()
        if text.duplicated().any() or (text == "").any():
            id_col = None
    name_col = find_name_column(columns, name_field, NAME_NAMES, {id_col}) if name_field else None
    if name_col is None and name_field not in (None, "name"):
        require_columns(frame, [name_field], path, what)
    names, cleaned = clean_names(frame[name_col]) if name_col is not None else (None, 0)
    if cleaned:
        notes.append(
            f"{what} {path.name}: {cleaned} name(s) held control characters (e.g. "
            "a line break pasted from Word); they were replaced by spaces"
        )
    if id_col is not None:
        raw_ids = frame[id_col].map(_id_text).to_numpy(dtype=object)
        blank = raw_ids == ""
        for i in np.flatnonzero(blank):
            problems.add(
                int(lines[i]),
                f"facility id ({id_col}) is blank",
                None if names is None else names[i],
            )
        ids = raw_ids
    else:
        ids = np.array([f"{category}-{r}" for r in lines], dtype=object)
        blank = np.zeros(len(ids), dtype=bool)
    shown = names if names is not None else ids
    dup = pd.Series(ids).duplicated(keep=False).to_numpy() & ~blank
    for value in pd.unique(ids[dup]):
        rows = np.flatnonzero(ids == value)
        where = ", ".join(f"{lines[r]} ({shown[r]})" for r in rows[:5])
        problems.add(
            int(lines[rows[0]]),
            f"facility id {value!r} is used more than once "
            f"({place}s {where}); give each facility its own id",
            located=False,
        )
    if names is None:
        names = ids.copy()
    else:
        names = np.where(np.array([n == "" for n in names]), ids, names)
    cap_col = find_column(columns, capacity_field, CAPACITY_NAMES) if capacity_field else None
    if cap_col is None and capacity_field not in (None, "capacity"):
        require_columns(frame, [capacity_field], path, what)
    if cap_col is not None:
        capacity, approx = parse_numbers(frame[cap_col], cap_col, problems, lines, names, minimum=0)
        if approx.any():
            first = int(np.flatnonzero(approx)[0])
            notes.append(
                f"{what} {path.name}: {int(approx.sum())} {cap_col} value(s) are "
                f"approximations, read as the number ({place} {lines[first]}: "
                f"{frame[cap_col].iloc[first]!s} → {capacity[first]:g})"
            )
    else:
        capacity = np.full(len(frame), np.nan)
    for line, text, i in found:
        problems.add(line, text, names[i])
    problems.raise_if_any("Correct these cells (or delete the rows) and run again")
    conversion = f" ({declared} → WGS84)" if isinstance(declared, str) else ""
    provenance = (
        frame["provenance"].astype(str).to_numpy()
        if "provenance" in columns
        else np.array(
            [f"file: {name} {place} {r}{conversion}" for name in [path.name] for r in lines],
            dtype=object,
        )
    )
    extras = _extra_columns(
        frame, columns, used | {c for c in (id_col, name_col, cap_col, "provenance") if c}
    )
    out = gpd.GeoDataFrame(
        {
            "facility_id": ids,
            "name": names,
            "capacity": capacity,
            "provenance": provenance,
            **extras,
        },
        geometry=frame.geometry.to_crs(crs).to_numpy(),
        crs=crs,
    )
    out["_line"] = lines
    return FacilityLayer(
        category=category, facilities=out, source=str(path), notes=notes, extra_columns=list(extras)
    )


def lines_of(layer: FacilityLayer) -> np.ndarray:
    """Each facility's line (or feature number) in its file; drops the helper column."""
    lines = layer.facilities.pop("_line").to_numpy()
    return lines


def _id_text(value) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return "" if text.lower() in ("nan", "none", "<na>") else text


def _extra_columns(frame: pd.DataFrame, columns: list[str], used: set[str]) -> dict:
    """The planner's other columns, as text without control characters."""
    out = {}
    for col in columns:
        if col in used or str(col).startswith("column_"):
            continue
        values, _ = clean_names(frame[col])
        key = f"{col} (file)" if col in RESERVED_COLUMNS else str(col)
        out[key] = values
    return out


def _near_duplicates(
    layer: FacilityLayer,
    lines: np.ndarray,
    path: Path,
    what: str,
    place: str,
    dedupe: Dedupe,
    dedupe_m: float,
) -> FacilityLayer:
    out, notes = layer.facilities, layer.notes
    names = out["name"].astype(str).to_numpy()
    groups = near_duplicates(out.geometry.to_numpy(), names, dedupe_m)
    if not groups:
        return layer
    points = out.geometry.to_numpy()
    parts = []
    for g in groups[:10]:
        gap = float(shapely.distance(points[g[0]], points[g[1:]]).max())
        parts.append(
            " = ".join(f"{names[i]} ({place} {lines[i]})" for i in g) + f", {gap:.0f} m apart"
        )
    listed = "; ".join(parts) + (f"; and {len(groups) - 10} more" if len(groups) > 10 else "")
    head = (
        f"{what} {path}: {len(groups)} facilit{'y is' if len(groups) == 1 else 'ies are'}"
        f" entered more than once (the same or nearly the same name within "
        f"{dedupe_m:g} m): {listed}"
    )
    if dedupe == "error":
        raise InputError(
            f'{head}. Delete the repeated rows, or set dedupe = "merge" (keep '
            'the first entry) or dedupe = "warn" under this facilities '
            "section if they really are separate facilities"
        )
    if dedupe == "warn":
        notes.append(
            f"{head}; each counts as a separate facility (its capacity too). If "
            'they are one facility, delete the repeats or set dedupe = "merge"'
        )
        return layer
    drop = np.concatenate([g[1:] for g in groups])
    keep = np.ones(len(out), dtype=bool)
    keep[drop] = False
    capacity = out["capacity"].to_numpy(dtype=float).copy()
    for g in groups:  # the first entry keeps its capacity, or the first one given
        known = capacity[g][np.isfinite(capacity[g])]
        capacity[g[0]] = known[0] if len(known) else np.nan
    out = out.assign(capacity=capacity)
    notes.append(
        f'{head}; merged into the first entry of each (dedupe = "merge"; its '
        f"capacity kept, not added): {len(drop)} row(s) dropped"
    )
    layer.facilities = out[keep].reset_index(drop=True)
    return layer
