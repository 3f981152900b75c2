"""The data of each map layer: cell values, service areas, gaps, choropleths, outlines, issues.

Every function returns plain JSON-ready data for the map runtime (``static/circle15-map.js``):
numbers already formatted as text where a popup shows them, geometry compactly encoded
(:mod:`.encode`). Nothing here is HTML: the runtime puts every value into the page as text.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ...analysis.service_areas import facility_reach
from ...standards import Category
from ..templating import MISSING
from .encode import encode_geometry, geometry_kinds, index_array, quantised, to_wgs84, typed
from .style import (
    BARRIER_COLOUR,
    COVERAGE_COLOURS,
    GAP_COLOUR,
    ISSUE_COLOURS,
    NO_DATA_COLOUR,
    STEPS_COLOUR,
    column,
    coverage_class,
    minutes_text,
    rgba,
    tier_colours,
    tier_index,
    tier_names,
)

__all__ = [
    "GAP_SIMPLIFY_M",
    "MAX_MAP_GAPS",
    "MAX_MAP_ISSUES",
    "ZONE_SIMPLIFY_M",
    "barrier_data",
    "cell_values",
    "choropleth_data",
    "fmt",
    "gap_data",
    "issue_data",
    "nearest_codes",
    "outline_data",
    "service_area_data",
    "texts",
    "vector_data",
]

#: Simplification tolerance, metres, applied in the projected CRS before reprojection.
GAP_SIMPLIFY_M = 5.0
ZONE_SIMPLIFY_M = 10.0
#: At most this many gaps are outlined per category, the most populous first (the ranks
#: 1, 2, …): a city-sized run has tens of thousands per category, mostly single cells of
#: a few residents, which the walking-time layer shows anyway. All are in ``results.gpkg``.
MAX_MAP_GAPS = 2_000
#: At most this many network issues are drawn, those with the most residents first.
MAX_MAP_ISSUES = 5_000
#: Above this many features a vector layer draws on a canvas instead of SVG.
CANVAS_ABOVE = 1_000
UNREACHABLE_TEXT = "不可达 unreachable"


def fmt(values: pd.Series | np.ndarray, spec: str, missing: str = MISSING) -> list[str]:
    """Numbers formatted with ``spec`` (``",.0f"``), ``missing`` for NaN or non-numbers."""
    x = pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="coerce").to_numpy(float)
    ok = np.isfinite(x)
    out = np.full(len(x), missing, dtype=object)
    out[ok] = [format(v, spec) for v in x[ok].tolist()]
    return out.tolist()


def texts(values: pd.Series | np.ndarray, missing: str = MISSING) -> list[str]:
    """Values as text (the runtime writes it as text: no escaping here), ``missing`` for none."""
    series = pd.Series(np.asarray(values, dtype=object), dtype=object)
    return series.astype(str).where(series.notna(), missing).tolist()


def nearest_codes(cells: pd.DataFrame, key: str) -> tuple[np.ndarray, list[str]]:
    """Each cell's nearest facility as an index into the list of facility ids (-1 for none)."""
    codes, ids = pd.factorize(column(cells, f"nearest_{key}", None).to_numpy(dtype=object))
    return codes, [str(i) for i in ids]


def vector_data(
    geoms: np.ndarray,
    styles: list[dict[str, Any]],
    *,
    cls: np.ndarray | None = None,
    popup: dict[str, Any] | None = None,
    tooltip: dict[str, Any] | None = None,
    highlight: dict[str, Any] | None = None,
    shared: bool = False,
) -> dict[str, Any]:
    """What ``L.Circle15.vectors`` draws: features (WGS84) styled by class.

    ``popup`` and ``tooltip`` are ``{"labels": [...], "values": [[...], ...]}`` with
    ``"title"``/``"titles"`` and ``"subtitle"``/``"subtitles"``; a class of -1 is not drawn.
    With ``shared=True`` the geometry is left out (the layer refers to a shared one).
    """
    geoms = np.asarray(geoms, dtype=object)
    kinds = geometry_kinds(geoms)
    data: dict[str, Any] = {
        "style": styles,
        "cls": None if cls is None else np.asarray(cls, dtype=int).tolist(),
        "kinds": kinds.tolist() if kinds.any() else None,
        "popup": popup,
        "tooltip": tooltip,
        "highlight": highlight,
        "canvas": len(geoms) > CANVAS_ABOVE,
    }
    if not shared:
        data["geom"] = encode_geometry(geoms)
    return data


