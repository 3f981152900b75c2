"""Interactive coverage map: walking-time tiers, gaps, facilities and sub-district coverage.

The page is one self-contained HTML file (Leaflet is inlined from ``circle15/_static`` by
:mod:`circle15.outputs.offline`), so it opens on networks without internet access. A tile
basemap is optional; every vector layer renders without a tile server.

Layers, per category, under one heading of the layer control (its box toggles them all):
the facilities (clustered markers with an SVG icon per category, popups saying who each one
serves), the population cells coloured by walking-time tier, each facility's service area,
the gap areas, and a sub-district coverage choropleth. The first category's facilities,
cells and gaps are shown on opening, so the map is readable. Plus sub-district outlines, the
study outline, a bilingual legend whose sections follow the visible layers, a scale bar,
the title and, for synthetic inputs, a banner saying so.

Cells are drawn by a small custom layer: their geometry is embedded once and shared by every
category, which keeps the page a fraction of the size of one GeoJSON layer per category.
Above :data:`MAX_MAP_CELLS` cells (a city-sized grid) each category's cells are instead
merged into one polygon per walking-time tier (:mod:`circle15.outputs.map_tiers`), and at
most :data:`MAX_MAP_GAPS` gaps per category are outlined, the most populous first.
"""

from __future__ import annotations

import html
import itertools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from ..analysis.gaps import cells_form_coverage
from ..analysis.service_areas import service_areas
from ..schema import UNREACHABLE
from ..standards import Category
from ._html import script_json

if TYPE_CHECKING:
    from ..result import CoverageResult
from .atomic import write_text
from .layer_control import CategoryLayerControl, full_layer_name
from .map_tiers import tier_polygons
from .markers import FacilityClusterLayer, marker_html
from .offline import OfflineFigure
from .reproducible import stable_element_ids

__all__ = [
    "MAX_MAP_CELLS",
    "MAX_MAP_GAPS",
    "build_map",
    "choropleth_layer_name",
    "coverage_class",
    "coverage_class_names",
    "facility_layer_name",
    "gap_layer_name",
    "layer_names",
    "render_map",
    "service_area_layer_name",
    "tier_colours",
    "tier_index",
    "tier_labels",
    "tier_names",
    "walking_layer_name",
    "write_map",
]

WGS84 = "EPSG:4326"
#: ``district`` value of the study-wide rows of ``CoverageResult.districts``.
ALL_DISTRICTS = "ALL"
#: Decimal places kept in longitude/latitude (1e-6 degree is about 0.1 m).
DECIMALS = 6
#: Simplification tolerance, metres, applied in the projected CRS before reprojection.
GAP_SIMPLIFY_M = 5.0
#: Above this many populated cells the walking-time layers draw each tier as one merged
#: polygon (with its area and population) instead of every cell: 200,000 cells drawn one by
#: one make a page of about 200 MB that browsers can hardly open. The demo has 5,377.
MAX_MAP_CELLS = 30_000
#: Decimal places of the merged tier polygons (1e-5 degree is about 1 m; cells are 100 m+).
TIER_DECIMALS = 5
#: At most this many gaps are outlined per category, the most populous first (the ranks
#: 1, 2, …): a city-sized run has tens of thousands per category, mostly single cells of
#: a few residents, which the walking-time layer shows anyway. All are in ``results.gpkg``.
MAX_MAP_GAPS = 2_000
ZONE_SIMPLIFY_M = 10.0
#: Zoom range of the map, whether or not a tile layer is offered.
MIN_ZOOM, MAX_ZOOM = 3, 19
_METRES_PER_DEGREE = 111_320.0

#: Folium's scripts and stylesheets that the map keeps (jQuery, Bootstrap, awesome-markers
#: and Font Awesome are dropped: nothing here uses them).
KEEP_JS = ("leaflet",)
KEEP_CSS = ("leaflet_css",)

# ColorBrewer YlGnBu (9 classes): near = light, far = dark; tiers sample it evenly.
_YLGNBU = (
    "#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4",
    "#1d91c0", "#225ea8", "#253494", "#081d58",
)
UNREACHABLE_COLOUR = "#525252"
CELL_OPACITY = 0.7
GAP_COLOUR = "#e31a1c"
# ColorBrewer YlGn (5 classes) for coverage shares, low = light.
COVERAGE_BREAKS = (0.2, 0.4, 0.6, 0.8)
COVERAGE_COLOURS = ("#ffffcc", "#c2e699", "#78c679", "#31a354", "#006837")
NO_DATA_COLOUR = "#d9d9d9"
# ColorBrewer Dark2, one colour per category for facility markers.
FACILITY_COLOURS = (
    "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1b9e77", "#666666",
)
_MISSING = "—"


# --------------------------------------------------------------------------------------
# Tiers, classes and names
# --------------------------------------------------------------------------------------
def _m(x: float) -> str:
    return f"{x:g}"


def tier_labels(category: Category) -> list[str]:
    """Tier labels as written in ``tier_<key>``: ``["0-5", "5-10", "10-15", ">15"]``.

    ``"unreachable"`` is not included; it is the class after the last label.
    """
    edges = [0.0, *category.tiers_min]
    return [f"{_m(a)}-{_m(b)}" for a, b in itertools.pairwise(edges)] + [
        f">{_m(category.tiers_min[-1])}"
    ]


def tier_names(category: Category) -> list[str]:
    """Bilingual legend names of the tiers, then of the unreachable class.

    E.g. ``["5分钟内 within 5 min", "5–10分钟 5–10 min", "10–15分钟 10–15 min",
    "超过15分钟 over 15 min", "不可达 unreachable"]``.
    """
    t = [_m(x) for x in category.tiers_min]
    names = [f"{t[0]}分钟内 within {t[0]} min"]
    names += [f"{a}–{b}分钟 {a}–{b} min" for a, b in itertools.pairwise(t)]
    names += [f"超过{t[-1]}分钟 over {t[-1]} min", "不可达 unreachable"]
    return names


def tier_colours(n_tiers: int) -> list[str]:
    """Colours for ``n_tiers + 1`` time classes (light = near), then the unreachable colour."""
    lightest = 2 if n_tiers + 1 <= len(_YLGNBU) - 2 else 0  # skip the palest when possible
    idx = np.rint(np.linspace(lightest, len(_YLGNBU) - 1, n_tiers + 1)).astype(int)
    return [_YLGNBU[i] for i in idx] + [UNREACHABLE_COLOUR]


