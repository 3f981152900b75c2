"""A study is one TOML file: what to read, which categories, with which thresholds.

Paths in the file are relative to the file itself. Validation errors name the file and
the field, e.g. ``zhenhai.toml: network.path: file not found: network/walk.gpkg``.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError
from .settings import LUO_QI_STEP_WEIGHTS, IndexSettings, SupplySettings
from .standards import Category, Standards, load_standards, validate_category
from .targets import CategoryTargets, resolve_targets

#: A study file is a few kilobytes; a batch file listing thousands of regions well under this.
MAX_TOML_BYTES = 4 << 20
#: Deepest nesting of arrays and tables a circle15 file needs is 4; beyond this the parser's
#: recursion (and every tool reading the document after it) is at risk.
MAX_TOML_DEPTH = 32
#: Largest plausible values, so that a typo such as ``1e308`` is refused, not overflowed.
MAX_MINUTES = 24 * 60.0
MAX_METRES = 100_000.0
MAX_AGE = 200  # ``model.OPEN_AGE``: "and over"
MAX_AMOUNT = 1e9  # capacities, norms, people
MAX_WEIGHT = 1e6

#: A name that becomes one folder or file name: letters of any script, digits, ``_``,
#: ``-``, and ``.`` after the first character; so never ``..``, a separator or a hidden name.
_COMPONENT = re.compile(r"\w[\w.-]*")
#: A category key also becomes column names (``t_<key>``): no dots.
_KEY = re.compile(r"\w[\w-]*")
#: Names Windows reserves for devices, with or without an extension.
_DEVICE = re.compile(r"(con|prn|aux|nul|com\d|lpt\d)(\..*)?", re.IGNORECASE)
MAX_NAME_CHARS = 64


def path_component(value: str, what: str = "name") -> str:
    """``value`` when it can name one folder or file on every platform, else ``ValueError``.

    Used for study, scenario and batch names and region keys: they become folder names
    under the output folder, so ``..``, separators, hidden names and device names are
    refused.
    """
    if (not isinstance(value, str) or len(value) > MAX_NAME_CHARS
            or not _COMPONENT.fullmatch(value) or value.endswith(".")
            or _DEVICE.fullmatch(value)):
        raise ValueError(
            f"{what} {value!r} names a folder: use letters, digits, '_', '-' and '.' (not "
            f"first or last), at most {MAX_NAME_CHARS} characters, no '/' or '\\', and not a "
            "name Windows reserves (CON, NUL, COM1 …)")
    return value


def category_key(value: str) -> str:
    """``value`` when it can be a category key (folder names, column names), else ``ValueError``."""
    if (not isinstance(value, str) or len(value) > MAX_NAME_CHARS
            or not _KEY.fullmatch(value) or _DEVICE.fullmatch(value)):
        raise ValueError(
            f"category key {value!r} names columns and folders: use letters, digits, '_' "
            f"and '-' (not first), at most {MAX_NAME_CHARS} characters, and not a name "
            "Windows reserves (CON, NUL, COM1 …)")
    return value


PathComponent = Annotated[str, AfterValidator(path_component)]
PositiveFloat = Annotated[float, Field(gt=0)]
Minutes = Annotated[float, Field(gt=0, le=MAX_MINUTES)]
Metres = Annotated[float, Field(ge=0, le=MAX_METRES)]
Amount = Annotated[float, Field(gt=0, le=MAX_AMOUNT)]
Weight = Annotated[float, Field(ge=0, le=MAX_WEIGHT)]
Bounded = Annotated[float, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT)]


class _Section(BaseModel):
    # NaN and ±inf (TOML has ``nan`` and ``inf``; ``1e309`` overflows to inf) are refused
    # in every number of every section.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class StudySection(_Section):
    """``[study]``: the study's name and how it is presented."""

    name: PathComponent
    title: str = ""
    synthetic: bool = False
    notice: str = ""
    crs: str | None = None


