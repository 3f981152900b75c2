"""Folium elements of circle15 maps, each rendered from a package template.

branca's ``MacroElement`` wraps every rendered macro in ``Element(text)``, and ``Element``
compiles its text as a Jinja template again when the page is rendered: data reading
``{{ 7*7 }}`` would come out as ``49`` (and worse expressions would run in Python). The
elements here insert their rendered text as is (:class:`Raw`), so names from input files
reach the page only through autoescaping templates and :func:`script_json`.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, ClassVar

import folium
from branca.element import Element, Figure, MacroElement
from folium.elements import ElementAddToElement, JSCSSMixin
from jinja2 import Template
from markupsafe import Markup

from ...errors import OfflineAssetError
from ..templating import environment, package_text, render

__all__ = [
    "Circle15Element",
    "DataLayer",
    "FitBounds",
    "LayerControl",
    "Legend",
    "PageFrame",
    "Raw",
    "Runtime",
    "Shared",
    "stable_ids",
]

PACKAGE = "circle15.outputs.webmap"
MARKERCLUSTER_JS = (
    "https://cdn.jsdelivr.net/npm/leaflet.markercluster@1.5.3/dist/leaflet.markercluster.js"
)
MARKERCLUSTER_CSS = (
    "https://cdn.jsdelivr.net/npm/leaflet.markercluster@1.5.3/dist/MarkerCluster.css"
)
#: The runtime's scripts (``static/``), in the order they run.
RUNTIME_JS = ("c15-base.js", "c15-cells.js", "c15-layers.js")
#: Layer factories of the runtime (``L.Circle15.<factory>``) a DataLayer may call.
FACTORIES = frozenset({"walking", "serviceAreas", "vectors", "facilities", "badges"})


class Raw(Element):
    """Text already rendered: added to a page section as is, never parsed as a template."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Raw"
        self.text = str(text)

    def render(self, **kwargs: Any) -> str:
        """The text."""
        return self.text


class Circle15Element(MacroElement):
    """A MacroElement whose ``header``, ``html`` and ``script`` macros come from a package
    template (autoescaped) and are inserted into the page as rendered."""

    template_name: ClassVar[str] = ""

    @property
    def _template(self) -> Template:  # type: ignore[override]
        return environment(PACKAGE).get_template(self.template_name)

    def render(self, **kwargs: Any) -> None:
        """Insert the rendered macros into the figure's sections, then render children."""
        figure = self.get_root()
        assert isinstance(figure, Figure), "a circle15 element must be rendered in a Figure"
        module = self._template.module
        for part, section in (
            ("header", figure.header),
            ("html", figure.html),
            ("script", figure.script),
        ):
            macro = getattr(module, part, None)
            if macro is not None:
                section.add_child(Raw(macro(self, kwargs)), name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)


@cache
def _asset(name: str) -> Markup:
    """A runtime file, checked not to end its ``<script>``/``<style>`` element early."""
    text = package_text(PACKAGE, f"static/{name}")
    if re.search(r"</(script|style)|<!--", text, re.IGNORECASE):
        raise OfflineAssetError(
            f"webmap/static/{name} contains '</script', '</style' or "
            "'<!--' and cannot be written inline"
        )
    return Markup(text)


class Runtime(JSCSSMixin, Circle15Element):
    """circle15's map runtime and stylesheet (inline), after Leaflet and markercluster."""

    template_name = "runtime.html"
    default_js: ClassVar[list[tuple[str, str]]] = [("leaflet.markercluster", MARKERCLUSTER_JS)]
    default_css: ClassVar[list[tuple[str, str]]] = [
        ("leaflet.markercluster.css", MARKERCLUSTER_CSS)
    ]

    def __init__(self) -> None:
        super().__init__()
        self._name = "Circle15Runtime"
        self.js = Markup("\n").join(_asset(name) for name in RUNTIME_JS)
        self.css = _asset("circle15-map.css")


class PageFrame(Circle15Element):
    """Title bar and synthetic-data banner, first in the page body."""

    def __init__(self, title: str, banner: str | None) -> None:
        super().__init__()
        self._name = "Circle15Frame"
        self.title = title
        self.banner = banner

    def render(self, **kwargs: Any) -> None:
        """Put the header first in the page body."""
        figure = self.get_root()
        assert isinstance(figure, Figure), "the map frame must be rendered inside a Figure"
        page = render(PACKAGE, "frame.html", title=self.title, banner=self.banner)
        figure.html.add_child(Raw(page), name=self.get_name(), index=0)


