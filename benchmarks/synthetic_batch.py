"""A seeded synthetic batch on disk: one synthetic city cut into tile regions.

Everything here is synthetic and labelled so (``[batch] synthetic = true`` and a notice in
the batch file, "synthetic" in every file's provenance). The city comes from
:func:`benchmarks.synthetic.synthetic_city`; it is written in the formats planners hand
over (an osmnx-layout GeoPackage network, a GeoPackage population grid, one CSV of
facilities per category with WGS84 longitude/latitude and a capacity), and cut into
``columns x rows`` rectangular regions, each split into a west and an east sub-district
(all in one zones file with a ``region`` column). Tile and zone borders lie on multiples
of 100 m, so no population cell's centre sits on a border.

Used by ``tests/batch/test_batch.py`` and ``benchmarks/bench_batch.py``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from .synthetic import CELL_M, CRS, NOTICE, synthetic_city

#: Where the synthetic city is put in UTM 51N (the generator draws it at 0..side).
ORIGIN = (300_000.0, 3_300_000.0)
#: Capacity drawn per facility (uniform, whole numbers), in each category's unit.
CAPACITY = {
    "kindergarten": (90, 360),
    "primary_school": (600, 1800),
    "elderly_canteen": (40, 120),
    "sports_venue": (500, 5000),
}


def tile_bounds(side: float, columns: int, rows: int) -> list[tuple[str, tuple[float, ...]]]:
    """``(key, (xmin, ymin, xmax, ymax))`` of each tile region, in the city's own metres."""

    def edges(n: int) -> np.ndarray:
        inner = np.round(np.arange(1, n) * side / n / CELL_M) * CELL_M
        return np.concatenate([[0.0], inner, [np.ceil(side / CELL_M) * CELL_M]])

    xs, ys = edges(columns), edges(rows)
    out = []
    for j in range(rows):
        for i in range(columns):
            out.append((f"r{j * columns + i + 1:02d}", (xs[i], ys[j], xs[i + 1], ys[j + 1])))
    return out


def write_synthetic_batch(
    folder: Path,
    *,
    n_nodes: int = 4_000,
    columns: int = 2,
    rows: int = 2,
    seed: int = 15,
    buffer_m: float = 1_500.0,
    name: str = "synthetic_batch",
) -> Path:
    """Write a synthetic batch and return the path of its ``batch.toml``.

    Parameters
    ----------
    folder : Path
        Where to write (created).
    n_nodes : int
        Street junctions of the whole city (see ``synthetic_city``).
    columns, rows : int
        The city is cut into ``columns x rows`` regions (keys ``r01``, ``r02`` …).
    seed : int
        Seed of every draw.
    buffer_m : float
        ``[network] buffer_m`` of the batch.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    city = synthetic_city(n_nodes, seed=seed, n_candidates=10)
    rng = np.random.default_rng(seed + 1)
    dx, dy = ORIGIN

    def moved(geometry: np.ndarray) -> np.ndarray:
        return shapely.transform(geometry, lambda xy: xy + np.array([dx, dy]))

    # Network: osmnx GeoPackage layout (nodes: osmid; edges: u, v, length, highway).
    net = city.network
    osmid = net.nodes["node_id"].to_numpy() + 1
    nodes = gpd.GeoDataFrame(
        {"osmid": osmid}, geometry=moved(net.nodes.geometry.to_numpy()), crs=CRS
    )
    edges = gpd.GeoDataFrame(
        {
            "u": osmid[net.edges["u"].to_numpy()],
            "v": osmid[net.edges["v"].to_numpy()],
            "key": 0,
            "length": net.edges["length_m"].to_numpy(),
            "highway": net.edges["highway"].to_numpy(),
        },
        geometry=moved(net.edges.geometry.to_numpy()),
        crs=CRS,
    )
    network = folder / "network.gpkg"
    nodes.to_file(network, layer="nodes")
    edges.to_file(network, layer="edges")

    cells = city.population.cells.drop(columns=["district"])
    cells = gpd.GeoDataFrame(
        cells.drop(columns="geometry"), geometry=moved(cells.geometry.to_numpy()), crs=CRS
    )
    cells.to_file(folder / "population.gpkg", layer="cells")

    to_wgs = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    lines = []
    for key, layer in city.facilities.items():
        f = layer.facilities
        xy = shapely.get_coordinates(moved(f.geometry.to_numpy()))
        lon, lat = to_wgs.transform(xy[:, 0], xy[:, 1])
        lo, hi = CAPACITY[key]
        pd.DataFrame(
            {
                "facility_id": f["facility_id"].to_numpy(),
                "name": [f"synthetic {i}" for i in f["facility_id"]],
                "capacity": rng.integers(lo, hi + 1, len(f)),
                "lon": np.round(lon, 8),
                "lat": np.round(lat, 8),
            }
        ).to_csv(folder / f"{key}.csv", index=False)
        lines.append(f'[facilities.{key}]\npath = "{key}.csv"\n')

    regions, zones = [], []
    for key, (x0, y0, x1, y1) in tile_bounds(city.side_m, columns, rows):
        regions.append(
            {
                "key": key,
                "name": f"Region {key[1:]}",
                "geometry": shapely.box(x0 + dx, y0 + dy, x1 + dx, y1 + dy),
            }
        )
        mid = np.round((x0 + x1) / 2 / CELL_M) * CELL_M
        for district, en, a, b in (("西片", "West", x0, mid), ("东片", "East", mid, x1)):
            zones.append(
                {
                    "region": key,
                    "district": district,
                    "name_en": en,
                    "geometry": shapely.box(a + dx, y0 + dy, b + dx, y1 + dy),
                }
            )
    gpd.GeoDataFrame(regions, crs=CRS).to_file(folder / "regions.gpkg")
    gpd.GeoDataFrame(zones, crs=CRS).to_file(folder / "zones.gpkg")

    toml = folder / "batch.toml"
    toml.write_text(
        f'[batch]\nname = "{name}"\ntitle = "Synthetic batch ({columns * rows} regions)"\n'
        f'synthetic = true\nnotice = "{NOTICE}"\ncrs = "{CRS}"\n\n'
        '[regions]\npath = "regions.gpkg"\nname_field = "name"\nkey_field = "key"\n'
        'districts = "zones.gpkg"\nregion_field = "region"\n\n'
        f'[network]\npath = "network.gpkg"\nbuffer_m = {buffer_m}\n\n'
        '[population]\npath = "population.gpkg"\nlayer = "cells"\n\n' + "\n".join(lines),
        encoding="utf-8",
    )
    return toml