class BoundarySection(_Section):
    """``[boundary]``: the study area and its sub-districts.

    The outline is a file (``outline``, with ``outline_crs = "GCJ-02"`` for an Amap/DataV
    export), or, for a Chinese county or city, looked up offline by ``adcode`` or ``name``.
    """

    outline: Path | None = None
    outline_crs: str | None = None
    adcode: Annotated[str, Field(pattern=r"^\d{6}$")] | None = None
    name: str | None = None
    districts: Path | None = None
    districts_crs: str | None = None
    district_field: str = "district"
    name_en_field: str | None = "name_en"
    encoding: str | None = None


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
    source: Literal["auto", "gpkg", "osm", "osm_pbf", "osm_xml", "centrelines"] = "auto"
    nodes_layer: str = "nodes"
    edges_layer: str = "edges"
    layer: str | None = None
    crs: str | None = None
    buffer_m: Metres = 1500.0
    grade_separation: bool = True
    snap_tolerance_m: Annotated[float, Field(ge=0, le=100)] = 0.5
    encoding: str | None = None
    cache: bool = True
    steps_field: Annotated[str, Field(min_length=1)] | None = None


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
    source: Literal["auto", "grid", "raster", "census"] = "auto"
    layer: str | None = None
    cell_id_field: str = "cell_id"
    crs: str | None = None
    areas: Path | None = None
    areas_layer: str | None = None
    areas_crs: str | None = None
    area_field: str | None = None
    table_field: str | None = None
    cell_size_m: Annotated[float, Field(ge=1, le=MAX_METRES)] = 200.0
    weights: Path | None = None
    weight_field: str | None = None
    residential_values: list[str] | None = None
    age_table: Path | None = None
    age_area: str | None = None
    sheet: str | None = None
    encoding: str | None = None


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
    source: Literal["table", "osm"] = "table"
    layer: str | None = None
    id_field: str = "facility_id"
    name_field: str = "name"
    capacity_field: str | None = "capacity"
    lon_field: str | None = None
    lat_field: str | None = None
    crs: str | None = None
    sheet: str | None = None
    encoding: str | None = None
    dedupe: Literal["warn", "merge", "error"] = "warn"
    dedupe_m: Annotated[float, Field(ge=0, le=500)] = 20.0


class CategoryOverride(_Section):
    """``[categories.<key>]``: change a category's standard, or define a new category."""

    name_zh: str | None = None
    name_en: str | None = None
    age_min: Annotated[int, Field(ge=0, le=MAX_AGE)] | None = None
    age_max: Annotated[int, Field(ge=0, le=MAX_AGE)] | None = None
    tiers_min: Annotated[list[Minutes], Field(max_length=24)] | None = None
    target_min: Minutes | None = None
    speed_kmh: PositiveFloat | None = None  # 0.5-10 km/h, see standards.validate_category
    capacity_unit: str | None = None
    norm: Amount | None = None
    norm_per: Amount | None = None
    norm_base: Literal["residents", "cohort"] | None = None
    step_free: bool | None = None


class AnalysisSection(_Section):
    """``[analysis]``: engine parameters.

    ``loose_end_m``: a dead end of the network within this many metres of a street line
    it is not joined to is listed as a loose end in ``network_issues`` (a probable
    drawing gap in the centrelines); 0 lists none.
    """

    max_snap_m: Annotated[float, Field(gt=0, le=MAX_METRES)] | None = None
    loose_end_m: Annotated[float, Field(ge=0, le=MAX_METRES)] = 5.0


class SupplySection(_Section):
    """``[supply]``: capacity-aware supply, see ``settings.SupplySettings``."""

    method: Literal["2sfca", "e2sfca"] = "2sfca"
    decay: Literal["step", "gaussian"] = "step"
    step_weights: Annotated[list[Annotated[float, Field(ge=0, le=1)]],
                            Field(max_length=24)] = list(LUO_QI_STEP_WEIGHTS)
    catchment_min: Minutes | None = None
    missing_capacity: Literal["exclude", "median"] = "exclude"

    def settings(self) -> SupplySettings:
        """The section as analysis settings."""
        return SupplySettings(**{**self.model_dump(),
                                 "step_weights": tuple(self.step_weights)})