# --------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------
def cell_values(
    cells: pd.DataFrame,
    category: Category,
    facilities: pd.DataFrame,
    nearest: tuple[np.ndarray, list[str]] | None = None,
) -> dict[str, Any]:
    """Per-cell minutes, cohort population and nearest facility of one category.

    Minutes travel in tenths (the popup shows one decimal) and the tier is derived from them
    in the browser; the few cells whose tier differs from that (a time within 0.05 minutes
    of a tier bound, or a tier column that says otherwise) are listed in ``fix``.
    ``nearest`` is :func:`nearest_codes` of the cells when already known.
    """
    key = category.key
    minutes = pd.to_numeric(column(cells, f"t_{key}"), errors="coerce").to_numpy(float)
    t = quantised(minutes, 10)
    tenths = np.where(np.isfinite(minutes) & (minutes >= 0), np.rint(minutes * 10), np.nan)
    n = len(category.tiers_min) + 1
    derived = np.where(
        np.isnan(tenths), n, np.searchsorted(category.tiers_min, tenths / 10, side="left")
    )
    tier = tier_index(cells, category)
    wrong = np.flatnonzero(derived != tier)
    near_code, near_ids = nearest_codes(cells, key) if nearest is None else nearest
    names: dict[str, Any] = {}
    if {"category", "facility_id", "name"} <= set(facilities.columns):
        of_cat = facilities[facilities["category"] == key]
        names = dict(zip(of_cat["facility_id"].astype(str), of_cat["name"], strict=False))
    served = np.isfinite(minutes) & (minutes <= category.target_min) & (near_code >= 0)
    return {
        "title": category.label,
        "labels": {
            "cell": "网格 Cell",
            "district": "街道 Sub-district",
            "cohort": f"目标人口 Target population ({category.cohort_label})",
            "time": "步行时间 Walking time",
            "tier": "分级 Tier",
            "nearest": "最近设施 Nearest facility",
            "unreachable": UNREACHABLE_TEXT,
            "minutes": "分钟 min",
        },
        "tiers": tier_names(category),
        "colours": tier_colours(len(category.tiers_min)),
        "bounds": list(category.tiers_min),
        "t": t,
        "fix": {"k": typed(wrong.astype(np.uint32)), "v": typed(tier[wrong].astype(np.uint8))}
        if len(wrong)
        else None,
        "pop": quantised(pd.to_numeric(column(cells, f"pop_{key}"), errors="coerce"), 10),
        "near": index_array(near_code),
        "fac": [
            list(f) for f in zip(near_ids, texts([names.get(f) for f in near_ids], ""), strict=True)
        ],
        "served": typed(np.packbits(served, bitorder="little")),
    }


