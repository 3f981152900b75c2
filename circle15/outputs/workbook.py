"""``results.xlsx``: the run's tables for planners who work in Excel.

Sheets: ``about`` (what the workbook is, synthetic-data notice, run date), ``districts``
(as ``districts.csv``), ``gaps`` (ranked, with the walking distance to the nearest facility
and a point inside each gap), ``facilities`` (with who each one serves), ``parameters``
(standards with their sources and "unverified" flags, and the analysis settings). Header
rows are frozen and filtered; shares are formatted as percentages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .. import __version__
from ..analysis.service_areas import facility_reach
from ._html import column
from .atomic import atomic_path
from .reproducible import normalise_xlsx
from .tables import districts_frame

if TYPE_CHECKING:
    from ..result import CoverageResult

__all__ = ["SHEETS", "facilities_sheet", "gaps_sheet", "parameters_sheet", "write_workbook"]

#: Sheet names, in workbook order.
SHEETS = ("about", "districts", "gaps", "facilities", "parameters")
WGS84 = "EPSG:4326"
_HEADER_FILL = PatternFill("solid", fgColor="DDE3EA")
_MAX_WIDTH = 48


def _lonlat(frame: gpd.GeoDataFrame, *, inside: bool) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude (WGS84, 6 decimals) of a point of each geometry."""
    geoms = frame.geometry
    if inside:  # a point guaranteed inside the polygon (a centroid may fall outside)
        geoms = geoms.representative_point()
    points = gpd.GeoSeries(geoms, crs=frame.crs).to_crs(WGS84)
    return np.round(points.x.to_numpy(), 6), np.round(points.y.to_numpy(), 6)


def gaps_sheet(result: CoverageResult) -> pd.DataFrame:
    """Gaps ranked by cohort population within each category, with distance and location.

    ``nearest_m`` is the walking distance from the gap's closest cell to its nearest
    facility: ``nearest_min`` at the category's walking speed (snap legs included).
    """
    gaps = result.gaps
    if gaps is None or gaps.empty:
        return pd.DataFrame(columns=["category", "category_zh", "gap_id", "rank"])
    table = pd.DataFrame(gaps.drop(columns=gaps.geometry.name))
    speed = table["category"].map({k: c.metres_per_minute for k, c in result.categories.items()})
    table["nearest_m"] = (pd.to_numeric(table["nearest_min"], errors="coerce") * speed).round(0)
    table.insert(1, "category_zh", table["category"].map(
        {k: c.name_zh for k, c in result.categories.items()}))
    table["lon"], table["lat"] = _lonlat(gaps, inside=True)
    order = {k: i for i, k in enumerate(result.categories)}
    table = table.assign(_order=table["category"].map(order)).sort_values(
        ["_order", "rank"], kind="stable").drop(columns="_order")
    for col in table.columns:
        if table[col].dtype.kind == "f" and col not in ("lon", "lat"):
            table[col] = table[col].round(2 if col != "area_km2" else 4)
    return table.reset_index(drop=True)


def facilities_sheet(result: CoverageResult) -> pd.DataFrame:
    """Facilities with location and who each serves (see ``analysis.service_areas``)."""
    fac = result.facilities
    if fac is None or fac.empty:
        return pd.DataFrame(columns=["category", "facility_id", "name"])
    table = pd.DataFrame(fac.drop(columns=fac.geometry.name))
    table.insert(1, "category_zh", table["category"].map(
        {k: c.name_zh for k, c in result.categories.items()}))
    table["lon"], table["lat"] = _lonlat(fac, inside=False)
    reach_parts = []
    cells = result.cells
    for key, cat in result.categories.items():
        if cells is None or f"nearest_{key}" not in cells:
            continue
        r = facility_reach(cells, cat).rename_axis("_fid").reset_index()
        r.insert(0, "category", key)
        reach_parts.append(r)
    if reach_parts:
        reach = pd.concat(reach_parts, ignore_index=True).rename(
            columns={"mean_min": "served_mean_min"})
        table["_fid"] = table["facility_id"].astype(str)
        table = table.merge(reach, how="left", on=["category", "_fid"]).drop(columns="_fid")
        for col in ("served_population", "served_cells", "nearest_population"):
            table[col] = table[col].fillna(0.0)
        capacity = pd.to_numeric(column(table, "capacity"), errors="coerce")
        table["served_per_capacity"] = table["served_population"] / capacity.where(capacity > 0)
        table["capacity_unit"] = table["category"].map(
            {k: c.capacity_unit for k, c in result.categories.items()})
    for col in table.columns:
        if table[col].dtype.kind == "f" and col not in ("lon", "lat"):
            table[col] = table[col].round(2)
    return table


