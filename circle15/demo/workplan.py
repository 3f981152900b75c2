"""The demo's scenario: Zhenhai's 2024 work plan of new facilities, at synthetic locations.

The counts are real: 2024年镇海区公共服务“七优享”工程工作要点 (区发改局, 2024-06-18) plans
2 standard elderly canteens, 3 shared canteens and 22 smart meal points; 1 public and 2
community-embedded childcare centres with 90 places; 16 grassroots sports facilities. The
plan names no sites, so the locations are drawn here by seeded code, the way a planner
might spread them: each new site goes to a cell drawn at random, weighted by the cohort
that no facility (existing or already planned) reaches within a straight-line radius,
and stands on the street nearest that cell. Capacities, the split of the 16 sports
facilities into parks, gyms and table-tennis points, and all names are made up too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

WORKPLAN_FILE = "scenarios/zhenhai_2024_workplan_synthetic.toml"
SEED = (20240618, 2024)
UTM = "EPSG:32651"
#: Straight-line reach standing for a 15-minute walk (1,000 m; 800 m for older walkers)
#: over streets with a detour factor of about 1.5, as the demo's own facilities use.
REACH_M = {"childcare": 540.0, "elderly_canteen": 430.0, "sports_venue": 540.0}
SOURCE = (
    "2024年镇海区公共服务“七优享”工程工作要点 (镇海区发改局, 2024-06-18, "
    "索引号 002958132/2024-126881)"
)


@dataclass(frozen=True)
class PlanItem:
    """One line of the plan: how many facilities of one kind, and where the plan says so."""

    category: str
    prefix: str
    count: int
    kind_zh: str
    kind_en: str
    capacities: tuple[float, ...]  # one per facility, or (low, high) drawn per facility
    clause: str


PLAN: tuple[PlanItem, ...] = (
    PlanItem(
        "elderly_canteen",
        "EC",
        2,
        "标准化老年食堂",
        "standard elderly canteen",
        (80, 120),
        "(五)1 新建(改建)标准化老年食堂 2 家",
    ),
    PlanItem(
        "elderly_canteen", "SC", 3, "共享餐厅", "shared canteen", (40, 80), "(五)1 共享餐厅 3 家"
    ),
    PlanItem(
        "elderly_canteen",
        "MP",
        22,
        "智能助餐服务点",
        "smart meal point",
        (20, 40),
        "(五)1 新增 22 个村社智能助餐服务点",
    ),
    PlanItem(
        "childcare",
        "PC",
        1,
        "公办托育机构",
        "public childcare centre",
        (40.0,),
        "(一)4 推动建设 1 家公办托育机构 … 提供托位数 90 个",
    ),
    PlanItem(
        "childcare",
        "CE",
        2,
        "社区嵌入式托育机构",
        "community-embedded childcare centre",
        (25.0, 25.0),
        "(一)4 建成 2 家社区嵌入式托育机构 … 提供托位数 90 个",
    ),
    PlanItem(
        "sports_venue",
        "SP",
        2,
        "体育公园",
        "sports park",
        (8000, 15000),
        "(四)6 新建体育公园、百姓健身房、国球进社区等基层体育场地设施 16 个",
    ),
    PlanItem(
        "sports_venue",
        "GY",
        6,
        "百姓健身房",
        "community gym",
        (300, 800),
        "(四)6 新建体育公园、百姓健身房、国球进社区等基层体育场地设施 16 个",
    ),
    PlanItem(
        "sports_venue",
        "TT",
        8,
        "国球进社区",
        "table-tennis point",
        (100, 300),
        "(四)6 新建体育公园、百姓健身房、国球进社区等基层体育场地设施 16 个",
    ),
)


#: The plan's targets (``[targets]`` of the scenario and of the demo's 2025 vintage):
#: per category the targets and the clauses they come from.
TARGETS: dict[str, tuple[dict[str, float], str]] = {
    "childcare": (
        {"new_facilities": 3, "new_capacity": 100},
        "(一)1 全区新增托位 100 个; (一)4 推动建设 1 家公办托育机构，建成 2 家社区嵌入式托育机构",
    ),
    "elderly_canteen": (
        {"new_facilities": 27},
        "(五)1 新建(改建)标准化老年食堂 2 家、共享餐厅 3 家，新增 22 个村社智能助餐服务点",
    ),
    "sports_venue": (
        {"new_facilities": 16, "area_per_resident": 2.9},
        "(四)6 新建基层体育场地设施 16 个，全区人均体育场地面积达到 2.9 平方米以上",
    ),
}


def targets_text() -> list[str]:
    """The plan's targets as TOML lines (one ``[targets.<category>]`` table each)."""
    q = lambda s: json.dumps(s, ensure_ascii=False)  # noqa: E731
    lines = ["", "# The plan's targets (circle15 reports them as met or not; see docs/circle.md)."]
    for category, (targets, clause) in TARGETS.items():
        lines += ["", f"[targets.{category}]"]
        lines += [f"{kind} = {value:g}" for kind, value in targets.items()]
        lines.append(f"source = {q(SOURCE + ' ' + clause)}")
    return lines


def _cohort(cells: pd.DataFrame, category: str) -> np.ndarray:
    """Residents the category serves, from the census bands (evenly spread within a band)."""
    if category == "childcare":  # ages 0-2: band 0 and two of the four years of band 1-4
        return cells["age_0"].to_numpy(float) + cells["age_1_4"].to_numpy(float) / 2
    if category == "elderly_canteen":
        return cells["age_60_plus"].to_numpy(float)
    return cells["pop_total"].to_numpy(float)


