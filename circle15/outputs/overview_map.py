"""Overview map of a batch: every region coloured by its coverage, one layer per category.

One self-contained page (Leaflet inlined, see :mod:`circle15.outputs.offline`) for the
reviewers who compare a city's districts or a province's counties at once: per category a
choropleth of each region's coverage within the target time (shown for the first
category) and one of every sub-district of every region (hidden until chosen), region
outlines with links to each region's own map and report, the regions that failed in grey
with their reason, a legend, and the synthetic-data banner when the inputs are synthetic.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from ..standards import Category
from .atomic import write_text
from .map import (
    COVERAGE_COLOURS,
    KEEP_CSS,
    KEEP_JS,
    NO_DATA_COLOUR,
    _feature_collection,
    _Legend,
    _PageFrame,
    _swatch,
    coverage_class,
    coverage_class_names,
)
from .offline import OfflineFigure

WGS84 = "EPSG:4326"
FAILED_COLOUR = "#9e9e9e"
REGIONS_LAYER = "区域边界 region outlines"
_MISSING = "—"


def region_layer_name(category: Category) -> str:
    """Name of a category's region choropleth in the layer control."""
    return f"{category.label} · 区域覆盖率 coverage by region"


def district_layer_name(category: Category) -> str:
    """Name of a category's sub-district choropleth in the layer control."""
    return f"{category.label} · 街道覆盖率 coverage by sub-district"


def _fmt(values: pd.Series, spec: str) -> list[str]:
    numbers = pd.to_numeric(values, errors="coerce")
    return [_MISSING if pd.isna(v) else format(v, spec) for v in numbers]


def _choropleth(frame: gpd.GeoDataFrame, rows: pd.DataFrame, on: list[str],
                label: pd.Series, category: Category, name: str, show: bool,
                failed: np.ndarray | None = None, popups: list[str] | None = None,
                overlay: bool = True) -> folium.FeatureGroup:
    """A coverage choropleth of ``frame`` joined to the category's ``rows`` on ``on``.

    ``failed`` marks features drawn grey and dashed; ``popups`` (HTML) open on a click;
    ``overlay=False`` makes it one of the map's base layers (one shown at a time).
    """
    columns = ["population", "coverage", "mean_min", "unreachable_population"]
    stats = (rows.drop_duplicates(on).set_index(on).reindex(columns=columns)
             if len(rows) else pd.DataFrame(columns=[*on, *columns]).set_index(on))
    joined = frame.join(stats, on=on)
    cls = coverage_class(pd.to_numeric(joined["coverage"], errors="coerce"))
    if failed is not None:
        cls = np.where(failed, -2, cls)
    props = gpd.GeoDataFrame({
        "name": label.to_numpy(),
        "population": _fmt(joined["population"], ",.0f"),
        "coverage": _fmt(joined["coverage"], ".1%"),
        "mean_min": _fmt(joined["mean_min"], ".1f"),
        "unreachable": _fmt(joined["unreachable_population"], ",.0f"),
        "cls": cls,
    }, geometry=joined.geometry.to_numpy(), crs=WGS84)
    if popups is not None:
        props["popup"] = popups
    palette = [*COVERAGE_COLOURS, FAILED_COLOUR, NO_DATA_COLOUR]  # -2 failed, -1 no data
    target = f"{category.target_min:g}"

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        c = feature["properties"]["cls"]
        return {"color": "#333", "weight": 1, "fill": True, "fillColor": palette[c],
                "fillOpacity": 0.75, "dashArray": "4 3" if c == -2 else None}

    group = folium.FeatureGroup(name=name, show=show, overlay=overlay)
    folium.GeoJson(
        _feature_collection(props), style_function=style,
        highlight_function=lambda f: {"weight": 3, "fillOpacity": 0.9},
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "population", "coverage", "mean_min", "unreachable"],
            aliases=["", f"目标人口 Target population ({category.cohort_label})",
                     f"{target}分钟内覆盖率 Coverage within {target} min",
                     "平均步行时间 Mean walking time (min)",
                     "不可达人口 Unreachable population"],
            sticky=True),
        popup=(folium.GeoJsonPopup(fields=["popup"], labels=False) if popups is not None
               else None),
    ).add_to(group)
    return group


def _region_popups(regions: gpd.GeoDataFrame) -> list[str]:
    """Popup of each region: name, status, and links to its own map and report."""
    out = []
    for row in regions.itertuples(index=False):  # one popup per region: a few hundred at most
        name = html.escape(f"{row.region_name} ({row.region})")
        if row.status in ("ok", "skipped"):
            key = html.escape(str(row.region))
            body = (f'<a href="{key}/map.html" target="_blank">地图 map</a> · '
                    f'<a href="{key}/report.html" target="_blank">报告 report</a>')
        else:
            body = f"未完成 not run: {html.escape(str(row.reason))[:400]}"
        out.append(f'<div class="c15-popup"><b>{name}</b><br>{body}</div>')
    return out


