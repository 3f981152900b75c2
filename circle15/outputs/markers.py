"""Facility markers: clustered, one inline-SVG icon per category, popups saying who they serve.

Each marker is an ``L.marker`` with an ``L.divIcon`` whose icon is inline SVG, so none needs
image files or web fonts (Font Awesome would be fetched from a CDN). They are grouped by
leaflet.markercluster (vendored in ``circle15/_static``) so that 200 facilities stay legible
at district scale; each cluster is a disc in the category's colour with the count inside.
"""

from __future__ import annotations

import html
import re
from typing import Any, ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from ..analysis.service_areas import facility_reach
from ..standards import Category
from ._html import column, script_json

__all__ = [
    "CATEGORY_GLYPHS",
    "MARKERCLUSTER_CSS",
    "MARKERCLUSTER_JS",
    "FacilityClusterLayer",
    "category_icon_svg",
    "facility_popups",
]

MARKERCLUSTER_JS = (
    "https://cdn.jsdelivr.net/npm/leaflet.markercluster@1.5.3/dist/leaflet.markercluster.js"
)
MARKERCLUSTER_CSS = (
    "https://cdn.jsdelivr.net/npm/leaflet.markercluster@1.5.3/dist/MarkerCluster.css"
)
#: Decimal places of marker coordinates (1e-6 degree is about 0.1 m).
DECIMALS = 6
#: Markers stop clustering from this zoom level on (individual buildings are legible).
UNCLUSTER_ZOOM = 16

# Glyphs drawn in a 24 x 24 box with round 2-unit strokes in ``currentColor``; simple enough
# to read at 16 px. Keys are the categories of standards.toml; others get the fallback.
CATEGORY_GLYPHS: dict[str, str] = {
    # feeding bottle: teat, collar, bottle with two marks
    "childcare": '<path d="M10.5 2h3l.5 3h-4z"/><path d="M8 5h8v3H8z"/>'
                 '<path d="M8.5 8h7v12a2 2 0 0 1-2 2h-3a2 2 0 0 1-2-2z"/><path d="M11 12h2"/>'
                 '<path d="M11 16h2"/>',
    # building blocks
    "kindergarten": '<rect x="3" y="13" width="8" height="8"/><rect x="13" y="13" width="8" '
                    'height="8"/><rect x="8" y="3" width="8" height="8"/>',
    # open book
    "primary_school": '<path d="M12 6C10 4.5 7 4 3 4v14c4 0 7 .5 9 2 2-1.5 5-2 9-2V4c-4 0-7 '
                      '.5-9 2z"/><path d="M12 6v14"/>',
    # mortarboard
    "middle_school": '<path d="M2 9l10-5 10 5-10 5z"/><path d="M6 11v5c3 2 9 2 12 0v-5"/>'
                     '<path d="M22 9v6"/>',
    # bowl with chopsticks
    "elderly_canteen": '<path d="M3 12h18a9 7 0 0 1-18 0z"/><path d="M9 19.5h6"/>'
                       '<path d="M10 9l9-6"/><path d="M13 9l8-4"/>',
    # ball
    "sports_venue": '<circle cx="12" cy="12" r="9"/><path d="M3 12h18"/>'
                    '<path d="M12 3c4 4 4 14 0 18"/><path d="M12 3c-4 4-4 14 0 18"/>',
}
_FALLBACK_GLYPH = '<circle cx="12" cy="12" r="5"/>'
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def category_icon_svg(key: str, size: int = 16) -> str:
    """Inline SVG of a category's glyph, drawn in ``currentColor``.

    Parameters
    ----------
    key : str
        Category key, e.g. ``"childcare"``; unknown keys get a plain dot.
    size : int, default 16
        Width and height in CSS pixels.

    Returns
    -------
    str
        An ``<svg>`` element (no external references), with ``aria-hidden="true"``.
    """
    glyph = CATEGORY_GLYPHS.get(key, _FALLBACK_GLYPH)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
            'viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" '
            f'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">{glyph}</svg>')


def _num(value: float, spec: str, missing: str = "—") -> str:
    return missing if value is None or not np.isfinite(value) else format(value, spec)


