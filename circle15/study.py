"""A study: its inputs loaded once, and the coverage run over them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from .analysis import district_table, gap_areas, tier_labels
from .analysis.assessment import Assessment, assess, locate_in_districts
from .analysis.gaps import GAP_COLUMNS, cells_form_coverage
from .checks import check_inputs, check_snapping, population_without_facility, run_warnings
from .config import LoadedConfig, load_config
from .engine import NearestFacility, build_routing_graph, nearest_facility
from .engine.catchment import node_catchments
from .engine.sites import SiteSet
from .engine.snapping import EdgeIndex, Snap
from .engine.state import EngineState
from .model import Districts, FacilityLayer, PopulationGrid, WalkingNetwork
from .progress import QUIET, Progress
from .result import CoverageResult
from .sources.inputs import StudyInputs, read_inputs
from .standards import Category


@dataclass
class Study:
    """Everything a coverage run needs, read and projected to one metric CRS.

    Build one with :meth:`from_config` (or :meth:`demo`) and call :meth:`run`.
    """

    config: LoadedConfig
    crs: CRS
    districts: Districts
    network: WalkingNetwork
    population: PopulationGrid
    facilities: dict[str, FacilityLayer]
    progress: Progress = field(default=QUIET, repr=False)
    #: What :func:`circle15.checks.check_inputs` found worth a warning in the inputs.
    warnings: list[str] = field(default_factory=list)

    @property
    def categories(self) -> dict[str, Category]:
        """Categories analysed, in report order."""
        return self.config.categories

    @classmethod
    def from_config(cls, path: str | Path, progress: Progress = QUIET, *,
                    read: Callable[[LoadedConfig, Progress], StudyInputs] | None = None,
                    cache: bool = True) -> Study:
        """Read every input named in a study TOML file.

        ``read`` reads the inputs (default :func:`circle15.sources.inputs.read_inputs`); a
        batch region passes :func:`circle15.sources.region.read_region_inputs`, which keeps
        the streets and facilities within the region plus its buffer. ``cache=False``
        builds an OSM or centreline network afresh instead of reading it from the network
        cache (as ``[network] cache = false`` does).

        Raises
        ------
        Circle15Error
            When the file or any input is invalid; the message names what to fix.
        """
        loaded = load_config(path)
        if not cache:
            c = loaded.config
            loaded.config = c.model_copy(
                update={"network": c.network.model_copy(update={"cache": False})})
        # Each config section goes to its reader (grid/raster/census, gpkg/OSM/centrelines,
        # tables/OSM tags); see circle15.sources.inputs.
        found = (read or read_inputs)(loaded, progress)
        crs, districts, network = found.crs, found.districts, found.network
        population, facilities = found.population, found.facilities
        with progress.step("checking the inputs against each other"):
            warnings = check_inputs(loaded, districts, network, population, facilities)
        progress.say(
            f"network {network.n_nodes:,} nodes, {network.n_edges:,} edges; "
            f"{len(population.cells):,} populated cells; "
            f"{sum(len(f) for f in facilities.values()):,} facilities in "
            f"{len(facilities)} categories"
        )
        return cls(loaded, crs, districts, network, population, facilities, progress,
                   warnings)

    @classmethod
    def demo(cls, progress: Progress = QUIET) -> Study:
        """The embedded Zhenhai demo (synthetic network, population and facilities)."""
        from .demo.locate import demo_config_path

        return cls.from_config(demo_config_path(progress), progress)

    def run(self) -> CoverageResult:
        """Walking time from every cell to the nearest facility of each category.

        Returns
        -------
        CoverageResult
        """
        p = self.progress
        max_snap = self.config.max_snap_m
        with p.step("snapping cells and facilities to streets"):
            index = EdgeIndex(self.network)
            cell_snap = index.snap(self.population.cells.geometry.centroid.to_numpy(), max_snap)
            fac_snaps = {k: index.snap(f.facilities.geometry.to_numpy(), max_snap)
                         for k, f in self.facilities.items()}
            check_snapping(cell_snap.snapped, {k: s.snapped for k, s in fac_snaps.items()},
                           max_snap)
        with p.step("building routing graph"):
            graph = build_routing_graph(self.network, [cell_snap, *fac_snaps.values()])
            cell_nodes = graph.point_nodes[0]
            fac_nodes = dict(zip(fac_snaps, graph.point_nodes[1:], strict=True))
        nearest: dict[str, NearestFacility] = {}
        with p.step(f"walking times for {len(self.categories)} categories"):
            for key in self.categories:
                nearest[key] = nearest_facility(graph, cell_nodes, fac_nodes[key])
        with p.step("coverage, districts and gaps"):
            cells = self._cells(cell_snap, nearest)
            table = district_table(cells, self.categories, list(self.districts.zones["district"]))
            facilities = self._facility_frame(fac_snaps)
            names = dict(zip(facilities["facility_id"], facilities["name"], strict=False))
            # One check for all categories: a grid's gap cells merge by coverage union.
            tiles = cells_form_coverage(cells.geometry.to_numpy())
            gaps = [gap_areas(cells, cat, names, cells_form_coverage=tiles)
                    for cat in self.categories.values()]
            gaps = [g for g in gaps if len(g)]
            gap_frame = (gpd.GeoDataFrame(pd.concat(gaps, ignore_index=True), crs=self.crs)
                         if gaps else gpd.GeoDataFrame(columns=[*GAP_COLUMNS, "geometry"],
                                                       geometry="geometry", crs=self.crs))
            diagnostics = self._diagnostics(graph, cell_nodes, fac_nodes, cell_snap, fac_snaps,
                                            cells, nearest)
        with p.step("supply, equity and index"):
            found = self._assess(graph, cell_nodes, fac_nodes, cells, table, facilities)
            cells, table = found.cells, found.districts
            diagnostics["supply"] = found.diagnostics
        s = self.config.config.study
        return CoverageResult(
            name=s.name, title=s.title or s.name, categories=self.categories, cells=cells,
            districts=table, gaps=gap_frame, facilities=facilities, zones=self.districts.zones,
            area=self.districts.area, synthetic=s.synthetic, notice=s.notice,
            diagnostics=diagnostics,
            equity=found.equity, index=found.index.table,
            index_indicators=found.index.indicators,
            parameters={"max_snap_m": max_snap, "crs": self.crs.to_string(),
                        "supply": asdict(self.config.supply),
                        "index": asdict(self.config.index),
                        "categories": {k: _category_parameters(c)
                                       for k, c in self.categories.items()}},
            # Kept so that what-ifs (CoverageResult.add_facilities ...) reuse the search.
            engine=EngineState(index, graph, max_snap, cell_snap, cell_nodes,
                               {k: SiteSet.from_nodes(fac_nodes[k]) for k in self.categories},
                               nearest, context={"supply": self.config.supply,
                                                 "index": self.config.index}),
        )

    def _cells(self, snap: Snap, nearest: dict[str, NearestFacility]) -> gpd.GeoDataFrame:
        grid = self.population.cells
        cols: dict[str, object] = {
            "cell_id": grid["cell_id"].to_numpy(),
            "district": grid["district"].to_numpy(),
            "pop_total": grid["pop_total"].to_numpy(dtype=float),
            "snapped": snap.snapped,
            "snap_m": snap.leg_m,
        }
        for key, cat in self.categories.items():
            ids = self.facilities[key].facilities["facility_id"].to_numpy(dtype=object)
            found = nearest[key]
            minutes = found.minutes(cat.metres_per_minute)
            cols[f"pop_{key}"] = self.population.cohort(cat.age_min, cat.age_max)
            cols[f"t_{key}"] = minutes
            # A category may have no facility at all (e.g. none within a batch region's
            # reach): then nobody reaches one.
            nearest_id = ids[np.maximum(found.facility, 0)] if len(ids) else None
            cols[f"nearest_{key}"] = np.where(found.reachable, nearest_id, None)
            cols[f"tier_{key}"] = tier_labels(minutes, cat.tiers_min)
        return gpd.GeoDataFrame(cols, geometry=grid.geometry.to_numpy(), crs=self.crs)

    def _facility_frame(self, snaps: dict[str, Snap]) -> gpd.GeoDataFrame:
        frames = []
        for key, layer in self.facilities.items():
            f = layer.facilities
            frames.append(gpd.GeoDataFrame({
                "category": key,
                "facility_id": f["facility_id"].to_numpy(),
                "name": f["name"].to_numpy(),
                "capacity": f["capacity"].to_numpy(dtype=float),
                "snapped": snaps[key].snapped,
                "snap_m": snaps[key].leg_m,
                "provenance": f["provenance"].to_numpy(),
            }, geometry=f.geometry.to_numpy(), crs=self.crs))
        return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=self.crs)

    def _assess(self, graph, cell_nodes, fac_nodes, cells, table,
                facilities: gpd.GeoDataFrame) -> Assessment:
        """Supply (2SFCA over bounded catchments), equity and the index; adds each
        facility's sub-district and capacity per resident in reach to ``facilities``."""
        settings = self.config.supply
        catchments, capacity, where = {}, {}, {}
        for key, cat in self.categories.items():
            limit_m = settings.catchment_for(cat) * cat.metres_per_minute
            reach = node_catchments(graph, fac_nodes[key], cell_nodes, limit_m)
            reach.data = reach.data / cat.metres_per_minute  # minutes, for the decay
            catchments[key] = reach
            layer = self.facilities[key].facilities
            capacity[key] = layer["capacity"].to_numpy(dtype=float)
            where[key] = locate_in_districts(layer.geometry.to_numpy(), self.districts.zones)
        found = assess(cells, table, self.categories, self.districts.zones, catchments,
                       capacity, where, settings, self.config.index)
        # Same category order as _facility_frame.
        facilities["district"] = np.concatenate([where[k] for k in self.facilities])
        facilities["capacity_per_resident"] = np.concatenate(
            [found.facility_ratio.get(k, np.full(len(f), np.nan))
             for k, f in self.facilities.items()])
        return found

    def _diagnostics(self, graph, cell_nodes, fac_nodes, cell_snap, fac_snaps, cells,
                     nearest) -> dict:
        labels = graph.components()
        street = labels[: graph.n_street_nodes]
        pieces, sizes = np.unique(street, return_counts=True)
        pop = cells["pop_total"].to_numpy(dtype=float)
        snapped = cell_snap.snapped
        main_piece = pieces[np.argmax(sizes)]
        off_main = snapped & (labels[np.maximum(cell_nodes, 0)] != main_piece)
        out = {
            "network_nodes": int(self.network.n_nodes),
            "network_edges": int(self.network.n_edges),
            "network_pieces": len(pieces),
            # how the network was read: from the network cache or built, and the cache key
            "network_source": dict(self.network.provenance),
            "largest_piece_share_of_nodes": round(float(sizes.max() / sizes.sum()), 4),
            "cells": len(cells),
            "population": float(pop.sum()),
            "unsnapped_cells": int((~snapped).sum()),
            "unsnapped_population": float(pop[~snapped].sum()),
            "population_off_main_network": float(pop[off_main].sum()),
            "facilities": {k: len(f) for k, f in self.facilities.items()},
            # what the readers changed on the way in (duplicates merged, levels guessed)
            "input_notes": [n for f in self.facilities.values() for n in f.notes],
            "unsnapped_facilities": {
                k: [str(i) for i in self.facilities[k].facilities["facility_id"].to_numpy()[
                    ~s.snapped]] for k, s in fac_snaps.items()},
            "unreachable_population": {
                k: float(cells[f"pop_{k}"].to_numpy()[~nearest[k].reachable].sum())
                for k in self.categories},
        }
        # residents on network pieces where no facility of the category stands
        piece = np.where(cell_nodes >= 0, labels[np.maximum(cell_nodes, 0)], -1)
        out["population_without_facility"] = {
            k: population_without_facility(
                piece, labels[fac_nodes[k][fac_nodes[k] >= 0]],
                cells[f"pop_{k}"].to_numpy(dtype=float))
            for k in self.categories}
        out["warnings"] = [*self.warnings, *run_warnings(out, self.categories)]
        return out


def _category_parameters(cat: Category) -> dict:
    return {"name_zh": cat.name_zh, "name_en": cat.name_en, "ages": cat.cohort_label,
            "tiers_min": list(cat.tiers_min), "target_min": cat.target_min,
            "speed_kmh": cat.speed_kmh, "norm": cat.norm, "norm_per": cat.norm_per,
            "norm_base": cat.norm_base, "sources": cat.sources,
            "unverified": list(cat.unverified)}