def tier_index(cells: pd.DataFrame, category: Category) -> np.ndarray:
    """Index of each cell's tier in :func:`tier_names` (the last index is unreachable).

    Uses ``tier_<key>`` where it holds a known label and falls back to ``t_<key>``
    (minutes, NaN when unreachable; a time equal to a tier's upper bound is in that tier).
    """
    n = len(category.tiers_min) + 1
    minutes = pd.to_numeric(_column(cells, f"t_{category.key}"), errors="coerce").to_numpy()
    from_minutes = np.where(
        np.isnan(minutes), n, np.searchsorted(category.tiers_min, minutes, side="left")
    )
    labels = [*tier_labels(category), UNREACHABLE]
    codes = pd.Categorical(_column(cells, f"tier_{category.key}"), categories=labels).codes
    return np.where(codes >= 0, codes, from_minutes).astype(int)


def coverage_class(coverage: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    """Choropleth class of coverage shares (0-1): 0..4 for 0-20 % … 80-100 %, -1 for NaN."""
    share = np.asarray(coverage, dtype=float)
    return np.where(np.isnan(share), -1, np.digitize(share, COVERAGE_BREAKS))


def coverage_class_names() -> list[str]:
    """Legend names of the coverage classes, e.g. ``"0–20%"``."""
    edges = [0, *(round(b * 100) for b in COVERAGE_BREAKS), 100]
    return [f"{a}–{b}%" for a, b in itertools.pairwise(edges)]


#: Short names of a category's layers under its heading in the layer control.
FACILITIES_SHORT = "设施 facilities"
WALKING_SHORT = "步行可达 walking access"
SERVICE_AREAS_SHORT = "服务范围 service areas"
GAPS_SHORT = "服务缺口 gaps"
CHOROPLETH_SHORT = "街道覆盖率 coverage by sub-district"


def facility_layer_name(category: Category) -> str:
    """Full name of a category's facility markers."""
    return full_layer_name(category.label, FACILITIES_SHORT)


def walking_layer_name(category: Category) -> str:
    """Full name of a category's cells coloured by walking time."""
    return full_layer_name(category.label, WALKING_SHORT)


def service_area_layer_name(category: Category) -> str:
    """Full name of a category's facility service areas."""
    return full_layer_name(category.label, SERVICE_AREAS_SHORT)


def gap_layer_name(category: Category) -> str:
    """Full name of a category's gap areas."""
    return full_layer_name(category.label, GAPS_SHORT)


def choropleth_layer_name(category: Category) -> str:
    """Full name of a category's sub-district coverage choropleth."""
    return full_layer_name(category.label, CHOROPLETH_SHORT)


def layer_names(category: Category) -> list[str]:
    """Full names of a category's layers, in layer-control order."""
    return [facility_layer_name(category), walking_layer_name(category),
            service_area_layer_name(category), gap_layer_name(category),
            choropleth_layer_name(category)]


STUDY_LAYER_NAME = "研究范围 Study area"
ZONES_LAYER_NAME = "街道边界 Sub-districts"
NO_BASEMAP_NAME = "无底图 No basemap"


# --------------------------------------------------------------------------------------
# Frames and geometry
# --------------------------------------------------------------------------------------
def _column(frame: pd.DataFrame, name: str, default: Any = np.nan) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series(default, index=frame.index, dtype=object if default is None else None)


def _fmt(values: pd.Series, spec: str, missing: str = _MISSING) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers.map(lambda x: missing if pd.isna(x) else format(x, spec))


def _text(values: pd.Series, missing: str = _MISSING) -> pd.Series:
    """HTML-escaped strings (folium popups insert property values as HTML)."""
    return values.map(lambda x: missing if x is None or pd.isna(x) else html.escape(str(x)))


def _wgs84(frame: gpd.GeoDataFrame, simplify_m: float = 0.0, decimals: int = DECIMALS
           ) -> gpd.GeoDataFrame:
    """Simplify (metres, in the frame's CRS), convert to WGS84 and round to ``decimals``."""
    if frame.crs is None:
        raise ValueError("a layer of the coverage result has no CRS; cannot place it on a map")
    geoms = frame.geometry
    if simplify_m > 0:
        tolerance = simplify_m / _METRES_PER_DEGREE if frame.crs.is_geographic else simplify_m
        geoms = geoms.simplify(tolerance, preserve_topology=True)
    geoms = geoms.to_crs(WGS84)
    rounded = shapely.transform(geoms.values, lambda xy: np.round(xy, decimals))
    out = gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name), geometry=rounded, crs=WGS84)
    return out[~out.geometry.is_empty & out.geometry.notna()]


