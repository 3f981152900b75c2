"""Facility markers: clustered, one inline-SVG icon per category, popups saying who they serve.

Each marker's icon is inline SVG (templates/icons.html), so none needs image files or web
fonts; markers are grouped by leaflet.markercluster (vendored in ``circle15/_static``). The
popup gives the facility's name, id and capacity, who it serves, and the planner's own
columns (address, notes, type …) when the facility table carries them: text columns beyond
the ones circle15 knows, at most :data:`MAX_EXTRA_COLUMNS`, each value cut to
:data:`MAX_EXTRA_CHARS` characters. The runtime writes every value as text.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from markupsafe import Markup

from ...analysis.service_areas import facility_reach
from ...standards import Category
from ..templating import MISSING, environment
from .style import WGS84, column

__all__ = [
    "KNOWN_COLUMNS",
    "MAX_EXTRA_CHARS",
    "MAX_EXTRA_COLUMNS",
    "category_icon_svg",
    "extra_columns",
    "facility_layer_data",
    "facility_popup",
    "marker_html",
]

PACKAGE = "circle15.outputs.webmap"
#: Decimal places of marker coordinates (1e-6 degree is about 0.1 m).
DECIMALS = 6
#: Markers stop clustering from this zoom level on (individual buildings are legible).
UNCLUSTER_ZOOM = 16
#: Columns of ``CoverageResult.facilities`` that circle15 writes or shows itself.
KNOWN_COLUMNS = frozenset(
    {
        "category",
        "facility_id",
        "name",
        "capacity",
        "snapped",
        "snap_m",
        "provenance",
        "district",
        "capacity_per_resident",
        "served_population",
        "nearest_population",
        "served_per_capacity",
        "lon",
        "lat",
    }
)
#: At most this many of the planner's own columns are shown in a popup …
MAX_EXTRA_COLUMNS = 8
#: … each value cut to this many characters, each column name to MAX_LABEL_CHARS.
MAX_EXTRA_CHARS = 200
MAX_LABEL_CHARS = 40
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@cache
def _icons() -> Any:
    return environment(PACKAGE).get_template("icons.html").module


def category_icon_svg(key: str, size: int = 16) -> str:
    """Inline SVG of a category's glyph in ``currentColor`` (unknown keys get a dot)."""
    return str(_icons().svg(key, size))


def marker_html(key: str, colour: str, *, hollow: bool = False, size: int = 16) -> Markup:
    """The round icon of a facility: white glyph on the category colour (hollow: inverted)."""
    if not _HEX_COLOUR.match(colour):
        raise ValueError(f"marker colour must be #rrggbb, got {colour!r}")
    return Markup(_icons().marker(key, colour, hollow, size))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _num(value: float, spec: str) -> str:
    return MISSING if value is None or not np.isfinite(value) else format(value, spec)


def extra_columns(facilities: pd.DataFrame) -> list[str]:
    """The planner's own text columns (地址, 备注, 办园性质 …), in table order, capped."""
    out = []
    for name in facilities.columns:
        if name in KNOWN_COLUMNS or str(name).startswith("_") or name == facilities.geometry.name:
            continue
        col = facilities[name]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            out.append(name)
    return out[:MAX_EXTRA_COLUMNS]