def facility_popups(facilities: pd.DataFrame, cells: pd.DataFrame,
                    category: Category) -> list[str]:
    """Popup HTML of each facility of ``category`` in ``facilities`` (same order).

    The popup gives the name, id and capacity, and who the facility serves: the target
    cohort whose nearest facility it is within the target time, the cohort whose nearest
    facility it is at any walking time, the served residents per unit of capacity and
    their mean walking time; then whether it is attached to a street.

    Parameters
    ----------
    facilities : DataFrame
        The category's facilities: ``facility_id``, ``name``, ``capacity``, ``snapped``,
        ``snap_m``.
    cells : DataFrame
        Populated cells with ``pop_<key>``, ``t_<key>`` and ``nearest_<key>``.
    category : Category
        Their category.

    Returns
    -------
    list of str
        HTML fragments; every value from the data is escaped.
    """
    ids = facilities["facility_id"].astype(str)
    reach = facility_reach(cells, category).reindex(ids.to_numpy())
    served = reach["served_population"].fillna(0.0).to_numpy(dtype=float)
    nearest = reach["nearest_population"].fillna(0.0).to_numpy(dtype=float)
    mean = reach["mean_min"].to_numpy(dtype=float)
    capacity = pd.to_numeric(column(facilities, "capacity"), errors="coerce").to_numpy(float)
    snapped = column(facilities, "snapped", False).fillna(False).astype(bool).to_numpy()
    snap_m = pd.to_numeric(column(facilities, "snap_m"), errors="coerce").to_numpy(float)
    names = column(facilities, "name", None).to_numpy(dtype=object)
    unit = category.capacity_unit
    unit_html = f" ({html.escape(unit)})" if unit else ""
    target = f"{category.target_min:g}"
    cohort = html.escape(category.cohort_label)
    out = []
    rows_iter = zip(ids.to_numpy(), names, capacity, served, nearest, mean, snapped, snap_m,
                    strict=True)
    for fid, name, cap, srv, near, mmin, snap, leg in rows_iter:
        per_unit = srv / cap if np.isfinite(cap) and cap > 0 else np.nan
        cap_text = _num(cap, ",.0f") + (f" {html.escape(unit)}" if unit and np.isfinite(cap)
                                         else "")
        street = (f"已接入路网 snapped to a street ({_num(leg, '.0f')} m)" if snap else
                  f"未接入路网 not snapped: {_num(leg, '.0f')} m from the nearest street")
        rows = [
            ("编号 Id", html.escape(str(fid))),
            ("容量 Capacity", cap_text),
            (f"服务人口 Serves ({cohort}, nearest facility, ≤ {target} min)", _num(srv, ",.0f")),
            (f"最近设施人口 Nearest facility for ({cohort}, any time)", _num(near, ",.0f")),
            (f"每单位容量服务人口 Served per unit of capacity{unit_html}",
             _num(per_unit, ",.1f")),
            ("服务人口平均步行 Mean walk of those served (min)", _num(mmin, ".1f")),
            ("路网 Street", street),
        ]
        title = html.escape(str(name)) if name is not None and not pd.isna(name) else "—"
        body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
        out.append(f'<div class="c15-popup"><b>{title}</b><br>{html.escape(category.label)}'
                   f"<table>{body}</table></div>")
    return out


_CLUSTER_JS = """
{% macro script(this, kwargs) %}
(function (group) {
    var d = {{ this.data }};
    function icon(hollow) {
        return L.divIcon({
            html: hollow ? d.hollow : d.filled,
            className: "c15-fac-icon",
            iconSize: [26, 26], iconAnchor: [13, 13], popupAnchor: [0, -12]
        });
    }
    var filled = icon(false), hollow = icon(true);
    var cluster = L.markerClusterGroup({
        showCoverageOnHover: false,
        maxClusterRadius: 40,
        disableClusteringAtZoom: {{ this.uncluster_zoom }},
        iconCreateFunction: function (c) {
            return L.divIcon({
                html: '<div style="background:' + d.colour + '">' + c.getChildCount() + "</div>",
                className: "c15-cluster", iconSize: [32, 32]
            });
        }
    });
    cluster.circle15Category = d.key;
    var markers = [];
    for (var i = 0; i < d.lat.length; i++) {
        var m = L.marker([d.lat[i], d.lon[i]], {icon: d.snapped[i] ? filled : hollow,
                                               title: d.name[i], alt: d.name[i]});
        m.bindPopup(d.popup[i], {maxWidth: 340});
        markers.push(m);
    }
    cluster.addLayers(markers);
    group.addLayer(cluster);
})({{ this._parent.get_name() }});
{% endmacro %}
"""

