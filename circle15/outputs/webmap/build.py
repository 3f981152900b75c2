"""The interactive coverage map of a result: layers, control, legend, title and banner.

The page is one self-contained HTML file (Leaflet and its plugins inlined from
``circle15/_static`` by :mod:`circle15.outputs.offline`, the runtime from ``static/``), so
it opens on networks without internet access. A tile basemap is optional.

Layers, per category, under one heading of the layer control (its box toggles them all):
the facilities (clustered markers with an SVG icon per category, popups saying who each one
serves), every populated cell coloured by walking time (drawn on a canvas from compact
arrays: a city of 200,000 cells stays a page of a few megabytes), each facility's service
area, the gap areas and a sub-district coverage choropleth. The first category's
facilities, cells and gaps are shown on opening. Plus sub-district and study outlines,
network issues when the result has them, a bilingual legend whose sections follow the
visible layers, a scale bar, the title and, for synthetic inputs, a banner saying so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from markupsafe import escape

from ...analysis.service_areas import facility_reach
from ...schema import ALL
from ...standards import Category
from ..atomic import write_text
from ..offline import OfflineFigure
from .elements import (
    DataLayer,
    FitBounds,
    LayerControl,
    Legend,
    PageFrame,
    Runtime,
    Shared,
    stable_ids,
)
from .encode import DECIMALS, encode_cells, encode_geometry, to_wgs84
from .facilities import facility_layer_data
from .layers import (
    ZONE_SIMPLIFY_M,
    barrier_data,
    cell_values,
    choropleth_data,
    gap_data,
    issue_data,
    nearest_codes,
    outline_data,
    service_area_data,
)
from .legend import coverage_legend
from .style import (
    BARRIERS_SHORT,
    CELL_OPACITY,
    CHOROPLETH_SHORT,
    FACILITIES_SHORT,
    GAPS_SHORT,
    ISSUES_LAYER_NAME,
    NO_BASEMAP_NAME,
    SERVICE_AREAS_SHORT,
    STUDY_LAYER_NAME,
    WALKING_SHORT,
    WGS84,
    ZONES_LAYER_NAME,
    category_colours,
    column,
    full_layer_name,
)

if TYPE_CHECKING:  # result imports this package (CoverageResult.map)
    from ...result import CoverageResult

__all__ = ["build_map", "render_map", "write_map"]

#: Zoom range of the map, whether or not a tile layer is offered.
MIN_ZOOM, MAX_ZOOM = 3, 19
#: Folium's scripts and stylesheets that the map keeps (jQuery, Bootstrap, awesome-markers
#: and Font Awesome are dropped: nothing here uses them).
KEEP_JS = ("leaflet",)
KEEP_CSS = ("leaflet_css",)
SYNTHETIC_BANNER = "合成数据 SYNTHETIC DATA"


def study_crs(result: CoverageResult) -> Any:
    """The CRS of the result's layers (the first one that has one)."""
    for frame in (result.zones, result.cells, result.gaps, result.facilities):
        if frame is not None and frame.crs is not None:
            return frame.crs
    raise ValueError("the coverage result has no CRS on any layer; cannot place it on a map")


