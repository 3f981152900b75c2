"""The demo's second vintage: the district's facility tables a year on (synthetic).

``circle15 diff data/zhenhai.toml data/vintages/zhenhai_2025_synthetic.toml`` compares the
two. The 2025 tables are the 2024 ones after the work plan was carried out -- its 27
elderly-canteen sites, 3 childcare centres and 16 sports facilities
(:mod:`circle15.demo.workplan`) stand -- plus what a year of facility lists brings, drawn
by seeded code so that every kind of change occurs: two elderly canteens closed, a
kindergarten moved 300 m, one renamed where it stands, every kindergarten given a new id
(the education bureau's new numbering: matched by name), three childcare centres with 10
more places, and a few new health stations, culture homes and a day-care home. The street
network and the residents are the same, so the two runs compare cell by cell. The study
file carries the plan's targets. Everything is labelled synthetic.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .common import (
    NETWORK_FILE,
    OUTLINE_FILE,
    POPULATION_FILE,
    POPULATION_LAYER,
    PROV_SYNTHETIC,
    UTM,
    ZONES_FILE,
)
from .workplan import plan_sites, targets_text

__all__ = ["VINTAGE_FACILITIES", "VINTAGE_FILE", "vintage_tables", "write_vintage"]

VINTAGE_FILE = "vintages/zhenhai_2025_synthetic.toml"
VINTAGE_FACILITIES = "vintages/facilities_2025"
SEED = (20240618, 2025)
#: New facilities of a year besides the plan's, per category: how many and their kind.
NEW = {
    "community_health": (2, "社区卫生服务站", "Community Health Station", (120, 300)),
    "culture": (2, "文化家园", "Community Culture Home", (250, 1200)),
    "elderly_day_care": (1, "嵌入式养老机构", "Embedded Care Home", (600, 1500)),
}
#: Straight-line reach of a new facility, as the work plan's sites use.
REACH_M = 540.0
MOVE_M = 300.0


def _to_lonlat(xy: np.ndarray) -> np.ndarray:
    points = gpd.GeoSeries(shapely.points(xy), crs=UTM).to_crs(4326)
    return np.round(np.column_stack([points.x, points.y]), 6)


def _to_utm(table: pd.DataFrame) -> np.ndarray:
    points = gpd.GeoSeries(gpd.points_from_xy(table["lon"], table["lat"]), crs=4326).to_crs(UTM)
    return shapely.get_coordinates(points.to_numpy())


def _new_sites(
    rng: np.random.Generator,
    table: pd.DataFrame,
    count: int,
    cells: gpd.GeoDataFrame,
    tree: shapely.STRtree,
    streets: np.ndarray,
) -> np.ndarray:
    """Sites on the street nearest cells drawn where no facility is within reach."""
    centres = shapely.centroid(cells.geometry.to_numpy())
    xy = shapely.get_coordinates(centres)
    weight = cells["pop_total"].to_numpy(dtype=float)
    placed = _to_utm(table)
    out = []
    for _ in range(count):
        far = np.sqrt(((xy[:, None] - placed[None]) ** 2).sum(-1)).min(1) > REACH_M
        w = np.where(far, weight, 0.0)
        cell = int(rng.choice(len(xy), p=w / w.sum()))
        street = streets[tree.nearest(centres[cell])]
        site = shapely.line_interpolate_point(
            street, shapely.line_locate_point(street, centres[cell])
        )
        out.append(shapely.get_coordinates(site)[0])
        placed = np.vstack([placed, out[-1]])
    return np.asarray(out)


def vintage_tables(data_dir: Path) -> dict[str, pd.DataFrame]:
    """The 2025 facility tables, from the 2024 ones in ``data_dir`` (seeded)."""
    data_dir = Path(data_dir)
    rng = np.random.default_rng(list(SEED))
    names = sorted(p.stem for p in (data_dir / "facilities").glob("*.csv"))
    tables = {k: pd.read_csv(data_dir / "facilities" / f"{k}.csv") for k in names}
    # the plan carried out: its sites stand, under their plan ids, named without the
    # plan's "(2024规划·合成位置)"
    plan = plan_sites(data_dir)
    for key, rows in plan.groupby("category", sort=False):
        built = pd.DataFrame(
            {
                "facility_id": rows["id"].to_numpy(),
                "name": rows["name"]
                .str.replace("（2024规划·合成位置）", "", regex=False)
                .to_numpy(),
                "name_en": rows["note"].str.split(";").str[0].str.split(" ", n=1).str[1].to_numpy(),
                "capacity": rows["capacity"].round().astype(int).to_numpy(),
                "lon": rows["lon"].to_numpy(),
                "lat": rows["lat"].to_numpy(),
                "provenance": PROV_SYNTHETIC,
            }
        )
        tables[key] = pd.concat([tables[key], built], ignore_index=True)
    canteens = tables["elderly_canteen"]
    closed = rng.choice(
        np.flatnonzero(canteens["facility_id"].str.startswith("EC")), 2, replace=False
    )
    tables["elderly_canteen"] = canteens.drop(index=closed).reset_index(drop=True)
    childcare = tables["childcare"]
    more = rng.choice(
        np.flatnonzero(childcare["facility_id"].str.startswith("CC")), 3, replace=False
    )
    childcare.loc[more, "capacity"] += 10
    cells = gpd.read_file(data_dir / POPULATION_FILE, layer=POPULATION_LAYER).to_crs(UTM)
    edges = gpd.read_file(data_dir / NETWORK_FILE, layer="edges").to_crs(UTM)
    streets = edges.geometry.to_numpy()
    tree = shapely.STRtree(streets)
    kg = tables["kindergarten"].copy()
    moved, renamed = rng.choice(len(kg), 2, replace=False)
    angle = rng.uniform(0, 2 * np.pi)
    target = shapely.points(
        _to_utm(kg.iloc[[moved]]) + MOVE_M * np.array([np.cos(angle), np.sin(angle)])
    )[0]
    street = streets[tree.nearest(target)]  # the new site stands on a street
    site = shapely.line_interpolate_point(street, shapely.line_locate_point(street, target))
    kg.loc[moved, ["lon", "lat"]] = _to_lonlat(shapely.get_coordinates(site))[0]
    old = kg.loc[renamed, "name"]
    kg.loc[renamed, "name"] = f"启明实验幼儿园（原{old}）"  # renamed where it stands
    kg.loc[renamed, "name_en"] = "Qiming Experimental Kindergarten"
    kg["facility_id"] = [f"KG2025-{i:03d}" for i in range(1, len(kg) + 1)]  # new numbering
    tables["kindergarten"] = kg
    for key, (count, zh, en, (lo, hi)) in NEW.items():
        table = tables[key]
        xy = _new_sites(rng, table, count, cells, tree, streets)
        lonlat = _to_lonlat(xy)
        prefix = str(table["facility_id"].iloc[0])[:2]
        start = len(table) + 1
        tables[key] = pd.concat(
            [
                table,
                pd.DataFrame(
                    {
                        "facility_id": [f"{prefix}{start + i:03d}" for i in range(count)],
                        "name": [f"新建{zh}{i + 1}（2025）" for i in range(count)],
                        "name_en": [f"New {en} {i + 1} (2025)" for i in range(count)],
                        "capacity": (np.round(rng.uniform(lo, hi, count) / 10) * 10).astype(int),
                        "lon": lonlat[:, 0],
                        "lat": lonlat[:, 1],
                        "provenance": PROV_SYNTHETIC,
                    }
                ),
            ],
            ignore_index=True,
        )
    return tables


def vintage_config(categories: list[str]) -> str:
    """The 2025 vintage's study file (paths relative to it), with the plan's targets."""
    q = lambda s: json.dumps(s, ensure_ascii=False)  # noqa: E731
    lines = [
        "# circle15 study: the Zhenhai demo a year on (2025 vintage), written by",
        "# circle15.demo.vintage. Compare: circle15 diff data/zhenhai.toml <this file>",
        "",
        "[study]",
        'name = "zhenhai_2025"',
        f"title = {q('镇海区 15分钟公共服务圈 2025 · Zhenhai 15-minute public service circle 2025 (demo vintage)')}",  # noqa: E501
        "synthetic = true",
        f"notice = {q('DEMO — synthetic data: the 2025 facility tables are the 2024 ones after the work plan, with seeded changes (circle15.demo.vintage); only the district outline and census totals are real.')}",  # noqa: E501
        f'crs = "{UTM}"',
        "",
        "[boundary]",
        f'outline = "../{OUTLINE_FILE}"',
        f'districts = "../{ZONES_FILE}"',
        'district_field = "district"',
        "",
        "[network]",
        f'path = "../{NETWORK_FILE}"',
        "",
        "[population]",
        f'path = "../{POPULATION_FILE}"',
        f'layer = "{POPULATION_LAYER}"',
    ]
    for category in categories:
        lines += [
            "",
            f"[facilities.{category}]",
            f'path = "{Path(VINTAGE_FACILITIES).name}/{category}.csv"',
        ]
    lines += targets_text()
    return "\n".join(lines) + "\n"


def write_vintage(data_dir: Path, categories: list[str] | None = None) -> Path:
    """Write the 2025 vintage's tables and study file into the demo folder."""
    data_dir = Path(data_dir)
    tables = vintage_tables(data_dir)
    folder = data_dir / VINTAGE_FACILITIES
    folder.mkdir(parents=True, exist_ok=True)
    for key, table in tables.items():
        table.to_csv(folder / f"{key}.csv", index=False, encoding="utf-8", lineterminator="\n")
    order = categories or list(tables)
    path = data_dir / VINTAGE_FILE
    path.write_text(vintage_config(order), encoding="utf-8")
    return path
