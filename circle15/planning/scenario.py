"""Scenario files: a plan's new (moved, closed) facilities per category, applied as a what-if.

A scenario is one TOML file::

    [scenario]
    name = "workplan_2024"
    title = "2024 work plan: new canteens and childcare centres"
    source = "2024年镇海区公共服务“七优享”工程工作要点 (区发改局, 2024-06-18)"
    synthetic = false          # true: the locations are made up (say so in `notice`)
    notice = ""
    crs = "EPSG:4326"          # of the coordinates below; default WGS84 lon/lat

    [[add]]
    category = "elderly_canteen"
    id = "WP-EC01"             # optional; default new-<category>-NN
    name = "蛟川街道标准化老年食堂"
    lon = 121.61               # or x/y in a projected crs
    lat = 29.95
    capacity = 80              # optional
    note = "标准化老年食堂 standard elderly canteen"   # optional, kept in provenance

    [[remove]]
    category = "childcare"
    id = "CC003"

    [[move]]
    category = "kindergarten"
    id = "KG010"
    lon = 121.60
    lat = 29.96

``circle15 run CONFIG --scenario FILE`` writes the outputs with the scenario applied and
``scenario_gain.csv`` (coverage before and after per sub-district and category).
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..analysis.delta import describe_delta
from ..analysis.targets import (
    describe_targets,
    evaluate_targets,
    merge_targets,
    target_parameters,
    targets_from_parameters,
)
from ..config import MAX_AMOUNT, PathComponent, read_toml
from ..errors import ConfigError, InputError
from ..outputs.spreadsheet import write_csv
from ..targets import CategoryTargets, resolve_targets
from .edits import Edit
from .site_input import site_frame

if TYPE_CHECKING:
    from ..result import CoverageResult


class _Entry(BaseModel):
    # NaN, ±inf and overflowing numbers (1e309) are refused in every field.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class _Located(_Entry):
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    """Longitude of the site, in the `[scenario] crs` (WGS84 by default); give `lon` and `lat`, or
    `x` and `y`.
    """
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    """Latitude of the site (with `lon`)."""
    x: Annotated[float, Field(ge=-1e8, le=1e8)] | None = None
    """Easting of the site, metres, when `[scenario] crs` is projected (with `y`)."""
    y: Annotated[float, Field(ge=-1e8, le=1e8)] | None = None
    """Northing of the site, metres (with `x`)."""

    @model_validator(mode="after")
    def _one_position(self) -> _Located:
        lonlat = self.lon is not None and self.lat is not None
        xy = self.x is not None and self.y is not None
        if lonlat == xy:
            raise ValueError("give the position as lon and lat, or as x and y (not both)")
        return self

    def position(self) -> tuple[float, float]:
        """The coordinates as written."""
        return (self.lon, self.lat) if self.lon is not None else (self.x, self.y)


class AddEntry(_Located):
    """``[[add]]``: a new facility."""

    category: str
    """Required. The category of the new facility (a `[facilities.<key>]` of the study)."""
    id: str | None = None
    """Facility id; default `new-<category>-NN`."""
    name: str | None = None
    """Facility name, shown on the map and in the tables."""
    capacity: Annotated[float, Field(ge=0, le=MAX_AMOUNT)] | None = None
    """Capacity (places, seats, m²), used by supply and the index; blank is unknown."""
    note: str = ""
    """A note kept in the facility's provenance (e.g. what kind of facility the plan names)."""


class RemoveEntry(_Entry):
    """``[[remove]]``: a facility that closes."""

    category: str
    """Required. The category of the facility that closes."""
    id: str
    """Required. Its id in the study's facility table; residents fall back to the next-nearest
    facility.
    """


class MoveEntry(_Located):
    """``[[move]]``: a facility that moves (keeps its id, name and capacity)."""

    category: str
    """Required. The category of the facility that moves."""
    id: str
    """Required. Its id in the study's facility table; it keeps its id, name and capacity."""


class ScenarioHeader(_Entry):
    """``[scenario]``: what the scenario is and where its figures come from."""

    name: PathComponent
    """Required. The scenario's key: the outputs go to `out/<study>_<name>/`. One plain folder name,
    as `[study] name`.
    """
    title: str = ""
    """Title shown on the maps and the report."""
    source: str = ""
    """Where the plan's figures come from (a document, a date)."""
    synthetic: bool = False
    """`true` when the sites are made up: puts the synthetic banner on the maps."""
    notice: str = ""
    """The synthetic banner's text; a synthetic scenario always gets one."""
    crs: str = "EPSG:4326"
    """Coordinate system of the sites' coordinates: `"EPSG:4326"` (WGS84 lon/lat), `"GCJ-02"` for
    points picked on Amap, `"BD-09"` on Baidu, or a projected EPSG code for `x`/`y`. Undeclared
    WGS84 sites are checked against the streets for a GCJ-02/BD-09 shift.
    """