def map_bounds(result: CoverageResult, crs: Any) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of the study area (or of the cells and zones)."""
    candidates = [gpd.GeoSeries([result.area], crs=crs)] if result.area is not None else []
    candidates += [f.geometry for f in (result.zones, result.cells) if f is not None and len(f)]
    for geoms in candidates:
        geoms = geoms[geoms.notna() & ~geoms.is_empty]
        if len(geoms) and geoms.crs is not None:
            west, south, east, north = geoms.to_crs(WGS84).total_bounds
            return np.round([[south, west], [north, east]], DECIMALS).tolist()
    return None


def banner_text(synthetic: bool, notice: str) -> str | None:
    """The synthetic-data banner, or None for real data."""
    if not synthetic:
        return None
    return SYNTHETIC_BANNER + (f" — {notice}" if notice else "")


def new_map(
    title: str, banner: str | None, bounds: list[list[float]] | None, *, zoom_start: int = 13
) -> folium.Map:
    """An empty map with only Leaflet's assets, the runtime, title and banner."""
    centre = np.round(np.mean(bounds, axis=0), DECIMALS).tolist() if bounds else [0.0, 0.0]
    m = folium.Map(location=centre, zoom_start=zoom_start, tiles=None, control_scale=True)
    # Without a tile layer Leaflet knows no zoom range, and marker clustering then stops
    # the page's script ("Map has no maxZoom specified"); folium hands min/max zoom to its
    # tile layer only, so set them on the map itself.
    m.options.update(min_zoom=MIN_ZOOM, max_zoom=MAX_ZOOM)
    m.default_js = [(n, u) for n, u in folium.Map.default_js if n in KEEP_JS]
    m.default_css = [(n, u) for n, u in folium.Map.default_css if n in KEEP_CSS]
    OfflineFigure(title=str(escape(title))).add_child(m)
    m.add_child(Runtime())
    m.add_child(PageFrame(title, banner))
    return m


@dataclass
class Overlay:
    """A layer to add to a coverage map, with its entry in the control and the legend."""

    name: str
    layer: folium.map.Layer
    legend: list[dict[str, Any]] = field(default_factory=list)


def compose(
    result: CoverageResult,
    *,
    tiles: str | None = "OpenStreetMap",
    attribution: str | None = None,
    extra: list[Overlay] = (),
    notes: list[Legend] = (),
) -> folium.Map:
    """The coverage map, with ``extra`` overlays (after the outlines) and note boxes."""
    crs = study_crs(result)
    bounds = map_bounds(result, crs)
    m = new_map(result.title, banner_text(result.synthetic, result.notice), bounds)
    if bounds is not None:  # before the layers: each draws once, in the opening view
        m.add_child(FitBounds(bounds))
    base_layers: list[tuple[str, folium.map.Layer]] = []
    if tiles is not None:
        base_name = f"底图 {tiles} basemap"
        base_layers.append(
            (base_name, folium.TileLayer(tiles, attr=attribution, name=base_name).add_to(m))
        )
        base_layers.append(
            (
                NO_BASEMAP_NAME,
                folium.FeatureGroup(name=NO_BASEMAP_NAME, overlay=False, show=False).add_to(m),
            )
        )
    colours = category_colours(list(result.categories))
    names: dict[str, dict[str, folium.map.Layer]] = {key: {} for key in result.categories}
    groups = _category_layers(m, result, colours, names)

    outlines: list[tuple[str, folium.map.Layer]] = []
    outline_names: dict[str, folium.map.Layer] = {}
    zones = _zones_wgs84(result.zones)
    if zones is not None:
        shared = Shared({"geom": encode_geometry(zones.geometry.to_numpy())})
        m.add_child(shared)
        for key, layer in _choropleths(m, result, zones, shared).items():
            groups[key].append((CHOROPLETH_SHORT, layer))
            names[key]["choropleth"] = layer
        layer = DataLayer(
            "vectors",
            outline_data(
                zones.geometry.to_numpy(),
                {"color": "#444", "weight": 1.2, "fill": False},
                labels=zones["label"].tolist(),
            ),
            refs=[shared],
            name=ZONES_LAYER_NAME,
        )
        m.add_child(layer)
        outlines.append((ZONES_LAYER_NAME, layer))
        outline_names["zones"] = layer
    if result.area is not None and not result.area.is_empty:
        area = to_wgs84(gpd.GeoDataFrame(geometry=[result.area], crs=crs), ZONE_SIMPLIFY_M)
        layer = DataLayer(
            "vectors",
            outline_data(
                area.geometry.to_numpy(),
                {"color": "#111", "weight": 2.5, "dashArray": "8 5", "fill": False},
            ),
            name=STUDY_LAYER_NAME,
        )
        m.add_child(layer)
        outlines.append((STUDY_LAYER_NAME, layer))
        outline_names["study"] = layer
    issues = issue_data(getattr(result, "network_issues", None))
    if issues is not None:
        total = issues.pop("total")
        layer = DataLayer("vectors", issues, name=ISSUES_LAYER_NAME)
        m.add_child(layer)
        outlines.append((ISSUES_LAYER_NAME, layer))
        outline_names["issues"] = layer
    for overlay in extra:
        m.add_child(overlay.layer)
        outlines.append((overlay.name, overlay.layer))

    gap_totals = {key: len(rows) for key, rows in _by_category(result.gaps).items()}
    sections = coverage_legend(
        result,
        names,
        colours,
        gap_totals=gap_totals,
        outlines=outline_names,
        issues_total=total if issues is not None else None,
    )
    for overlay in extra:
        sections += overlay.legend
    m.add_child(
        LayerControl(
            base_layers,
            [("", outlines)]
            + [(result.categories[k].label, entries) for k, entries in groups.items()],
        )
    )
    m.add_child(Legend(sections))
    for note in notes:
        m.add_child(note)
    stable_ids(m.get_root())
    return m


