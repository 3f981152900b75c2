"""Layer control with a heading and a group checkbox per category, and a legend that follows it.

Built on leaflet-groupedlayercontrol (vendored in ``circle15/_static``): base layers first,
then one group per category (facilities, walking time, service areas, gaps, sub-district
coverage) and a group for the outlines. Ticking a category's heading shows or hides all of
its layers at once.

The map legend is written as sections carrying ``data-layers`` (a JSON list of full layer
names); this control's script shows a section only while one of its layers is on the map, so
the legend always explains what is visible, one layer at a time.
"""

from __future__ import annotations

import json
from typing import ClassVar

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

__all__ = ["GROUPED_LAYERS_CSS", "GROUPED_LAYERS_JS", "CategoryLayerControl", "full_layer_name"]

GROUPED_LAYERS_JS = ("https://cdnjs.cloudflare.com/ajax/libs/leaflet-groupedlayercontrol/0.6.1/"
                     "leaflet.groupedlayercontrol.min.js")
GROUPED_LAYERS_CSS = ("https://cdnjs.cloudflare.com/ajax/libs/leaflet-groupedlayercontrol/0.6.1/"
                      "leaflet.groupedlayercontrol.min.css")
#: Separator between a group heading and a layer's short name in a full layer name.
SEPARATOR = " · "


def full_layer_name(group: str, short: str) -> str:
    """The name a layer is known by outside the control.

    E.g. ``"托育 Childcare · 设施 facilities"``; a layer outside any group keeps its short name.
    """
    return f"{group}{SEPARATOR}{short}" if group else short


_CONTROL_JS = """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.control.groupedLayers(
    {
    {%- for label, layer in this.base_layers %}
        {{ label|tojson }}: {{ layer.get_name() }},
    {%- endfor %}
    },
    {
    {%- for group, entries in this.groups %}
        {{ group|tojson }}: {
        {%- for short, layer in entries %}
            {{ short|tojson }}: {{ layer.get_name() }},
        {%- endfor %}
        },
    {%- endfor %}
    },
    {{ this.options }}
).addTo({{ this._parent.get_name() }});
(function (control, map) {
    // Every overlay by its full name; the legend's data-layers refer to these names.
    var named = {
    {%- for full, layer in this.named %}
        {{ full|tojson }}: {{ layer.get_name() }},
    {%- endfor %}
    };
    var watched = {};
    Object.keys(named).forEach(function (n) { watched[L.stamp(named[n])] = true; });
    control.circle15Layers = named;
    function sync() {
        // A heading's box is ticked when all of its layers are on. Not while the control is
        // handling a click on a heading: it reads that box as it goes through the layers.
        var groups = control._handlingClick ? [] :
            control.getContainer().querySelectorAll(".leaflet-control-layers-group");
        Array.prototype.forEach.call(groups, function (g) {
            var box = g.querySelector("input.leaflet-control-layers-group-selector");
            var boxes = g.querySelectorAll("input.leaflet-control-layers-selector");
            if (box) {
                box.checked = boxes.length > 0 && Array.prototype.every.call(
                    boxes, function (b) { return b.checked; });
            }
        });
        var sections = document.querySelectorAll("[data-layers]");
        Array.prototype.forEach.call(sections, function (el) {
            var names = JSON.parse(el.getAttribute("data-layers"));
            el.hidden = !names.some(function (n) { return named[n] && map.hasLayer(named[n]); });
        });
    }
    // Layers inside a group fire layeradd too (thousands of cells): react to ours only.
    map.on("layeradd layerremove", function (e) {
        if (watched[L.stamp(e.layer)]) { sync(); }
    });
    // After the control has handled a click (its handler is on the box itself).
    L.DomEvent.on(control.getContainer(), "click", sync);
    sync();
})({{ this.get_name() }}, {{ this._parent.get_name() }});
{% endmacro %}
"""


_Assets = list[tuple[str, str]]  # (name, CDN URL) pairs folium links to

class CategoryLayerControl(JSCSSMixin, MacroElement):
    """Grouped layer control; add it to the map after the layers it lists.

    Parameters
    ----------
    base_layers : list of (str, folium.Layer)
        Radio-button layers (basemaps), in order; may be empty.
    groups : list of (str, list of (str, folium.Layer))
        Group heading and its layers with their short names, in order. A layer's full name
        (:func:`full_layer_name`) is what the legend's ``data-layers`` refer to.
    collapsed : bool, default False
        Whether the control starts folded into an icon.
    """

    _template = Template(_CONTROL_JS)
    default_js: ClassVar[_Assets] = [("leaflet.groupedlayercontrol", GROUPED_LAYERS_JS)]
    default_css: ClassVar[_Assets] = [("leaflet.groupedlayercontrol.css", GROUPED_LAYERS_CSS)]

    def __init__(self, base_layers: list[tuple[str, folium.Layer]],
                 groups: list[tuple[str, list[tuple[str, folium.Layer]]]],
                 *, collapsed: bool = False) -> None:
        super().__init__()
        self._name = "Circle15LayerControl"
        self.base_layers = base_layers
        self.groups = [(g, entries) for g, entries in groups if entries]
        self.named = [(full_layer_name(g, short), layer)
                      for g, entries in self.groups for short, layer in entries]
        self.options = json.dumps({"collapsed": collapsed, "groupCheckboxes": True,
                                   "position": "topright"})
        for _, layer in base_layers:
            layer.control = False
        for _, entries in self.groups:
            for _, layer in entries:
                layer.control = False

    def full_names(self) -> dict[str, folium.Layer]:
        """Every overlay by its full name."""
        return dict(self.named)
