"""A small study written to disk in real formats, for pipeline and error tests.

Also the edits tests make to such a study (a key of its TOML, a layer of its files), a
scenario for it, and the conversion of its projected metres to longitude/latitude.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer
from shapely.geometry import LineString, Point, box

from circle15.sources.chinese_crs import wgs84_to_bd09, wgs84_to_gcj02

CRS = "EPSG:32651"
ORIGIN = (360_000.0, 3_317_000.0)  # near Zhenhai in UTM 51N
STEP = 100.0  # street grid spacing, metres
N = 11  # 11 x 11 junctions: a 1 km square
TO_WGS = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def node_xy(i: int, j: int) -> tuple[float, float]:
    """Projected position of junction (i, j)."""
    return ORIGIN[0] + i * STEP, ORIGIN[1] + j * STEP


def write_small_study(
    folder: Path, *, facilities: dict[str, list[tuple[float, float]]] | None = None
) -> Path:
    """Write a 1 km grid study (osmnx GeoPackage network, grid cells, CSV facilities).

    Returns the path of its TOML file. Facility positions are projected metres.
    """
    folder.mkdir(parents=True, exist_ok=True)
    to_wgs = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    ids = {(i, j): 1000 + i * N + j for i in range(N) for j in range(N)}
    nodes = gpd.GeoDataFrame(
        {"osmid": list(ids.values())}, geometry=[Point(node_xy(*k)) for k in ids], crs=CRS
    )
    rows = []
    for (i, j), a in ids.items():
        for di, dj in ((1, 0), (0, 1)):
            if (i + di, j + dj) in ids:
                b = ids[(i + di, j + dj)]
                rows.append(
                    {
                        "u": a,
                        "v": b,
                        "key": 0,
                        "highway": "residential",
                        "length": STEP,
                        "geometry": LineString([node_xy(i, j), node_xy(i + di, j + dj)]),
                    }
                )
    edges = gpd.GeoDataFrame(rows, crs=CRS)
    net = folder / "network.gpkg"
    nodes.to_crs(4326).to_file(net, layer="nodes")
    edges.to_crs(4326).to_file(net, layer="edges")

    x0, y0 = ORIGIN
    area = box(x0 - 50, y0 - 50, x0 + 1050, y0 + 1050)
    gpd.GeoDataFrame({"name": ["small"]}, geometry=[area], crs=CRS).to_crs(4326).to_file(
        folder / "outline.geojson"
    )
    zones = gpd.GeoDataFrame(
        {"district": ["西区", "东区"], "name_en": ["West", "East"]},
        geometry=[
            box(x0 - 50, y0 - 50, x0 + 500, y0 + 1050),
            box(x0 + 500, y0 - 50, x0 + 1050, y0 + 1050),
        ],
        crs=CRS,
    )
    zones.to_crs(4326).to_file(folder / "zones.geojson")

    # 100 m cells whose centres lie 30 m east of a north-south street and 50 m from the
    # east-west ones, so that each centre has one nearest street (no snapping ties).
    cells = []
    for i in range(N - 1):
        for j in range(N - 1):
            cx, cy = x0 + 30 + i * STEP, y0 + 50 + j * STEP
            cells.append(
                {
                    "cell_id": f"C{i:02d}{j:02d}",
                    "age_0": 1,
                    "age_1_4": 4,
                    "age_5_9": 5,
                    "age_10_14": 5,
                    "age_15_59": 70,
                    "age_60_plus": 15,
                    "geometry": box(cx - 50, cy - 50, cx + 50, cy + 50),
                }
            )
    grid = gpd.GeoDataFrame(cells, crs=CRS)
    grid["pop_total"] = grid[[c for c in grid.columns if c.startswith("age_")]].sum(axis=1)
    grid.to_file(folder / "population.gpkg", layer="cells")

    facilities = facilities or {
        "kindergarten": [(x0 + 200, y0 + 230)],
        "elderly_canteen": [(x0 + 800, y0 + 810), (x0 + 100, y0 + 900)],
    }
    lines = []
    for key, points in facilities.items():
        xy = np.array(points, dtype=float).reshape(-1, 2)
        lon, lat = to_wgs.transform(xy[:, 0], xy[:, 1])
        pd.DataFrame(
            {
                "facility_id": [f"{key[:2].upper()}{k}" for k in range(len(xy))],
                "name": [f"{key} {k}" for k in range(len(xy))],
                "capacity": [100] * len(xy),
                "lon": lon,
                "lat": lat,
            }
        ).to_csv(folder / f"{key}.csv", index=False)
        lines.append(f'[facilities.{key}]\npath = "{key}.csv"\n')
    toml = folder / "study.toml"
    toml.write_text(
        '[study]\nname = "small"\ntitle = "Small grid"\ncrs = "EPSG:32651"\n\n'
        '[boundary]\noutline = "outline.geojson"\ndistricts = "zones.geojson"\n\n'
        '[network]\npath = "network.gpkg"\n\n'
        '[population]\npath = "population.gpkg"\nlayer = "cells"\n\n' + "\n".join(lines),
        encoding="utf-8",
    )
    return toml


def lonlat(x, y, system: str = "WGS84") -> tuple[np.ndarray, np.ndarray]:
    """Study-CRS metres to longitude/latitude in ``system`` (WGS84, GCJ-02, BD-09)."""
    lon, lat = TO_WGS.transform(np.asarray(x, float), np.asarray(y, float))
    if system == "GCJ-02":
        return wgs84_to_gcj02(lon, lat)
    if system == "BD-09":
        return wgs84_to_bd09(lon, lat)
    return np.asarray(lon), np.asarray(lat)


def edit(toml: Path, old: str, new: str) -> None:
    """Replace the first ``old`` in a study file by ``new`` (``old`` must be there)."""
    text = toml.read_text(encoding="utf-8")
    assert old in text, old
    toml.write_text(text.replace(old, new, 1), encoding="utf-8")


def append(toml: Path, text: str) -> None:
    """Add ``text`` at the end of a study file."""
    toml.write_text(toml.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")


def rewrite_layer(path: Path, layer: str | None, change: Callable) -> None:
    """Read a layer, change it, write the file again (other layers kept)."""
    import pyogrio

    layers = [name for name, _ in pyogrio.list_layers(path)] if layer else [None]
    frames = {name: gpd.read_file(path, layer=name) for name in layers}
    frames[layer] = change(frames[layer])
    path.unlink()
    for name, frame in frames.items():
        frame.to_file(path, layer=name) if name else frame.to_file(path)


def scenario_file(folder: Path) -> Path:
    """``plan.toml``: a scenario adding one elderly canteen inside the small study."""
    lon, lat = lonlat(ORIGIN[0] + 430, ORIGIN[1] + 660)
    path = folder / "plan.toml"
    path.write_text(
        '[scenario]\nname = "plan"\n\n[[add]]\ncategory = "elderly_canteen"\n'
        f"lon = {float(lon)}\nlat = {float(lat)}\n",
        encoding="utf-8",
    )
    return path
