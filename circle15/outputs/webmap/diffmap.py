"""The map of progress between two vintages (``diff_map.html``): where access changed.

Per category, under its heading in the layer control: the cells whose access changed
(now within the target, a minute or more faster, slower, or no longer within it), the
facilities opened, closed and moved, and the sub-districts coloured by the change of
coverage. Offline and escaped like every circle15 map (the runtime writes names as text).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import folium
import numpy as np
import pandas as pd

from ...schema import ALL
from .build import banner_text, map_bounds, new_map
from .elements import DataLayer, FitBounds, LayerControl, Legend, Shared, stable_ids
from .encode import encode_geometry, to_wgs84
from .layers import ZONE_SIMPLIFY_M, fmt, texts, vector_data
from .legend import swatch
from .style import NO_BASEMAP_NAME, full_layer_name, rgba

if TYPE_CHECKING:
    from ...analysis.diff import RunDiff

__all__ = ["ACCESS_COLOURS", "CHANGE_COLOURS", "diff_map"]

#: Cells whose access changed: now within the target, faster, slower, no longer within.
ACCESS_COLOURS = {"gained": "#1a9641", "faster": "#a6d96a", "slower": "#fdae61", "lost": "#d7191c"}
ACCESS_NAMES = {
    "gained": "进入目标时间内 now within the target",
    "faster": "快1分钟以上 a minute or more faster",
    "slower": "慢1分钟以上 a minute or more slower",
    "lost": "不再在目标时间内 no longer within the target",
}
#: Facilities opened, closed, moved.
STATUS_COLOURS = {"opened": "#1a9641", "closed": "#d7191c", "moved": "#ff7f00"}
STATUS_NAMES = {"opened": "新增 opened", "closed": "关闭 closed", "moved": "迁移 moved"}
#: Change of sub-district coverage (points): ColorBrewer RdBu, worse = red, better = blue.
CHANGE_BREAKS = (-0.05, -0.01, 0.01, 0.05)
CHANGE_COLOURS = ("#ca0020", "#f4a582", "#f7f7f7", "#92c5de", "#0571b0")
CHANGE_NAMES = (
    "降低5个百分点以上 down 5+ points",
    "降低1–5 down 1–5",
    "基本不变 within ±1",
    "提高1–5 up 1–5",
    "提高5个百分点以上 up 5+ points",
)
CELLS_SHORT = "可达性变化 access changed"
FACILITIES_SHORT = "设施变化 facilities changed"
ZONES_SHORT = "街道覆盖率变化 coverage change by sub-district"


def _cells_layer(diff: RunDiff, key: str, show: bool) -> DataLayer | None:
    cells = diff.cells
    if cells is None or f"access_{key}" not in cells:
        return None
    cat = diff.categories[key]
    access = cells[f"access_{key}"].to_numpy(dtype=object)
    shown = np.isin(access, list(ACCESS_COLOURS))
    if not shown.any():
        return None
    frame = to_wgs84(cells[shown])
    classes = list(ACCESS_COLOURS)
    cls = np.array([classes.index(a) for a in frame[f"access_{key}"]])
    styles = [
        {"color": c, "weight": 0.5, "fill": True, "fillColor": c, "fillOpacity": 0.65}
        for c in ACCESS_COLOURS.values()
    ]
    popup = {
        "title": cat.label,
        "labels": [
            "网格 Cell",
            "街道 Sub-district",
            f"目标人口 Cohort ({cat.cohort_label})",
            "之前 Before (min)",
            "之后 After (min)",
            "变化 Change (min)",
            "可达性 Access",
        ],
        "values": [
            list(v)
            for v in zip(
                texts(frame["cell_id"]),
                texts(frame["district"]),
                fmt(frame[f"pop_{key}"], ",.0f"),
                fmt(frame[f"t_before_{key}"], ".1f", "不可达 unreachable"),
                fmt(frame[f"t_after_{key}"], ".1f", "不可达 unreachable"),
                fmt(frame[f"change_{key}"], "+.1f"),
                [ACCESS_NAMES[a] for a in frame[f"access_{key}"]],
                strict=True,
            )
        ],
    }
    return DataLayer(
        "vectors",
        vector_data(frame.geometry.to_numpy(), styles, cls=cls, popup=popup),
        name=full_layer_name(cat.label, CELLS_SHORT),
        show=show,
    )


def _facilities_layer(diff: RunDiff, key: str, show: bool) -> DataLayer | None:
    fac = diff.facilities
    rows = fac[(fac["category"] == key) & (fac["status"] != "kept")]
    if not len(rows):
        return None
    cat = diff.categories[key]
    frame = to_wgs84(rows)
    statuses = list(STATUS_COLOURS)
    cls = np.array([statuses.index(s) for s in frame["status"]])
    styles = [
        {
            "color": "#222",
            "weight": 1.5,
            "fill": True,
            "fillColor": c,
            "fillOpacity": 0.95,
            "radius": 7,
        }
        for c in STATUS_COLOURS.values()
    ]
    popup = {
        "titles": [f"{cat.label}: {STATUS_NAMES[s]}" for s in frame["status"]],
        "labels": [
            "名称 Name",
            "编号 Id",
            "之前编号 Id before",
            "匹配 Matched by",
            f"容量 Capacity ({cat.capacity_unit})",
            "容量变化 Capacity change",
            "迁移距离 Moved (m)",
        ],
        "values": [
            list(v)
            for v in zip(
                texts(frame["name"]),
                texts(frame["facility_id"]),
                texts(frame["facility_id_before"]),
                texts(frame["matched_by"], ""),
                [
                    f"{b} → {a}"
                    for b, a in zip(
                        fmt(frame["capacity_before"], ",.0f"),
                        fmt(frame["capacity_after"], ",.0f"),
                        strict=True,
                    )
                ],
                fmt(frame["capacity_change"], "+,.0f"),
                fmt(frame["moved_m"], ",.0f"),
                strict=True,
            )
        ],
    }
    return DataLayer(
        "vectors",
        vector_data(frame.geometry.to_numpy(), styles, cls=cls, popup=popup),
        name=full_layer_name(cat.label, FACILITIES_SHORT),
        show=show,
    )


def _zones_layer(diff: RunDiff, key: str, zones: pd.DataFrame, shared: Shared) -> DataLayer | None:
    table = diff.districts
    if "coverage_change" not in table:
        return None
    cat = diff.categories[key]
    rows = table[(table["category"] == key) & (table["district"] != ALL)]
    stats = rows.drop_duplicates("district").set_index("district")
    joined = zones[["district", "label"]].join(
        stats[["coverage_before", "coverage_after", "coverage_change", "opened", "closed"]],
        on="district",
    )
    change = pd.to_numeric(joined["coverage_change"], errors="coerce").to_numpy(float)
    cls = np.where(np.isfinite(change), np.searchsorted(CHANGE_BREAKS, change, side="right"), -1)
    styles = [
        {"color": "#333", "weight": 1, "fill": True, "fillColor": c, "fillOpacity": 0.7}
        for c in CHANGE_COLOURS
    ]
    tooltip = {
        "labels": [
            "街道 Sub-district",
            "覆盖率之前 Coverage before",
            "覆盖率之后 Coverage after",
            "变化 Change (points)",
            "新增 Opened",
            "关闭 Closed",
        ],
        "values": [
            list(v)
            for v in zip(
                texts(joined["label"]),
                fmt(joined["coverage_before"], ".1%"),
                fmt(joined["coverage_after"], ".1%"),
                fmt(change * 100, "+.1f"),
                fmt(joined["opened"], ",.0f"),
                fmt(joined["closed"], ",.0f"),
                strict=True,
            )
        ],
    }
    data = vector_data(
        zones.geometry.to_numpy(),
        styles,
        cls=cls,
        tooltip=tooltip,
        highlight={"weight": 3, "fillOpacity": 0.85},
        shared=True,
    )
    return DataLayer(
        "vectors", data, refs=[shared], name=full_layer_name(cat.label, ZONES_SHORT), show=False
    )


def diff_map(
    diff: RunDiff, *, tiles: str | None = "OpenStreetMap", attribution: str | None = None
) -> folium.Map:
    """The map of what changed between two vintages (see the module docstring).

    Parameters
    ----------
    diff : RunDiff
        The comparison (:func:`circle15.analysis.diff.diff_runs`).
    tiles, attribution
        As for :func:`circle15.outputs.webmap.build_map`.
    """
    crs = diff.zones.crs
    bounds = map_bounds(diff, crs)
    title = f"{diff.title}: {diff.before} → {diff.after}"
    m = new_map(title, banner_text(diff.synthetic, diff.notice), bounds)
    if bounds is not None:
        m.add_child(FitBounds(bounds))
    base: list[tuple[str, Any]] = []
    if tiles is not None:
        name = f"底图 {tiles} basemap"
        base.append((name, folium.TileLayer(tiles, attr=attribution, name=name).add_to(m)))
        base.append(
            (
                NO_BASEMAP_NAME,
                folium.FeatureGroup(name=NO_BASEMAP_NAME, overlay=False, show=False).add_to(m),
            )
        )
    zones = to_wgs84(diff.zones, ZONE_SIMPLIFY_M)
    en = zones["name_en"].fillna("").astype(str) if "name_en" in zones else ""
    zones["label"] = (zones["district"].astype(str) + " " + en).str.strip()
    shared = Shared({"geom": encode_geometry(zones.geometry.to_numpy())})
    m.add_child(shared)
    groups, cells_layers, fac_layers, zone_layers = [], [], [], []
    for i, key in enumerate(diff.categories):
        entries = []
        for short, layer, kept in (
            (CELLS_SHORT, _cells_layer(diff, key, i == 0), cells_layers),
            (FACILITIES_SHORT, _facilities_layer(diff, key, i == 0), fac_layers),
            (ZONES_SHORT, _zones_layer(diff, key, zones, shared), zone_layers),
        ):
            if layer is not None:
                m.add_child(layer)
                entries.append((short, layer))
                kept.append(layer)
        groups.append((diff.categories[key].label, entries))
    outline = DataLayer(
        "vectors",
        vector_data(
            zones.geometry.to_numpy(),
            [{"color": "#444", "weight": 1.2, "fill": False}],
            tooltip={"labels": [""], "values": [[t] for t in zones["label"]]},
            shared=True,
        ),
        refs=[shared],
        name="街道边界 Sub-districts",
    )
    m.add_child(outline)
    m.add_child(LayerControl(base, [("", [("街道边界 Sub-districts", outline)]), *groups]))
    m.add_child(
        Legend(
            _legend(cells_layers, fac_layers, zone_layers),
            paragraphs=[*diff.summary(), *diff.notes],
        )
    )
    stable_ids(m.get_root())
    return m


def _legend(cells: list, facilities: list, zones: list) -> list[dict[str, Any]]:
    def item(text: str, sw: dict[str, Any]) -> dict[str, Any]:
        return {"text": text, "swatch": sw, "layers": None}

    sections = []
    if cells:
        sections.append(
            {
                "heading": "可达性变化 Access changed (cells)",
                "layers": cells,
                "entries": [
                    item(ACCESS_NAMES[k], swatch(rgba(c, 0.65), c))
                    for k, c in ACCESS_COLOURS.items()
                ],
            }
        )
    if facilities:
        sections.append(
            {
                "heading": "设施变化 Facilities",
                "layers": facilities,
                "entries": [
                    item(STATUS_NAMES[k], swatch(c, "#222", "c15-dot"))
                    for k, c in STATUS_COLOURS.items()
                ],
            }
        )
    if zones:
        sections.append(
            {
                "heading": "覆盖率变化 Coverage change (points)",
                "layers": zones,
                "entries": [
                    item(n, swatch(c)) for n, c in zip(CHANGE_NAMES, CHANGE_COLOURS, strict=True)
                ],
            }
        )
    return sections
