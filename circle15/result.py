"""The outcome of a coverage run: a record of cells, district table, gaps and facilities.

The record holds data. Its convenience methods delegate, loading their module only when
called (as geopandas' ``GeoDataFrame.explore`` does): ``map()`` to
:mod:`circle15.outputs.webmap`, the what-if methods to :mod:`circle15.planning`. Neither
imports this module at run time, so there is no import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry

from .schema import ALL, UNREACHABLE
from .standards import Category

if TYPE_CHECKING:
    import folium

    from .analysis.compare import Comparison
    from .analysis.equity import Equity
    from .planning.edits import EngineSession
    from .planning.site_input import SiteInput
    from .serve.notebook import StudioView

__all__ = ["UNREACHABLE", "CoverageResult"]


@dataclass
class CoverageResult:
    """Walking-time coverage of a study.

    Attributes
    ----------
    name, title : str
        Study key (``"zhenhai"``) and the title shown on maps.
    categories : dict
        ``Category`` by key, in report order.
    cells : GeoDataFrame
        One row per populated cell (study CRS): ``cell_id``, ``district``, ``pop_total``, and
        per category ``pop_<key>`` (target cohort), ``t_<key>`` (minutes; NaN when
        unreachable or unsnapped), ``nearest_<key>`` (facility id, None when unreachable),
        ``tier_<key>`` (``"0-5"``, ``"5-10"``, ``"10-15"``, ``">15"`` or ``"unreachable"``).
    districts : DataFrame
        One row per (district, category) plus ``ALL`` rows; see ``analysis.coverage``.
    gaps : GeoDataFrame
        Gap polygons: ``category``, ``gap_id``, ``rank``, ``district``, ``population``,
        ``cells``, ``area_km2``, ``mean_min`` (NaN if unreachable), ``nearest_facility``,
        ``nearest_name``, ``nearest_min``, geometry.
    facilities : GeoDataFrame
        All facilities: ``category``, ``facility_id``, ``name``, ``capacity``, ``snapped``,
        ``snap_m``, geometry (study CRS).
    zones : GeoDataFrame
        Sub-districts: ``district``, ``name_en``, geometry.
    area : shapely geometry
        The study area outline.
    synthetic : bool
        True when any input is synthetic; maps then carry a banner with ``notice``.
    notice : str
        The synthetic-data statement shown on maps.
    diagnostics : dict
        Counts the user should see: unsnapped cells/facilities, network pieces, etc.
    parameters : dict
        What the run used: standards, analysis, supply and index settings, the inputs, and
        under ``what_if`` the edits behind a what-if result (written to ``manifest.json``).
    equity : Equity, optional
        Inequality of walking time and supply (``analysis.equity.Equity``): ``.table``
        (Gini, Theil T and its between/within split per district, category and measure),
        ``.coverage_balance`` (min/mean ratio of sub-district coverage per category) and
        ``.lorenz`` (long table ``district, category, measure, pop_share, value_share``,
        101 points per curve).
    index : DataFrame, optional
        The 可及/均衡/优质 index: ``district, name_en, accessibility, balance, quality,
        composite, rank``, one row per sub-district plus ``ALL``.
    index_indicators : DataFrame, optional
        Every indicator behind the index: ``district, category, dimension, indicator,
        value, score, weight``.
    comparison : Comparison, optional
        The side-by-side comparison with a reference index (``analysis.compare``), when
        the study file names one under ``[compare] reference``; set by the CLI.
    network_issues : GeoDataFrame, optional
        Where the street network is broken (``analysis.network_issues``): ``issue_id,
        kind`` (``separate_piece`` or ``loose_end``), ``description``, ``population``,
        ``length_m``, ``nearest_m``, geometry (study CRS). What-ifs leave it as it is.
    session : EngineSession, optional
        The engine session that produced the result (``planning.edits.EngineSession``):
        what the what-if methods start from. None for a result read back from files.
    barriers : DataFrame, optional
        For categories walked step-free (``step_free = true``): per sub-district and
        ``ALL``, the cohort within the target with steps and without, and the residents
        cut off by steps (``analysis.barriers.TABLE_COLUMNS``). None when no category is
        walked step-free.
    barrier_areas : GeoDataFrame, optional
        Those residents' cells merged into areas per sub-district, ranked by cohort.
    barrier_steps : GeoDataFrame, optional
        The steps (and ways tagged ``wheelchair=no``) on their routes, with the cohort
        whose walk within the target needs each: where a ramp would help.
    targets : DataFrame, optional
        The study's ``[targets]`` (and a scenario's), met or not
        (``analysis.targets.evaluate_targets``); None when there are none.

    When supply has been computed, ``cells`` also has ``supply_<key>`` (capacity per
    resident of the cohort within reach, 2SFCA) and ``districts`` the supply, norm and
    per-category score columns (see ``analysis.assessment``). For a category walked
    step-free, ``t_<key>`` avoids steps and ``cells`` also has ``t_with_steps_<key>``
    (minutes over every walkable way) and ``barrier_<key>`` (within the target only by
    using steps).
    """

    name: str
    title: str
    categories: dict[str, Category]
    cells: gpd.GeoDataFrame
    districts: pd.DataFrame
    gaps: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    area: BaseGeometry
    synthetic: bool = False
    notice: str = ""
    diagnostics: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    equity: Equity | None = None
    index: pd.DataFrame | None = None
    index_indicators: pd.DataFrame | None = None
    comparison: Comparison | None = None
    network_issues: gpd.GeoDataFrame | None = None
    session: EngineSession | None = field(default=None, repr=False, compare=False)
    barriers: pd.DataFrame | None = None
    barrier_areas: gpd.GeoDataFrame | None = None
    barrier_steps: gpd.GeoDataFrame | None = None
    targets: pd.DataFrame | None = None

    def map(self, **kwargs: Any) -> folium.Map:
        """The interactive coverage map (shows inline in notebooks).

        Parameters
        ----------
        **kwargs
            Passed to :func:`circle15.outputs.webmap.build_map` (e.g. ``tiles=None`` to
            leave out the OpenStreetMap basemap).

        Returns
        -------
        folium.Map
            The map of ``map.html``, every layer included.
        """
        from .outputs.webmap.build import build_map

        return build_map(self, **kwargs)

    def studio(self, **kwargs: Any) -> StudioView:
        """The planning studio for this result, served in the background, inline in a notebook.

        Needs the ``studio`` extra (FastAPI, uvicorn).

        Parameters
        ----------
        **kwargs
            Passed to :func:`circle15.serve.notebook.show_studio`: ``study=`` (needed to
            export outputs, whose manifest names the study's inputs), ``out_dir=``,
            ``port=``, ``width=``, ``height=``.

        Returns
        -------
        StudioView
            Shows the page in the notebook's output; ``.session`` is the what-if session the
            page edits, ``.stop()`` ends the server.
        """
        from .serve.notebook import show_studio

        return show_studio(self, **kwargs)

    def coverage(self, category: str, district: str = ALL) -> float:
        """Share of a category's cohort within its target time in a district.

        Parameters
        ----------
        category : str
            Category key, e.g. ``"childcare"``.
        district : str, default "ALL"
            A sub-district's name, or ``"ALL"`` for the whole study area.

        Returns
        -------
        float
            ``coverage`` of the district table, in 0..1 (NaN for an empty cohort).

        Raises
        ------
        KeyError
            When the table has no row for the district and category.
        """
        row = self.districts[
            (self.districts["district"] == district) & (self.districts["category"] == category)
        ]
        if row.empty:
            raise KeyError(f"no row for district {district!r}, category {category!r}")
        return float(row["coverage"].iloc[0])

    # What-if (see ``circle15.planning``): each returns a new result, this one is unchanged.

    def add_facilities(
        self,
        category: str,
        sites: SiteInput,
        *,
        crs: Any = None,
        ids: Any = None,
        names: Any = None,
        capacity: Any = None,
        provenance: str = "what-if",
        assess: bool = True,
    ) -> CoverageResult:
        """Open new facilities: one bounded search from them, not a re-run.

        Parameters
        ----------
        category : str
            Category key of the new facilities.
        sites : SiteInput
            (lon, lat) pairs in WGS84, shapely points, a DataFrame with ``lon``/``lat`` or
            ``x``/``y`` (study CRS) columns, or a GeoDataFrame in any CRS.
        crs : str or CRS, optional
            System of bare coordinates: ``"study"`` for the study CRS, ``"GCJ-02"``
            (Amap, Tencent), ``"BD-09"`` (Baidu) or an EPSG code; WGS84 by default.
        ids, names : sequence of str, optional
            One per site; ids default to ``new-<category>-NN``.
        capacity : float or sequence of float, optional
            One number for every site, or one per site.
        provenance : str, default "what-if"
            Recorded with each new facility.
        assess : bool, default True
            Recompute supply, equity and the index; False leaves them out of the new
            result (never stale) for a quicker answer.

        Returns
        -------
        CoverageResult
            A new result; this one is unchanged. ``parameters["what_if"]`` lists the edits
            behind it. See :mod:`circle15.planning.edits`.

        Raises
        ------
        InputError
            An unknown category, a bad coordinate or CRS, a site farther than the snap
            limit from every street.
        """
        from .planning.edits import edit_facilities
        from .planning.site_input import site_frame

        frame = site_frame(
            sites,
            self.cells.crs,
            crs=crs,
            ids=ids,
            names=names,
            capacity=capacity,
            provenance=provenance,
        )
        return edit_facilities(self, category, add=frame, assess=assess)

    def remove_facilities(
        self, category: str, ids: str | list[str], *, assess: bool = True
    ) -> CoverageResult:
        """Close facilities by id; their residents walk to the next-nearest one.

        Parameters
        ----------
        category : str
            Category key.
        ids : str or list of str
            Ids of the facilities that close.
        assess : bool, default True
            Recompute supply, equity and the index (see :meth:`add_facilities`).

        Returns
        -------
        CoverageResult
            A new result; this one is unchanged.
        """
        from .planning.edits import edit_facilities

        return edit_facilities(
            self, category, remove=[ids] if isinstance(ids, str) else ids, assess=assess
        )

    def move_facilities(
        self, category: str, moves: dict[str, Any], *, crs: Any = None, assess: bool = True
    ) -> CoverageResult:
        """Move facilities to new positions; they keep their id, name and capacity.

        Parameters
        ----------
        category : str
            Category key.
        moves : dict
            ``{facility_id: (lon, lat)}``.
        crs : str or CRS, optional
            System of the coordinates (``"study"``, ``"GCJ-02"``, ``"BD-09"``, an EPSG
            code); WGS84 by default.
        assess : bool, default True
            Recompute supply, equity and the index (see :meth:`add_facilities`).

        Returns
        -------
        CoverageResult
            A new result; this one is unchanged.
        """
        from .planning.edits import edit_facilities
        from .planning.site_input import site_frame

        frame = site_frame(list(moves.values()), self.cells.crs, crs=crs)
        return edit_facilities(
            self, category, move=dict(zip(moves, frame.geometry, strict=True)), assess=assess
        )

    def compare(self, before: CoverageResult, categories: list[str] | None = None) -> pd.DataFrame:
        """Change from an earlier result per (district, category).

        Parameters
        ----------
        before : CoverageResult
            The result to compare with (a run, or an earlier what-if of it).
        categories : list of str, optional
            Categories to compare; by default those whose walking times differ.

        Returns
        -------
        DataFrame
            Per sub-district and ``ALL``: cohort gained and lost, coverage, mean time and
            gap area before and after (:func:`circle15.analysis.delta.coverage_delta`).
        """
        from .planning.edits import compare

        return compare(before, self, categories)
