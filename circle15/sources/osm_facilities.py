"""Which OpenStreetMap features are which public service: the tag mapping, in one place.

Both the online path (osmnx ``features_from_polygon``) and the offline path (``.osm.pbf``/
``.osm`` read with pyosmium) produce a frame of features with their tags; :func:`classify`
turns it into facility layers with the same rules. The rules are documented in the README
("OpenStreetMap tag mapping") and listed in :data:`MAPPING`.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..model import FacilityLayer

#: Values asked of Overpass (online) and kept from files (offline); names are matched only
#: among these features, so that both paths see the same candidates.
AMENITY_VALUES = (
    "childcare",
    "kindergarten",
    "school",
    "social_facility",
    "canteen",
    "community_centre",
    "social_centre",
    "restaurant",
    "fast_food",
    "food_court",
    "clinic",
    "doctors",
    "hospital",
    "library",
    "arts_centre",
)
LEISURE_VALUES = (
    "sports_centre",
    "fitness_centre",
    "pitch",
    "stadium",
    "fitness_station",
    "sports_hall",
    "track",
)
HEALTHCARE_VALUES = ("clinic", "doctor", "centre")
#: Tags for ``osmnx.features_from_polygon``: the candidates plus building entrances.
QUERY_TAGS: dict[str, bool | list[str]] = {
    "amenity": list(AMENITY_VALUES),
    "leisure": list(LEISURE_VALUES),
    "social_facility": True,
    "healthcare": list(HEALTHCARE_VALUES),
    "entrance": True,
}
#: Keys a pyosmium pass must keep to see the same features offline.
FEATURE_KEYS = ("amenity", "leisure", "social_facility", "healthcare", "entrance")
#: Tags kept as columns (the rest are dropped after reading).
USEFUL_TAGS = (
    "amenity",
    "leisure",
    "social_facility",
    "social_facility:for",
    "school",
    "isced:level",
    "grades",
    "name",
    "name:zh",
    "name:zh-Hans",
    "capacity",
    "access",
    "entrance",
    "sport",
    "operator",
    "healthcare",
)

_CHILDCARE_NAMES = r"托育|托儿所|育婴|婴幼儿照护"
_ELDERLY_NAMES = r"老年食堂|长者食堂|助餐|老年餐桌|幸福食堂|居家养老服务|养老服务中心|日间照料"
_PRIMARY_NAMES = r"小学|完小|一贯制|九年制"
_MIDDLE_NAMES = r"初中|初级中学|一贯制|九年制|(?<!高级)(?<!职业)中学"
_SENIOR_ONLY_NAMES = r"高中|高级中学|职业|职高|中专|中等专业|技工|技师|大学|学院"
#: Basic care of every resident (社区卫生服务中心/站, 乡镇卫生院, 村卫生室, 社区医院).
_HEALTH_NAMES = r"社区卫生服务|卫生服务中心|卫生服务站|卫生院|卫生室|社区医院"
#: Clinics that are not basic community care: dentists, cosmetic and animal clinics, and
#: private hospitals tagged as clinics.
_NOT_HEALTH_NAMES = r"口腔|牙科|齿科|医美|美容|整形|宠物|动物|兽医|(?<!社区)医院"
#: Day care and small embedded care homes for older residents.
_DAY_CARE_NAMES = (
    r"居家养老|日间照料|照料中心|托老所|养老服务中心|养老服务站|嵌入式养老|"
    r"小微养老|长者照护|颐养中心"
)
_EMBEDDED_NAMES = r"嵌入式|小微|社区|居家"
#: Public culture: 文化活动中心/站/室, 文化家园 (Ningbo), 农村文化礼堂 (Zhejiang), libraries.
_CULTURE_NAMES = (
    r"文化活动中心|文化活动站|文化活动室|文化中心|文化站|文化家园|文化礼堂|"
    r"图书馆|图书分馆|城市书房|农家书屋|文化馆|文化宫|文体中心|文体活动"
)
#: Libraries and halls of schools and universities are not public culture.
_NOT_CULTURE_NAMES = r"大学|学院|中学|小学|学校|幼儿园"

#: The mapping as a planner reads it: category -> rule (kept in step with ``_masks``).
MAPPING: dict[str, str] = {
    "childcare": "amenity=childcare; amenity=social_facility + social_facility=day_care + "
    "social_facility:for=child|children|toddler; or a name containing "
    "托育/托儿所/育婴/婴幼儿照护",
    "kindergarten": "amenity=kindergarten, or a name containing 幼儿园",
    "primary_school": "amenity=school with isced:level 1, grades within 1-6, school=primary "
    "or a name containing 小学/完小/一贯制/九年制; a school whose level "
    "is unknown counts as primary and middle (noted)",
    "middle_school": "amenity=school with isced:level 2, grades within 7-9 or a name "
    "containing 初中/初级中学/中学 (not 高级中学)/一贯制/九年制; senior-only "
    "schools (高中, 职业, 中专, 大学 …, isced:level 3+) are left out",
    "elderly_canteen": "a name containing 老年食堂/长者食堂/助餐/老年餐桌/幸福食堂/"
    "居家养老服务/养老服务中心/日间照料; or amenity=social_facility + "
    "social_facility:for=senior|elderly + social_facility=day_care|"
    "outreach|soup_kitchen|food_bank; or amenity=canteen for seniors",
    "sports_venue": "leisure=sports_centre|fitness_centre|pitch|stadium|fitness_station|"
    "sports_hall|track, unless access=private|no",
    "community_health": "a name containing 社区卫生服务/卫生服务中心/卫生服务站/卫生院/卫生室/"
    "社区医院 (any candidate, amenity=hospital included); or amenity="
    "clinic|doctors or healthcare=clinic|doctor|centre, unless amenity="
    "hospital or the name is a dentist's, cosmetic or animal clinic "
    "(口腔/牙科/医美/宠物 …) or a hospital (医院, not 社区医院)",
    "elderly_day_care": "a name containing 居家养老/日间照料/照料中心/托老所/养老服务中心/"
    "养老服务站/嵌入式养老/小微养老/长者照护/颐养中心; or amenity="
    "social_facility + social_facility:for=senior|elderly + "
    "social_facility=day_care|assisted_living|group_home, or "
    "nursing_home with a name containing 嵌入式/小微/社区/居家",
    "culture": "amenity=library|arts_centre, or a name containing 文化活动中心/文化活动站/"
    "文化活动室/文化中心/文化站/文化家园/文化礼堂/图书馆/图书分馆/城市书房/农家书屋/"
    "文化馆/文化宫/文体中心/文体活动; not when the name is a school's or "
    "university's (大学/学院/中学/小学/学校/幼儿园)",
}

#: Two features of one category with the same name closer than this are one facility.
SAME_NAME_M = 100.0
#: An entrance this close to a facility's outline (or inside it) is its door.
ENTRANCE_M = 5.0

ATTRIBUTION = "© OpenStreetMap contributors (ODbL 1.0)"


@dataclass
class OsmFeatures:
    """Candidate features read from OpenStreetMap, in WGS84.

    ``features`` has ``osm_id`` (``node/1``, ``way/2``, ``relation/3``), one column per
    tag in :data:`USEFUL_TAGS` (empty string when absent) and Point or (Multi)Polygon
    geometry; ``entrances`` has ``osm_id``, ``entrance`` and Point geometry.
    """

    features: gpd.GeoDataFrame
    entrances: gpd.GeoDataFrame
    source: str


def tidy_features(frame: gpd.GeoDataFrame, source: str) -> OsmFeatures:
    """Split raw features into candidates and entrances, with tag columns as strings."""
    frame = frame.to_crs(4326) if frame.crs is not None else frame.set_crs(4326)
    tags = pd.DataFrame(
        {t: (frame[t].fillna("").astype(str) if t in frame.columns else "") for t in USEFUL_TAGS},
        index=frame.index,
    )
    out = gpd.GeoDataFrame(
        {"osm_id": frame["osm_id"].to_numpy(), **{t: tags[t].to_numpy() for t in USEFUL_TAGS}},
        geometry=frame.geometry.to_numpy(),
        crs=4326,
    )
    is_entrance = (out["entrance"] != "") & (out.geometry.geom_type == "Point")
    candidate = (
        out["amenity"].isin(AMENITY_VALUES)
        | out["leisure"].isin(LEISURE_VALUES)
        | (out["social_facility"] != "")
        | out["healthcare"].isin(HEALTHCARE_VALUES)
    )
    polygonal = out.geometry.geom_type.isin(["Point", "Polygon", "MultiPolygon"])
    return OsmFeatures(
        features=out[candidate & polygonal].reset_index(drop=True),
        entrances=out.loc[is_entrance, ["osm_id", "entrance", "geometry"]].reset_index(drop=True),
        source=source,
    )


def classify(
    osm: OsmFeatures, categories: list[str], crs: CRS, area: shapely.Geometry | None = None
) -> dict[str, FacilityLayer]:
    """Facility layers for ``categories`` from OpenStreetMap features.

    Parameters
    ----------
    osm : OsmFeatures
        Candidates and entrances (WGS84).
    categories : list of str
        Category keys to build; keys without a rule in :data:`MAPPING` are an error.
    crs : pyproj.CRS
        Projected study CRS of the returned points.
    area : shapely geometry, optional
        Keep facilities within this polygon (study CRS), e.g. the area plus its buffer.

    Returns
    -------
    dict of str to FacilityLayer
        Polygons become their entrance (``entrance=main`` first) when one is mapped on or
        inside the outline, else a point inside them. Nodes inside an area of the same
        category, and same-name features within 100 m, are merged (noted).
    """
    unknown = [c for c in categories if c not in MAPPING]
    if unknown:
        from ..errors import ConfigError

        raise ConfigError(
            f'facilities.{unknown[0]}: source = "osm" has no tag mapping for {unknown[0]!r};'
            f" OpenStreetMap categories are {', '.join(MAPPING)}. Give this category a "
            "table instead (path = ...)"
        )
    feats = osm.features.to_crs(crs)
    # Features read before a tag joined USEFUL_TAGS (or built by hand) lack its column:
    # an absent tag is an empty one.
    missing = [t for t in USEFUL_TAGS if t not in feats.columns]
    if missing:
        feats = feats.assign(**dict.fromkeys(missing, ""))
    masks, level_note = _masks(feats)
    points = _facility_points(feats, osm.entrances.to_crs(crs))
    out = {}
    for key in categories:
        mask = masks[key]
        chosen = feats[mask]
        layer = gpd.GeoDataFrame(
            {
                "osm_id": chosen["osm_id"].to_numpy(),
                "name": _names(chosen, key),
                "capacity": pd.to_numeric(chosen["capacity"], errors="coerce").to_numpy(float),
                "is_area": chosen.geometry.geom_type.ne("Point").to_numpy(),
                "footprint": chosen.geometry.to_numpy(),
                "note": level_note[mask].to_numpy()
                if key in ("primary_school", "middle_school")
                else "",
            },
            geometry=points[mask.to_numpy()],
            crs=crs,
        )
        if area is not None:
            layer = layer[shapely.intersects(area, layer["footprint"].to_numpy())]
        layer, merged = _merge_duplicates(layer)
        notes = []
        if merged:
            notes.append(
                f"{key}: {merged} OpenStreetMap feature(s) merged with another "
                "(a node inside a mapped area, or the same name within 100 m)"
            )
        guessed = int((layer["note"] == "level unknown").sum())
        if guessed:
            notes.append(
                f"{key}: {guessed} school(s) of unknown level counted as primary and middle schools"
            )
        provenance = [
            f"OpenStreetMap {i}{' (' + n + ')' if n else ''}; {ATTRIBUTION}"
            for i, n in zip(layer["osm_id"], layer["note"], strict=True)
        ]
        facilities = gpd.GeoDataFrame(
            {
                "facility_id": layer["osm_id"].to_numpy(),
                "name": layer["name"].to_numpy(),
                "capacity": layer["capacity"].to_numpy(dtype=float),
                "provenance": np.array(provenance, dtype=object),
            },
            geometry=layer.geometry.to_numpy(),
            crs=crs,
        )
        out[key] = FacilityLayer(
            category=key,
            facilities=facilities.reset_index(drop=True),
            source=osm.source,
            notes=notes,
        )
    return out


# --------------------------------------------------------------------------------------
# Rules


def _masks(f: pd.DataFrame) -> tuple[dict[str, pd.Series], pd.Series]:
    name = f["name:zh"].where(f["name:zh"] != "", f["name"])
    name = name.where(name != "", f["name:zh-Hans"])

    def has_name(pattern: str) -> pd.Series:
        return name.str.contains(pattern, regex=True)

    def is_(key: str, *values: str) -> pd.Series:
        return f[key].isin(values)

    def matches(key: str, pattern: str) -> pd.Series:
        return f[key].str.contains(pattern, regex=True)

    childcare = (
        is_("amenity", "childcare")
        | (
            is_("amenity", "social_facility")
            & is_("social_facility", "day_care")
            & matches("social_facility:for", r"child|toddler")
        )
        | has_name(_CHILDCARE_NAMES)
    )
    kindergarten = is_("amenity", "kindergarten") | has_name("幼儿园")

    school = is_("amenity", "school")
    isced = f["isced:level"]
    low, high = _grade_range(f["grades"])
    primary = (
        isced.str.contains(r"(?<!\d)1(?!\d)")
        | ((low <= 6) & (high >= 1))
        | is_("school", "primary")
        | has_name(_PRIMARY_NAMES)
    )
    middle = (
        isced.str.contains(r"(?<!\d)2(?!\d)") | ((low <= 9) & (high >= 7)) | has_name(_MIDDLE_NAMES)
    )
    senior_only = (has_name(_SENIOR_ONLY_NAMES) | isced.str.contains(r"[3-8]")) & ~primary & ~middle
    unknown = school & ~primary & ~middle & ~senior_only & ~kindergarten
    note = pd.Series("", index=f.index, dtype=object)
    note[school & (primary | middle) & (isced == "") & (f["grades"] == "")] = "level from name"
    note[unknown] = "level unknown"

    elderly = (
        has_name(_ELDERLY_NAMES)
        | (
            is_("amenity", "social_facility")
            & matches("social_facility:for", r"senior|elderly")
            & is_("social_facility", "day_care", "outreach", "soup_kitchen", "food_bank")
        )
        | (is_("amenity", "canteen") & matches("social_facility:for", r"senior|elderly"))
    )
    sports = is_("leisure", *LEISURE_VALUES) & ~is_("access", "private", "no")
    health = has_name(_HEALTH_NAMES) | (
        (is_("amenity", "clinic", "doctors") | is_("healthcare", *HEALTHCARE_VALUES))
        & ~is_("amenity", "hospital")
        & ~has_name(_NOT_HEALTH_NAMES)
    )
    senior = matches("social_facility:for", r"senior|elderly")
    day_care = (
        has_name(_DAY_CARE_NAMES)
        | (
            is_("amenity", "social_facility")
            & senior
            & is_("social_facility", "day_care", "assisted_living", "group_home")
        )
        | (
            is_("amenity", "social_facility")
            & senior
            & is_("social_facility", "nursing_home")
            & has_name(_EMBEDDED_NAMES)
        )
    )
    culture = (is_("amenity", "library", "arts_centre") | has_name(_CULTURE_NAMES)) & ~has_name(
        _NOT_CULTURE_NAMES
    )
    return {
        "childcare": childcare,
        "kindergarten": kindergarten & ~has_name(_CHILDCARE_NAMES + "|小学|中学"),
        "primary_school": school & (primary | unknown) & ~kindergarten,
        "middle_school": school & (middle | unknown) & ~kindergarten,
        "elderly_canteen": elderly,
        "sports_venue": sports,
        "community_health": health,
        "elderly_day_care": day_care,
        "culture": culture,
    }, note


def _grade_range(grades: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Lowest and highest grade of ``grades=1-6`` / ``7;8;9`` (NaN when absent)."""
    numbers = grades.str.findall(r"\d+").apply(lambda xs: [int(x) for x in xs])
    low = numbers.apply(lambda xs: min(xs) if xs else np.nan)
    high = numbers.apply(lambda xs: max(xs) if xs else np.nan)
    return low.astype(float), high.astype(float)