def build_overview_map(regions: gpd.GeoDataFrame, districts: pd.DataFrame,
                       categories: dict[str, Category], *, title: str,
                       zones: gpd.GeoDataFrame | None = None, synthetic: bool = False,
                       notice: str = "") -> folium.Map:
    """The overview map of a batch.

    Parameters
    ----------
    regions : GeoDataFrame
        One row per region: ``region`` (key), ``region_name``, ``status``, ``reason``.
    districts : DataFrame
        The combined district table (``region``, ``district``, ``category``,
        ``population``, ``coverage``, ``mean_min``, ``unreachable_population``).
    categories : dict
        Categories by key, in legend order.
    title : str
        Title bar text.
    zones : GeoDataFrame, optional
        Every region's sub-districts: ``region``, ``district``, ``name_en``.
    synthetic : bool
        Show the synthetic-data banner (with ``notice``).

    Returns
    -------
    folium.Map
        With an :class:`~circle15.outputs.offline.OfflineFigure` root: its page has every
        script and stylesheet inline.
    """
    regions = regions.to_crs(WGS84)
    west, south, east, north = regions.total_bounds
    m = folium.Map(location=[(south + north) / 2, (west + east) / 2], zoom_start=9,
                   tiles=None, control_scale=True)
    m.default_js = [(n, u) for n, u in folium.Map.default_js if n in KEEP_JS]
    m.default_css = [(n, u) for n, u in folium.Map.default_css if n in KEEP_CSS]
    OfflineFigure(title=html.escape(title)).add_child(m)
    banner = ("合成数据 SYNTHETIC DATA" + (f" — {notice}" if notice else "")) if synthetic else None
    m.add_child(_PageFrame(title, banner))
    folium.TileLayer("OpenStreetMap", name="底图 OpenStreetMap basemap", show=False,
                     overlay=True).add_to(m)
    failed = ~regions["status"].isin(["ok", "skipped"]).to_numpy()
    popups = _region_popups(regions)
    region_label = regions["region_name"].astype(str) + " (" + regions["region"].astype(str) + ")"
    whole = districts[districts["district"] == "ALL"] if len(districts) else districts
    local = districts[districts["district"] != "ALL"] if len(districts) else districts
    for i, (key, cat) in enumerate(categories.items()):
        rows = whole[whole["category"] == key] if len(whole) else whole
        m.add_child(_choropleth(regions[["region", "geometry"]], rows, ["region"],
                                region_label, cat, region_layer_name(cat), show=i == 0,
                                failed=failed, popups=popups, overlay=False))
        if zones is not None and len(zones):
            rows = local[local["category"] == key] if len(local) else local
            label = (zones["district"].astype(str) + " " + zones["name_en"].astype(str)
                     + " · " + zones["region_name"].astype(str))
            m.add_child(_choropleth(zones[["region", "district", "geometry"]], rows,
                                    ["region", "district"], label, cat,
                                    district_layer_name(cat), show=False))
    outlines = folium.FeatureGroup(name=REGIONS_LAYER, show=True)
    folium.GeoJson(  # drawn over the choropleths; clicks and hovers pass through to them
        _feature_collection(gpd.GeoDataFrame(geometry=regions.geometry.to_numpy(), crs=WGS84)),
        style_function=lambda f: {"color": "#111", "weight": 2.5, "fill": False},
        interactive=False,
    ).add_to(outlines)
    m.add_child(outlines)
    folium.LayerControl(collapsed=False).add_to(m)
    m.add_child(_Legend(_legend_html()))
    m.fit_bounds([[float(south), float(west)], [float(north), float(east)]])
    return m


def _legend_html() -> str:
    items = [f"<li>{_swatch(c)}{n}</li>"
             for c, n in zip(COVERAGE_COLOURS, coverage_class_names(), strict=True)]
    items.append(f"<li>{_swatch(NO_DATA_COLOUR)}无目标人口 no target population</li>")
    items.append(f"<li>{_swatch(FAILED_COLOUR, extra='border-style:dashed')}"
                 "未完成 region not run (click for the reason)</li>")
    return ("<details open><summary>图例 Legend</summary>"
            "<h4>目标时间内覆盖率 Coverage within the target time</h4>"
            f"<ul>{''.join(items)}</ul>"
            "<p>点击区域查看其地图与报告<br>Click a region for its own map and report.</p>"
            "</details>")


def write_overview_map(path: Path | str, regions: gpd.GeoDataFrame, districts: pd.DataFrame,
                       categories: dict[str, Category], **kwargs: Any) -> Path:
    """Write the overview map (see :func:`build_overview_map`) to ``path`` atomically."""
    page = build_overview_map(regions, districts, categories, **kwargs).get_root().render()
    return write_text(Path(path), page)
