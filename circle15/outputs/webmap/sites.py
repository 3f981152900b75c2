"""The before/after map of chosen sites (``sites_map.html``).

The coverage map of the category after the new sites, plus the category's gaps before them
(dashed) and the new sites numbered by rank, with a note saying what they change.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import folium
import numpy as np

from .build import Overlay, compose
from .elements import DataLayer, Legend
from .encode import DECIMALS, to_wgs84
from .layers import fmt, texts, vector_data
from .legend import swatch

if TYPE_CHECKING:
    from ...planning.sites import SiteSelection
    from ...result import CoverageResult

__all__ = ["GAPS_BEFORE_NAME", "NEW_SITES_NAME", "sites_map"]

NEW_SITE_COLOUR = "#7b3294"
GAP_BEFORE_COLOUR = "#ff7f00"
NEW_SITES_NAME = "新址 New sites"
GAPS_BEFORE_NAME = "改前缺口 Gaps before"


def _focused(result: CoverageResult, category: str) -> CoverageResult:
    """The result narrowed to one category, so that its map opens on that category."""

    def rows(frame):
        if frame is None or "category" not in frame:
            return frame
        return frame[frame["category"] == category]

    return replace(
        result,
        categories={category: result.categories[category]},
        districts=rows(result.districts),
        gaps=rows(result.gaps),
        facilities=rows(result.facilities),
    )


def _gaps_before(selection: SiteSelection) -> DataLayer | None:
    cat = selection.before.categories[selection.category]
    before = selection.before.gaps
    if before is None or not len(before):
        return None
    before = to_wgs84(before[before["category"] == selection.category])
    if before.empty:
        return None
    text = [
        f"改前缺口 gap before #{r}: {p} {cat.cohort_label}, {a} km²"
        for r, p, a in zip(
            fmt(before["rank"], ".0f"),
            fmt(before["population"], ",.0f"),
            fmt(before["area_km2"], ".2f"),
            strict=True,
        )
    ]
    style = {"color": GAP_BEFORE_COLOUR, "weight": 2.5, "dashArray": "6 4", "fill": False}
    return DataLayer(
        "vectors",
        vector_data(
            before.geometry.to_numpy(),
            [style],
            tooltip={"labels": [""], "values": [[t] for t in text]},
        ),
        name=GAPS_BEFORE_NAME,
    )


def _new_sites(selection: SiteSelection) -> DataLayer:
    cat = selection.before.categories[selection.category]
    sites = selection.sites
    target = f"{cat.target_min:g}"
    text = [
        f"#{r} {n} ({d}): +{g} {cat.cohort_label} within {target} min → {c}"
        for r, n, d, g, c in zip(
            fmt(sites["rank"], ".0f"),
            texts(sites["name"]),
            texts(sites["district"]),
            fmt(sites["marginal_gain"], ",.0f"),
            fmt(sites["coverage_after"], ".1%"),
            strict=True,
        )
    ]
    return DataLayer(
        "badges",
        {
            "lat": np.round(sites["lat"].to_numpy(float), DECIMALS).tolist(),
            "lng": np.round(sites["lon"].to_numpy(float), DECIMALS).tolist(),
            "numbers": fmt(sites["rank"], ".0f"),
            "colour": NEW_SITE_COLOUR,
            "tooltip": {"labels": [""], "values": [[t] for t in text]},
        },
        name=NEW_SITES_NAME,
    )


def sites_map(
    selection: SiteSelection, *, tiles: str | None = "OpenStreetMap", attribution: str | None = None
) -> folium.Map:
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
    key = selection.category
    cat = selection.before.categories[key]
    extra = []
    gaps = _gaps_before(selection)
    if gaps is not None:
        extra.append(Overlay(GAPS_BEFORE_NAME, gaps))
    extra.append(Overlay(NEW_SITES_NAME, _new_sites(selection)))
    delta = selection.delta()
    whole = delta[delta["district"] == "ALL"].iloc[0]
    entries: list[dict[str, Any]] = [
        {
            "text": f"covered within {cat.target_min:g} min: {whole['coverage_before']:.1%} → "
            f"{whole['coverage_after']:.1%} (+{whole['gained']:,.0f} {cat.cohort_label})",
            "swatch": None,
            "layers": None,
        },
        {
            "text": "新址 New sites (rank)",
            "swatch": swatch(NEW_SITE_COLOUR, "#fff", "c15-dot"),
            "layers": None,
        },
        {
            "text": "改前缺口 gaps before",
            "swatch": swatch("#fff", GAP_BEFORE_COLOUR, "c15-dashed", "c15-thick"),
            "layers": None,
        },
        {"text": "cells and gaps shown are after the new sites", "swatch": None, "layers": None},
    ]
    note = Legend(
        [{"heading": None, "entries": entries, "layers": None}],
        summary=f"{cat.label}: {len(selection.sites)} new site(s)",
        position="bottomright",
        css_class="c15-note",
    )
    return compose(
        _focused(selection.after, key),
        tiles=tiles,
        attribution=attribution,
        extra=extra,
        notes=[note],
    )
