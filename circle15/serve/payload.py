"""What the studio page receives: a result's tables and layers as compact JSON.

Cells are sent once (``study_payload``): their outlines as one typed array of coordinates
relative to an origin, base64-encoded. A category's layer (``layer_payload``) is then a
few typed arrays over the same cells (walking minutes, nearest facility) plus the small
tables, so that a 20,000-cell city costs a few hundred kilobytes per edit, not megabytes of
GeoJSON. Numbers that are missing (NaN) are sent as ``null``; text from input files is
sent as JSON strings, which the page shows with ``textContent`` only.
"""

from __future__ import annotations

import base64
import math
from functools import cache
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from ..planning.edits import category_facilities
from ..planning.site_input import WGS84
from ..schema import ALL, nearest_col, pop_col, time_col

if TYPE_CHECKING:
    from ..result import CoverageResult

__all__ = [
    "GAP_LIST",
    "b64",
    "clean",
    "index_payload",
    "layer_payload",
    "study_payload",
    "tier_colours",
]

#: Gaps listed and outlined per category, the most populous first (a city-sized study
#: has thousands of one-cell gaps, which the walking-time layer shows anyway).
GAP_LIST = 50
#: Cell outlines and zones are simplified by this many metres before they are sent.
SIMPLIFY_M = 2.0
ZONE_SIMPLIFY_M = 10.0
#: ColorBrewer YlGnBu (9 classes): near = light, far = dark, as on map.html.
YLGNBU = (
    "#ffffd9",
    "#edf8b1",
    "#c7e9b4",
    "#7fcdbb",
    "#41b6c4",
    "#1d91c0",
    "#225ea8",
    "#253494",
    "#081d58",
)
UNREACHABLE_COLOUR = "#525252"
#: District-table columns sent to the page (those the table and popups show).
DISTRICT_COLUMNS = (
    "district",
    "population",
    "covered_population",
    "coverage",
    "mean_min",
    "p90_min",
    "unreachable_population",
    "pop_within_5",
    "pop_within_10",
    "pop_within_15",
    "capacity",
    "supply_ratio",
    "norm",
    "norm_ratio",
    "norm_met",
    "score_accessibility",
    "score_balance",
    "score_quality",
)
INDEX_COLUMNS = ("district", "name_en", "accessibility", "balance", "quality", "composite", "rank")


def tier_colours(n_tiers: int) -> list[str]:
    """Colours of ``n_tiers + 1`` walking-time classes (light = near), then unreachable."""
    lightest = 2 if n_tiers + 1 <= len(YLGNBU) - 2 else 0
    idx = np.rint(np.linspace(lightest, len(YLGNBU) - 1, n_tiers + 1)).astype(int)
    return [YLGNBU[i] for i in idx] + [UNREACHABLE_COLOUR]


# ---------------------------------------------------------------------------- encoding


