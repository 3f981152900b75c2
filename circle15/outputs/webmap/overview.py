"""Overview map of a batch: every region coloured by its coverage, one layer per category.

One self-contained page for the reviewers who compare a city's districts or a province's
counties at once: per category a choropleth of each region's coverage within the target
time (one category at a time, the first on opening) and one of every sub-district of every
region (hidden until chosen), region outlines, links to each region's own map and report,
the regions that failed in grey with their reason, a legend, and the synthetic-data banner
when the inputs are synthetic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from ...schema import ALL
from ...standards import Category
from ..atomic import write_text
from .build import banner_text, new_map
from .elements import DataLayer, FitBounds, LayerControl, Legend, Shared, stable_ids
from .encode import encode_geometry
from .layers import fmt, texts, vector_data
from .legend import swatch
from .style import (
    COVERAGE_COLOURS,
    NO_DATA_COLOUR,
    WGS84,
    coverage_class,
    coverage_class_names,
    full_layer_name,
    minutes_text,
)

__all__ = ["build_overview_map", "district_layer_name", "region_layer_name", "write_overview_map"]

FAILED_COLOUR = "#9e9e9e"
REGIONS_LAYER = "区域边界 region outlines"
OSM_LAYER = "底图 OpenStreetMap basemap"
#: A failed region's reason is cut to this many characters in its popup.
MAX_REASON_CHARS = 400


def region_layer_name(category: Category) -> str:
    """Name of a category's region choropleth in the layer control."""
    return full_layer_name(category.label, "区域覆盖率 coverage by region")


def district_layer_name(category: Category) -> str:
    """Name of a category's sub-district choropleth in the layer control."""
    return full_layer_name(category.label, "街道覆盖率 coverage by sub-district")