def parameters_sheet(result: CoverageResult) -> pd.DataFrame:
    """One row per (category, parameter): value, source and whether it is unverified."""
    rows = []
    for key, cat in result.categories.items():
        values = {
            "age_min": cat.age_min, "age_max": cat.age_max, "cohort": cat.cohort_label,
            "tiers_min": ", ".join(f"{t:g}" for t in cat.tiers_min),
            "target_min": cat.target_min, "speed_kmh": cat.speed_kmh,
            "capacity_unit": cat.capacity_unit,
            "life_circle_min": cat.life_circle_min,
            "life_circle_radius_m": cat.life_circle_radius_m,
        }
        for name, value in values.items():
            rows.append({"category": key, "category_label": cat.label, "parameter": name,
                         "value": value, "source": cat.sources.get(name, ""),
                         "unverified": "yes" if name in cat.unverified else ""})
        for name in sorted(set(cat.sources) - set(values)):
            rows.append({"category": key, "category_label": cat.label, "parameter": name,
                         "value": "", "source": cat.sources[name],
                         "unverified": "yes" if name in cat.unverified else ""})
    for name, value in (result.parameters or {}).items():
        if name != "categories":
            rows.append({"category": "(analysis)", "category_label": "", "parameter": name,
                         "value": value, "source": "study configuration", "unverified": ""})
    frame = pd.DataFrame(rows)
    frame["value"] = frame["value"].map(lambda v: "" if v is None else v).astype(str)
    return frame


def _about(result: CoverageResult, started: datetime) -> pd.DataFrame:
    lines = [
        ("title", result.title),
        ("study", result.name),
        ("run date (UTC)", started.astimezone(UTC).strftime("%Y-%m-%d %H:%M")),
        ("generated by", f"circle15 {__version__}"),
        ("synthetic data", f"YES — {result.notice}" if result.synthetic else "no"),
        ("districts", "one row per (sub-district, category) plus ALL rows for the whole area; "
                      "population = the category's target cohort; coverage = covered / "
                      "population within target_min; mean_min and p90_min over residents "
                      "who can reach a facility"),
        ("gaps", "populated areas beyond the target time, merged where they touch, ranked by "
                 "cohort population; nearest_min / nearest_m from the gap's closest cell; "
                 "lon/lat: a point inside the gap"),
        ("facilities", "every facility; served_population = cohort whose nearest facility it "
                       "is within the target time; nearest_population = at any time; "
                       "served_per_capacity = served_population / capacity"),
        ("parameters", "standards per category with their sources; unverified = could not be "
                       "checked against the official text"),
        ("geometry", "results.gpkg in the same folder has the cells, gap polygons, "
                     "sub-districts and facilities"),
    ]
    return pd.DataFrame(lines, columns=["item", "value"])


def _format(ws: Worksheet, frame: pd.DataFrame) -> None:
    """Bold frozen header with a filter, column widths, percentages for shares."""
    ws.freeze_panes = "A2"
    if ws.max_row > 1:
        ws.auto_filter.ref = ws.dimensions
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, name in enumerate(frame.columns, start=1):
        letter = get_column_letter(i)
        values = frame[name].astype(str).str.len()
        longest = int(values.fillna(0).max()) if len(values) else 0  # NA (all-blank) -> 0
        width = min(_MAX_WIDTH, max(len(str(name)), longest) + 2)
        ws.column_dimensions[letter].width = max(width, 8)
        fmt = None
        if name == "coverage" or name.endswith("_share"):
            fmt = "0.0%"
        elif name.startswith("pop") or name.endswith("population"):
            fmt = "#,##0.0"
        if fmt:
            for cell in ws[letter][1:]:
                cell.number_format = fmt


def write_workbook(result: CoverageResult, path: Path | str, *,
                   started: datetime | None = None) -> Path:
    """Write ``results.xlsx`` atomically and return its path.

    Parameters
    ----------
    result : CoverageResult
        The run.
    path : Path or str
        Where to write the workbook.
    started : datetime, optional
        When the run started (default: now), written on the ``about`` sheet.
    """
    started = started or datetime.now(UTC)
    sheets = {
        "about": _about(result, started),
        "districts": districts_frame(result),
        "gaps": gaps_sheet(result),
        "facilities": facilities_sheet(result),
        "parameters": parameters_sheet(result),
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name in SHEETS:
                frame = sheets[name]
                frame.to_excel(writer, sheet_name=name, index=False)
                _format(writer.sheets[name], frame)
            writer.sheets["about"].column_dimensions["B"].width = 100
            for row in writer.sheets["about"].iter_rows(min_row=2, min_col=2, max_col=2):
                row[0].alignment = Alignment(wrap_text=True, vertical="top")
        normalise_xlsx(tmp, started)  # the run date, not the second of writing, inside
    return path
