"""The map's compact encodings, decoded here independently and checked against the source.

The browser decodes them with ``static/c15-base.js``; these tests read the bytes with their
own decoder (written from the format's description) and compare with shapely, pyproj and the
cells' own columns.
"""

from __future__ import annotations

import base64

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from circle15.outputs.webmap.encode import (
    encode_cells,
    encode_geometry,
    encode_ids,
    quantised,
    typed,
)
from circle15.outputs.webmap.layers import cell_values
from circle15.standards import load_standards

UTM = "EPSG:32651"
TYPES = {"u1": "<u1", "u2": "<u2", "u4": "<u4", "f4": "<f4"}


def read(spec: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(spec["b"]), dtype=TYPES[spec["t"]])


def varints(b64: str) -> list[int]:
    out, value, shift = [], 0, 0
    for byte in base64.b64decode(b64):
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            out.append((value >> 1) ^ -(value & 1))
            value, shift = 0, 0
    return out


def decode_geometry(spec: dict) -> list[list[list[list[tuple[float, float]]]]]:
    """Features -> parts -> rings -> (lat, lng) vertices."""
    counts, deltas = iter(varints(spec["c"])), varints(spec["xy"])
    lat = np.cumsum(deltas[0::2]) / spec["q"]
    lng = np.cumsum(deltas[1::2]) / spec["q"]
    at, out = 0, []
    for _ in range(spec["n"]):
        parts = []
        for _ in range(next(counts)):
            rings = []
            for _ in range(next(counts)):
                n = next(counts)
                rings.append(list(zip(lat[at : at + n], lng[at : at + n], strict=True)))
                at += n
            parts.append(rings)
        out.append(parts)
    assert at == len(lat)
    return out


def test_typed_arrays_are_little_endian_base64() -> None:
    values = np.array([0, 1, 258, 65534], dtype=np.uint16)
    spec = typed(values)
    assert spec["t"] == "u2"
    assert base64.b64decode(spec["b"]) == bytes([0, 0, 1, 0, 2, 1, 254, 255])


def test_quantised_numbers_round_trip_with_missing_values() -> None:
    values = np.array([0.0, 0.04, 12.349, np.nan, -1.0, 6553.4, np.inf])
    spec = quantised(values, 10)
    raw = read(spec)
    assert spec["t"] == "u2" and spec["s"] == 10
    missing = raw == np.iinfo(np.uint16).max
    assert missing.tolist() == [False, False, False, True, True, False, True]
    np.testing.assert_allclose(raw[~missing] / 10, [0.0, 0.0, 12.3, 6553.4])
    assert quantised(np.array([1e5]), 10)["t"] == "u4"  # 1,000,000 tenths need 32 bits
    assert quantised(np.array([25.0, None], dtype=object), 1)["t"] == "u1"


def test_geometries_round_trip() -> None:
    holed = shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (2, 1), (2, 2)]])
    geoms = np.array(
        [
            shapely.box(121.6, 29.9, 121.61, 29.91),
            shapely.Point(121.123456789, 29.987654321),
            shapely.MultiLineString(
                [[(121.0, 30.0), (121.1, 30.1)], [(121.2, 30.2), (121.3, 30.1), (121.4, 30.0)]]
            ),
            shapely.MultiPolygon([holed, shapely.box(10, 10, 11, 11)]),
            shapely.LineString([(-0.5, -0.25), (0.5, 0.25)]),
        ],
        dtype=object,
    )
    decoded = decode_geometry(encode_geometry(geoms))
    assert [len(f) for f in decoded] == [1, 1, 2, 2, 1]
    assert [len(p) for p in decoded[3]] == [2, 1]  # exterior + hole, then exterior
    for feature, geom in zip(decoded, geoms, strict=True):
        parts = shapely.get_parts(geom)
        for part, rings in zip(parts, feature, strict=True):
            shape = [part.exterior, *part.interiors] if part.geom_type == "Polygon" else [part]
            for ring, got in zip(shape, rings, strict=True):
                xy = np.asarray(ring.coords)
                if part.geom_type == "Polygon":
                    xy = xy[:-1]  # the closing vertex is left to Leaflet
                np.testing.assert_allclose(np.asarray(got), np.round(xy[:, ::-1], 6), atol=5e-7)