class IndexSection(_Section):
    """``[index]``: the 可及/均衡/优质 index, see ``settings.IndexSettings``.

    ``weights`` and ``indicators`` are merged with the defaults dimension by dimension:
    list a dimension to replace its weight or its indicators, give it weight 0 to drop it.
    ``categories`` lists the categories that count towards the index (default: every
    category of the study); the others keep their own scores in ``districts.csv``.
    """

    normalisation: Literal["goalposts", "minmax"] = "goalposts"
    scale: Annotated[float, Field(gt=0, le=MAX_WEIGHT)] = 100.0
    weights: dict[str, Weight] = {}
    indicators: dict[str, dict[str, Weight]] = {}
    category_weights: dict[str, Weight] = {}
    goalposts: dict[str, tuple[Bounded, Bounded]] = {}
    inequality_aversion: Annotated[float, Field(ge=0, lt=1)] = 0.5
    unserved: Literal["worst", "missing"] = "worst"
    categories: Annotated[list[str], Field(min_length=1, max_length=200)] | None = None

    def settings(self) -> IndexSettings:
        """The section as analysis settings, defaults filled in."""
        default = IndexSettings()
        return IndexSettings(
            normalisation=self.normalisation, scale=self.scale,
            weights={**default.weights, **self.weights},
            indicators={**default.indicators, **self.indicators},
            category_weights=dict(self.category_weights), goalposts=dict(self.goalposts),
            inequality_aversion=self.inequality_aversion, unserved=self.unserved,
            categories=None if self.categories is None else tuple(self.categories))


class CompareSection(_Section):
    """``[compare]``: comparison with a reference index (``circle15 compare``).

    ``tolerance`` maps an indicator (``composite``, ``coverage_childcare``, ...) to the
    largest absolute difference that is not flagged. With ``reference`` (a path relative
    to the study file), ``circle15 run`` compares too and the report shows it.
    """

    tolerance: dict[str, Annotated[float, Field(ge=0, le=MAX_AMOUNT)]] = {}
    reference: Path | None = None
    sheet: str | None = None


class OutputsSection(_Section):
    """``[outputs]``: how the tables are written.

    ``crs``: the coordinate system of the coordinates written to CSV and XLSX
    (``results.xlsx`` gaps and facilities, ``sites.csv``), so that a result pasted into the
    planner's own map lands where it should: ``"WGS84"`` (default), ``"GCJ-02"`` (Amap,
    Tencent), ``"BD-09"`` (Baidu), ``"CGCS2000"`` or an EPSG code (``"EPSG:4549"``). The
    columns are named after it (``lon_gcj02, lat_gcj02``; ``x_epsg4549, y_epsg4549``).
    """

    crs: Annotated[str, Field(min_length=1)] | None = None


class StudyConfig(_Section):
    """A whole study file."""

    study: StudySection
    boundary: BoundarySection
    network: NetworkSection
    population: PopulationSection
    facilities: dict[str, FacilitySource]
    categories: dict[str, CategoryOverride] = {}
    analysis: AnalysisSection = AnalysisSection()
    supply: SupplySection = SupplySection()
    index: IndexSection = IndexSection()
    compare: CompareSection = CompareSection()
    outputs: OutputsSection = OutputsSection()
    targets: dict[str, CategoryTargets] = {}

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


