"""Site-selection outputs: ``sites.csv``, ``sites.gpkg`` and the before/after ``sites_map.html``."""

from __future__ import annotations

import html
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element

from .atomic import atomic_path, write_text
from .coordinates import OutputCRS, output_crs
from .reproducible import fixed_gdal_date
from .spreadsheet import write_csv

if TYPE_CHECKING:
    from ..planning.sites import SiteSelection
    from ..result import CoverageResult

WGS84 = "EPSG:4326"
NEW_SITE_COLOUR = "#7b3294"
GAP_BEFORE_COLOUR = "#ff7f00"
#: Columns of ``sites.csv``, in order; ``lon, lat`` are written in the study's
#: ``[outputs] crs`` under its own names (``lon_wgs84, lat_wgs84`` by default, see
#: :mod:`circle15.outputs.coordinates`).
SITES_COLUMNS = ["rank", "site_id", "name", "district", "lon", "lat", "capacity",
                 "marginal_gain", "cumulative_gain", "coverage_after", "served", "category",
                 "target_min"]


def _focused(result: CoverageResult, category: str) -> CoverageResult:
    """The result narrowed to one category, so that its map opens on that category."""
    def rows(frame):
        if frame is None or "category" not in frame:
            return frame
        return frame[frame["category"] == category]

    return replace(result, categories={category: result.categories[category]},
                   districts=rows(result.districts), gaps=rows(result.gaps),
                   facilities=rows(result.facilities))


def sites_map(selection: SiteSelection, *, tiles: str | None = "OpenStreetMap",
              attribution: str | None = None) -> folium.Map:
    """The after-coverage map of the category, with the gaps before and the new sites.

    Parameters
    ----------
    selection : SiteSelection
        The chosen sites.
    tiles, attribution
        As for :func:`circle15.outputs.map.build_map`.

    Returns
    -------
    folium.Map
        Self-contained (offline) like every circle15 map.
    """
    from .map import build_map

    key = selection.category
    cat = selection.before.categories[key]
    m = build_map(_focused(selection.after, key), tiles=tiles, attribution=attribution)
    before = selection.before.gaps
    before = before[before["category"] == key] if len(before) else before
    if len(before):
        frame = before[["rank", "population", "area_km2", "geometry"]].copy()
        frame["label"] = [f"改前缺口 gap before #{r}: {p:,.0f} {cat.cohort_label}, {a:.2f} km²"
                          for r, p, a in zip(frame["rank"], frame["population"],
                                             frame["area_km2"], strict=True)]
        folium.GeoJson(
            frame[["label", "geometry"]].to_crs(WGS84).__geo_interface__,
            name="改前缺口 Gaps before",
            style_function=lambda _: {"color": GAP_BEFORE_COLOUR, "weight": 2.5,
                                      "dashArray": "6 4", "fill": False},
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(m)
    sites = selection.sites
    # A pane of its own, above the cells and the clustered facility markers.
    folium.map.CustomPane("new_sites", z_index=660).add_to(m)
    group = folium.FeatureGroup(name="新址 New sites").add_to(m)
    for _, s in sites.iterrows():
        tip = (f"#{s['rank']} {s['name']} ({s['district']}): +{s['marginal_gain']:,.0f} "
               f"{cat.cohort_label} within {cat.target_min:g} min → "
               f"{s['coverage_after']:.1%}")
        badge = (f'<div style="width:22px;height:22px;border-radius:50%;'
                 f'background:{NEW_SITE_COLOUR};border:2px solid #fff;color:#fff;'
                 f'font:bold 12px/22px sans-serif;text-align:center;'
                 f'box-shadow:0 0 3px #000">{int(s["rank"])}</div>')
        folium.Marker([s["lat"], s["lon"]], pane="new_sites", tooltip=html.escape(tip),
                      icon=folium.DivIcon(html=badge, icon_size=(26, 26),
                                          icon_anchor=(13, 13), class_name="circle15-new-site"),
                      ).add_to(group)
    delta = selection.delta()
    whole = delta[delta["district"] == "ALL"].iloc[0]
    note = (f"<b>{html.escape(cat.label)}: {len(sites)} new site(s)</b><br>"
            f"covered within {cat.target_min:g} min: {whole['coverage_before']:.1%} → "
            f"{whole['coverage_after']:.1%} (+{whole['gained']:,.0f} {cat.cohort_label})<br>"
            f"<span style='color:{NEW_SITE_COLOUR}'>●</span> 新址 New sites (rank) &nbsp; "
            f"<span style='color:{GAP_BEFORE_COLOUR}'>- - -</span> 改前缺口 gaps before<br>"
            "cells and gaps shown are after the new sites")
    m.get_root().html.add_child(Element(
        '<div style="position:fixed;bottom:28px;right:10px;z-index:1000;background:#fff;'
        'padding:6px 9px;border:1px solid #888;border-radius:4px;font:12px sans-serif;'
        f'max-width:320px">{note}</div>'))
    return m


def sites_table(selection: SiteSelection, coordinates: OutputCRS | None = None
                ) -> pd.DataFrame:
    """The ranked sites as written to ``sites.csv`` (rounded), positions in
    ``coordinates`` (default: the study's ``[outputs] crs``, else WGS84)."""
    out = coordinates or output_crs(selection.before)
    table = pd.DataFrame(selection.sites.drop(columns="geometry"))[SITES_COLUMNS].copy()
    for col in ("marginal_gain", "cumulative_gain", "served", "capacity"):
        table[col] = table[col].round(2)
    table["coverage_after"] = table["coverage_after"].round(4)
    x, y = out.from_lonlat(table["lon"].to_numpy(float), table["lat"].to_numpy(float))
    table["lon"], table["lat"] = x, y
    return table.rename(columns={"lon": out.columns[0], "lat": out.columns[1]})


def write_sites(selection: SiteSelection, out_dir: Path | str, **map_kwargs: Any
                ) -> dict[str, Path]:
    """Write ``sites.csv``, ``sites.gpkg`` and ``sites_map.html`` into ``out_dir``.

    ``sites.gpkg`` has layers ``sites`` (the chosen sites), ``candidates`` (every
    candidate with its solo gain), ``gaps_before`` and ``gaps_after`` (the category's gaps),
    and ``districts`` (the per-district change, without geometry).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["sites.csv"] = write_csv(sites_table(selection), out_dir / "sites.csv")

    key = selection.category

    def gaps(result: CoverageResult) -> gpd.GeoDataFrame:
        return result.gaps[result.gaps["category"] == key] if len(result.gaps) else result.gaps

    layers: dict[str, gpd.GeoDataFrame | pd.DataFrame] = {
        "sites": selection.sites,
        "candidates": selection.candidates,
        "gaps_before": gaps(selection.before),
        "gaps_after": gaps(selection.after),
        "districts": selection.delta(),
    }
    gpkg = out_dir / "sites.gpkg"
    with atomic_path(gpkg) as tmp, fixed_gdal_date():
        for name, frame in layers.items():
            frame = frame.copy()
            for col in frame.columns:
                if frame[col].dtype == bool:
                    frame[col] = frame[col].astype(np.int8)
            if isinstance(frame, gpd.GeoDataFrame):
                if len(frame):
                    frame.to_file(tmp, layer=name, driver="GPKG")
            else:
                gpd.GeoDataFrame(frame).to_file(tmp, layer=name, driver="GPKG")
    paths["sites.gpkg"] = gpkg
    page = sites_map(selection, **map_kwargs).get_root().render()
    paths["sites_map.html"] = write_text(out_dir / "sites_map.html", page)
    return paths