def test_cell_ids_compact_only_when_exact() -> None:
    def back(spec: dict) -> list[str]:
        if "list" in spec:
            return spec["list"]
        nums = (
            read(spec["num"]).tolist()
            if "num" in spec
            else list(range(spec["start"], spec["start"] + 3))
        )
        return [spec["prefix"] + str(n).zfill(spec["width"]) for n in nums]

    for ids in (
        ["C0", "C1", "C2"],
        ["C000001", "C000002", "C000003"],
        ["x-7", "x-3", "x-9"],
        ["C01", "C1", "C2"],
        ["a", "b", "c"],
        ["R9", "R10", "R11"],
        ["1", "2", "3"],
        ["C1\u2028", "C2", "C3"],
        ["ab12", "cd13", "ef14"],
    ):
        spec = encode_ids(pd.Series(ids))
        assert back(spec) == ids, ids
    assert "start" in encode_ids(pd.Series(["C0", "C1", "C2"]))
    assert "num" in encode_ids(pd.Series(["x-7", "x-3", "x-9"]))
    assert "list" in encode_ids(pd.Series(["C01", "C1", "C2"]))  # widths differ


def _grid(cols: int, rows: int, size: float) -> gpd.GeoDataFrame:
    x0, y0 = Transformer.from_crs("EPSG:4326", UTM, always_xy=True).transform(121.2, 29.6)
    i, j = np.meshgrid(np.arange(cols), np.arange(rows))
    i, j = i.ravel(), j.ravel()
    geoms = shapely.box(x0 + i * size, y0 + j * size, x0 + (i + 1) * size, y0 + (j + 1) * size)
    return gpd.GeoDataFrame(
        {
            "cell_id": [f"g{k}" for k in range(len(i))],
            "district": np.where(i < cols // 2, "西", "东"),
        },
        geometry=geoms,
        crs=UTM,
    )


def test_grid_cells_are_indexes_and_the_lattice_is_exact_to_two_centimetres() -> None:
    # A 120 km x 90 km grid of 300 m cells, every other cell populated.
    cells = _grid(400, 300, 300.0)
    cells = cells.iloc[::2].reset_index(drop=True)
    spec = encode_cells(cells)
    g = spec["grid"]
    assert spec["poly"] is None and spec["n"] == len(cells)
    assert varints(g["off"]) == []
    position = np.cumsum(varints(g["pos"]))
    i, j = position % g["ni"], position // g["ni"]
    # Oracle: each cell's grid position from its own coordinates.
    b = shapely.bounds(cells.geometry.to_numpy())
    np.testing.assert_array_equal(i, np.rint((b[:, 0] - b[:, 0].min()) / 300))
    np.testing.assert_array_equal(j, np.rint((b[:, 1] - b[:, 1].min()) / 300))
    # The runtime blends the lattice bilinearly in Web Mercator; do the same with pyproj
    # and compare with every cell's lower-left corner projected directly.
    merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    ((lattice,),) = decode_geometry(g["lattice"])[0]
    lat, lng = np.asarray(lattice).T
    assert len(lat) == g["cni"] * g["cnj"]
    cx, cy = merc.transform(lng, lat)
    cx, cy = cx.reshape(g["cnj"], g["cni"]), cy.reshape(g["cnj"], g["cni"])
    ti = np.minimum(i // g["step"], g["cni"] - 2)
    tj = np.minimum(j // g["step"], g["cnj"] - 2)
    u, v = i / g["step"] - ti, j / g["step"] - tj

    def blend(c: np.ndarray) -> np.ndarray:
        return (
            (1 - u) * (1 - v) * c[tj, ti]
            + u * (1 - v) * c[tj, ti + 1]
            + (1 - u) * v * c[tj + 1, ti]
            + u * v * c[tj + 1, ti + 1]
        )

    direct = Transformer.from_crs(UTM, "EPSG:3857", always_xy=True).transform(b[:, 0], b[:, 1])
    # 0.02 Web Mercator metres (under 2 cm on the ground at 30°N): 0.07 px at zoom 19.
    assert np.abs(blend(cx) - direct[0]).max() < 0.02
    assert np.abs(blend(cy) - direct[1]).max() < 0.02


def test_cells_off_the_grid_are_polygons() -> None:
    cells = _grid(6, 4, 200.0)
    outline = shapely.Point(cells.total_bounds[[0, 1]]).buffer(700)  # clips the corner cells
    clipped = cells.geometry.intersection(outline)
    keep = ~clipped.is_empty
    cells = gpd.GeoDataFrame(
        cells[keep.to_numpy()].drop(columns="geometry"), geometry=clipped[keep].to_numpy(), crs=UTM
    ).reset_index(drop=True)
    duplicate = cells.iloc[[0]].assign(cell_id="dup")
    cells = pd.concat([cells, duplicate], ignore_index=True)
    spec = encode_cells(cells)
    whole = np.isclose(cells.geometry.area, 200.0**2)
    on_grid = np.ones(len(cells), bool)
    on_grid[np.cumsum(varints(spec["grid"]["off"]))] = False
    assert len(varints(spec["grid"]["pos"])) == on_grid.sum()
    # Oracle: whole squares are grid cells, clipped ones (and the duplicate) polygons.
    expected = whole.copy()
    expected[-1] = False
    np.testing.assert_array_equal(on_grid, expected)
    poly_cells = read(spec["poly"]["cell"])
    np.testing.assert_array_equal(poly_cells, np.flatnonzero(~expected))
    decoded = decode_geometry(spec["poly"]["geom"])
    wgs = cells.to_crs("EPSG:4326").geometry.to_numpy()
    for k, feature in zip(poly_cells, decoded, strict=True):
        ring = np.asarray(wgs[k].exterior.coords)[:-1, ::-1]
        np.testing.assert_allclose(np.asarray(feature[0][0]), ring, atol=6e-7)


def test_irregular_cells_are_all_polygons() -> None:
    offset = np.array([360_000.0, 3_317_000.0])
    points = shapely.points(np.random.default_rng(3).uniform(0, 2_000, (40, 2)) + offset)
    voronoi = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points)))
    box = shapely.box(360_000, 3_317_000, 362_000, 3_319_000)
    cells = gpd.GeoDataFrame(
        {"cell_id": [f"v{k}" for k in range(len(voronoi))]},
        geometry=shapely.intersection(voronoi, box),
        crs=UTM,
    )
    spec = encode_cells(cells)
    assert spec["grid"] is None
    assert read(spec["poly"]["cell"]).tolist() == list(range(len(cells)))