def service_area_data(
    cells: gpd.GeoDataFrame,
    category: Category,
    colour: str,
    values: dict[str, Any],
    reach: pd.DataFrame | None = None,
    nearest: tuple[np.ndarray, list[str]] | None = None,
) -> dict[str, Any] | None:
    """Each facility's service area (its cells within the target time): popup figures.

    The runtime draws the areas from the cells (:func:`cell_values`); here is what each
    area's popup says, per facility in the order of ``values["fac"]``. ``reach`` and
    ``nearest`` are :func:`~circle15.analysis.service_areas.facility_reach` and
    :func:`nearest_codes` of the cells when already known.
    """
    key = category.key
    if not {f"t_{key}", f"nearest_{key}", f"pop_{key}"} <= set(cells.columns):
        return None
    reach = facility_reach(cells, category) if reach is None else reach
    fac_ids = [fid for fid, _ in values["fac"]]
    if not len(reach) or not (reach["served_cells"] > 0).any():
        return None
    minutes = pd.to_numeric(cells[f"t_{key}"], errors="coerce").to_numpy(float)
    codes, ids = nearest_codes(cells, key) if nearest is None else nearest
    served = np.isfinite(minutes) & (minutes <= category.target_min) & (codes >= 0)
    if cells.crs is None or cells.crs.is_geographic:
        area_by = np.full(len(ids), np.nan)  # degrees² are no area
    else:
        area = shapely.area(cells.geometry.to_numpy())
        area_by = np.bincount(codes[served], weights=area[served], minlength=len(ids))
    area_by = pd.Series(area_by, index=ids)
    reach = reach.reindex(fac_ids)
    target = minutes_text(category.target_min)
    facility = [f"{name} ({fid})" if name else fid for fid, name in values["fac"]]
    rows = [
        list(r)
        for r in zip(
            facility,
            fmt(reach["served_population"], ",.0f"),
            fmt(reach["served_cells"], ",.0f"),
            fmt(area_by.reindex(fac_ids).to_numpy() / 1e6, ".2f"),
            fmt(reach["mean_min"], ".1f"),
            strict=True,
        )
    ]
    return {
        "colour": colour,
        "fill": rgba(colour, 0.15),
        "stats": {
            "title": f"服务范围 Service area (≤ {target} min)",
            "labels": [
                "设施 Facility",
                f"服务人口 Residents served ({category.cohort_label})",
                "网格数 Cells",
                "面积 Area (km²)",
                "平均步行时间 Mean walking time (min)",
            ],
            "values": rows,
            "tooltip": [
                f"服务范围 Service area (≤ {target} min)",
                f"服务人口 Residents served ({category.cohort_label})",
            ],
        },
    }


# --------------------------------------------------------------------------------------
# Vector layers
# --------------------------------------------------------------------------------------
def gap_data(rows: gpd.GeoDataFrame, category: Category) -> dict[str, Any] | None:
    """The category's gaps (``rows``; the MAX_MAP_GAPS most populous) with their popups."""
    if rows is None or rows.empty:
        return None
    if len(rows) > MAX_MAP_GAPS:  # the most populous (rank 1 first); see MAX_MAP_GAPS
        order = pd.to_numeric(column(rows, "rank"), errors="coerce").to_numpy(dtype=float)
        rows = rows.iloc[np.argsort(order, kind="stable")[:MAX_MAP_GAPS]]
    frame = to_wgs84(rows, GAP_SIMPLIFY_M, preserve_topology=False)
    if frame.empty:
        return None
    nearest_min = pd.to_numeric(column(frame, "nearest_min"), errors="coerce")
    names = texts(column(frame, "nearest_name", None))
    ids = texts(column(frame, "nearest_facility", None))
    values = zip(
        fmt(column(frame, "rank"), ".0f"),
        texts(column(frame, "gap_id", None)),
        texts(column(frame, "district", None)),
        fmt(column(frame, "population"), ",.0f"),
        fmt(column(frame, "area_km2"), ".2f"),
        fmt(column(frame, "mean_min"), ".1f", UNREACHABLE_TEXT),
        [f"{n} ({i})" for n, i in zip(names, ids, strict=True)],
        fmt(nearest_min, ".1f", UNREACHABLE_TEXT),
        # Walking distance over the network (snap legs included) at the category's speed.
        fmt(nearest_min * category.metres_per_minute, ",.0f", UNREACHABLE_TEXT),
        strict=True,
    )
    popup = {
        "title": category.label,
        "labels": [
            "排名 Rank",
            "编号 Gap id",
            "街道 Sub-district",
            f"人口 Population ({category.cohort_label})",
            "面积 Area (km²)",
            "平均步行时间 Mean walking time (min)",
            "最近设施 Nearest facility",
            "到最近设施 Time to nearest facility (min)",
            "到最近设施距离 Walking distance to it (m)",
        ],
        "values": [list(v) for v in values],
    }
    style = {
        "color": GAP_COLOUR,
        "weight": 2.5,
        "fill": True,
        "fillColor": GAP_COLOUR,
        "fillOpacity": 0.08,
    }
    return vector_data(frame.geometry.to_numpy(), [style], popup=popup)