def _capacities(rng: np.random.Generator, item: PlanItem) -> np.ndarray:
    if len(item.capacities) == item.count:
        return np.asarray(item.capacities, dtype=float)
    low, high = item.capacities
    step = 5 if high <= 200 else 50
    return np.round(rng.uniform(low, high, item.count) / step) * step


def plan_sites(data_dir: Path) -> pd.DataFrame:
    """Draw the plan's sites on the demo in ``data_dir`` (seeded; same data, same sites).

    Returns
    -------
    DataFrame
        ``category, id, name, lon, lat, capacity, note``, in plan order.
    """
    data_dir = Path(data_dir)
    cells = gpd.read_file(
        data_dir / "population" / "zhenhai_population_200m_synthetic.gpkg", layer="cells"
    ).to_crs(UTM)
    zones = gpd.read_file(
        data_dir / "boundaries" / "zhenhai_subdistricts_synthetic.geojson"
    ).to_crs(UTM)
    edges = gpd.read_file(
        data_dir / "network" / "zhenhai_walk_synthetic.gpkg", layer="edges"
    ).to_crs(UTM)
    centres = shapely.centroid(cells.geometry.to_numpy())
    cell_i, zone_i = zones.sindex.query(centres, predicate="within")
    district = np.full(len(cells), "", dtype=object)
    district[cell_i[::-1]] = zones["district"].to_numpy(dtype=object)[zone_i[::-1]]
    streets = edges.geometry.to_numpy()
    tree = shapely.STRtree(streets)
    xy = shapely.get_coordinates(centres)
    rng = np.random.default_rng(list(SEED))
    rows = []
    for category in dict.fromkeys(item.category for item in PLAN):
        table = pd.read_csv(data_dir / "facilities" / f"{category}.csv")
        sites = gpd.GeoSeries(gpd.points_from_xy(table["lon"], table["lat"]), crs=4326).to_crs(UTM)
        placed = shapely.get_coordinates(sites.to_numpy())
        cohort = _cohort(cells, category)
        reach = REACH_M[category]
        for item in (i for i in PLAN if i.category == category):
            capacity = _capacities(rng, item)
            for k in range(item.count):
                dist = np.sqrt(((xy[:, None, :] - placed[None, :, :]) ** 2).sum(-1)).min(1)
                weight = np.where(dist > reach, cohort, 0.0)
                if weight.sum() <= 0:
                    weight = cohort
                cell = int(rng.choice(len(cells), p=weight / weight.sum()))
                street = streets[tree.nearest(centres[cell])]
                site = shapely.line_interpolate_point(
                    street, shapely.line_locate_point(street, centres[cell])
                )
                placed = np.vstack([placed, shapely.get_coordinates(site)])
                lon, lat = gpd.GeoSeries([site], crs=UTM).to_crs(4326).iloc[0].coords[0]
                rows.append(
                    {
                        "category": category,
                        "id": f"WP24-{item.prefix}{k + 1:02d}",
                        "name": f"{district[cell]}{item.kind_zh}（2024规划·合成位置）"
                        + (f"{k + 1}" if item.count > 1 else ""),
                        "lon": round(lon, 6),
                        "lat": round(lat, 6),
                        "capacity": float(capacity[k]),
                        "note": f"{item.kind_zh} {item.kind_en}; plan: {item.clause}",
                    }
                )
    return pd.DataFrame(rows)


def scenario_text(sites: pd.DataFrame) -> str:
    """The scenario file for ``sites`` (TOML; strings JSON-escaped, which TOML accepts)."""
    q = lambda s: json.dumps(s, ensure_ascii=False)  # noqa: E731
    lines = [
        "# circle15 scenario: Zhenhai's 2024 work plan of new facilities, written by",
        "# circle15.demo.workplan. The COUNTS come from the plan; the LOCATIONS, capacities,",
        "# names and the split of the 16 sports facilities are SYNTHETIC (seeded draws",
        "# weighted by residents without a facility nearby). Do not read them as the",
        "# district's real sites. Run: circle15 run data/zhenhai.toml --scenario <this file>",
        "",
        "[scenario]",
        'name = "zhenhai_2024_workplan"',
        f"title = {q('镇海区2024年公共服务七优享工作要点：新增设施 · Zhenhai 2024 work plan: new facilities (synthetic locations)')}",  # noqa: E501
        f"source = {q(SOURCE)}",
        "synthetic = true",
        f"notice = {q('Scenario: counts from the 2024 work plan; locations, capacities and names are synthetic (seeded, circle15.demo.workplan).')}",  # noqa: E501
        'crs = "EPSG:4326"',
    ]
    lines += targets_text()
    for _, s in sites.iterrows():
        lines += [
            "",
            "[[add]]",
            f"category = {q(s['category'])}",
            f"id = {q(s['id'])}",
            f"name = {q(s['name'])}",
            f"lon = {s['lon']:.6f}",
            f"lat = {s['lat']:.6f}",
            f"capacity = {s['capacity']:g}",
            f"note = {q(s['note'])}",
        ]
    return "\n".join(lines) + "\n"


def write_workplan_scenario(data_dir: Path) -> Path:
    """Write ``scenarios/zhenhai_2024_workplan_synthetic.toml`` into the demo folder."""
    path = Path(data_dir) / WORKPLAN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(scenario_text(plan_sites(data_dir)), encoding="utf-8")
    return path