class Scenario(_Entry):
    """A whole scenario file."""

    scenario: ScenarioHeader
    """Required. What the scenario is and where its figures come from."""
    add: list[AddEntry] = []
    """New facilities, one `[[add]]` table each."""
    remove: list[RemoveEntry] = []
    """Facilities that close, one `[[remove]]` table each."""
    move: list[MoveEntry] = []
    """Facilities that move, one `[[move]]` table each."""
    targets: dict[str, CategoryTargets] = {}
    """The plan's targets (`[targets]`, as in a study file), measured against the baseline
    when the scenario is applied."""

    @model_validator(mode="after")
    def _something(self) -> Scenario:
        if not (self.add or self.remove or self.move):
            raise ValueError("list at least one [[add]], [[remove]] or [[move]] entry")
        return self

    def categories(self) -> list[str]:
        """Categories the scenario changes, in file order."""
        keys = [e.category for e in (*self.add, *self.remove, *self.move)]
        return list(dict.fromkeys(keys))


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        The scenario TOML file (see the scenario file reference in the docs).

    Returns
    -------
    Scenario
        The validated scenario: ``scenario`` (the header), ``add``, ``remove``, ``move``.

    Raises
    ------
    ConfigError
        Naming the file and the entry, e.g. ``plan.toml: add[3].lat: required``.
    """
    path = Path(path)
    raw = read_toml(path, "scenario")
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_explain(path, exc)) from None


def parse_scenario(text: str, where: str = "scenario") -> Scenario:
    """Validate a scenario given as TOML text (an upload); errors name ``where``.

    Raises
    ------
    ConfigError
        As :func:`load_scenario` does, e.g. ``plan.toml: add[3].lat: required``.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML ({exc})") from None
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_explain(Path(where), exc)) from None