def barrier_data(
    areas: gpd.GeoDataFrame | None, steps: gpd.GeoDataFrame | None, category: Category
) -> dict[str, Any] | None:
    """Where steps cut a step-free category's residents off: their areas and the steps on
    their walks (at most :data:`MAX_MAP_GAPS` of each, the most residents first)."""
    parts = [f for f in (areas, steps) if f is not None and len(f)]
    if not parts:
        return None
    cohort = f"({category.cohort_label})"
    geoms, cls, titles, rows = [], [], [], []
    if areas is not None and len(areas):
        frame = to_wgs84(areas.iloc[:MAX_MAP_GAPS], GAP_SIMPLIFY_M, preserve_topology=False)
        geoms.append(frame.geometry.to_numpy())
        cls.append(np.zeros(len(frame), dtype=int))
        titles += [f"{category.label}: 因台阶超出目标时间 beyond the target without steps"] * len(
            frame
        )
        rows += [
            list(v)
            for v in zip(
                texts(column(frame, "barrier_id", None)),
                texts(column(frame, "district", None)),
                fmt(column(frame, "population"), ",.0f"),
                fmt(column(frame, "cells"), ",.0f"),
                [
                    f"{a} / {b}"
                    for a, b in zip(
                        fmt(column(frame, "mean_min_with_steps"), ".1f"),
                        fmt(column(frame, "mean_min_step_free"), ".1f", UNREACHABLE_TEXT),
                        strict=True,
                    )
                ],
                strict=True,
            )
        ]
    if steps is not None and len(steps):
        frame = to_wgs84(steps.iloc[:MAX_MAP_GAPS])
        geoms.append(frame.geometry.to_numpy())
        cls.append(np.ones(len(frame), dtype=int))
        kind = texts(column(frame, "kind", None))
        names = texts(column(frame, "name", None), "")
        titles += [f"{k} {n}".strip() for k, n in zip(kind, names, strict=True)]
        rows += [
            list(v)
            for v in zip(
                texts(column(frame, "street", None)),
                texts(column(frame, "district", None)),
                fmt(column(frame, "population"), ",.0f"),
                fmt(column(frame, "cells"), ",.0f"),
                [f"{x} m" for x in fmt(column(frame, "length_m"), ",.0f")],
                strict=True,
            )
        ]
    popup = {
        "titles": titles,
        "labels": [
            "编号 Id",
            "街道 Sub-district",
            f"受阻人口 Residents cut off {cohort}",
            "网格 Cells",
            "含台阶 / 无台阶 With steps / step-free (min); 台阶长度 length of the steps",
        ],
        "values": rows,
    }
    styles = [
        {
            "color": BARRIER_COLOUR,
            "weight": 2,
            "fill": True,
            "fillColor": BARRIER_COLOUR,
            "fillOpacity": 0.25,
        },
        {"color": STEPS_COLOUR, "weight": 5, "opacity": 0.9, "dashArray": "2 4"},
    ]
    return vector_data(np.concatenate(geoms), styles, cls=np.concatenate(cls), popup=popup)