def _names(frame: pd.DataFrame, key: str) -> np.ndarray:
    name = frame["name:zh"].where(frame["name:zh"] != "", frame["name"])
    fallback = key.replace("_", " ") + " (" + frame["osm_id"] + ")"
    return name.where(name != "", fallback).to_numpy(dtype=object)


# --------------------------------------------------------------------------------------
# Geometry


def _facility_points(feats: gpd.GeoDataFrame, entrances: gpd.GeoDataFrame) -> np.ndarray:
    """One point per feature: itself, its (main) entrance, or a point inside it."""
    geoms = feats.geometry.to_numpy()
    points = shapely.point_on_surface(geoms)
    areas = np.flatnonzero(feats.geometry.geom_type.ne("Point").to_numpy())
    if len(areas) and len(entrances):
        tree = shapely.STRtree(entrances.geometry.to_numpy())
        poly_idx, ent_idx = tree.query(geoms[areas], predicate="dwithin", distance=ENTRANCE_M)
        if len(poly_idx):
            main = entrances["entrance"].to_numpy()[ent_idx] == "main"
            # main entrances first, then by entrance id, so each area takes a stable door
            order = np.lexsort((ent_idx, ~main, poly_idx))
            poly_idx, ent_idx = poly_idx[order], ent_idx[order]
            first = np.r_[True, poly_idx[1:] != poly_idx[:-1]]
            points[areas[poly_idx[first]]] = entrances.geometry.to_numpy()[ent_idx[first]]
    return points


def _merge_duplicates(layer: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Drop nodes inside an area of the same category and same-name repeats within 100 m."""
    n = len(layer)
    if n < 2:
        return layer, 0
    layer = layer.sort_values(["is_area", "osm_id"], ascending=[False, True]).reset_index(drop=True)
    drop = np.zeros(n, dtype=bool)
    nodes = np.flatnonzero(~layer["is_area"].to_numpy())
    areas = np.flatnonzero(layer["is_area"].to_numpy())
    if len(nodes) and len(areas):
        tree = shapely.STRtree(layer["footprint"].to_numpy()[areas])
        inside, _ = tree.query(layer["footprint"].to_numpy()[nodes], predicate="within")
        drop[nodes[np.unique(inside)]] = True
    # unnamed features carry their OSM id in their name, so they never match here
    named = layer["name"].str.replace(r"\s+", "", regex=True).to_numpy()
    tree = shapely.STRtree(layer.geometry.to_numpy())
    a, b = tree.query(layer.geometry.to_numpy(), predicate="dwithin", distance=SAME_NAME_M)
    same = (a < b) & (named[a] == named[b])
    drop[b[same & ~drop[a]]] = True
    return layer[~drop], int(drop.sum())