def _feature_collection(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    return json.loads(frame.to_json(drop_id=True))


def _study_crs(result: CoverageResult) -> Any:
    for frame in (result.zones, result.cells, result.gaps, result.facilities):
        if frame is not None and frame.crs is not None:
            return frame.crs
    raise ValueError("the coverage result has no CRS on any layer; cannot place it on a map")


def _js(value: Any) -> str:
    """JSON for embedding in a ``<script>`` (see :func:`circle15.outputs._html.script_json`)."""
    return script_json(value)


def _nullable(values: np.ndarray, decimals: int) -> list[float | None]:
    rounded = np.round(values.astype(float), decimals)
    return [None if np.isnan(v) else v for v in rounded.tolist()]


# --------------------------------------------------------------------------------------
# Cells: geometry shared by all categories, values per category
# --------------------------------------------------------------------------------------
def _cell_grid(cells: gpd.GeoDataFrame) -> dict[str, Any]:
    """Cell ids, sub-districts and exterior rings as flat ``[lat, lon, lat, lon, …]`` lists.

    Each cell is a list of parts (one per polygon of a MultiPolygon); the closing vertex of
    each ring is dropped (Leaflet closes polygons itself).
    """
    geoms = cells.geometry.values
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if not np.isin(shapely.get_type_id(present), (3, 6)).all():  # Polygon, MultiPolygon
        raise ValueError("cells must be Polygon or MultiPolygon geometries to be mapped")
    parts, part_cell = shapely.get_parts(geoms, return_index=True)
    coords, coord_part = shapely.get_coordinates(
        shapely.get_exterior_ring(parts), return_index=True
    )
    latlon = np.round(coords[:, ::-1], DECIMALS)
    starts = np.searchsorted(coord_part, np.arange(len(parts)))
    ends = np.append(starts[1:], len(coord_part)) - 1  # drop each ring's closing vertex
    rings = [latlon[s:e].ravel().tolist() for s, e in zip(starts, ends, strict=True)]
    by_cell: list[list[list[float]]] = [[] for _ in range(len(cells))]
    for ring, cell in zip(rings, part_cell.tolist(), strict=True):
        by_cell[cell].append(ring)
    district_code, district_names = pd.factorize(_column(cells, "district", None))
    return {
        "id": [str(c) for c in _column(cells, "cell_id", None).tolist()],
        "d": district_code.tolist(),
        "dn": [str(d) for d in district_names],
        "g": by_cell,
    }


def _cell_values(
    cells: pd.DataFrame, category: Category, facilities: pd.DataFrame
) -> dict[str, Any]:
    """Per-cell tier, minutes, cohort population and nearest facility for one category."""
    key = category.key
    nearest = _column(cells, f"nearest_{key}", None)
    nearest = nearest.map(lambda v: None if pd.isna(v) else str(v))
    near_code, near_ids = pd.factorize(nearest)
    names: dict[str, Any] = {}
    if {"category", "facility_id", "name"} <= set(facilities.columns):
        of_cat = facilities[facilities["category"] == key]
        names = dict(zip(of_cat["facility_id"].astype(str), of_cat["name"], strict=True))
    colours = tier_colours(len(category.tiers_min))
    # Opaque cells with a hairline of their own colour leave no seams between neighbours;
    # the cells' pane is made translucent as a whole (CELL_OPACITY).
    styles = [
        {"color": c, "weight": 0.5, "opacity": 1, "fillColor": c, "fillOpacity": 1}
        for c in colours
    ]
    minutes = pd.to_numeric(_column(cells, f"t_{key}"), errors="coerce").to_numpy()
    population = pd.to_numeric(_column(cells, f"pop_{key}"), errors="coerce").to_numpy()
    return {
        "title": category.label,
        "cohort": f"目标人口 Target population ({category.cohort_label})",
        "tiers": tier_names(category),
        "styles": styles,
        "tier": tier_index(cells, category).tolist(),
        "t": _nullable(minutes, 1),
        "pop": _nullable(population, 1),
        "near": near_code.tolist(),
        "fac": [[fid, "" if pd.isna(names.get(fid)) else str(names[fid])] for fid in near_ids],
    }


_CELL_GRID_JS = """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = {{ this.data }};
(function (grid, map) {
    // Cells sit in their own pane under the overlay pane, so gaps, facilities and outlines
    // stay on top; the overlay pane lets clicks through to the cells except on its shapes.
    var pane = map.createPane("circle15Cells");
    pane.style.zIndex = 350;
    pane.style.opacity = {{ this.opacity }};
    map.getPane("overlayPane").style.pointerEvents = "none";
    grid.renderer = L.canvas({pane: "circle15Cells", padding: 0.5});
    grid.latlngs = function (i) {
        var parts = grid.g[i].map(function (flat) {
            var ring = [];
            for (var k = 0; k < flat.length; k += 2) { ring.push([flat[k], flat[k + 1]]); }
            return ring;
        });
        return parts.length === 1 ? parts[0] : parts.map(function (r) { return [r]; });
    };
    grid.esc = function (s) {
        return String(s).replace(/[&<>"']/g, function (c) {
            return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
        });
    };
    grid.table = function (title, rows) {
        var body = rows.map(function (r) {
            return "<tr><th>" + grid.esc(r[0]) + "</th><td>" + grid.esc(r[1]) + "</td></tr>";
        }).join("");
        return "<div class=\\"c15-popup\\"><b>" + grid.esc(title) + "</b><table>" + body
            + "</table></div>";
    };
})({{ this.get_name() }}, {{ this._parent.get_name() }});
{% endmacro %}
"""

_CELL_LAYER_JS = """
{% macro script(this, kwargs) %}
(function (grid, group) {
    var d = {{ this.data }};
    function people(p) {
        if (p === null) { return "—"; }
        return p < 10 ? p.toFixed(1) : Math.round(p).toLocaleString();
    }
    function popup(layer) {
        var i = layer.circle15Cell, t = d.t[i], f = d.near[i] < 0 ? null : d.fac[d.near[i]];
        return grid.table(d.title, [
            ["网格 Cell", grid.id[i]],
            ["街道 Sub-district", grid.d[i] < 0 ? "—" : grid.dn[grid.d[i]]],
            [d.cohort, people(d.pop[i])],
            ["步行时间 Walking time",
             t === null ? "不可达 unreachable" : t.toFixed(1) + " 分钟 min"],
            ["分级 Tier", d.tiers[d.tier[i]]],
            ["最近设施 Nearest facility",
             f === null ? "—" : (f[1] ? f[1] + " (" + f[0] + ")" : f[0])]
        ]);
    }
    for (var i = 0; i < grid.id.length; i++) {
        if (grid.g[i].length === 0) { continue; }  // a cell without geometry
        var style = L.extend({renderer: grid.renderer}, d.styles[d.tier[i]]);
        var layer = L.polygon(grid.latlngs(i), style);
        layer.circle15Cell = i;
        layer.bindPopup(popup);
        group.addLayer(layer);
    }
})({{ this.grid.get_name() }}, {{ this._parent.get_name() }});
{% endmacro %}
"""


class _CellGrid(MacroElement):
    """Cell geometry, ids and sub-districts, embedded once; add it to the map."""

    _template = Template(_CELL_GRID_JS)

    def __init__(self, grid: dict[str, Any]) -> None:
        super().__init__()
        self._name = "Circle15CellGrid"
        self.data = _js(grid)
        self.opacity = CELL_OPACITY


class _CellLayer(MacroElement):
    """One category's cells, coloured by tier; add it to the category's FeatureGroup."""

    _template = Template(_CELL_LAYER_JS)

    def __init__(self, grid: _CellGrid, values: dict[str, Any]) -> None:
        super().__init__()
        self._name = "Circle15Cells"
        self.grid = grid
        self.data = _js(values)


# --------------------------------------------------------------------------------------
# Page frame (title, synthetic banner) and legend
# --------------------------------------------------------------------------------------
_PAGE_CSS = """
<style>
    html, body { height: 100%; margin: 0; }
    body { display: flex; flex-direction: column; }
    body > .folium-map { flex: 1 1 auto; height: auto !important; min-height: 0; }
    .c15-header, .c15-legend, .c15-popup {
        font-family: system-ui, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif;
    }
    .c15-header { flex: none; }
    .c15-title { padding: 6px 12px; background: #1f2d3d; color: #fff; font-size: 16px;
                 font-weight: 600; }
    .c15-banner { padding: 6px 12px; background: #b71c1c; color: #fff; font-size: 14px;
                  font-weight: 600; }
    .c15-legend { background: rgba(255, 255, 255, 0.93); padding: 6px 10px; border-radius: 4px;
                  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.35); max-height: 55vh; overflow: auto;
                  max-width: 300px; font-size: 12px; line-height: 1.4; }
    .c15-legend summary { font-weight: 600; cursor: pointer; }
    .c15-legend h4 { margin: 6px 0 2px; font-size: 12px; }
    .c15-legend ul { list-style: none; margin: 0; padding: 0; }
    .c15-swatch { display: inline-block; width: 14px; height: 12px; margin-right: 6px;
                  vertical-align: -1px; border: 1px solid #888; box-sizing: border-box; }
    .c15-dot { border-radius: 50%; width: 12px; }
    .c15-popup { font-size: 12px; line-height: 1.35; }
    .c15-popup table { border-collapse: collapse; margin-top: 4px; }
    .c15-popup th { text-align: left; padding: 1px 8px 1px 0; font-weight: 500; color: #444; }
    .leaflet-control-layers-expanded { max-height: 70vh; overflow-y: auto; }
    .leaflet-control-layers { font-size: 12px; line-height: 1.3; }
    .leaflet-control-layers-group { margin-bottom: 0.3em; }
    .leaflet-control-layers-group > label:not(.leaflet-control-layers-group-label) {
        padding-left: 16px; }
    .leaflet-control-layers-group-label:has(.leaflet-control-layers-group-name:empty) {
        display: none; }
    .c15-legend section[hidden], .c15-legend li[hidden] { display: none; }
</style>
"""


class _PageFrame(MacroElement):
    """Title bar and synthetic-data banner above the map, and the page's styles."""

    def __init__(self, title: str, banner: str | None) -> None:
        super().__init__()
        self._name = "Circle15Frame"
        self.title = title
        self.banner = banner

    def render(self, **kwargs: Any) -> None:
        """Put the header first in the page body and the styles in the head."""
        figure = self.get_root()
        assert isinstance(figure, Figure), "the map frame must be rendered inside a Figure"
        parts = [f'<div class="c15-title">{html.escape(self.title)}</div>']
        if self.banner is not None:
            parts.append(f'<div class="c15-banner" role="alert">{html.escape(self.banner)}</div>')
        header = f'<header class="c15-header">{"".join(parts)}</header>'
        figure.header.add_child(Element(_PAGE_CSS), name=self.get_name() + "_css")
        figure.html.add_child(Element(header), name=self.get_name(), index=0)


_LEGEND_JS = """
{% macro script(this, kwargs) %}
(function (map) {
    var control = L.control({position: "bottomleft"});
    control.onAdd = function () {
        var el = document.getElementById({{ this.element_id|tojson }});
        el.hidden = false;
        L.DomEvent.disableClickPropagation(el);
        L.DomEvent.disableScrollPropagation(el);
        return el;
    };
    control.addTo(map);
})({{ this._parent.get_name() }});
{% endmacro %}
"""


class _Legend(MacroElement):
    """Legend written as static HTML and moved into a Leaflet control by a line of JS."""

    _template = Template(_LEGEND_JS)

    def __init__(self, body: str) -> None:
        super().__init__()
        self._name = "Circle15Legend"
        self.element_id = self.get_name()
        self.body = body

    def render(self, **kwargs: Any) -> None:
        """Add the legend's HTML to the page, then its script."""
        figure = self.get_root()
        assert isinstance(figure, Figure), "the legend must be rendered inside a Figure"
        figure.html.add_child(
            Element(
                f'<div id="{self.element_id}" class="c15-legend leaflet-control" hidden>'
                f"{self.body}</div>"
            ),
            name=self.get_name(),
        )
        super().render(**kwargs)


def _swatch(fill: str, *, border: str = "#888", dot: bool = False, extra: str = "") -> str:
    cls = "c15-swatch c15-dot" if dot else "c15-swatch"
    return f'<span class="{cls}" style="background:{fill};border-color:{border};{extra}"></span>'


def _layers_attr(names: list[str]) -> str:
    """``data-layers`` attribute: the legend entry is shown while one of these layers is on."""
    value = json.dumps(names, ensure_ascii=False)
    return f' data-layers="{html.escape(value, quote=True)}"'


def _legend_html(result: CoverageResult, colours: dict[str, str],
                 shown: dict[str, list[str]], merged_cells: int | None = None) -> str:
    """The legend: one section per kind of layer, one entry per layer where they differ.

    ``shown`` lists, per kind (``facilities``, ``walking``, ``service_areas``, ``gaps``,
    ``choropleth``, ``outlines``), the full names of the layers the map has; sections and
    entries name the layers they explain in ``data-layers``. ``merged_cells``, when given,
    is the number of cells that the walking-time layers merged per tier (MAX_MAP_CELLS).
    """
    cats = list(result.categories.values())
    have = {name for names in shown.values() for name in names}
    items: list[str] = ["<details open><summary>图例 Legend</summary>"]

    by_tiers: dict[tuple[float, ...], list[Category]] = {}
    for cat in cats:
        if walking_layer_name(cat) in have:
            by_tiers.setdefault(cat.tiers_min, []).append(cat)
    for tiers, group in by_tiers.items():
        which = "" if len(by_tiers) == 1 else " (" + ", ".join(c.label for c in group) + ")"
        rows = zip(tier_names(group[0]), tier_colours(len(tiers)), strict=True)
        items.append(f"<section{_layers_attr([walking_layer_name(c) for c in group])}>")
        items.append(f"<h4>步行时间 Walking time to the nearest facility{html.escape(which)}</h4>")
        items.append("<ul>" + "".join(f"<li>{_swatch(c)}{html.escape(n)}</li>" for n, c in rows))
        if merged_cells is not None:
            items.append(f'<li class="c15-merged">{merged_cells:,}个网格按分级合并显示 '
                         f"cells merged by tier: {merged_cells:,} cells are too many to "
                         f"draw one by one (over {MAX_MAP_CELLS:,})</li>")
        items.append("</ul></section>")

    facility_cats = [c for c in cats if facility_layer_name(c) in have]
    if facility_cats:
        items.append(f"<section{_layers_attr(shown['facilities'])}><h4>设施 Facilities</h4><ul>")
        items += [f"<li{_layers_attr([facility_layer_name(c)])}>"
                  f'<span class="c15-icon">{marker_html(c.key, colours[c.key], size=12)}</span>'
                  f"{html.escape(c.label)}</li>" for c in facility_cats]
        hollow = marker_html(facility_cats[0].key, "#666666", hollow=True, size=12)
        items.append(f'<li><span class="c15-icon">{hollow}</span>'
                     "虚线：未接入路网 dashed: not snapped to a street</li>")
        items.append(f'<li>{_swatch("#666", border="#fff", dot=True)}'
                     "数字：聚合的设施数 number: facilities grouped at this zoom</li>")
        items.append("</ul></section>")

    area_cats = [c for c in cats if service_area_layer_name(c) in have]
    if area_cats:
        items.append(f"<section{_layers_attr(shown['service_areas'])}>"
                     "<h4>服务范围 Service areas (居民的最近设施，目标时间内 cells whose nearest "
                     "facility it is, within the target time)</h4><ul>")
        items += [f"<li{_layers_attr([service_area_layer_name(c)])}>"
                  + _swatch(_rgba(colours[c.key], 0.15), border=colours[c.key],
                            extra="border-width:2px")
                  + f"{html.escape(c.label)} ≤ {_m(c.target_min)} min</li>" for c in area_cats]
        items.append("</ul></section>")

    if shown.get("gaps"):
        items.append(f"<section{_layers_attr(shown['gaps'])}>")
        items.append("<h4>服务缺口 Service gaps</h4><ul><li>")
        items.append(_swatch("rgba(227,26,28,0.08)", border=GAP_COLOUR, extra="border-width:2px"))
        items.append("超出目标步行时间的居住区 populated areas beyond the target time</li>")
        items += [f"<li{_layers_attr([gap_layer_name(result.categories[key])])}>"
                  f"{html.escape(result.categories[key].label)}: 只勾画人口最多的"
                  f"{MAX_MAP_GAPS:,}处（共{n:,}处）the {MAX_MAP_GAPS:,} most populous of "
                  f"{n:,} gaps are outlined; all are in results.gpkg</li>"
                  for key, n in _gap_counts(result).items()
                  if n > MAX_MAP_GAPS and key in result.categories]
        items.append("</ul></section>")

    if shown.get("choropleth"):
        items.append(
            f"<section{_layers_attr(shown['choropleth'])}>"
            "<h4>街道覆盖率 Sub-district coverage (目标时间内 within the target time)</h4><ul>"
        )
        items += [f"<li>{_swatch(c)}{n}</li>"
                  for n, c in zip(coverage_class_names(), COVERAGE_COLOURS, strict=True)]
        items.append(f"<li>{_swatch(NO_DATA_COLOUR)}无数据 no data</li></ul></section>")

    if shown.get("outlines"):
        items.append(f"<section{_layers_attr(shown['outlines'])}><h4>边界 Boundaries</h4><ul>")
        if ZONES_LAYER_NAME in have:
            items.append(f"<li{_layers_attr([ZONES_LAYER_NAME])}>"
                         f"{_swatch('#fff', border='#444')}{ZONES_LAYER_NAME}</li>")
        if STUDY_LAYER_NAME in have:
            dashed = _swatch("#fff", border="#111", extra="border-style:dashed;border-width:2px")
            items.append(f"<li{_layers_attr([STUDY_LAYER_NAME])}>{dashed}{STUDY_LAYER_NAME}</li>")
        items.append("</ul></section>")

    overall = _overall_coverage(result)
    if overall:
        items.append("<h4>全区覆盖率 Study-wide coverage</h4><ul>")
        items += [f"<li>{html.escape(line)}</li>" for line in overall]
        items.append("</ul>")
    items.append("</details>")
    return "".join(items)


def _gap_counts(result: CoverageResult) -> dict[str, int]:
    """Number of gaps per category key."""
    gaps = result.gaps
    if gaps is None or "category" not in gaps:
        return {}
    return gaps["category"].value_counts().to_dict()


def _rgba(colour: str, alpha: float) -> str:
    """``#rrggbb`` as ``rgba(r,g,b,alpha)``."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha:g})"


def _overall_coverage(result: CoverageResult) -> list[str]:
    """Lines like ``"托育 Childcare: 83.2% 15分钟内 within 15 min"`` from the ``ALL`` rows."""
    d = result.districts
    if d is None or d.empty or not {"district", "category", "coverage"} <= set(d.columns):
        return []
    rows = d[d["district"] == ALL_DISTRICTS].drop_duplicates("category").set_index("category")
    lines = []
    for key, cat in result.categories.items():
        if key not in rows.index or pd.isna(rows.at[key, "coverage"]):
            continue
        share = float(rows.at[key, "coverage"])
        target = _m(cat.target_min)
        lines.append(f"{cat.label}: {share:.1%} {target}分钟内 within {target} min")
    return lines


# --------------------------------------------------------------------------------------
# Vector layers
# --------------------------------------------------------------------------------------
def _constant(style: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda feature: style


def _gap_layer(gaps: gpd.GeoDataFrame, category: Category) -> folium.GeoJson | None:
    rows = gaps[gaps["category"] == category.key] if "category" in gaps else gaps.iloc[:0]
    if rows.empty:
        return None
    if len(rows) > MAX_MAP_GAPS:  # the most populous (rank 1 first); see MAX_MAP_GAPS
        order = pd.to_numeric(_column(rows, "rank"), errors="coerce").to_numpy(dtype=float)
        rows = rows.iloc[np.argsort(order, kind="stable")[:MAX_MAP_GAPS]]
    mean = _fmt(_column(rows, "mean_min"), ".1f", missing="不可达 unreachable")
    props = pd.DataFrame(
        {
            "category": category.label,
            "rank": _fmt(_column(rows, "rank"), ".0f"),
            "gap_id": _text(_column(rows, "gap_id", None)),
            "district": _text(_column(rows, "district", None)),
            "population": _fmt(_column(rows, "population"), ",.0f"),
            "area_km2": _fmt(_column(rows, "area_km2"), ".2f"),
            "mean_min": mean,
            "nearest": _text(_column(rows, "nearest_name", None)) + " ("
            + _text(_column(rows, "nearest_facility", None)) + ")",
            "nearest_min": _fmt(_column(rows, "nearest_min"), ".1f", missing="不可达 unreachable"),
            # Walking distance over the network (snap legs included) at the category's speed.
            "nearest_m": _fmt(pd.to_numeric(_column(rows, "nearest_min"), errors="coerce")
                              * category.metres_per_minute, ",.0f",
                              missing="不可达 unreachable"),
        },
        index=rows.index,
    )
    frame = _wgs84(gpd.GeoDataFrame(props, geometry=rows.geometry, crs=gaps.crs), GAP_SIMPLIFY_M)
    if frame.empty:
        return None
    fields = list(props.columns)
    aliases = [
        "类别 Category", "排名 Rank", "编号 Gap id", "街道 Sub-district",
        f"人口 Population ({category.cohort_label})", "面积 Area (km²)",
        "平均步行时间 Mean walking time (min)", "最近设施 Nearest facility",
        "到最近设施 Time to nearest facility (min)",
        "到最近设施距离 Walking distance to it (m)",
    ]
    return folium.GeoJson(
        _feature_collection(frame),
        name=gap_layer_name(category),
        control=False,
        style_function=_constant(
            {"color": GAP_COLOUR, "weight": 2.5, "fill": True, "fillColor": GAP_COLOUR,
             "fillOpacity": 0.08}
        ),
        popup=folium.GeoJsonPopup(fields=fields, aliases=aliases, labels=True),
    )


def _tier_layer(cells: gpd.GeoDataFrame, category: Category, *, cells_tile: bool
                ) -> _TierLayer:
    """A category's cells merged per walking-time tier (maps above MAX_MAP_CELLS cells)."""
    population = pd.to_numeric(_column(cells, f"pop_{category.key}"), errors="coerce")
    tolerance = GAP_SIMPLIFY_M
    if cells.crs is not None and cells.crs.is_geographic:
        tolerance /= _METRES_PER_DEGREE
    merged = tier_polygons(cells, tier_index(cells, category), population.to_numpy(),
                           cells_form_coverage=cells_tile, simplify=tolerance)
    names = tier_names(category)
    colours = tier_colours(len(category.tiers_min))
    props = pd.DataFrame(
        {
            "tier_name": [names[t] for t in merged["tier"]],
            "cells": _fmt(merged["cells"], ",.0f"),
            "area_km2": _fmt(merged["area_km2"], ",.2f"),
            "population": _fmt(merged["population"], ",.0f"),
            "colour": [colours[t] for t in merged["tier"]],
        },
        index=merged.index,
    )
    frame = _wgs84(gpd.GeoDataFrame(props, geometry=merged.geometry, crs=merged.crs),
                   decimals=TIER_DECIMALS)
    # The GeoJSON text comes straight from GEOS and is embedded as is: at city scale these
    # few geometries hold hundreds of thousands of vertices, which as Python lists (what
    # folium.GeoJson keeps and dumps again) cost ten times the memory of the text.
    features = ",".join(
        f'{{"type":"Feature","properties":{script_json(row)},"geometry":{geometry}}}'
        for row, geometry in zip(frame.drop(columns=frame.geometry.name).to_dict("records"),
                                 shapely.to_geojson(frame.geometry.to_numpy()), strict=True)
    )
    labels = {"title": category.label, "tier": "分级 Tier", "cells": "网格数 Cells",
              "area": "面积 Area (km²)",
              "population": f"目标人口 Target population ({category.cohort_label})"}
    return _TierLayer(f'{{"type":"FeatureCollection","features":[{features}]}}', labels)


_TIER_LAYER_JS = """
{% macro script(this, kwargs) %}
(function (group) {
    var labels = {{ this.labels }};
    function esc(s) {
        return String(s).replace(/[&<>"']/g, function (c) {
            return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
        });
    }
    function popup(p) {
        var rows = [[labels.tier, p.tier_name], [labels.cells, p.cells],
                    [labels.area, p.area_km2], [labels.population, p.population]];
        return "<div class=\\"c15-popup\\"><b>" + esc(labels.title) + "</b><table>"
            + rows.map(function (r) {
                return "<tr><th>" + esc(r[0]) + "</th><td>" + esc(r[1]) + "</td></tr>";
            }).join("") + "</table></div>";
    }
    L.geoJson({{ this.data }}, {
        style: function (f) {
            var c = f.properties.colour;
            return {color: c, weight: 0.5, opacity: {{ this.opacity }}, fill: true,
                    fillColor: c, fillOpacity: {{ this.opacity }}};
        },
        onEachFeature: function (f, layer) { layer.bindPopup(popup(f.properties)); }
    }).addTo(group);
})({{ this._parent.get_name() }});
{% endmacro %}
"""


class _TierLayer(MacroElement):
    """One category's tier polygons (GeoJSON text); add it to the category's FeatureGroup."""

    _template = Template(_TIER_LAYER_JS)

    def __init__(self, geojson: str, labels: dict[str, str]) -> None:
        super().__init__()
        self._name = "Circle15Tiers"
        self.data = geojson
        self.labels = script_json(labels)
        self.opacity = CELL_OPACITY


def _service_area_layer(result: CoverageResult, category: Category, colour: str
                        ) -> folium.GeoJson | None:
    """Each facility's service area: its cells within the target time, merged."""
    cells = result.cells
    needed = {f"t_{category.key}", f"nearest_{category.key}", f"pop_{category.key}"}
    if cells is None or not len(cells) or not needed <= set(cells.columns):
        return None
    areas = service_areas(cells, category)
    if areas.empty:
        return None
    facilities = result.facilities if result.facilities is not None else pd.DataFrame()
    names: dict[str, Any] = {}
    if {"category", "facility_id", "name"} <= set(facilities.columns):
        of_cat = facilities[facilities["category"] == category.key]
        names = dict(zip(of_cat["facility_id"].astype(str), of_cat["name"], strict=False))
    props = pd.DataFrame(
        {
            "facility": _text(areas["facility_id"].map(names)) + " ("
            + _text(areas["facility_id"]) + ")",
            "population": _fmt(areas["population"], ",.0f"),
            "cells": _fmt(areas["cells"], ",.0f"),
            "area_km2": _fmt(areas["area_km2"], ".2f"),
            "mean_min": _fmt(areas["mean_min"], ".1f"),
        },
        index=areas.index,
    )
    frame = _wgs84(gpd.GeoDataFrame(props, geometry=areas.geometry, crs=areas.crs),
                   GAP_SIMPLIFY_M)
    if frame.empty:
        return None
    target = _m(category.target_min)
    aliases = ["设施 Facility", f"服务人口 Residents served ({category.cohort_label})",
               "网格数 Cells", "面积 Area (km²)", "平均步行时间 Mean walking time (min)"]
    return folium.GeoJson(
        _feature_collection(frame),
        name=service_area_layer_name(category),
        control=False,
        style_function=_constant({"color": colour, "weight": 1.5, "fill": True,
                                  "fillColor": colour, "fillOpacity": 0.15}),
        highlight_function=lambda f: {"weight": 3, "fillOpacity": 0.3},
        tooltip=folium.GeoJsonTooltip(fields=["facility", "population"],
                                      aliases=[f"服务范围 Service area (≤ {target} min)",
                                               aliases[1]], sticky=True),
        popup=folium.GeoJsonPopup(fields=list(props.columns), aliases=aliases, labels=True),
    )


def _choropleth_layer(zones: gpd.GeoDataFrame, rows: pd.DataFrame, category: Category
                      ) -> folium.GeoJson:
    """Sub-districts (already WGS84) coloured by the category's coverage class."""
    columns = ["population", "coverage", "mean_min", "p90_min", "unreachable_population"]
    stats = rows.drop_duplicates("district").set_index("district").reindex(columns=columns)
    joined = zones[["district", "label", "geometry"]].join(stats, on="district")
    target = _m(category.target_min)
    cls = coverage_class(pd.to_numeric(_column(joined, "coverage"), errors="coerce"))
    props = pd.DataFrame(
        {
            "name": _text(_column(joined, "label", None)),
            "population": _fmt(_column(joined, "population"), ",.0f"),
            "coverage": _fmt(_column(joined, "coverage"), ".1%"),
            "mean_min": _fmt(_column(joined, "mean_min"), ".1f"),
            "p90_min": _fmt(_column(joined, "p90_min"), ".1f"),
            "unreachable": _fmt(_column(joined, "unreachable_population"), ",.0f"),
            "cls": cls,
        },
        index=joined.index,
    )
    frame = gpd.GeoDataFrame(props, geometry=joined.geometry, crs=WGS84)
    palette = [*COVERAGE_COLOURS, NO_DATA_COLOUR]  # index -1 is no data

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        fill = palette[feature["properties"]["cls"]]
        return {"color": "#333", "weight": 1, "fill": True, "fillColor": fill, "fillOpacity": 0.7}

    return folium.GeoJson(
        _feature_collection(frame),
        name=choropleth_layer_name(category),
        style_function=style,
        highlight_function=lambda f: {"weight": 3, "fillOpacity": 0.85},
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "population", "coverage", "mean_min", "p90_min", "unreachable"],
            aliases=[
                "街道 Sub-district",
                f"目标人口 Target population ({category.cohort_label})",
                f"{target}分钟内覆盖率 Coverage within {target} min",
                "平均步行时间 Mean walking time (min)",
                "P90步行时间 P90 walking time (min)",
                "不可达人口 Unreachable population",
            ],
            sticky=True,
        ),
    )