def choropleth_data(
    zones: gpd.GeoDataFrame, rows: pd.DataFrame, category: Category
) -> dict[str, Any]:
    """Sub-districts (WGS84, shared geometry) coloured by the category's coverage class."""
    columns = ["population", "coverage", "mean_min", "p90_min", "unreachable_population"]
    stats = rows.drop_duplicates("district").set_index("district").reindex(columns=columns)
    joined = zones[["district", "label"]].join(stats, on="district")
    target = minutes_text(category.target_min)
    cls = coverage_class(pd.to_numeric(joined["coverage"], errors="coerce"))
    tooltip = {
        "labels": [
            "街道 Sub-district",
            f"目标人口 Target population ({category.cohort_label})",
            f"{target}分钟内覆盖率 Coverage within {target} min",
            "平均步行时间 Mean walking time (min)",
            "P90步行时间 P90 walking time (min)",
            "不可达人口 Unreachable population",
        ],
        "values": [
            list(v)
            for v in zip(
                texts(joined["label"]),
                fmt(joined["population"], ",.0f"),
                fmt(joined["coverage"], ".1%"),
                fmt(joined["mean_min"], ".1f"),
                fmt(joined["p90_min"], ".1f"),
                fmt(joined["unreachable_population"], ",.0f"),
                strict=True,
            )
        ],
    }
    palette = [*COVERAGE_COLOURS, NO_DATA_COLOUR]  # class -1 (no data) is the last
    styles = [
        {"color": "#333", "weight": 1, "fill": True, "fillColor": c, "fillOpacity": 0.7}
        for c in palette
    ]
    return vector_data(
        zones.geometry.to_numpy(),
        styles,
        cls=np.where(cls < 0, len(palette) - 1, cls),
        tooltip=tooltip,
        highlight={"weight": 3, "fillOpacity": 0.85},
        shared=True,
    )


def outline_data(
    geoms: np.ndarray, style: dict[str, Any], labels: list[str] | None = None
) -> dict[str, Any]:
    """Outlines (sub-districts, the study area); with ``labels`` a tooltip of each."""
    tooltip = None if labels is None else {"labels": [""], "values": [[t] for t in labels]}
    return vector_data(geoms, [style], tooltip=tooltip, shared=labels is not None)


_ISSUE_KINDS = {
    "separate_piece": "孤立路网 separate piece of network",
    "loose_end": "断头路 loose end",
}


def issue_data(issues: gpd.GeoDataFrame) -> dict[str, Any] | None:
    """Network issues (pieces apart from the rest, loose ends) with their popups.

    ``issues`` has ``issue_id``, ``kind`` (``"separate_piece"`` or ``"loose_end"``),
    ``description``, ``population``, ``length_m``, ``nearest_m`` and a MultiLineString or
    Point geometry (study CRS). At most :data:`MAX_MAP_ISSUES` are drawn, most residents
    first.
    """
    if issues is None or not len(issues):
        return None
    frame = issues
    if len(frame) > MAX_MAP_ISSUES:
        people = pd.to_numeric(column(frame, "population"), errors="coerce").fillna(0.0)
        frame = frame.iloc[np.argsort(-people.to_numpy(), kind="stable")[:MAX_MAP_ISSUES]]
    frame = to_wgs84(frame)
    if frame.empty:
        return None
    kind = column(frame, "kind", None).astype(object)
    # Styled by kind; an issue of another kind by its geometry (lines as pieces, points as ends).
    by_geometry = np.where(geometry_kinds(frame.geometry.to_numpy()) == 2, 1, 0)
    cls = np.where(kind == "separate_piece", 0, np.where(kind == "loose_end", 1, by_geometry))
    styles = [
        {"color": ISSUE_COLOURS["separate_piece"], "weight": 3, "opacity": 0.9, "radius": 5},
        {
            "color": ISSUE_COLOURS["loose_end"],
            "weight": 2,
            "fill": True,
            "fillColor": ISSUE_COLOURS["loose_end"],
            "fillOpacity": 0.8,
            "radius": 5,
        },
    ]
    popup = {
        "titles": [_ISSUE_KINDS.get(k, str(k)) for k in kind],
        "labels": [
            "编号 Id",
            "说明 Description",
            "受影响人口 Residents affected",
            "长度 Length (m)",
            "距主路网 Distance to the main network (m)",
        ],
        "values": [
            list(v)
            for v in zip(
                texts(column(frame, "issue_id", None)),
                texts(column(frame, "description", None)),
                fmt(column(frame, "population"), ",.0f"),
                fmt(column(frame, "length_m"), ",.0f"),
                fmt(column(frame, "nearest_m"), ",.0f"),
                strict=True,
            )
        ],
    }
    data = vector_data(frame.geometry.to_numpy(), styles, cls=cls, popup=popup)
    data["total"] = len(issues)
    return data