def b64(values: np.ndarray, dtype: str) -> str:
    """A typed array as base64 (little-endian), for ``new Float32Array(...)`` in the page."""
    return base64.b64encode(
        np.ascontiguousarray(values, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()
    ).decode("ascii")


def clean(value: Any) -> Any:
    """``value`` with numpy scalars made Python numbers and NaN/infinity made None."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    return value


def _records(frame: pd.DataFrame, columns: tuple[str, ...] | list[str]) -> list[dict]:
    cols = [c for c in columns if c in frame.columns]
    return clean(frame[cols].to_dict("records"))


@cache
def _transformer(crs: str) -> Transformer:
    return Transformer.from_crs(crs, WGS84, always_xy=True)


def _to_lonlat(xy: np.ndarray, crs: Any) -> np.ndarray:
    if not len(xy):
        return np.empty((0, 2))
    lon, lat = _transformer(CRS.from_user_input(crs).to_string()).transform(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def _lonlat(geometry: np.ndarray, crs: Any) -> np.ndarray:
    return _to_lonlat(shapely.get_coordinates(np.asarray(geometry, dtype=object)), crs)


def _rings(geometry: np.ndarray, crs: Any, simplify_m: float, digits: int = 6) -> list:
    """Exterior rings of (multi)polygons as nested ``[lon, lat]`` lists, per geometry."""
    geometry = np.asarray(geometry, dtype=object)
    out: list[list] = [[] for _ in range(len(geometry))]
    if not len(geometry):
        return out
    simple = shapely.simplify(geometry, simplify_m, preserve_topology=True)
    parts, owner = shapely.get_parts(simple, return_index=True)
    polygonal = shapely.get_type_id(parts) == 3
    rings = shapely.get_exterior_ring(parts[polygonal])
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    lonlat = np.round(_to_lonlat(xy, crs), digits)
    cuts = np.searchsorted(ring_of, np.arange(1, len(rings)))
    for geom, coords in zip(owner[polygonal], np.split(lonlat, cuts), strict=True):
        out[geom].append(coords.tolist())
    return out


# ---------------------------------------------------------------------------- study


def study_payload(result: CoverageResult) -> dict[str, Any]:
    """What does not change while the studio runs: categories, zones, cell outlines.

    ``cells.coords`` holds every cell ring's vertices as float32 pairs (lon, lat) relative
    to ``cells.origin``; ring ``i`` has the vertices ``ring_start[i]`` to
    ``ring_start[i + 1]`` (exclusive) and belongs to cell ``ring_cell[i]``.
    """
    cells = result.cells
    geoms = cells.geometry.simplify(SIMPLIFY_M, preserve_topology=True).to_crs(WGS84)
    parts, cell_of_part = shapely.get_parts(geoms.to_numpy(), return_index=True)
    polygonal = shapely.get_type_id(parts) == 3
    parts, cell_of_part = parts[polygonal], cell_of_part[polygonal]
    rings = shapely.get_exterior_ring(parts)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    # Rings are closed: drop each ring's repeated last vertex.
    last = np.r_[ring_of[1:] != ring_of[:-1], True]
    coords, ring_of = coords[~last], ring_of[~last]
    ring_start = np.searchsorted(ring_of, np.arange(len(rings) + 1))
    origin = coords.min(axis=0) if len(coords) else np.zeros(2)
    names = list(result.zones["district"])
    where = {d: i for i, d in enumerate(names)}
    district_of = np.array([where.get(d, -1) for d in cells["district"]], dtype=np.int32)
    west, south, east, north = (
        gpd.GeoSeries([result.area], crs=cells.crs).to_crs(WGS84).total_bounds
    )
    zones = result.zones
    return clean(
        {
            "name": result.name,
            "title": result.title,
            "synthetic": bool(result.synthetic),
            "notice": result.notice,
            "crs": cells.crs.to_string(),
            "bounds": [[south, west], [north, east]],
            "categories": [
                {
                    "key": c.key,
                    "name_zh": c.name_zh,
                    "name_en": c.name_en,
                    "label": c.label,
                    "cohort": c.cohort_label,
                    "target_min": c.target_min,
                    "tiers_min": list(c.tiers_min),
                    "colours": tier_colours(len(c.tiers_min)),
                    "capacity_unit": c.capacity_unit,
                    "norm_label": c.norm_label,
                }
                for c in result.categories.values()
            ],
            "districts": [
                {"district": d, "name_en": e}
                for d, e in zip(zones["district"], zones["name_en"], strict=True)
            ],
            "zones": _rings(zones.geometry.to_numpy(), zones.crs, ZONE_SIMPLIFY_M),
            "area": _rings(np.array([result.area], dtype=object), cells.crs, ZONE_SIMPLIFY_M)[0],
            "cells": {
                "count": len(cells),
                "origin": origin.tolist(),
                "coords": b64(coords - origin, "f4"),
                "ring_start": b64(ring_start, "u4"),
                "ring_cell": b64(cell_of_part, "u4"),
                "district": b64(district_of, "i4"),
                "pop_total": b64(cells["pop_total"].to_numpy(dtype=float), "f4"),
                "ids": [str(i) for i in cells["cell_id"]],
            },
        }
    )


# ---------------------------------------------------------------------------- layers


def facilities_payload(
    result: CoverageResult, baseline: CoverageResult, category: str
) -> list[dict[str, Any]]:
    """The category's facilities with WGS84 position and whether the studio added or
    moved them (``status``: ``existing``, ``new`` or ``moved``)."""
    rows = category_facilities(result, category)
    before = category_facilities(baseline, category)
    ids = rows["facility_id"].astype(str).to_numpy()
    old = pd.Series(before.geometry.to_numpy(), index=before["facility_id"].astype(str))
    old = old[~old.index.duplicated()]
    known = np.isin(ids, old.index)
    status = np.full(len(ids), "new", dtype=object)
    if known.any():
        same = shapely.equals_exact(
            old.reindex(ids[known]).to_numpy(), rows.geometry.to_numpy()[known], tolerance=0.0
        )
        status[np.flatnonzero(known)] = np.where(same, "existing", "moved")
    lonlat = np.round(_lonlat(rows.geometry.to_numpy(), rows.crs), 7)
    district = rows["district"].tolist() if "district" in rows else [None] * len(rows)
    return clean(
        [
            {
                "id": i,
                "name": str(n),
                "capacity": c,
                "lon": x,
                "lat": y,
                "district": d,
                "snapped": bool(sn),
                "status": st,
            }
            for i, n, c, (x, y), d, sn, st in zip(
                ids.tolist(),
                rows["name"].tolist(),
                rows["capacity"].tolist(),
                lonlat.tolist(),
                district,
                rows["snapped"].tolist(),
                status.tolist(),
                strict=True,
            )
        ]
    )


def gaps_payload(result: CoverageResult, category: str, limit: int = GAP_LIST) -> dict[str, Any]:
    """Gap summary: how many, residents and area in all, and the ``limit`` largest with
    their outlines (rings of ``[lon, lat]``)."""
    gaps = result.gaps[result.gaps["category"].to_numpy() == category]
    top = gaps.sort_values("rank").head(limit)
    rows = _records(
        pd.DataFrame(top.drop(columns=top.geometry.name)),
        [
            "rank",
            "district",
            "population",
            "cells",
            "area_km2",
            "mean_min",
            "nearest_name",
            "nearest_min",
        ],
    )
    # (outlines are finite coordinates already: added after ``clean``, which they would slow)
    for row, rings in zip(
        rows, _rings(top.geometry.to_numpy(), top.crs, SIMPLIFY_M * 5), strict=True
    ):
        row["outline"] = rings
    return {
        "count": len(gaps),
        "population": float(gaps["population"].sum()),
        "area_km2": float(gaps["area_km2"].sum()),
        "top": rows,
    }


def coverage_payload(result: CoverageResult, category: str) -> dict[str, Any]:
    """Share of the cohort within the target time: ``ALL`` and per sub-district."""
    rows = result.districts[result.districts["category"].to_numpy() == category]
    return clean(dict(zip(rows["district"], rows["coverage"].astype(float), strict=True)))


def layer_payload(
    result: CoverageResult, baseline: CoverageResult, category: str, *, static: bool = True
) -> dict[str, Any]:
    """One category's layer: per-cell minutes and nearest facility, its facilities,
    district rows, coverage and gaps. ``static`` adds the cohort per cell (the same for
    every result of a study)."""
    cells = result.cells
    facilities = facilities_payload(result, baseline, category)
    ids = cells[nearest_col(category)].to_numpy(dtype=object)
    known = pd.notna(ids)
    nearest = np.full(len(ids), -1, dtype=np.int64)
    nearest[known] = pd.Index([f["id"] for f in facilities]).get_indexer(ids[known].astype(str))
    rows = result.districts[result.districts["category"].to_numpy() == category]
    out: dict[str, Any] = {
        "category": category,
        "minutes": b64(cells[time_col(category)].to_numpy(dtype=float), "f4"),
        "nearest": b64(nearest, "i4"),
        "facilities": facilities,
        "districts": _records(rows, DISTRICT_COLUMNS),
        "coverage": coverage_payload(result, category),
        "gaps": gaps_payload(result, category),
    }
    if static:
        out["cohort"] = b64(cells[pop_col(category)].to_numpy(dtype=float), "f4")
    return out


def index_payload(result: CoverageResult) -> list[dict[str, Any]] | None:
    """The 可及/均衡/优质 index table (None when the study does not compute it)."""
    if result.index is None:
        return None
    return _records(result.index, INDEX_COLUMNS)


def all_coverage(result: CoverageResult) -> dict[str, float | None]:
    """Whole-area coverage of every category."""
    rows = result.districts[result.districts["district"].to_numpy() == ALL]
    return clean(dict(zip(rows["category"], rows["coverage"].astype(float), strict=True)))