def _choropleth(
    frame: gpd.GeoDataFrame,
    rows: pd.DataFrame,
    on: list[str],
    label: list[str],
    category: Category,
    failed: np.ndarray | None = None,
    popup: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Coverage classes of ``frame`` joined to the category's ``rows`` on ``on``.

    ``failed`` marks features drawn grey and dashed; ``popup`` opens on a click.
    """
    columns = ["population", "coverage", "mean_min", "unreachable_population"]
    stats = (
        rows.drop_duplicates(on).set_index(on).reindex(columns=columns)
        if len(rows)
        else pd.DataFrame(columns=[*on, *columns]).set_index(on)
    )
    joined = frame[on].join(stats, on=on)
    palette = [*COVERAGE_COLOURS, NO_DATA_COLOUR, FAILED_COLOUR]
    cls = coverage_class(pd.to_numeric(joined["coverage"], errors="coerce"))
    cls = np.where(cls < 0, len(COVERAGE_COLOURS), cls)
    if failed is not None:
        cls = np.where(failed, len(palette) - 1, cls)
    styles = [
        {"color": "#333", "weight": 1, "fill": True, "fillColor": c, "fillOpacity": 0.75}
        for c in palette
    ]
    styles[-1]["dashArray"] = "4 3"
    target = minutes_text(category.target_min)
    tooltip = {
        "labels": [
            "",
            f"目标人口 Target population ({category.cohort_label})",
            f"{target}分钟内覆盖率 Coverage within {target} min",
            "平均步行时间 Mean walking time (min)",
            "不可达人口 Unreachable population",
        ],
        "values": [
            list(v)
            for v in zip(
                label,
                fmt(joined["population"], ",.0f"),
                fmt(joined["coverage"], ".1%"),
                fmt(joined["mean_min"], ".1f"),
                fmt(joined["unreachable_population"], ",.0f"),
                strict=True,
            )
        ],
    }
    return vector_data(
        frame.geometry.to_numpy(),
        styles,
        cls=cls,
        tooltip=tooltip,
        popup=popup,
        highlight={"weight": 3, "fillOpacity": 0.9},
        shared=True,
    )


def _region_popup(regions: pd.DataFrame) -> dict[str, Any]:
    """Each region's name, and links to its own map and report, or why it did not run.

    The links are relative paths built from the region key (percent-encoded), so a key can
    never become a ``javascript:`` or other URL.
    """
    values = []
    for key, status, reason in zip(
        regions["region"].astype(str), regions["status"], regions["reason"], strict=True
    ):
        if status in ("ok", "skipped"):
            folder = quote(key, safe="")
            values.append(
                [
                    "",
                    {
                        "links": [
                            ["地图 map", f"./{folder}/map.html"],
                            ["报告 report", f"./{folder}/report.html"],
                        ]
                    },
                ]
            )
        else:
            why = texts([reason])[0]
            values.append(
                [
                    "未完成 not run",
                    why if len(why) <= MAX_REASON_CHARS else why[:MAX_REASON_CHARS] + "…",
                ]
            )
    titles = [
        f"{n} ({k})"
        for n, k in zip(texts(regions["region_name"]), texts(regions["region"]), strict=True)
    ]
    return {"titles": titles, "labels": ["", ""], "values": values}


def build_overview_map(
    regions: gpd.GeoDataFrame,
    districts: pd.DataFrame,
    categories: dict[str, Category],
    *,
    title: str,
    zones: gpd.GeoDataFrame | None = None,
    synthetic: bool = False,
    notice: str = "",
) -> folium.Map:
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
        Every region's sub-districts: ``region``, ``region_name``, ``district``, ``name_en``.
    synthetic : bool
        Show the synthetic-data banner (with ``notice``).

    Returns
    -------
    folium.Map
        With an :class:`~circle15.outputs.offline.OfflineFigure` root: its page has every
        script and stylesheet inline.
    """
    regions = regions.to_crs(WGS84).reset_index(drop=True)
    west, south, east, north = regions.total_bounds
    bounds = [[float(south), float(west)], [float(north), float(east)]]
    m = new_map(title, banner_text(synthetic, notice), bounds, zoom_start=9)
    m.add_child(FitBounds(bounds))
    tiles = folium.TileLayer("OpenStreetMap", name=OSM_LAYER, show=False, overlay=True)
    m.add_child(tiles)
    region_geom = Shared({"geom": encode_geometry(regions.geometry.to_numpy())})
    m.add_child(region_geom)
    zone_geom = None
    if zones is not None and len(zones):
        zones = zones.to_crs(WGS84).reset_index(drop=True)
        zone_geom = Shared({"geom": encode_geometry(zones.geometry.to_numpy())})
        m.add_child(zone_geom)
    failed = ~regions["status"].isin(["ok", "skipped"]).to_numpy()
    popup = _region_popup(regions)
    region_label = [
        f"{n} ({k})"
        for n, k in zip(texts(regions["region_name"]), texts(regions["region"]), strict=True)
    ]
    whole = districts[districts["district"] == ALL] if len(districts) else districts
    local = districts[districts["district"] != ALL] if len(districts) else districts
    bases: list[tuple[str, folium.map.Layer]] = []
    overlays: list[tuple[str, folium.map.Layer]] = []
    for i, (key, cat) in enumerate(categories.items()):
        rows = whole[whole["category"] == key] if len(whole) else whole
        layer = DataLayer(
            "vectors",
            _choropleth(regions, rows, ["region"], region_label, cat, failed, popup),
            refs=[region_geom],
            name=region_layer_name(cat),
            show=i == 0,
            overlay=False,
        )
        m.add_child(layer)
        bases.append((region_layer_name(cat), layer))
        if zone_geom is not None:
            rows = local[local["category"] == key] if len(local) else local
            label = [
                f"{d} {e} · {r}"
                for d, e, r in zip(
                    texts(zones["district"]),
                    texts(zones["name_en"], ""),
                    texts(zones["region_name"]),
                    strict=True,
                )
            ]
            layer = DataLayer(
                "vectors",
                _choropleth(zones, rows, ["region", "district"], label, cat),
                refs=[zone_geom],
                name=district_layer_name(cat),
                show=False,
            )
            m.add_child(layer)
            overlays.append((district_layer_name(cat), layer))
    outline = DataLayer(
        "vectors",
        vector_data(regions.geometry.to_numpy(), [{"color": "#111", "weight": 2.5, "fill": False}]),
        name=REGIONS_LAYER,
    )  # drawn over the choropleths; clicks and hovers pass through
    m.add_child(outline)
    overlays += [(REGIONS_LAYER, outline), (OSM_LAYER, tiles)]
    m.add_child(LayerControl(bases, [("", overlays)]))
    m.add_child(
        Legend(
            _legend_sections(),
            paragraphs=["点击区域查看其地图与报告 Click a region for its own map and report."],
        )
    )
    stable_ids(m.get_root())
    return m


def _legend_sections() -> list[dict[str, Any]]:
    items = [
        {"text": n, "swatch": swatch(c), "layers": None}
        for c, n in zip(COVERAGE_COLOURS, coverage_class_names(), strict=True)
    ]
    items.append(
        {
            "text": "无目标人口 no target population",
            "swatch": swatch(NO_DATA_COLOUR),
            "layers": None,
        }
    )
    items.append(
        {
            "text": "未完成 region not run (click for the reason)",
            "swatch": swatch(FAILED_COLOUR, "#888", "c15-dashed"),
            "layers": None,
        }
    )
    return [
        {
            "heading": "目标时间内覆盖率 Coverage within the target time",
            "entries": items,
            "layers": None,
        }
    ]


def write_overview_map(
    path: Path | str,
    regions: gpd.GeoDataFrame,
    districts: pd.DataFrame,
    categories: dict[str, Category],
    **kwargs: Any,
) -> Path:
    """Write the overview map (see :func:`build_overview_map`) to ``path`` atomically."""
    page = build_overview_map(regions, districts, categories, **kwargs).get_root().render()
    return write_text(Path(path), page)