def _category_layers(
    m: folium.Map,
    result: CoverageResult,
    colours: dict[str, str],
    names: dict[str, dict[str, folium.map.Layer]],
) -> dict[str, list[tuple[str, folium.map.Layer]]]:
    """Per category its facilities, cells, service areas and gaps, with their short names.

    The first category's facilities, cells and gaps are shown on opening; everything else
    starts hidden. ``names`` receives each layer by kind, for the legend.
    """
    cells = result.cells
    grid = None
    if cells is not None and len(cells):
        grid = Shared(encode_cells(cells), factory="Cells")
        m.add_child(grid)  # before the layers: they refer to it
    facilities = result.facilities if result.facilities is not None else gpd.GeoDataFrame()
    gaps = _by_category(result.gaps)
    barrier_areas = _by_category(getattr(result, "barrier_areas", None))
    barrier_steps = _by_category(getattr(result, "barrier_steps", None))
    out: dict[str, list[tuple[str, folium.map.Layer]]] = {}
    for i, (key, cat) in enumerate(result.categories.items()):
        first = i == 0
        entries: list[tuple[str, folium.map.Layer]] = []

        def add(short: str, kind: str, layer: DataLayer, entries=entries, key=key) -> None:
            m.add_child(layer)
            entries.append((short, layer))
            names[key][kind] = layer

        label = cat.label
        reach = _reach(cells, cat)
        of_cat = (
            facilities[facilities["category"] == key]
            if "category" in facilities
            else facilities.iloc[:0]
        )
        if len(of_cat):
            add(
                FACILITIES_SHORT,
                "facilities",
                DataLayer(
                    "facilities",
                    facility_layer_data(
                        of_cat,
                        cells if cells is not None else pd.DataFrame(),
                        cat,
                        colours[key],
                        reach,
                    ),
                    name=full_layer_name(label, FACILITIES_SHORT),
                    show=first,
                ),
            )
        if grid is not None:
            nearest = nearest_codes(cells, key)
            values = Shared(cell_values(cells, cat, facilities, nearest))
            m.add_child(values)
            add(
                WALKING_SHORT,
                "walking",
                DataLayer(
                    "walking",
                    {"opacity": CELL_OPACITY},
                    refs=[values, grid],
                    name=full_layer_name(label, WALKING_SHORT),
                    show=first,
                ),
            )
            areas = service_area_data(cells, cat, colours[key], values.data, reach, nearest)
            if areas is not None:
                add(
                    SERVICE_AREAS_SHORT,
                    "service_areas",
                    DataLayer(
                        "serviceAreas",
                        areas,
                        refs=[values, grid],
                        name=full_layer_name(label, SERVICE_AREAS_SHORT),
                        show=False,
                    ),
                )
        gap = gap_data(gaps.get(key), cat)
        if gap is not None:
            add(
                GAPS_SHORT,
                "gaps",
                DataLayer("vectors", gap, name=full_layer_name(label, GAPS_SHORT), show=first),
            )
        barrier = barrier_data(barrier_areas.get(key), barrier_steps.get(key), cat)
        if barrier is not None:  # walked step-free: where steps cut residents off
            add(
                BARRIERS_SHORT,
                "barriers",
                DataLayer(
                    "vectors", barrier, name=full_layer_name(label, BARRIERS_SHORT), show=False
                ),
            )
        out[key] = entries
    return out