MARKER_CSS = """
<style>
    .c15-fac-icon { background: none; border: none; }
    .c15-fac-icon > div { box-sizing: border-box; width: 26px; height: 26px; border-radius: 50%;
        display: flex; align-items: center; justify-content: center;
        border: 2px solid #fff; box-shadow: 0 1px 3px rgba(0, 0, 0, 0.55); }
    .c15-fac-icon > div.c15-hollow { background: #fff !important; border: 2px dashed; }
    .c15-cluster { background: none; border: none; }
    .c15-cluster > div { box-sizing: border-box; width: 32px; height: 32px; border-radius: 50%;
        color: #fff; font: 600 12px/28px system-ui, sans-serif; text-align: center;
        border: 2px solid #fff; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.6); }
    .c15-legend .c15-icon { display: inline-flex; width: 18px; height: 18px; margin-right: 6px;
        vertical-align: -4px; border-radius: 50%; align-items: center; justify-content: center;
        box-sizing: border-box; }
</style>
"""


def marker_html(key: str, colour: str, *, hollow: bool = False, size: int = 16) -> str:
    """The round icon of a facility: white glyph on the category colour (hollow: inverted)."""
    if not _HEX_COLOUR.match(colour):
        raise ValueError(f"marker colour must be #rrggbb, got {colour!r}")
    svg = category_icon_svg(key, size)
    if hollow:
        return (f'<div class="c15-hollow" style="color:{colour};border-color:{colour}">'
                f"{svg}</div>")
    return f'<div style="background:{colour};color:#fff">{svg}</div>'


_Assets = list[tuple[str, str]]  # (name, CDN URL) pairs folium links to

class FacilityClusterLayer(JSCSSMixin, MacroElement):
    """A category's facilities as clustered SVG markers; add it to a ``FeatureGroup``.

    Parameters
    ----------
    facilities : GeoDataFrame
        The category's facilities (any CRS), with ``facility_id``, ``name``, ``capacity``,
        ``snapped`` and ``snap_m``; non-point geometries are placed at a point inside them.
    cells : DataFrame
        Populated cells with the category's ``pop_``, ``t_`` and ``nearest_`` columns, for
        the "who it serves" figures of the popups.
    category : Category
        The category.
    colour : str
        ``#rrggbb`` colour of the category.
    """

    _template = Template(_CLUSTER_JS)
    default_js: ClassVar[_Assets] = [("leaflet.markercluster", MARKERCLUSTER_JS)]
    default_css: ClassVar[_Assets] = [("leaflet.markercluster.css", MARKERCLUSTER_CSS)]

    def __init__(self, facilities: gpd.GeoDataFrame, cells: pd.DataFrame, category: Category,
                 colour: str) -> None:
        super().__init__()
        self._name = "Circle15Facilities"
        self.uncluster_zoom = UNCLUSTER_ZOOM
        geoms = facilities.geometry
        points = geoms.where(geoms.geom_type == "Point", geoms.representative_point())
        points = gpd.GeoSeries(points, crs=facilities.crs).to_crs("EPSG:4326")
        ok = (points.notna() & ~points.is_empty).to_numpy()
        names = column(facilities, "name", None).map(
            lambda n: "" if n is None or pd.isna(n) else str(n))
        popups = facility_popups(facilities, cells, category)
        self.count = int(ok.sum())
        self.data = script_json({
            "key": category.key,
            "colour": colour,
            "filled": marker_html(category.key, colour),
            "hollow": marker_html(category.key, colour, hollow=True),
            "lat": np.round(points.y.to_numpy()[ok], DECIMALS).tolist(),
            "lon": np.round(points.x.to_numpy()[ok], DECIMALS).tolist(),
            "name": names.to_numpy()[ok].tolist(),
            "snapped": column(facilities, "snapped", False).fillna(False).astype(bool)
            .to_numpy()[ok].tolist(),
            "popup": [p for p, keep in zip(popups, ok, strict=True) if keep],
        })

    def render(self, **kwargs: Any) -> None:
        """Add the marker styles to the page head (once), then the layer's script."""
        figure = self.get_root()
        assert isinstance(figure, Figure), "facility markers must be rendered inside a Figure"
        figure.header.add_child(Element(MARKER_CSS), name="circle15_marker_css")
        super().render(**kwargs)