def _zones_wgs84(zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Sub-districts in WGS84 with a bilingual ``label``."""
    frame = _wgs84(zones, ZONE_SIMPLIFY_M)
    zh = _column(frame, "district", "").fillna("").astype(str)
    en = _column(frame, "name_en", "").fillna("").astype(str)
    frame["label"] = (zh + " " + en).str.strip()
    return frame


def _bounds(result: CoverageResult, crs: Any) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of the study area (or of the cells and zones)."""
    candidates = [gpd.GeoSeries([result.area], crs=crs)] if result.area is not None else []
    candidates += [f.geometry for f in (result.zones, result.cells) if f is not None and len(f)]
    for geoms in candidates:
        geoms = geoms[geoms.notna() & ~geoms.is_empty]
        if len(geoms) and geoms.crs is not None:
            west, south, east, north = geoms.to_crs(WGS84).total_bounds
            return np.round([[south, west], [north, east]], DECIMALS).tolist()
    return None


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------
def build_map(
    result: CoverageResult,
    *,
    tiles: str | None = "OpenStreetMap",
    attribution: str | None = None,
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
    crs = _study_crs(result)
    bounds = _bounds(result, crs)
    m = _new_map(result, bounds)
    base_layers: list[tuple[str, folium.Layer]] = []
    if tiles is not None:
        base_name = f"底图 {tiles} basemap"
        base_layers.append((base_name, folium.TileLayer(tiles, attr=attribution,
                                                         name=base_name).add_to(m)))
        base_layers.append((NO_BASEMAP_NAME, folium.FeatureGroup(
            name=NO_BASEMAP_NAME, overlay=False, show=False).add_to(m)))
    colours = {
        key: FACILITY_COLOURS[i % len(FACILITY_COLOURS)]
        for i, key in enumerate(result.categories)
    }
    groups = _add_category_groups(m, result, colours)
    zones = _zones_wgs84(result.zones) if result.zones is not None and len(result.zones) else None
    outlines: list[tuple[str, folium.Layer]] = []
    if zones is not None:
        for key, layer in _add_choropleths(m, result, zones).items():
            groups[key].append((CHOROPLETH_SHORT, layer))
        outlines.append((ZONES_LAYER_NAME, folium.GeoJson(
            _feature_collection(zones[["label", "geometry"]]),
            name=ZONES_LAYER_NAME,
            style_function=_constant({"color": "#444", "weight": 1.2, "fill": False}),
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(m)))
    if result.area is not None and not result.area.is_empty:
        area = _wgs84(gpd.GeoDataFrame(geometry=[result.area], crs=crs), ZONE_SIMPLIFY_M)
        outlines.append((STUDY_LAYER_NAME, folium.GeoJson(
            _feature_collection(area),
            name=STUDY_LAYER_NAME,
            style_function=_constant(
                {"color": "#111", "weight": 2.5, "dashArray": "8 5", "fill": False}
            ),
            interactive=False,
        ).add_to(m)))
    control = CategoryLayerControl(
        base_layers,
        [("", outlines)] + [(result.categories[k].label, entries) for k, entries in groups.items()],
    )
    kinds = {FACILITIES_SHORT: "facilities", WALKING_SHORT: "walking",
             SERVICE_AREAS_SHORT: "service_areas", GAPS_SHORT: "gaps",
             CHOROPLETH_SHORT: "choropleth"}
    shown: dict[str, list[str]] = {kind: [] for kind in [*kinds.values(), "outlines"]}
    for key, entries in groups.items():
        for short, _ in entries:
            shown[kinds[short]].append(full_layer_name(result.categories[key].label, short))
    shown["outlines"] = [name for name, _ in outlines]
    n_cells = 0 if result.cells is None else len(result.cells)
    merged_cells = n_cells if n_cells > MAX_MAP_CELLS else None
    m.add_child(_Legend(_legend_html(result, colours, shown, merged_cells)))
    m.add_child(control)
    if bounds is not None:
        m.fit_bounds(bounds)
    return m


def _new_map(result: CoverageResult, bounds: list[list[float]] | None) -> folium.Map:
    """An empty map with only Leaflet's assets, an offline root figure, title and banner."""
    centre = np.round(np.mean(bounds, axis=0), DECIMALS).tolist() if bounds else [0.0, 0.0]
    # Without a tile layer Leaflet knows no zoom range, and marker clustering then stops
    # the page's script ("Map has no maxZoom specified"): give the map its own.
    m = folium.Map(location=centre, zoom_start=13, tiles=None, control_scale=True)
    # folium hands min/max zoom to its tile layer only, so set them on the map itself.
    m.options.update(min_zoom=MIN_ZOOM, max_zoom=MAX_ZOOM)
    m.default_js = [(n, u) for n, u in folium.Map.default_js if n in KEEP_JS]
    m.default_css = [(n, u) for n, u in folium.Map.default_css if n in KEEP_CSS]
    OfflineFigure(title=html.escape(result.title)).add_child(m)
    banner = None
    if result.synthetic:
        banner = "合成数据 SYNTHETIC DATA" + (f" — {result.notice}" if result.notice else "")
    m.add_child(_PageFrame(result.title, banner))
    return m


def _add_category_groups(m: folium.Map, result: CoverageResult, colours: dict[str, str]
                         ) -> dict[str, list[tuple[str, folium.FeatureGroup]]]:
    """Per category, its facilities, cells, service areas and gaps, each a FeatureGroup.

    The first category's facilities, cells and gaps are shown on opening; everything else
    starts hidden. Returns, per category key, the groups with their short names.
    """
    cells = result.cells
    grid = None
    tiles: bool | None = None  # whether the cells tile; only asked when they are merged
    if cells is not None and len(cells):
        if cells.crs is None:
            raise ValueError("the cells of the coverage result have no CRS")
        if len(cells) > MAX_MAP_CELLS:
            tiles = cells_form_coverage(cells.geometry.to_numpy())
        else:
            grid = _CellGrid(_cell_grid(cells.to_crs(WGS84)))
            m.add_child(grid)  # before the groups: their cell layers refer to it
    facilities = result.facilities if result.facilities is not None else gpd.GeoDataFrame()
    gaps = result.gaps if result.gaps is not None else gpd.GeoDataFrame()
    out: dict[str, list[tuple[str, folium.FeatureGroup]]] = {}
    for i, (key, cat) in enumerate(result.categories.items()):
        first = i == 0
        entries: list[tuple[str, folium.FeatureGroup]] = []

        def group(short: str, name: str, show: bool, entries=entries) -> folium.FeatureGroup:
            layer = folium.FeatureGroup(name=name, show=show).add_to(m)
            entries.append((short, layer))
            return layer

        of_cat = (facilities[facilities["category"] == key]
                  if "category" in facilities else facilities.iloc[:0])
        if len(of_cat):
            group(FACILITIES_SHORT, facility_layer_name(cat), first).add_child(
                FacilityClusterLayer(of_cat, cells if cells is not None else pd.DataFrame(), cat,
                                     colours[key]))
        if grid is not None:
            group(WALKING_SHORT, walking_layer_name(cat), first).add_child(
                _CellLayer(grid, _cell_values(cells, cat, facilities)))
        elif tiles is not None:
            group(WALKING_SHORT, walking_layer_name(cat), first).add_child(
                _tier_layer(cells, cat, cells_tile=tiles))
        areas = _service_area_layer(result, cat, colours[key])
        if areas is not None:
            group(SERVICE_AREAS_SHORT, service_area_layer_name(cat), False).add_child(areas)
        gap_layer = _gap_layer(gaps, cat)
        if gap_layer is not None:
            group(GAPS_SHORT, gap_layer_name(cat), first).add_child(gap_layer)
        out[key] = entries
    return out


def _add_choropleths(m: folium.Map, result: CoverageResult, zones: gpd.GeoDataFrame
                     ) -> dict[str, folium.FeatureGroup]:
    """One hidden sub-district coverage group per category, by category key."""
    districts = result.districts if result.districts is not None else pd.DataFrame()
    if "district" not in zones or not {"district", "category"} <= set(districts.columns):
        return {}
    local = districts[districts["district"] != ALL_DISTRICTS]
    out = {}
    for key, cat in result.categories.items():
        layer = _choropleth_layer(zones, local[local["category"] == cat.key], cat)
        group = folium.FeatureGroup(name=choropleth_layer_name(cat), show=False).add_to(m)
        group.add_child(layer)
        out[key] = group
    return out


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
        The page, with Leaflet inline and no script or stylesheet loaded from a URL.
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
    return write_text(Path(path), stable_element_ids(render_map(result, **kwargs)))