def _explain(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = []
        for part in err["loc"]:
            if isinstance(part, int) and loc:
                loc[-1] += f"[{part}]"
            else:
                loc.append(str(part))
        field = ".".join(loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{field}: unknown field; check its spelling")
        elif err["type"] == "missing":
            lines.append(f"{field}: required field is missing")
        else:
            lines.append(f"{field}: {err['msg'].removeprefix('Value error, ')}")
    return f"{path}: " + "; ".join(lines)


def scenario_edits(
    result: CoverageResult, scenario: Scenario, where: str = "scenario"
) -> list[Edit]:
    """The scenario as what-if steps on ``result``: one :class:`Edit` per category (all of a
    category's edits at once), in the order the file first names each category.

    Raises
    ------
    InputError
        Naming the entry: an unknown category, a bad coordinate system.
    """

    head = scenario.scenario
    crs = head.crs
    from ..sources.chinese_crs import parse_crs

    try:
        parse_crs(crs, f"{where}: scenario.crs")
    except InputError as exc:
        raise InputError(str(exc)) from None
    label = f"scenario {head.name}" + (" (synthetic location)" if head.synthetic else "")
    adds: dict[str, list[tuple[int, AddEntry]]] = defaultdict(list)
    for i, e in enumerate(scenario.add):
        adds[e.category].append((i, e))
    for kind, entries in (
        ("add", scenario.add),
        ("remove", scenario.remove),
        ("move", scenario.move),
    ):
        for i, e in enumerate(entries):
            if e.category not in result.categories:
                raise InputError(
                    f"{where}: {kind}[{i}].category: unknown category "
                    f"{e.category!r}; this study has "
                    f"{', '.join(result.categories)}"
                )
    edits = []
    for key in scenario.categories():
        entries = [e for _, e in adds.get(key, [])]
        frame = None
        if entries:
            try:
                frame = site_frame(
                    [e.position() for e in entries],
                    result.cells.crs,
                    crs=crs,
                    ids=[e.id for e in entries],
                    names=[e.name for e in entries],
                    capacity=[
                        e.capacity if e.capacity is not None else float("nan") for e in entries
                    ],
                )
            except InputError as exc:
                rows = ", ".join(f"add[{i}]" for i, _ in adds[key])
                raise InputError(f"{where}: {rows} (category {key}): {exc}") from None
            frame["provenance"] = [f"{label}: {e.note}" if e.note else label for e in entries]
        moves = [e for e in scenario.move if e.category == key]
        move = {}
        if moves:
            try:
                points = site_frame([e.position() for e in moves], result.cells.crs, crs=crs)
            except InputError as exc:
                raise InputError(f"{where}: [[move]] entries of {key}: {exc}") from None
            move = dict(zip([e.id for e in moves], points.geometry, strict=True))
        edits.append(
            Edit(
                key,
                add=frame,
                remove=tuple(e.id for e in scenario.remove if e.category == key),
                move=move,
            )
        )
    return edits


def apply_scenario(
    result: CoverageResult, scenario: Scenario, where: str = "scenario"
) -> CoverageResult:
    """The result with the scenario's facilities added, moved and removed.

    One what-if step per category (all of a category's edits at once; see
    :func:`scenario_edits`).

    Parameters
    ----------
    result : CoverageResult
        A result of ``Study.run()`` (it carries the engine session).
    scenario : Scenario
        From :func:`load_scenario`.
    where : str, default "scenario"
        Names the scenario in error messages (its file).

    Returns
    -------
    CoverageResult
        A new result with the scenario applied, ``parameters["scenario"]`` describing it
        and, for a synthetic scenario, the synthetic banner and notice.

    Raises
    ------
    InputError
        Naming the entry: an unknown category or facility id, a site far from every street.
    """
    head = scenario.scenario
    after = result
    for edit in scenario_edits(result, scenario, where):
        try:
            after = edit.apply(after)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
    parameters = {
        **after.parameters,
        "scenario": {
            "name": head.name,
            "title": head.title,
            "source": head.source,
            "synthetic": head.synthetic,
            "added": len(scenario.add),
            "removed": len(scenario.remove),
            "moved": len(scenario.move),
        },
    }
    synthetic, notice = after.synthetic, after.notice
    if head.synthetic:
        synthetic = True
        told = head.notice or (
            f"the sites of scenario {head.name} are synthetic (made-up locations), not planned ones"
        )
        notice = f"{notice} {told}".strip()
    try:
        plan = resolve_targets(scenario.targets, list(result.categories), where)
    except ConfigError as exc:
        raise InputError(str(exc)) from None
    targets = merge_targets(targets_from_parameters(result.parameters), plan)
    parameters["targets"] = target_parameters(targets)
    # A new record: the result passed in stays as it was, even when nothing was edited.
    out = dataclasses.replace(after, parameters=parameters, synthetic=synthetic, notice=notice)
    # against the baseline: the plan's new facilities and capacity count too
    out.targets = evaluate_targets(targets, out, before=result) if targets else None
    return out


def scenario_crs_notes(result: CoverageResult, scenario: Scenario, where: str) -> list[str]:
    """Check the coordinate system of the scenario's new sites against the streets.

    A declared ``[scenario] crs`` is used as it is; undeclared coordinates (WGS84 by
    default) that are conclusively GCJ-02/BD-09 stop with the key to set, and too few
    sites to tell give a note saying so.
    """
    from ..checks import point_crs_messages

    head = scenario.scenario
    lonlat = [e for e in scenario.add if e.lon is not None]
    state = result.session.state if result.session is not None else None
    if not lonlat or state is None:
        return []
    declared = head.crs if "crs" in head.model_fields_set else None
    points = site_frame(
        [e.position() for e in lonlat], result.cells.crs, crs=head.crs
    ).geometry.to_numpy()
    return point_crs_messages(
        points,
        result.cells.crs,
        state.edge_index.tree,
        declared,
        f"scenario {where}",
        lambda system: f'crs = "{system}" under [scenario]',
        things="new sites",
    )


def scenario_gain(
    before: CoverageResult, after: CoverageResult, scenario: Scenario
) -> pd.DataFrame:
    """Coverage before and after, per sub-district, for the categories the scenario changes."""
    return after.compare(before, scenario.categories())


def write_scenario_gain(gain: pd.DataFrame, path: Path) -> Path:
    """Write ``scenario_gain.csv`` (UTF-8 with BOM for Excel), rounded like districts.csv."""
    table = gain.copy()
    for col in table.columns:
        if col in ("coverage_before", "coverage_after", "coverage_change"):
            table[col] = table[col].round(4)
        elif table[col].dtype.kind == "f":
            table[col] = table[col].round(2)
    return write_csv(table, path)  # no cell can run as a formula in Excel


def run_scenario(
    result: CoverageResult, path: str | Path
) -> tuple[CoverageResult, pd.DataFrame, list[str]]:
    """Load a scenario file and apply it, as ``circle15 run --scenario`` does.

    Parameters
    ----------
    result : CoverageResult
        A result of ``Study.run()``.
    path : str or Path
        The scenario file.

    Returns
    -------
    after : CoverageResult
        The result with the scenario applied.
    gain : DataFrame
        ``scenario_gain.csv``: per sub-district and changed category, coverage before and
        after, gained, lost, mean time and gap area.
    lines : list of str
        The summary the command prints: the scenario, the gain per category, warnings.
    """
    path = Path(path)
    scenario = load_scenario(path)
    notes = scenario_crs_notes(result, scenario, str(path))
    after = apply_scenario(result, scenario, where=str(path))
    gain = scenario_gain(result, after, scenario)
    head = scenario.scenario
    lines = [
        f"scenario {head.name}: {head.title or path.name} — {len(scenario.add)} added, "
        f"{len(scenario.move)} moved, {len(scenario.remove)} removed"
        + (" (synthetic locations)" if head.synthetic else "")
    ]
    lines += ["  " + line for line in describe_delta(gain, result.categories)]
    if after.targets is not None:
        lines += ["  " + line for line in describe_targets(after.targets)]
    lines += [f"  warning: {note}" for note in notes]
    if notes:
        after.diagnostics = {
            **after.diagnostics,
            "warnings": [*after.diagnostics.get("warnings", []), *notes],
        }
    return after, gain, lines
