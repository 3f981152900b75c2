"""Runs built by hand, without the engine: a small CoverageResult and what it may carry.

``make_result`` is a 4 x 3 grid of 250 m cells near lon 121.6, lat 29.98 in two
sub-districts with two categories; its district table is computed here from the planted
walking times (the oracle for the map, report and workbook tests). ``network_issues`` is a
hand-built ``network_issues`` frame; ``make_comparison`` a comparison with an official table.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import Point, box

from circle15.analysis.compare import Comparison
from circle15.result import CoverageResult
from circle15.standards import load_standards

CRS = "EPSG:32651"
CELL_M = 250.0
NOTICE = "人口与设施为演示用合成数据 population and facilities are made up for the demo"


def _origin() -> tuple[float, float]:
    x, y = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(121.6, 29.98)
    return round(x, -2), round(y, -2)


def make_result(*, synthetic: bool = True) -> CoverageResult:
    """A small hand-made CoverageResult with two categories."""
    cats = dict(list(load_standards().categories.items())[:2])
    k1, k2 = cats
    x0, y0 = _origin()
    cols, rows = 4, 3
    ij = [(i, j) for j in range(rows) for i in range(cols)]
    geoms = [
        box(x0 + i * CELL_M, y0 + j * CELL_M, x0 + (i + 1) * CELL_M, y0 + (j + 1) * CELL_M)
        for i, j in ij
    ]
    n = len(ij)
    west = np.array([i < 2 for i, _ in ij])
    t1 = np.array([2.0, 4.5, 6.0, 8.0, 3.0, 5.0, 9.5, 12.0, 7.0, 14.0, 16.5, np.nan])
    t2 = np.array([1.0, 3.0, 5.5, 7.5, 2.5, 4.0, 10.5, 11.0, 6.0, 13.0, 18.0, 22.0])

    def tier(t: np.ndarray) -> list[str]:
        out = []
        for v in t:
            out.append(
                "unreachable"
                if np.isnan(v)
                else "0-5"
                if v <= 5
                else "5-10"
                if v <= 10
                else "10-15"
                if v <= 15
                else ">15"
            )
        return out

    cells = gpd.GeoDataFrame(
        {
            "cell_id": [f"c{i:03d}" for i in range(n)],
            "district": np.where(west, "招宝山街道", "蛟川街道"),
            "pop_total": np.full(n, 400.0),
            f"pop_{k1}": np.linspace(3.0, 14.0, n),
            f"t_{k1}": t1,
            f"nearest_{k1}": ["F1" if w else "F2" for w in west[:-1]] + [None],
            f"tier_{k1}": tier(t1),
            f"pop_{k2}": np.linspace(5.0, 27.0, n),
            f"t_{k2}": t2,
            f"nearest_{k2}": ["K1" if w else "K2" for w in west],
            f"tier_{k2}": tier(t2),
        },
        geometry=geoms,
        crs=CRS,
    )
    zones = gpd.GeoDataFrame(
        {"district": ["招宝山街道", "蛟川街道"], "name_en": ["Zhaobaoshan", "Jiaochuan"]},
        geometry=[
            box(x0, y0, x0 + 2 * CELL_M, y0 + rows * CELL_M),
            box(x0 + 2 * CELL_M, y0, x0 + cols * CELL_M, y0 + rows * CELL_M),
        ],
        crs=CRS,
    )
    area = zones.union_all()
    gaps = gpd.GeoDataFrame(
        {
            "category": [k1, k2],
            "gap_id": [f"{k1}-1", f"{k2}-1"],
            "rank": [1, 1],
            "district": ["蛟川街道", "蛟川街道"],
            "population": [25.2, 49.0],
            "cells": [2, 2],
            "area_km2": [0.125, 0.125],
            "mean_min": [np.nan, 20.0],
            "nearest_facility": ["F2", "K2"],
            "nearest_name": ["蛟川托育园", "蛟川幼儿园"],
            "nearest_min": [16.5, 18.0],
        },
        geometry=[box(x0 + 2 * CELL_M, y0 + 2 * CELL_M, x0 + 4 * CELL_M, y0 + 3 * CELL_M)] * 2,
        crs=CRS,
    )
    facilities = gpd.GeoDataFrame(
        {
            "category": [k1, k1, k2, k2],
            "facility_id": ["F1", "F2", "K1", "K2"],
            "name": ["招宝山托育园", "A&B <托育> 中心", "招宝山幼儿园", "蛟川幼儿园"],
            "capacity": [60, 40, 270, np.nan],
            "snapped": [True, True, True, False],
            "snap_m": [12.0, 30.5, 8.0, 420.0],
        },
        geometry=[
            Point(x0 + 100, y0 + 100),
            Point(x0 + 800, y0 + 300),
            Point(x0 + 300, y0 + 500),
            Point(x0 + 900, y0 + 650),
        ],
        crs=CRS,
    )
    records = []
    for key, cat in cats.items():
        t = cells[f"t_{key}"].to_numpy()
        pop = cells[f"pop_{key}"].to_numpy()
        for name, mask in [("招宝山街道", west), ("蛟川街道", ~west), ("ALL", np.ones(n, bool))]:
            tt, pp = t[mask], pop[mask]
            total = pp.sum()
            reach = ~np.isnan(tt)
            covered = pp[reach & (tt <= cat.target_min)].sum()
            records.append(
                {
                    "district": name,
                    "category": key,
                    "population": total,
                    "pop_within_5": pp[reach & (tt <= 5)].sum(),
                    "pop_within_10": pp[reach & (tt <= 10)].sum(),
                    "pop_within_15": covered,
                    "target_min": cat.target_min,
                    "covered_population": covered,
                    "coverage": covered / total,
                    "mean_min": np.average(tt[reach], weights=pp[reach]),
                    "p90_min": float(np.nanpercentile(tt, 90)),
                    "unreachable_population": pp[~reach].sum(),
                }
            )
    return CoverageResult(
        name="test",
        title="镇海区测试 Zhenhai test map",
        categories=cats,
        cells=cells,
        districts=pd.DataFrame(records),
        gaps=gaps,
        facilities=facilities,
        zones=zones,
        area=area,
        synthetic=synthetic,
        notice=NOTICE if synthetic else "",
    )


def network_issues() -> gpd.GeoDataFrame:
    """A hand-built ``network_issues`` frame: one separate piece, two loose ends."""
    x0, y0 = 359_000.0, 3_318_000.0
    return gpd.GeoDataFrame(
        {
            "issue_id": ["piece-1", "end-1", "end-2"],
            "kind": ["separate_piece", "loose_end", "loose_end"],
            "description": [
                "3 streets not joined to the rest",
                "dead end 4.2 m from a street",
                "dead end 9 m from a street",
            ],
            "population": [120.0, 0.0, np.nan],
            "length_m": [850.0, np.nan, np.nan],
            "nearest_m": [35.5, 4.2, 9.0],
        },
        geometry=[
            shapely.MultiLineString(
                [[(x0, y0), (x0 + 300, y0)], [(x0 + 300, y0), (x0 + 300, y0 + 200)]]
            ),
            shapely.Point(x0 + 500, y0 + 10),
            shapely.Point(x0 + 700, y0 + 50),
        ],
        crs=CRS,
    )


def make_comparison(
    result: CoverageResult,
    *,
    units: list[str],
    indicator: str = "composite",
    reference: str = "ref.csv",
):
    """A comparison with an official table over ``units``: one flagged row, three unmatched."""
    n = len(units)
    table = pd.DataFrame(
        {
            "row": np.arange(n) + 2,
            "unit": units,
            "district": units,
            "name_en": [None] * n,
            "indicator": indicator,
            "ours": np.linspace(40, 60, n),
            "theirs": np.linspace(45, 50, n),
            "difference": np.linspace(-5, 10, n),
            "tolerance": 5.0,
            "flag": [False] * (n - 1) + [True],
            "rank_ours": pd.array(range(1, n + 1), dtype="Int64"),
            "rank_theirs": pd.array(range(n, 0, -1), dtype="Int64"),
        }
    )
    spearman = pd.DataFrame(
        {"indicator": [indicator], "units": [n], "rho": [-1.0], "p_value": [0.0], "flagged": [1]}
    )
    unmatched = pd.DataFrame(
        {
            "row": [9, 10, 11],
            "unit": ["Atlantis", "Atlantis", "蓬莱街道"],
            "indicator": ["综合", "可及", "综合"],
            "reason": ["unit matches no sub-district"] * 3,
        }
    )
    return Comparison(table=table, spearman=spearman, unmatched=unmatched, reference=reference)
