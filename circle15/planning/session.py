"""A what-if session: edits on top of a baseline run, with undo, redo and a scenario file.

The studio, notebooks and scripts share this object. Each edit is one what-if step on
one category (:func:`circle15.planning.edits.edit_facilities`); the session keeps the list
of edits, the result after each (the most recent ones; older ones are recomputed from the
baseline on undo) and turns the net change into a scenario file that ``circle15 run
--scenario`` reproduces. Methods take a lock, so one session may serve several threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..analysis.diff import RunDiff, diff_runs
from ..analysis.targets import evaluate_targets, targets_from_parameters
from ..errors import InputError
from .edits import Edit, category_facilities, check_category, compare
from .scenario import Scenario, scenario_edits
from .site_input import WGS84, SiteInput, site_frame

if TYPE_CHECKING:
    from ..result import CoverageResult

__all__ = ["Edit", "WhatIfSession", "make_edit"]

#: Results kept for undo and redo; older steps are recomputed from the baseline.
KEPT_RESULTS = 8


def make_edit(
    result: CoverageResult,
    category: str,
    *,
    add: SiteInput | None = None,
    names: Sequence[str | None] | None = None,
    capacity: float | Sequence[float] | None = None,
    remove: Iterable[str] = (),
    move: Mapping[str, Any] | None = None,
    crs: Any = None,
) -> Edit:
    """One :class:`Edit` from coordinates: sites to open, ids to close, ids to move.

    Parameters
    ----------
    result : CoverageResult
        The study's result (for its CRS and categories).
    category : str
        Category key.
    add : site input, optional
        New sites, as :func:`site_frame` takes them (``(lon, lat)`` pairs by default).
    names, capacity : optional
        Per new site (None or NaN for none).
    remove : iterable of str
        Ids of facilities that close.
    move : mapping, optional
        ``{facility_id: (lon, lat)}``: new positions.
    crs : optional
        CRS of the coordinates of ``add`` and ``move`` (WGS84 lon/lat unless told).

    Returns
    -------
    Edit
        The edit, to apply with :meth:`WhatIfSession.apply` or to evaluate.

    Raises
    ------
    InputError
        Unknown category, a bad coordinate or CRS, nothing to do.
    """
    check_category(result, category)
    study_crs = result.cells.crs
    frame = None
    if add is not None:
        frame = site_frame(add, study_crs, crs=crs, names=names, capacity=capacity)
    moved: dict[str, shapely.Point] = {}
    if move:
        points = site_frame(list(move.values()), study_crs, crs=crs)
        moved = dict(zip(map(str, move), points.geometry, strict=True))
    edit = Edit(category, add=frame, remove=tuple(str(i) for i in remove), move=moved)
    if frame is None and not edit.remove and not edit.move:
        raise InputError("the edit adds, removes and moves nothing: give at least one site")
    return edit


class WhatIfSession:
    """Edits on top of a baseline result, with undo and redo.

    Parameters
    ----------
    baseline : CoverageResult
        A result of ``Study.run()`` (it carries the engine session the edits start from).
    assess : bool, default True
        Recompute supply, equity and the index after each edit.

    Examples
    --------
    >>> session = WhatIfSession(result)                       # doctest: +SKIP
    >>> after = session.add("elderly_canteen", [(121.61, 29.95)], names=["新食堂"])
    >>> session.undo(); session.redo()
    >>> session.write_scenario("plan.toml", name="plan")
    """

    def __init__(self, baseline: CoverageResult, *, assess: bool = True) -> None:
        if baseline.session is None:
            raise InputError(
                "this result carries no engine session (it was not produced "
                "by Study.run()); run the study to try what-ifs"
            )
        self.baseline = baseline
        self.assess = assess
        self._edits: list[Edit] = []
        self._undone: list[Edit] = []
        self._results: OrderedDict[int, CoverageResult] = OrderedDict()
        self._lock = threading.RLock()

    # ------------------------------------------------------------------------ state

    @property
    def edits(self) -> list[Edit]:
        """The edits applied, oldest first."""
        with self._lock:
            return list(self._edits)

    @property
    def current(self) -> CoverageResult:
        """The result with every edit applied."""
        with self._lock:
            return self._result_after(len(self._edits))

    def _result_after(self, steps: int) -> CoverageResult:
        if steps == 0:
            return self.baseline
        if steps in self._results:
            self._results.move_to_end(steps)
            return self._results[steps]
        known = [s for s in self._results if s < steps]
        start = max(known, default=0)
        result = self._results[start] if start else self.baseline
        for i in range(start, steps):
            result = self._edits[i].apply(result, assess=self.assess)
            self._remember(i + 1, result)
        return result

    def _remember(self, steps: int, result: CoverageResult) -> None:
        self._results[steps] = result
        self._results.move_to_end(steps)
        while len(self._results) > KEPT_RESULTS:
            self._results.popitem(last=False)

    # ------------------------------------------------------------------------ editing

    def apply(self, edit: Edit) -> CoverageResult:
        """Apply an edit to the current result; redo history is cleared.

        Parameters
        ----------
        edit : Edit
            One category's additions, closures and moves (:func:`make_edit`).

        Returns
        -------
        CoverageResult
            The result after the edit.
        """
        with self._lock:
            after = edit.apply(self.current, assess=self.assess)
            self._edits.append(edit)
            self._undone.clear()
            self._remember(len(self._edits), after)
            return after

    def add(
        self,
        category: str,
        sites: SiteInput,
        *,
        crs: Any = None,
        ids: Sequence[str] | None = None,
        names: Sequence[str] | None = None,
        capacity: float | Sequence[float] | None = None,
    ) -> CoverageResult:
        """Open new facilities (as :meth:`CoverageResult.add_facilities`), one undo step.

        Parameters
        ----------
        category : str
            Category key.
        sites : SiteInput
            (lon, lat) pairs, points, a DataFrame or a GeoDataFrame.
        crs : str or CRS, optional
            System of bare coordinates; WGS84 lon/lat by default.
        ids, names : sequence of str, optional
            One per site.
        capacity : float or sequence of float, optional
            One number for every site, or one per site.

        Returns
        -------
        CoverageResult
            The result after the edit.
        """
        check_category(self.baseline, category)
        frame = site_frame(
            sites, self.baseline.cells.crs, crs=crs, ids=ids, names=names, capacity=capacity
        )
        return self.apply(Edit(category, add=frame))

    def edit(self, category: str, **change: Any) -> CoverageResult:
        """Add, remove and move facilities of one category in one step (one undo).

        Parameters
        ----------
        category : str
            Category key.
        **change
            ``add``, ``names``, ``capacity``, ``remove``, ``move``, ``crs`` as for
            :func:`make_edit`.

        Returns
        -------
        CoverageResult
            The result after the edit.
        """
        return self.apply(make_edit(self.baseline, category, **change))

    def evaluate(self, edits: Iterable[Edit]) -> CoverageResult:
        """The baseline with some edits applied, without recording them.

        The session's edits, undo and redo stay as they were.

        Parameters
        ----------
        edits : iterable of Edit
            Edits to apply to the baseline, in order.

        Returns
        -------
        CoverageResult
            The baseline with ``edits`` applied.
        """
        with self._lock:  # the engine's caches are shared with the session's results
            result = self.baseline
            for edit in edits:
                result = edit.apply(result, assess=self.assess)
            return result

    def load_scenario(self, scenario: Scenario, where: str = "scenario") -> CoverageResult:
        """Start again from the baseline with a scenario's edits, one edit per category.

        Parameters
        ----------
        scenario : Scenario
            A parsed scenario file (:func:`circle15.planning.load_scenario`).
        where : str, default "scenario"
            Names the scenario in error messages.

        Returns
        -------
        CoverageResult
            The result with the scenario applied.
        """
        edits = scenario_edits(self.baseline, scenario, where)
        with self._lock:
            result = self.baseline
            try:
                for edit in edits:
                    result = edit.apply(result, assess=self.assess)
            except InputError as exc:
                raise InputError(f"{where}: {exc}") from None
            self.reset()
            for edit in edits:
                self._edits.append(edit)
            self._remember(len(self._edits), result)
            return result

    def remove(self, category: str, ids: str | Iterable[str]) -> CoverageResult:
        """Close facilities by id, one undo step.

        Parameters
        ----------
        category : str
            Category key.
        ids : str or iterable of str
            Ids of the facilities that close.

        Returns
        -------
        CoverageResult
            The result after the edit.
        """
        ids = (ids,) if isinstance(ids, str) else tuple(str(i) for i in ids)
        return self.apply(Edit(category, remove=ids))

    def move(self, category: str, moves: Mapping[str, Any], *, crs: Any = None) -> CoverageResult:
        """Move facilities, one undo step.

        Parameters
        ----------
        category : str
            Category key.
        moves : mapping
            ``{facility_id: (lon, lat)}``.
        crs : str or CRS, optional
            System of the coordinates; WGS84 lon/lat by default.

        Returns
        -------
        CoverageResult
            The result after the edit.
        """
        frame = site_frame(list(moves.values()), self.baseline.cells.crs, crs=crs)
        return self.apply(
            Edit(category, move=dict(zip(map(str, moves), frame.geometry, strict=True)))
        )

    def undo(self) -> CoverageResult:
        """Take back the last edit.

        Returns
        -------
        CoverageResult
            The result before it.
        """
        with self._lock:
            if not self._edits:
                raise InputError("nothing to undo")
            self._undone.append(self._edits.pop())
            return self.current

    def redo(self) -> CoverageResult:
        """Apply again the last edit taken back.

        Returns
        -------
        CoverageResult
            The result with it applied again.
        """
        with self._lock:
            if not self._undone:
                raise InputError("nothing to redo")
            self._edits.append(self._undone.pop())
            return self.current

    def reset(self) -> CoverageResult:
        """Drop every edit: back to the baseline.

        Returns
        -------
        CoverageResult
            The baseline.
        """
        with self._lock:
            self._edits.clear()
            self._undone.clear()
            self._results.clear()
            return self.baseline

    @property
    def can_undo(self) -> bool:
        """Whether there is an edit to take back."""
        return bool(self._edits)

    @property
    def can_redo(self) -> bool:
        """Whether there is an edit to apply again."""
        return bool(self._undone)

    # ------------------------------------------------------------------------ reading

    def gain(self, categories: Sequence[str] | None = None) -> pd.DataFrame:
        """Change from the baseline per (sub-district, category).

        Parameters
        ----------
        categories : sequence of str, optional
            Categories to compare; by default those whose walking times differ.

        Returns
        -------
        DataFrame
            As :meth:`CoverageResult.compare`: cohort gained and lost, coverage, mean time
            and gap area before and after.
        """
        return compare(self.baseline, self.current, categories)

    def diff(self, **match: float) -> RunDiff:
        """The current scenario against the baseline, as ``circle15 diff`` compares vintages.

        Facilities opened, closed and moved, the change per sub-district and of the index,
        each cell's change of access, and the baseline's targets met or not (new
        facilities and capacity counted from the baseline).

        Parameters
        ----------
        **match : float
            ``name_m``, ``place_m`` and ``moved_m``, passed to
            :func:`circle15.analysis.diff.diff_runs` (how facilities are matched).

        Returns
        -------
        RunDiff
            ``before`` is ``"baseline"`` and ``after`` ``"current"``.
        """
        with self._lock:
            current = self.current
        out = diff_runs(self.baseline, current, **match)
        out.before, out.after = "baseline", "current"
        targets = targets_from_parameters(self.baseline.parameters)
        if targets:
            out.targets = evaluate_targets(
                targets,
                current,
                self.baseline,
                facilities=out.facilities,
                categories=out.categories,
            )
        return out

    def net_change(self) -> dict[str, list[dict[str, Any]]]:
        """The current facilities against the baseline's: added, removed and moved.

        Returns
        -------
        dict
            ``add``, ``remove`` and ``move`` lists of scenario entries (WGS84 lon/lat
            written in full precision, so that a scenario reproduces the figures).
        """
        with self._lock:
            current = self.current
        out: dict[str, list[dict[str, Any]]] = {"add": [], "remove": [], "move": []}
        for key in self.baseline.categories:
            before = category_facilities(self.baseline, key)
            after = category_facilities(current, key)
            old = dict(zip(before["facility_id"].astype(str), before.geometry, strict=True))
            new = dict(zip(after["facility_id"].astype(str), after.geometry, strict=True))
            for fid in old.keys() - new.keys():
                out["remove"].append({"category": key, "id": fid})
            lonlat = _lonlat(after)
            rows = after.reset_index(drop=True)
            for i, fid in enumerate(rows["facility_id"].astype(str)):
                if fid not in old:
                    entry = {
                        "category": key,
                        "id": fid,
                        "name": str(rows["name"].iloc[i]),
                        "lon": lonlat[i, 0],
                        "lat": lonlat[i, 1],
                    }
                    cap = float(rows["capacity"].iloc[i])
                    if np.isfinite(cap):
                        entry["capacity"] = cap
                    out["add"].append(entry)
                elif not shapely.equals_exact(old[fid], new[fid], tolerance=0.0):
                    out["move"].append(
                        {"category": key, "id": fid, "lon": lonlat[i, 0], "lat": lonlat[i, 1]}
                    )
        for entries in out.values():
            entries.sort(
                key=lambda e: (list(self.baseline.categories).index(e["category"]), e["id"])
            )
        return out

    def scenario(
        self,
        name: str,
        *,
        title: str = "",
        source: str = "",
        synthetic: bool = False,
        notice: str = "",
    ) -> dict[str, Any]:
        """The net change as a scenario (the format of ``circle15 run --scenario``).

        Parameters
        ----------
        name : str
            The scenario's name (one plain folder name).
        title, source : str, optional
            As in a scenario file's ``[scenario]`` section.
        synthetic : bool, default False
            Whether the sites are made up.
        notice : str, optional
            The synthetic banner's text.

        Returns
        -------
        dict
            The scenario document (``scenario``, ``add``, ``remove``, ``move``), checked to
            load again.
        """
        change = self.net_change()
        doc: dict[str, Any] = {
            "scenario": {
                "name": name,
                "title": title,
                "source": source,
                "synthetic": synthetic,
                "notice": notice,
                "crs": WGS84,
            }
        }
        doc.update({k: v for k, v in change.items() if v})
        Scenario.model_validate(doc)  # the file it makes must load again
        return doc

    def write_scenario(self, path: str | Path, name: str, **header: Any) -> Path:
        """Write the net change as a scenario TOML file (atomically).

        Parameters
        ----------
        path : str or Path
            The file to write.
        name : str
            The scenario's name.
        **header
            ``title``, ``source``, ``synthetic``, ``notice`` as for :meth:`scenario`.

        Returns
        -------
        Path
            The file written.
        """
        import tomli_w

        from ..outputs.atomic import write_text

        for category in {e.category for e in self.edits}:
            check_category(self.baseline, category)
        text = tomli_w.dumps(self.scenario(name, **header))
        return write_text(Path(path), text)


def _lonlat(frame: gpd.GeoDataFrame) -> np.ndarray:
    if not len(frame):
        return np.empty((0, 2))
    return shapely.get_coordinates(frame.geometry.to_crs(WGS84).to_numpy())