def test_walking_tiers_rebuilt_from_tenths_and_fixes_equal_the_tier_column() -> None:
    cat = load_standards().categories["kindergarten"]
    minutes = np.array([0.0, 4.96, 5.0, 5.04, 9.99, 10.05, 14.951, 15.0, 15.04, 30.0, np.nan])
    # Oracle: tiers written by hand (a time on a bound is in the tier below it).
    labels = [
        "0-5",
        "0-5",
        "0-5",
        "5-10",
        "5-10",
        "10-15",
        "10-15",
        "10-15",
        ">15",
        ">15",
        "unreachable",
    ]
    cells = pd.DataFrame(
        {
            "t_kindergarten": minutes,
            "tier_kindergarten": labels,
            "pop_kindergarten": 1.0,
            "nearest_kindergarten": "K1",
        }
    )
    data = cell_values(cells, cat, pd.DataFrame())
    tenths = read(data["t"]).astype(float)
    t = np.where(tenths == np.iinfo(np.uint16).max, np.nan, tenths / 10)
    # what the runtime does: the first bound at or above the time, then the fixes
    tier = np.array(
        [
            len(cat.tiers_min) + 1
            if np.isnan(x)
            else next((c for c, b in enumerate(cat.tiers_min) if b >= x), len(cat.tiers_min))
            for x in t
        ]
    )
    if data["fix"] is not None:
        tier[read(data["fix"]["k"])] = read(data["fix"]["v"])
    names = ["0-5", "5-10", "10-15", ">15", "unreachable"]
    assert [names[c] for c in tier] == labels
    assert data["fix"] is not None  # 5.04 and 15.04 round onto a bound


@pytest.mark.parametrize("n", [0, 1])
def test_empty_and_single_cell(n: int) -> None:
    cells = _grid(1, 1, 100.0).iloc[:n]
    spec = encode_cells(cells)
    assert spec["n"] == n
    assert (spec["grid"] is None) == (n == 0)


def test_cells_without_a_usable_geometry_are_not_drawn() -> None:
    cells = _grid(3, 2, 100.0)
    geoms = cells.geometry.to_numpy().copy()
    geoms[1] = None
    with np.errstate(invalid="ignore"):
        geoms[2] = shapely.Polygon([(0, 0), (np.nan, 0), (1, 1), (0, 0)])
    cells = cells.set_geometry(geoms)
    spec = encode_cells(cells)
    off = np.cumsum(varints(spec["grid"]["off"])).tolist()
    assert off == [1, 2] and spec["poly"] is None  # neither on the grid nor a polygon
    from circle15.outputs.templating import script_json

    script_json(spec)  # strict JSON: no NaN anywhere