class LoadedConfig:
    """A validated study config with absolute paths and the resolved categories."""

    def __init__(self, path: Path, config: StudyConfig, standards: Standards) -> None:
        self.path = path
        self.config = config
        self.categories = _resolve_categories(config, standards, path.name)
        self.max_snap_m = config.analysis.max_snap_m or standards.max_snap_m
        self.supply = config.supply.settings()
        self.index = config.index.settings()
        self.index.check(list(self.categories), f"{path.name}: index")
        self.targets = resolve_targets(config.targets, list(self.categories), path.name)
        for category in self.categories.values():
            try:
                self.supply.check_tiers(category)
            except ConfigError as exc:
                raise ConfigError(f"{path.name}: {exc}") from None

    @property
    def name(self) -> str:
        """The study key, used as the output folder name."""
        return self.config.study.name

    def input_files(self) -> dict[str, Path]:
        """Every input file the study file names, by its config field, for the manifest.

        An outline looked up by ``adcode``/``name`` is not a file of the study: see
        ``Study.input_files`` for the complete list.
        """
        c = self.config
        files = {"network.path": c.network.path, "population.path": c.population.path}
        if c.boundary.outline is not None:
            files = {"boundary.outline": c.boundary.outline, **files}
        if c.boundary.districts:
            files["boundary.districts"] = c.boundary.districts
        p = c.population
        for name in ("areas", "weights", "age_table"):
            if getattr(p, name) is not None:
                files[f"population.{name}"] = getattr(p, name)
        files.update({f"facilities.{k}.path": s.path for k, s in c.facilities.items()
                      if s.path is not None and s.path != c.network.path})
        return files


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """Parse a UTF-8 TOML file, with errors that name the file and say what to fix.

    Only a regular file of at most :data:`MAX_TOML_BYTES` is read (a FIFO or device would
    block or never end), and a document nested deeper than :data:`MAX_TOML_DEPTH` is
    refused before the parser's recursion can blow up. A UTF-8 byte-order mark (Windows
    Notepad) is accepted.

    Parameters
    ----------
    path : Path
        The file.
    what : str
        What the file is, for messages (``"study file"``, ``"scenario"``, ``"batch file"``).
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"{path}: is a folder; give the {what} itself (a .toml file)")
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path}: not a regular file (a pipe, device or socket); save the "
                          f"{what} as a file and give its path")
    if info.st_size > MAX_TOML_BYTES:
        raise ConfigError(f"{path}: {info.st_size:,} bytes is too large for a {what} (at most "
                          f"{MAX_TOML_BYTES:,}); list many regions or sites in a table file")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_TOML_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    if len(data) > MAX_TOML_BYTES:  # it grew while being read
        raise ConfigError(f"{path}: too large for a {what} (at most {MAX_TOML_BYTES:,} bytes)")
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the {what} as UTF-8") from None
    depth = _nesting_depth(text)
    if depth > MAX_TOML_DEPTH:
        raise ConfigError(f"{path}: arrays or tables nested {depth} deep (at most "
                          f"{MAX_TOML_DEPTH}); a {what} needs no such nesting")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:  # a nesting the scan above did not see
        raise ConfigError(f"{path}: nested too deeply to be a {what}") from None
    if _structure_depth(document) > MAX_TOML_DEPTH:  # dotted keys a.b.c… nest too
        raise ConfigError(f"{path}: keys nested more than {MAX_TOML_DEPTH} deep; a {what} "
                          "needs no such nesting")
    return document


#: Strings and comments (whose brackets do not count) and the brackets that nest.
_TOML_TOKENS = re.compile(r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"'
                          r"|'[^'\n]*'|#[^\n]*|[\[\]{}]", re.DOTALL)


def _nesting_depth(text: str) -> int:
    """Deepest nesting of ``[`` and ``{`` in TOML text, outside strings and comments."""
    depth = deepest = 0
    for match in _TOML_TOKENS.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in ("]", "}"):
            depth = max(depth - 1, 0)
    return deepest


def _structure_depth(document: Any) -> int:
    """Deepest nesting of tables and arrays in a parsed document (without recursion)."""
    deepest, stack = 0, [(document, 0)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_TOML_DEPTH:
            break
        children = (value.values() if isinstance(value, dict)
                    else value if isinstance(value, list) else ())
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))
    return deepest


def load_config(path: str | Path, standards: Standards | None = None) -> LoadedConfig:
    """Read and validate a study TOML file.

    Parameters
    ----------
    path : str or Path
        The study file.
    standards : Standards, optional
        Category standards; the ones shipped with circle15 by default.

    Returns
    -------
    LoadedConfig

    Raises
    ------
    ConfigError
        When the file is missing, is not TOML, or a field is wrong; the message names it.
    """
    path = Path(path)
    raw = read_toml(path, "study file")
    try:
        config = StudyConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_explain(path, exc)) from None
    config = _absolute_paths(config, path.parent.resolve(), path)
    # Absolute but not resolved: a study file that is a link (e.g. one written by
    # ``circle15 fetch``) keeps its folder as the base of relative paths.
    return LoadedConfig(Path(os.path.abspath(path)), config, standards or load_standards())


def _explain(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{field}: unknown field; check its spelling")
        elif err["type"] == "missing":
            lines.append(f"{field}: required field is missing")
        elif err["type"] == "value_error":  # our validators: the message names the value
            lines.append(f"{field}: {err['msg'].removeprefix('Value error, ')}")
        elif err["type"] == "finite_number":
            lines.append(f"{field}: {err.get('input')!r} is not a finite number; write the "
                         "value itself (nan, inf and overflowing numbers such as 1e309 are "
                         "refused)")
        else:
            lines.append(f"{field}: {err['msg']} (got {err.get('input')!r})")
    return f"{path}: " + "; ".join(lines)


def _absolute_paths(config: StudyConfig, base: Path, where: Path) -> StudyConfig:
    def check(field: str, p: Path) -> Path:
        full = p if p.is_absolute() else base / p
        if not full.exists():
            raise ConfigError(
                f"{where}: {field}: file not found: {full} (paths are relative to the study file)"
            )
        return full

    b = config.boundary
    if b.outline is None and b.adcode is None and b.name is None:
        raise ConfigError(f"{where}: boundary: give outline = \"<file>\", or for a Chinese "
                          "county or city adcode = \"330211\" or name = \"宁波市镇海区\"")
    boundary = b.model_copy(update={
        "outline": check("boundary.outline", b.outline) if b.outline else None,
        "districts": check("boundary.districts", b.districts) if b.districts else None,
    })
    network = config.network.model_copy(
        update={"path": check("network.path", config.network.path)})
    p = config.population
    population = p.model_copy(update={"path": check("population.path", p.path), **{
        name: check(f"population.{name}", getattr(p, name))
        for name in ("areas", "weights", "age_table") if getattr(p, name) is not None}})
    facilities = {}
    for k, s in config.facilities.items():
        if s.path is not None:
            facilities[k] = s.model_copy(
                update={"path": check(f"facilities.{k}.path", s.path)})
        elif s.source == "osm":
            facilities[k] = s.model_copy(update={"path": network.path})
        else:
            raise ConfigError(f"{where}: facilities.{k}.path: required field is missing "
                              "(or set source = \"osm\" to take them from OpenStreetMap)")
    return config.model_copy(update={"boundary": boundary, "network": network,
                                      "population": population, "facilities": facilities})


def _resolve_categories(config: StudyConfig, standards: Standards,
                        where: str) -> dict[str, Category]:
    known = standards.categories
    out: dict[str, Category] = {}
    for key in config.facilities:
        override = config.categories.get(key)
        changes: dict[str, Any] = (
            {k: v for k, v in override.model_dump().items() if v is not None} if override else {}
        )
        if "tiers_min" in changes:
            changes["tiers_min"] = tuple(changes["tiers_min"])
        if key in known:
            category = replace(known[key], **changes)
        else:
            needed = {"name_zh", "name_en", "age_min", "age_max"} - changes.keys()
            if needed:
                raise ConfigError(
                    f"{where}: facilities.{key}: {key!r} is not a standard category "
                    f"({', '.join(known)}); define it under [categories.{key}] with "
                    f"{', '.join(sorted(needed))}"
                )
            base = next(iter(known.values()))
            category = Category(
                key=key, name_zh=changes["name_zh"], name_en=changes["name_en"],
                age_min=changes["age_min"], age_max=changes["age_max"],
                tiers_min=changes.get("tiers_min", base.tiers_min),
                target_min=changes.get("target_min", base.target_min),
                speed_kmh=changes.get("speed_kmh", base.speed_kmh),
                capacity_unit=changes.get("capacity_unit", ""),
                sources={"all": f"defined in {where}"},
                norm=changes.get("norm"), norm_per=changes.get("norm_per", 1.0),
                norm_base=changes.get("norm_base", "cohort"),
                step_free=changes.get("step_free", False),
            )
        validate_category(category, f"{where}: categories.{key}")
        out[key] = category
    unused = sorted(set(config.categories) - set(config.facilities))
    if unused:
        raise ConfigError(
            f"{where}: categories.{unused[0]}: no [facilities.{unused[0]}] table to go with it"
        )
    return out