class Shared(Circle15Element):
    """Data several layers refer to (``var name = data``, or ``new L.Circle15.Cells(data)``)."""

    template_name = "shared.js"

    def __init__(self, data: Any, factory: str | None = None) -> None:
        super().__init__()
        if factory not in (None, "Cells"):
            raise ValueError(f"unknown shared-data factory {factory!r}")
        self._name = "Circle15Data"
        self.data = data
        self.factory = factory


class DataLayer(Circle15Element, folium.map.Layer):
    """A layer the runtime draws from its data (``L.Circle15.<factory>(data, *refs)``).

    Parameters
    ----------
    factory : str
        One of :data:`FACTORIES`.
    data : dict
        JSON-ready data (see :mod:`circle15.outputs.webmap.layers`).
    refs : list of Shared
        Shared data passed after ``data``, rendered before this layer.
    name, show, overlay
        As for ``folium.FeatureGroup``; the layer control lists it under ``name``.
    """

    template_name = "layer.js"

    def __init__(
        self,
        factory: str,
        data: dict[str, Any],
        *,
        refs: list[Shared] = (),
        name: str | None = None,
        show: bool = True,
        overlay: bool = True,
    ) -> None:
        if factory not in FACTORIES:
            raise ValueError(f"unknown layer factory {factory!r}")
        folium.map.Layer.__init__(self, name=name, overlay=overlay, control=False, show=show)
        self._name = "Circle15Layer"
        self.factory = factory
        self.data = data
        self.refs = list(refs)

    def render(self, **kwargs: Any) -> None:
        """Add the layer to the map when it is shown on opening, then write its script."""
        if self.show:
            add = ElementAddToElement(
                element_name=self.get_name(), element_parent_name=self._parent.get_name()
            )
            add._id = self._id  # the same name on every render: rendering twice adds it once
            self.add_child(add, name=self.get_name() + "_add")
        Circle15Element.render(self, **kwargs)


class LayerControl(Circle15Element):
    """Layer control with a heading and a group box per category (``L.Circle15.LayerControl``).

    Parameters
    ----------
    base_layers : list of (str, folium.Layer)
        Radio-button layers (basemaps), in order; may be empty.
    groups : list of (str, list of (str, folium.Layer))
        Group heading ("" for none) and its layers with their short names, in order. The
        legend refers to layers by their element names (``data-layers``).
    collapsed : bool, default False
        Whether the control starts folded into an icon.
    """

    template_name = "control.js"

    def __init__(
        self,
        base_layers: list[tuple[str, folium.map.Layer]],
        groups: list[tuple[str, list[tuple[str, folium.map.Layer]]]],
        *,
        collapsed: bool = False,
    ) -> None:
        super().__init__()
        self._name = "Circle15LayerControl"
        self.base_layers = base_layers
        self.groups = [(g, entries) for g, entries in groups if entries]
        self.options = {"collapsed": collapsed, "position": "topright"}
        for _, layer in base_layers:
            layer.control = False
        for _, entries in self.groups:
            for _, layer in entries:
                layer.control = False


class FitBounds(Circle15Element):
    """Open the map on ``[[south, west], [north, east]]`` without a zoom animation."""

    template_name = "fit.js"

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "Circle15FitBounds"
        self.bounds = bounds


class Legend(Circle15Element):
    """A legend (or note) box from ``templates/legend.html``, placed in a map control.

    ``sections`` are dicts with ``heading``, ``layers`` (the layers it explains, or None to
    show it always) and ``entries`` (dicts with ``text``, ``layers`` and a ``swatch``);
    ``paragraphs`` are lines of text after them.
    """

    template_name = "legend.html"

    def __init__(
        self,
        sections: list[dict[str, Any]],
        *,
        summary: str = "图例 Legend",
        paragraphs: list[str] = (),
        position: str = "bottomleft",
        css_class: str = "c15-legend",
    ) -> None:
        super().__init__()
        self._name = "Circle15Legend"
        self.sections = sections
        self.summary = summary
        self.paragraphs = list(paragraphs)
        self.position = position
        self.css_class = css_class


def stable_ids(root: Element) -> None:
    """Number the elements under ``root`` in order, so that two renders are byte-identical.

    branca names every element with 16 random bytes; the n-th element becomes ``n`` as 32
    hex digits, which keeps names unique within the page.
    """
    counter = 0

    def visit(element: Element) -> None:
        nonlocal counter
        element._id = f"{counter:032x}"
        counter += 1
        for child in element._children.values():
            visit(child)

    visit(root)
