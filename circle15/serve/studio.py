"""The state behind a studio page: a baseline run, its what-if session and its folders.

:class:`Studio` turns the page's requests into calls of the planning layer
(:class:`circle15.planning.WhatIfSession`, :func:`circle15.planning.select_sites`,
scenarios) and their results into payloads (:mod:`circle15.serve.payload`). It checks
what the planning layer cannot know about a web request (a site outside the study area,
an id that is not there, a folder name that would leave the output folder) and raises
:class:`circle15.errors.RequestError` with the HTTP status to answer. One lock guards the
engine's shared caches, so concurrent requests are answered one after the other.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from ..errors import InputError, RequestError
from ..planning.edits import Edit, category_facilities, compare
from ..planning.session import WhatIfSession, make_edit
from .payload import (
    all_coverage,
    clean,
    coverage_payload,
    index_payload,
    layer_payload,
    study_payload,
)

if TYPE_CHECKING:
    from ..planning.scenario import Scenario
    from ..result import CoverageResult
    from ..study import Study

__all__ = ["EXACT_TIME_LIMIT_S", "MAX_SUGGEST", "Change", "Studio"]

#: Most sites one "suggest" may ask for.
MAX_SUGGEST = 20
#: The exact solver's time limit in the studio (the command line allows a minute).
EXACT_TIME_LIMIT_S = 10.0
#: Folder and scenario names: letters (any script), digits, ``_ . -``; no leading dot.
FOLDER_NAME = re.compile(r"^\w[\w.-]{0,63}$")
SCENARIO_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
#: Sub-folder of the output folder that saved scenarios go to.
SCENARIO_DIR = "scenarios"


@dataclass(frozen=True)
class Change:
    """One category's edit as the page sends it (coordinates in ``crs``, WGS84 unless
    told): ``add`` as ``(lon, lat, capacity or None, name or None)``, ``remove`` as ids,
    ``move`` as ``{id: (lon, lat)}``."""

    category: str
    add: Sequence[tuple[float, float, float | None, str | None]] = ()
    remove: Sequence[str] = ()
    move: dict[str, tuple[float, float]] | None = None
    crs: str | None = None


class Studio:
    """A baseline result, its what-if session, and the folders the studio may write to.

    Parameters
    ----------
    baseline : CoverageResult
        A result of ``Study.run()``.
    out_dir : Path, optional
        Output folder: scenarios go to ``<out_dir>/scenarios/``, exports to
        ``<out_dir>/<folder>/``. Default ``out/<study name>``.
    config : Path, optional
        The study file (recorded in an export's manifest); without it exports are refused.
    inputs : dict, optional
        Input files by config field, for the manifest.
    """

    def __init__(
        self,
        baseline: CoverageResult,
        *,
        out_dir: str | Path | None = None,
        config: Path | None = None,
        inputs: dict[str, Path] | None = None,
    ) -> None:
        self.session = WhatIfSession(baseline)
        self.baseline = baseline
        self.out_dir = Path(
            out_dir if out_dir is not None else Path("out") / baseline.name
        ).resolve()
        self.config = config
        self.inputs = dict(inputs or {})
        self._lock = threading.RLock()
        self._study: dict[str, Any] | None = None
        # New sites may lie as far beyond the outline as a resident may live from a street.
        snap = float(baseline.parameters.get("max_snap_m", 0.0) or 0.0)
        self._area = baseline.area.buffer(snap) if snap > 0 else baseline.area
        shapely.prepare(self._area)
        self.study_arg = str(config) if config is not None else ""
        #: Files the studio read (the study's inputs, a --scenario file): never written.
        self.protected = {Path(f).resolve() for f in [config, *self.inputs.values()] if f}

    @classmethod
    def from_study(
        cls,
        study: Study,
        *,
        out_dir: str | Path | None = None,
        result: CoverageResult | None = None,
    ) -> Studio:
        """A studio over ``study`` (run now unless ``result`` is given)."""
        result = result if result is not None else study.run()
        return cls(
            result,
            out_dir=out_dir if out_dir is not None else Path("out") / result.name,
            config=study.config.path,
            inputs=study.input_files(),
        )

    @contextmanager
    def engine(self) -> Iterator[None]:
        """Hold the engine: its caches are shared by every result of the session."""
        with self._lock:
            yield

    # ------------------------------------------------------------------------ checks

    def check_category(self, category: str) -> None:
        """Raise a 404 ``RequestError`` naming the categories when ``category`` is not one."""
        if category not in self.baseline.categories:
            raise RequestError(
                f"unknown category {category!r}; this study has "
                f"{', '.join(self.baseline.categories)}",
                status=404,
            )

    def _check_ids(self, result: CoverageResult, change: Change) -> None:
        ids = set(category_facilities(result, change.category)["facility_id"].astype(str))
        for what, given in (("remove", change.remove), ("move", list(change.move or {}))):
            unknown = [str(i) for i in given if str(i) not in ids]
            if unknown:
                raise RequestError(
                    f"{what}: no {change.category} facility with id {unknown[0]!r}", status=404
                )
        both = set(map(str, change.remove)) & set(map(str, change.move or {}))
        if both:
            raise RequestError(
                f"facility {sorted(both)[0]!r} is both removed and moved; do one or the other"
            )
        if len(set(map(str, change.remove))) < len(change.remove):
            raise RequestError("remove: the same id is given twice")

    def _check_inside(self, edit: Edit) -> None:
        points = []
        if edit.add is not None:
            points += list(edit.add.geometry)
        points += list(edit.move.values())
        xy = (
            shapely.get_coordinates(np.asarray(points, dtype=object))
            if points
            else np.empty((0, 2))
        )
        inside = shapely.contains_xy(self._area, xy[:, 0], xy[:, 1])
        if not inside.all():
            i = int(np.flatnonzero(~inside)[0])
            raise RequestError(
                f"site {i + 1} lies outside the study area; put it inside the area's outline"
            )

    def _edit(self, result: CoverageResult, change: Change) -> Edit:
        self.check_category(change.category)
        self._check_ids(result, change)
        add = [(a[0], a[1]) for a in change.add] or None
        caps = [np.nan if a[2] is None else float(a[2]) for a in change.add]
        names = [a[3] if a[3] not in (None, "") else None for a in change.add]
        try:
            edit = make_edit(
                self.baseline,
                change.category,
                add=add,
                names=names if add else None,
                capacity=caps if add else None,
                remove=change.remove,
                move=change.move,
                crs=change.crs,
            )
        except InputError as exc:
            raise RequestError(str(exc)) from None
        self._check_inside(edit)
        return edit

    # ------------------------------------------------------------------------ reading

    def study(self) -> dict[str, Any]:
        """The page's study payload (worked out once)."""
        with self._lock:
            if self._study is None:
                self._study = study_payload(self.baseline)
                self._study["baseline"] = {
                    "coverage": all_coverage(self.baseline),
                    "index": index_payload(self.baseline),
                }
                self._study["limits"] = {"suggest": MAX_SUGGEST}
            return self._study

    def state(self) -> dict[str, Any]:
        """The session: edits made, undo/redo, whole-area coverage and the index now."""
        with self._lock:
            current = self.session.current
            edits = self.session.edits
            return clean(
                {
                    "edits": [_describe(e) for e in edits],
                    "can_undo": self.session.can_undo,
                    "can_redo": self.session.can_redo,
                    "coverage": all_coverage(current),
                    "index": index_payload(current),
                }
            )

    def layer(self, category: str, view: str = "current") -> dict[str, Any]:
        """A category's layer, of the current result or (``view="baseline"``) the baseline."""
        self.check_category(category)
        if view not in ("current", "baseline"):
            raise RequestError(f"unknown view {view!r}; use current or baseline")
        with self._lock:
            result = self.session.current if view == "current" else self.baseline
            return layer_payload(result, self.baseline, category)

    def gain(self, result: CoverageResult, category: str) -> list[dict[str, Any]]:
        """Change from the baseline per sub-district for one category."""
        table = compare(self.baseline, result, [category])
        return clean(table.astype(object).where(table.notna(), None).to_dict("records"))

    def _answer(self, result: CoverageResult, category: str) -> dict[str, Any]:
        return {
            "state": self.state(),
            "layer": layer_payload(result, self.baseline, category, static=False),
        }

    # ------------------------------------------------------------------------ editing

    def edit(self, change: Change, show: str | None = None) -> dict[str, Any]:
        """Record an edit in the session; the new state and the layer of ``show`` (default
        the edited category)."""
        with self._lock:
            edit = self._edit(self.session.current, change)
            try:
                after = self.session.apply(edit)
            except InputError as exc:
                raise RequestError(str(exc)) from None
            return self._answer(after, show or change.category)

    def whatif(self, change: Change) -> dict[str, Any]:
        """The baseline with ``change`` applied, not recorded: coverage, district rows,
        gaps, the index and the gain per sub-district."""
        with self._lock:
            edit = self._edit(self.baseline, change)
            try:
                after = self.session.evaluate([edit])
            except InputError as exc:
                raise RequestError(str(exc)) from None
            layer = layer_payload(after, self.baseline, change.category, static=False)
            return {
                "category": change.category,
                "coverage": coverage_payload(after, change.category),
                "baseline_coverage": coverage_payload(self.baseline, change.category),
                "districts": layer["districts"],
                "gaps": layer["gaps"],
                "facilities": [f for f in layer["facilities"] if f["status"] != "existing"],
                "index": index_payload(after),
                "gain": self.gain(after, change.category),
            }

    def step(self, action: str, show: str) -> dict[str, Any]:
        """``undo``, ``redo`` or ``reset``; the new state and the layer of ``show``."""
        self.check_category(show)
        with self._lock:
            try:
                after = {
                    "undo": self.session.undo,
                    "redo": self.session.redo,
                    "reset": self.session.reset,
                }[action]()
            except InputError as exc:
                raise RequestError(str(exc), status=409) from None
            return self._answer(after, show)

    def suggest(self, category: str, p: int) -> dict[str, Any]:
        """``p`` new sites for ``category`` on top of the current edits: greedy, with the
        exact optimum instead when the solver finds a better choice in time."""
        from ..planning.sites import select_sites

        self.check_category(category)
        if not 1 <= p <= MAX_SUGGEST:
            raise RequestError(f"p must be between 1 and {MAX_SUGGEST} (got {p})")
        with self._lock:
            current = self.session.current
            try:
                choice = select_sites(
                    current, category, p, time_limit_s=EXACT_TIME_LIMIT_S, prefer_exact=True
                )
            except InputError as exc:
                raise RequestError(str(exc)) from None
        sites = choice.sites
        exact = choice.exact
        return clean(
            {
                "category": category,
                "requested": p,
                "method": choice.method,
                "candidates": len(choice.candidates),
                "coverage_before": current.coverage(category),
                "greedy_value": choice.greedy.value,
                "exact": None
                if exact is None
                else {
                    "value": exact.value,
                    "optimal": exact.optimal,
                    "bound": exact.bound,
                    "seconds": exact.seconds,
                },
                "notes": choice.notes,
                "sites": [
                    {
                        "rank": int(r["rank"]),
                        "name": str(r["name"]),
                        "district": r["district"],
                        "lon": float(r["lon"]),
                        "lat": float(r["lat"]),
                        "marginal_gain": float(r["marginal_gain"]),
                        "cumulative_gain": float(r["cumulative_gain"]),
                        "coverage_after": float(r["coverage_after"]),
                    }
                    for _, r in sites.iterrows()
                ],
            }
        )

    def diff(self) -> dict[str, Any]:
        """The current edits against the baseline: what changed, per sub-district, the
        index and the targets (see :meth:`WhatIfSession.diff`)."""
        with self._lock:
            found = self.session.diff()
        fac = found.facilities
        changed = fac[(fac["status"] != "kept") | (fac["capacity_change"].abs() > 0)]
        whole = found.districts[found.districts["district"] == "ALL"]
        columns = [
            c
            for c in (
                "category",
                "district",
                "coverage_before",
                "coverage_after",
                "coverage_change",
                "mean_min_before",
                "mean_min_after",
                "opened",
                "closed",
                "moved",
            )
            if c in found.districts
        ]

        def records(frame: Any, keep: list[str]) -> list[dict[str, Any]]:
            part = frame[keep]
            return part.astype(object).where(part.notna(), None).to_dict("records")

        return clean(
            {
                "summary": found.summary(),
                "notes": found.notes,
                "facilities": records(
                    changed,
                    [
                        "category",
                        "status",
                        "matched_by",
                        "facility_id",
                        "name",
                        "capacity_before",
                        "capacity_after",
                        "capacity_change",
                        "moved_m",
                        "district",
                    ],
                ),
                "whole_area": records(whole, columns),
                "districts": records(found.districts, columns),
                "index": None
                if found.index is None
                else records(
                    found.index,
                    [
                        c
                        for c in (
                            "district",
                            "composite_before",
                            "composite_after",
                            "composite_change",
                            "rank_before",
                            "rank_after",
                        )
                        if c in found.index
                    ],
                ),
                "targets": None
                if found.targets is None
                else records(
                    found.targets, ["category", "target", "wanted", "achieved", "status", "note"]
                ),
            }
        )

    # ------------------------------------------------------------------------ files

    def _inside_out(self, *parts: str) -> Path:
        path = self.out_dir.joinpath(*parts).resolve()
        if not path.is_relative_to(self.out_dir):
            raise RequestError("the path leaves the output folder", status=403)
        return path

    def scenario_path(self, name: str) -> Path:
        """Where a scenario called ``name`` is saved (refused unless the name is plain)."""
        if not SCENARIO_NAME.fullmatch(name or ""):
            raise RequestError(
                f"scenario name {name!r}: use letters, digits, _ . - "
                "(up to 64, not starting with a dot)"
            )
        return self._inside_out(SCENARIO_DIR, f"{name}.toml")

    def save_scenario(self, name: str, title: str = "") -> dict[str, Any]:
        """Write the session's net change as ``<out>/scenarios/<name>.toml``."""
        path = self.scenario_path(name)
        if path in self.protected:
            raise RequestError(
                f"{path} is a file the studio started from; save the scenario under another name",
                status=409,
            )
        with self._lock:
            if not self.session.edits:
                raise RequestError("nothing to save: make an edit first", status=409)
            notice = (
                "sites placed in the circle15 studio on synthetic data"
                if self.baseline.synthetic
                else ""
            )
            self.session.write_scenario(
                path,
                name,
                title=title,
                source="circle15 studio",
                synthetic=self.baseline.synthetic,
                notice=notice,
            )
        return {
            "name": name,
            "path": str(path),
            "text": path.read_text(encoding="utf-8"),
            "command": " ".join(
                [
                    "circle15 run",
                    *([self.study_arg] if self.study_arg else []),
                    "--scenario",
                    str(path),
                ]
            ),
        }

    def load_scenario(self, text: str, filename: str = "scenario.toml") -> dict[str, Any]:
        """Start again from the baseline with an uploaded scenario's edits."""
        from ..planning.scenario import parse_scenario

        where = Path(filename or "scenario.toml").name
        with self._lock:
            try:
                scenario = parse_scenario(text, where)
                self._check_scenario(scenario)
                after = self.session.load_scenario(scenario, where)
            except InputError as exc:
                raise RequestError(str(exc)) from None
            shown = scenario.categories()[0]
            return self._answer(after, shown)

    def load_scenario_file(self, path: Path) -> None:
        """Start with the edits of a scenario file (``circle15 serve --scenario``)."""
        from ..planning.scenario import load_scenario

        scenario = load_scenario(path)
        self.protected.add(Path(path).resolve())
        with self._lock:
            self.session.load_scenario(scenario, str(path))

    def _check_scenario(self, scenario: Scenario) -> None:
        for kind in ("add", "move"):
            for i, e in enumerate(getattr(scenario, kind)):
                values = [v for v in (e.lon, e.lat, e.x, e.y) if v is not None]
                if not np.isfinite(values).all():
                    raise RequestError(f"{kind}[{i}]: coordinates must be finite numbers")

    def export(self, folder: str) -> dict[str, Any]:
        """Write every output of a run for the current edits into ``<out>/<folder>/``.

        The session's scenario and ``scenario_gain.csv`` go with them, as ``circle15 run
        --scenario`` writes them.
        """
        from ..outputs import write_outputs
        from ..planning.scenario import write_scenario_gain

        if self.config is None:
            raise RequestError(
                "this studio was started without its study file, so an "
                "export could not name its inputs; start it with "
                "result.studio(study=study) or circle15 serve",
                status=409,
            )
        if not FOLDER_NAME.fullmatch(folder or "") or folder == SCENARIO_DIR:
            raise RequestError(
                f"folder name {folder!r}: use letters, digits, _ . - (up to "
                f"64, not starting with a dot, not {SCENARIO_DIR!r})"
            )
        target = self._inside_out(folder)
        started = datetime.now(UTC)
        with self._lock:
            current = self.session.current
            edits = self.session.edits
            inputs = dict(self.inputs)
            if edits:
                scenario = target / "scenario.toml"
                self.session.write_scenario(
                    scenario,
                    _plain(folder),
                    source="circle15 studio",
                    synthetic=self.baseline.synthetic,
                )
                inputs["scenario"] = scenario
                categories = list(dict.fromkeys(e.category for e in edits))
                gain = compare(self.baseline, current, categories)
        if edits:
            # the same table as circle15 run --scenario writes
            write_scenario_gain(gain, target / "scenario_gain.csv")
        paths = write_outputs(current, target, config=self.config, inputs=inputs, started=started)
        files = sorted([*paths, *(["scenario.toml", "scenario_gain.csv"] if edits else [])])
        return {"folder": str(target), "files": files}


def _describe(edit: Edit) -> dict[str, Any]:
    added = (
        []
        if edit.add is None
        else [n if isinstance(n, str) and n else "(new site)" for n in edit.add["name"]]
    )
    return {
        "category": edit.category,
        "added": added,
        "removed": list(edit.remove),
        "moved": sorted(edit.move),
    }


def _plain(name: str) -> str:
    """A scenario name (ASCII) made from a folder name that may hold other letters."""
    plain = re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".") or "studio"
    return plain[:64]