def _text_or_none(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    return _clip(text, MAX_EXTRA_CHARS) if text else None


def facility_popup(
    facilities: gpd.GeoDataFrame,
    cells: pd.DataFrame,
    category: Category,
    reach: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Popup of each facility of ``category`` (same order), as labels and text values.

    The popup gives the name, id and capacity, and who the facility serves: the target
    cohort whose nearest facility it is within the target time, the cohort whose nearest
    facility it is at any walking time, the served residents per unit of capacity and
    their mean walking time; whether it is attached to a street; then the planner's own
    columns (:func:`extra_columns`), left out where a facility has no value. ``reach`` is
    :func:`~circle15.analysis.service_areas.facility_reach` of the cells when already known.
    """
    ids = facilities["facility_id"].astype(str)
    reach = facility_reach(cells, category) if reach is None else reach
    reach = reach.reindex(ids.to_numpy())
    served = reach["served_population"].fillna(0.0).to_numpy(dtype=float)
    nearest = reach["nearest_population"].fillna(0.0).to_numpy(dtype=float)
    mean = reach["mean_min"].to_numpy(dtype=float)
    capacity = pd.to_numeric(column(facilities, "capacity"), errors="coerce").to_numpy(float)
    snapped = column(facilities, "snapped", False).fillna(False).astype(bool).to_numpy()
    snap_m = pd.to_numeric(column(facilities, "snap_m"), errors="coerce").to_numpy(float)
    names = column(facilities, "name", None).to_numpy(dtype=object)
    unit = category.capacity_unit
    target = f"{category.target_min:g}"
    cohort = category.cohort_label
    extras = extra_columns(facilities)
    labels = [
        "编号 Id",
        "容量 Capacity",
        f"服务人口 Serves ({cohort}, nearest facility, ≤ {target} min)",
        f"最近设施人口 Nearest facility for ({cohort}, any time)",
        "每单位容量服务人口 Served per unit of capacity" + (f" ({unit})" if unit else ""),
        "服务人口平均步行 Mean walk of those served (min)",
        "路网 Street",
    ]
    labels += [_clip(str(name), MAX_LABEL_CHARS) for name in extras]
    extra_values = [
        [_text_or_none(v) for v in facilities[name].to_numpy(dtype=object)] for name in extras
    ]
    values, titles = [], []
    rows = zip(ids.to_numpy(), names, capacity, served, nearest, mean, snapped, snap_m, strict=True)
    for k, (fid, name, cap, srv, near, mmin, snap, leg) in enumerate(rows):
        per_unit = srv / cap if np.isfinite(cap) and cap > 0 else np.nan
        cap_text = _num(cap, ",.0f") + (f" {unit}" if unit and np.isfinite(cap) else "")
        street = (
            f"已接入路网 snapped to a street ({_num(leg, '.0f')} m)"
            if snap
            else f"未接入路网 not snapped: {_num(leg, '.0f')} m from the nearest street"
        )
        values.append(
            [
                fid,
                cap_text,
                _num(srv, ",.0f"),
                _num(near, ",.0f"),
                _num(per_unit, ",.1f"),
                _num(mmin, ".1f"),
                street,
                *(col[k] for col in extra_values),
            ]
        )
        titles.append(MISSING if name is None or pd.isna(name) else str(name))
    return {
        "titles": titles,
        "subtitle": category.label,
        "labels": labels,
        "values": values,
        "optional": 7,
    }


def facility_layer_data(
    facilities: gpd.GeoDataFrame,
    cells: pd.DataFrame,
    category: Category,
    colour: str,
    reach: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """What ``L.Circle15.facilities`` draws: positions, icons, snapped flags and popups.

    Non-point geometries are placed at a point inside them; facilities without a geometry
    are left off the map (they are still in the tables).
    """
    geoms = facilities.geometry
    points = geoms.where(geoms.geom_type == "Point", geoms.representative_point())
    points = gpd.GeoSeries(points, crs=facilities.crs).to_crs(WGS84)
    ok = (points.notna() & ~points.is_empty).to_numpy()
    popup = facility_popup(facilities, cells, category, reach)
    keep = np.flatnonzero(ok)
    popup["titles"] = [popup["titles"][k] for k in keep]
    popup["values"] = [popup["values"][k] for k in keep]
    return {
        "key": category.key,
        "colour": colour,
        "filled": str(marker_html(category.key, colour)),
        "hollow": str(marker_html(category.key, colour, hollow=True)),
        "lat": np.round(points.y.to_numpy()[ok], DECIMALS).tolist(),
        "lng": np.round(points.x.to_numpy()[ok], DECIMALS).tolist(),
        "snapped": column(facilities, "snapped", False)
        .fillna(False)
        .astype(bool)
        .to_numpy()[ok]
        .astype(int)
        .tolist(),
        "uncluster": UNCLUSTER_ZOOM,
        "popup": popup,
    }
