"""``results.xlsx``: the run's tables for planners who work in Excel.

Sheets: ``about`` (what the workbook is, synthetic-data notice, run date, the coordinate
system), ``districts`` (as ``districts.csv``), ``gaps`` (ranked, with the walking distance
to the nearest facility and a point inside each gap), for categories walked step-free
``barriers``, ``barrier_areas`` and ``barrier_steps`` (where steps cut people off; see
:mod:`circle15.outputs.barrier_tables`), ``facilities`` (with who each one
serves, then the planner's own columns), ``parameters`` (standards with their sources and
"unverified" flags, and the analysis settings). Header rows are frozen and filtered;
shares are formatted as percentages. Coordinates are in the study's ``[outputs] crs``
(WGS84 by default), in columns named after it (``lon_gcj02`` …). No cell is a formula.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .. import __version__
from ..analysis.service_areas import facility_reach
from ._html import column
from .barrier_tables import ABOUT as BARRIER_ABOUT
from .barrier_tables import barrier_areas_sheet, barrier_steps_sheet, barriers_frame, has_barriers
from .coordinates import OutputCRS, output_crs, point_coordinates
from .spreadsheet import write_xlsx
from .tables import districts_frame

if TYPE_CHECKING:
    from ..result import CoverageResult

__all__ = ["SHEETS", "facilities_sheet", "gaps_sheet", "parameters_sheet", "write_workbook"]

#: Sheet names, in workbook order.
SHEETS = ("about", "districts", "gaps", "facilities", "parameters")
#: Facility columns circle15 knows, in sheet order (coordinates after them); the
#: planner's own columns of the facility tables follow the computed ones.
FACILITY_COLUMNS = (
    "category",
    "category_zh",
    "facility_id",
    "name",
    "capacity",
    "capacity_unit",
    "district",
)
FACILITY_COMPUTED = (
    "provenance",
    "snapped",
    "snap_m",
    "capacity_per_resident",
    "served_population",
    "served_cells",
    "nearest_population",
    "served_mean_min",
    "served_per_capacity",
)


#: The workbook lists at most this many gaps of each category, the most populous (a city has
#: hundreds of thousands, mostly single cells, and a sheet holds 1,048,576 rows); every gap
#: is in gaps.csv and results.gpkg.
MAX_SHEET_GAPS = 5_000


def gaps_sheet(result: CoverageResult, coordinates: OutputCRS | None = None) -> pd.DataFrame:
    """Gaps ranked by cohort population within each category, with distance and location.

    ``nearest_m`` is the walking distance from the gap's closest cell to its nearest
    facility: ``nearest_min`` at the category's walking speed (snap legs included). The
    location is a point inside the gap, in ``coordinates`` (default: the study's
    ``[outputs] crs``, else WGS84), in the two columns named after that system.
    """
    out = coordinates or output_crs(result)
    gaps = result.gaps
    if gaps is None or gaps.empty:
        return pd.DataFrame(columns=["category", "category_zh", "gap_id", "rank", *out.columns])
    table = pd.DataFrame(gaps.drop(columns=gaps.geometry.name))
    speed = table["category"].map({k: c.metres_per_minute for k, c in result.categories.items()})
    table["nearest_m"] = (pd.to_numeric(table["nearest_min"], errors="coerce") * speed).round(0)
    table.insert(
        1,
        "category_zh",
        table["category"].map({k: c.name_zh for k, c in result.categories.items()}),
    )
    table[out.columns[0]], table[out.columns[1]] = point_coordinates(gaps, out, inside=True)
    order = {k: i for i, k in enumerate(result.categories)}
    table = (
        table.assign(_order=table["category"].map(order))
        .sort_values(["_order", "rank"], kind="stable")
        .drop(columns="_order")
    )
    for col in table.columns:
        if table[col].dtype.kind == "f" and col not in out.columns:
            table[col] = table[col].round(2 if col != "area_km2" else 4)
    return table.reset_index(drop=True)


def facilities_sheet(result: CoverageResult, coordinates: OutputCRS | None = None) -> pd.DataFrame:
    """Facilities with location and who each serves (see ``analysis.service_areas``).

    circle15's columns come first, then the planner's own columns of the facility tables
    (地址, 备注, 办园性质 …) as they were read. The location is in ``coordinates``
    (default: the study's ``[outputs] crs``, else WGS84).
    """
    out = coordinates or output_crs(result)
    fac = result.facilities
    if fac is None or fac.empty:
        return pd.DataFrame(columns=["category", "facility_id", "name", *out.columns])
    table = pd.DataFrame(fac.drop(columns=fac.geometry.name))
    own = [c for c in table.columns if c not in (*FACILITY_COLUMNS, *FACILITY_COMPUTED)]
    table.insert(
        1,
        "category_zh",
        table["category"].map({k: c.name_zh for k, c in result.categories.items()}),
    )
    table[out.columns[0]], table[out.columns[1]] = point_coordinates(fac, out)
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
            columns={"mean_min": "served_mean_min"}
        )
        table["_fid"] = table["facility_id"].astype(str)
        table = table.merge(reach, how="left", on=["category", "_fid"]).drop(columns="_fid")
        for col in ("served_population", "served_cells", "nearest_population"):
            table[col] = table[col].fillna(0.0)
        capacity = pd.to_numeric(column(table, "capacity"), errors="coerce")
        table["served_per_capacity"] = table["served_population"] / capacity.where(capacity > 0)
        table["capacity_unit"] = table["category"].map(
            {k: c.capacity_unit for k, c in result.categories.items()}
        )
    for col in table.columns:
        if table[col].dtype.kind == "f" and col not in out.columns and col not in own:
            table[col] = table[col].round(2)
    first = [c for c in (*FACILITY_COLUMNS, *out.columns, *FACILITY_COMPUTED) if c in table.columns]
    rest = [c for c in table.columns if c not in first]
    return table[first + [c for c in rest if c not in own] + [c for c in rest if c in own]]


def parameters_sheet(result: CoverageResult) -> pd.DataFrame:
    """One row per (category, parameter): value, source and whether it is unverified."""
    rows = []
    for key, cat in result.categories.items():
        values = {
            "age_min": cat.age_min,
            "age_max": cat.age_max,
            "cohort": cat.cohort_label,
            "tiers_min": ", ".join(f"{t:g}" for t in cat.tiers_min),
            "target_min": cat.target_min,
            "speed_kmh": cat.speed_kmh,
            "capacity_unit": cat.capacity_unit,
            "life_circle_min": cat.life_circle_min,
            "life_circle_radius_m": cat.life_circle_radius_m,
        }
        for name, value in values.items():
            rows.append(
                {
                    "category": key,
                    "category_label": cat.label,
                    "parameter": name,
                    "value": value,
                    "source": cat.sources.get(name, ""),
                    "unverified": "yes" if name in cat.unverified else "",
                }
            )
        for name in sorted(set(cat.sources) - set(values)):
            rows.append(
                {
                    "category": key,
                    "category_label": cat.label,
                    "parameter": name,
                    "value": "",
                    "source": cat.sources[name],
                    "unverified": "yes" if name in cat.unverified else "",
                }
            )
    for name, value in (result.parameters or {}).items():
        if name != "categories":
            rows.append(
                {
                    "category": "(analysis)",
                    "category_label": "",
                    "parameter": name,
                    "value": value,
                    "source": "study configuration",
                    "unverified": "",
                }
            )
    frame = pd.DataFrame(rows)
    frame["value"] = frame["value"].map(lambda v: "" if v is None else v).astype(str)
    return frame


def _about(
    result: CoverageResult,
    started: datetime,
    coordinates: OutputCRS,
    gaps_listed: tuple[int, int] = (0, 0),
) -> pd.DataFrame:
    x, y = coordinates.columns
    listed, total = gaps_listed
    where_all = (
        f"; the {MAX_SHEET_GAPS:,} most populous of each category are listed here ({listed:,} "
        f"of {total:,}): every gap is in gaps.csv and results.gpkg (layer gaps)"
        if listed < total
        else "; also in gaps.csv"
    )
    method = (result.diagnostics or {}).get("population_method")
    population = (method.get("text") if isinstance(method, dict) else method) or ""
    lines = [
        ("title", result.title),
        ("study", result.name),
        ("run date (UTC)", started.astimezone(UTC).strftime("%Y-%m-%d %H:%M")),
        ("generated by", f"circle15 {__version__}"),
        ("synthetic data", f"YES — {result.notice}" if result.synthetic else "no"),
        (
            "coordinates",
            f"{x}, {y}: {coordinates.description} (the study file's [outputs] "
            f'crs = "{coordinates.declared}"); results.gpkg keeps the study\'s '
            "own projected system",
        ),
        (
            "districts",
            "one row per (sub-district, category) plus ALL rows for the whole area; "
            "population = the category's target cohort; coverage = covered / "
            "population within target_min; mean_min and p90_min over residents "
            "who can reach a facility",
        ),
        (
            "gaps",
            "populated areas beyond the target time, merged where they touch, ranked by "
            "cohort population; nearest_min / nearest_m from the gap's closest cell; "
            f"{x}, {y}: a point inside the gap{where_all}",
        ),
        (
            "facilities",
            "every facility; served_population = cohort whose nearest facility it "
            "is within the target time; nearest_population = at any time; "
            f"served_per_capacity = served_population / capacity; {x}, {y}: "
            "where it is; the columns after served_per_capacity are the facility "
            "table's own",
        ),
        (
            "parameters",
            "standards per category with their sources; unverified = could not be "
            "checked against the official text",
        ),
        (
            "geometry",
            "results.gpkg in the same folder has the cells, gap polygons, "
            "sub-districts and facilities",
        ),
    ]
    if population:
        lines.insert(6, ("population", str(population)))
    if has_barriers(result):
        lines[-1:-1] = list(BARRIER_ABOUT.items())
    return pd.DataFrame(lines, columns=["item", "value"])


def write_workbook(
    result: CoverageResult,
    path: Path | str,
    *,
    started: datetime | None = None,
    gaps: pd.DataFrame | None = None,
) -> Path:
    """Write ``results.xlsx`` atomically and return its path.

    Parameters
    ----------
    result : CoverageResult
        The run.
    path : Path or str
        Where to write the workbook.
    started : datetime, optional
        When the run started (default: now), written on the ``about`` sheet.
    gaps : DataFrame, optional
        :func:`gaps_sheet` of ``result`` when the caller has it already (``gaps.csv``).
    """
    started = started or datetime.now(UTC)
    coordinates = output_crs(result)
    if gaps is None:
        gaps = gaps_sheet(result, coordinates)
    listed = gaps[gaps["rank"] <= MAX_SHEET_GAPS].reset_index(drop=True) if len(gaps) else gaps
    sheets = {
        "about": _about(result, started, coordinates, (len(listed), len(gaps))),
        "districts": districts_frame(result),
        "gaps": listed,
        "facilities": facilities_sheet(result, coordinates),
        "parameters": parameters_sheet(result),
    }

    order = list(SHEETS)
    if getattr(result, "targets", None) is not None:  # the study's targets, met or not
        sheets["targets"] = result.targets
        order.insert(order.index("parameters"), "targets")
    if has_barriers(result):  # where steps cut people off, after the gaps
        sheets["barriers"] = barriers_frame(result)
        sheets["barrier_areas"] = barrier_areas_sheet(result, coordinates)
        sheets["barrier_steps"] = barrier_steps_sheet(result, coordinates)
        order[order.index("gaps") + 1 : order.index("gaps") + 1] = [
            "barriers",
            "barrier_areas",
            "barrier_steps",
        ]
    # the run date, not the second of writing, inside: the same bytes for the same run
    return write_xlsx(
        {name: sheets[name] for name in order}, path, started=started, wrap={"about": {1: 100}}
    )