def _by_category(frame: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """Rows of a table with a ``category`` column, split by category key."""
    if frame is None or "category" not in frame or not len(frame):
        return {}
    return {
        str(k): rows
        for k, rows in frame.groupby(frame["category"].to_numpy(dtype=object), sort=False)
    }


def _reach(cells: pd.DataFrame | None, category: Category) -> pd.DataFrame | None:
    """Who each facility serves (for popups), once per category; None without cell data."""
    needed = {f"t_{category.key}", f"nearest_{category.key}", f"pop_{category.key}"}
    if cells is None or not needed <= set(cells.columns):
        return None
    return facility_reach(cells, category)


def _choropleths(
    m: folium.Map, result: CoverageResult, zones: gpd.GeoDataFrame, shared: Shared
) -> dict[str, DataLayer]:
    """One hidden sub-district coverage layer per category, by category key."""
    districts = result.districts if result.districts is not None else pd.DataFrame()
    if "district" not in zones or not {"district", "category"} <= set(districts.columns):
        return {}
    local = districts[districts["district"] != ALL]
    out = {}
    for key, cat in result.categories.items():
        layer = DataLayer(
            "vectors",
            choropleth_data(zones, local[local["category"] == key], cat),
            refs=[shared],
            name=full_layer_name(cat.label, CHOROPLETH_SHORT),
            show=False,
        )
        m.add_child(layer)
        out[key] = layer
    return out


def _zones_wgs84(zones: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """Sub-districts in WGS84 with a bilingual ``label``, or None when there are none."""
    if zones is None or not len(zones):
        return None
    frame = to_wgs84(zones, ZONE_SIMPLIFY_M)
    if frame.empty:
        return None
    zh = column(frame, "district", "").fillna("").astype(str)
    en = column(frame, "name_en", "").fillna("").astype(str)
    frame["label"] = (zh + " " + en).str.strip()
    return frame


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------
def build_map(
    result: CoverageResult, *, tiles: str | None = "OpenStreetMap", attribution: str | None = None
) -> folium.Map:
    """Build the interactive coverage map of a result.

    Parameters
    ----------
    result : CoverageResult
        The coverage run to show.
    tiles : str or None, default "OpenStreetMap"
        Basemap offered as a base layer beside "no basemap": a folium tile name or a URL
        template (then ``attribution`` is required). ``None`` gives no basemap at all; the
        vector layers never depend on it.
    attribution : str, optional
        Attribution for a custom ``tiles`` URL.

    Returns
    -------
    folium.Map
        A map whose root figure is an :class:`~circle15.outputs.offline.OfflineFigure`, so
        ``save``, ``get_root().render()`` and notebook display give a self-contained page.
    """
    return compose(result, tiles=tiles, attribution=attribution)


def render_map(result: CoverageResult, **kwargs: Any) -> str:
    """Return the map of ``result`` as one self-contained HTML page.

    Parameters
    ----------
    result : CoverageResult
        The coverage run to show.
    **kwargs
        Passed to :func:`build_map` (``tiles``, ``attribution``).

    Returns
    -------
    str
        The page, with every script inline and no script or stylesheet loaded from a URL.
    """
    return build_map(result, **kwargs).get_root().render()


def write_map(result: CoverageResult, path: Path | str, **kwargs: Any) -> Path:
    """Write the map of ``result`` to ``path`` atomically.

    The page is written to a temporary file in the same folder and renamed over ``path``,
    so readers never see a half-written map.

    Parameters
    ----------
    result : CoverageResult
        The coverage run to show.
    path : Path or str
        Where to write the HTML file; its folder is created if needed.
    **kwargs
        Passed to :func:`build_map` (``tiles``, ``attribution``).

    Returns
    -------
    Path
        ``path``.
    """
    return write_text(Path(path), render_map(result, **kwargs))
