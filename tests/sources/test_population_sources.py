"""Population from a GeoTIFF raster and from census tables, checked by hand.

Every expected number below is worked out from the inputs written in the test, not read
from circle15's output.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from pyproj import CRS
from rasterio.transform import from_origin
from shapely.geometry import box

from circle15 import Study
from circle15.errors import InputError
from circle15.model import OPEN_AGE
from circle15.sources.boundaries import read_districts
from circle15.sources.census import age_group, read_census_population
from circle15.sources.raster import read_raster_population

from ..factories.studies import ORIGIN, write_small_study

UTM = CRS.from_epsg(32651)
X0, Y0 = ORIGIN


def square_area(size=1000.0, zones=True):
    """A 1 km square study area, split west/east at x = 500 m when ``zones``."""
    outline = gpd.GeoDataFrame(
        {"name": ["sq"]}, geometry=[box(X0, Y0, X0 + size, Y0 + size)], crs=UTM
    )
    return outline


def districts_of(tmp_path, zones=True):
    outline = square_area()
    zones_path = None
    if zones:
        zones_path = tmp_path / "zones.geojson"
        gpd.GeoDataFrame(
            {"district": ["西", "东"]},
            geometry=[box(X0, Y0, X0 + 500, Y0 + 1000), box(X0 + 500, Y0, X0 + 1000, Y0 + 1000)],
            crs=UTM,
        ).to_file(zones_path)
    return read_districts("sq", outline, UTM, zones_path)


# --------------------------------------------------------------------------------------
# Census headers


@pytest.mark.parametrize(
    ("header", "ages"),
    [
        ("男_1到4岁", (1, 4)),
        ("女_85岁以上", (85, OPEN_AGE)),
        ("0-4岁", (0, 4)),
        ("男_0岁", (0, 0)),
        ("60岁及以上", (60, OPEN_AGE)),
        ("age_60_plus", (60, OPEN_AGE)),
        ("age_1_4", (1, 4)),
        ("female 5-9 years", (5, 9)),
        ("15～59岁", (15, 59)),
        ("人口比重_0-14岁", None),
        ("人口数_合计", None),
        ("15岁及以上文盲人口", None),
    ],
)
def test_age_group_headers(header, ages):
    assert age_group(header) == ages


# --------------------------------------------------------------------------------------
# Raster


def write_raster(
    path,
    data,
    crs="EPSG:32651",
    origin=(X0 - 100, Y0 + 1100),
    size=100.0,
    nodata=-99999.0,
    descriptions=None,
):
    bands = data if data.ndim == 3 else data[None]
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=bands.shape[2],
        height=bands.shape[1],
        count=bands.shape[0],
        dtype="float32",
        crs=crs,
        transform=from_origin(*origin, size, size),
        nodata=nodata,
    ) as dst:
        dst.write(bands.astype("float32"))
        for i, d in enumerate(descriptions or []):
            dst.set_band_description(i + 1, d)


def test_raster_pixels_inside_the_area_are_counted(tmp_path):
    # 12 x 12 pixels of 100 m starting 100 m outside the square: pixels (1..10, 1..10)
    # have their centres inside. Each pixel holds row + column / 10 people.
    rows, cols = np.mgrid[0:12, 0:12]
    data = rows + cols / 10.0
    data[5, 5] = -99999.0  # nodata inside the area
    write_raster(tmp_path / "pop.tif", data)
    grid = read_raster_population(tmp_path / "pop.tif", UTM, districts_of(tmp_path))
    inside = data[1:11, 1:11].copy()
    inside[4, 4] = 0.0  # the nodata pixel
    assert grid.cells["pop_total"].sum() == pytest.approx(inside.sum())
    assert len(grid.cells) == 99  # 100 pixels less the nodata one
    west = data[1:11, 1:6].sum() - data[5, 5]
    assert grid.cells.loc[grid.cells["district"] == "西", "pop_total"].sum() == pytest.approx(west)


def test_raster_in_wgs84_with_age_bands_in_band_descriptions(tmp_path):
    # WorldPop-style: geographic pixels; two bands named after age bands.
    outline = square_area().to_crs(4326)
    west, south, east, north = outline.total_bounds
    size = 0.002
    n_x, n_y = int(np.ceil((east - west) / size)) + 2, int(np.ceil((north - south) / size)) + 2
    young = np.full((n_y, n_x), 2.0)
    old = np.full((n_y, n_x), 3.0)
    write_raster(
        tmp_path / "ages.tif",
        np.stack([young, old]),
        crs="EPSG:4326",
        origin=(west - size, north + size),
        size=size,
        descriptions=["age_0_59", "age_60_plus"],
    )
    grid = read_raster_population(tmp_path / "ages.tif", UTM, districts_of(tmp_path, False))
    n = len(grid.cells)
    assert n > 20
    assert grid.cohort(60, OPEN_AGE).sum() == pytest.approx(3.0 * n)
    assert grid.cells["pop_total"].sum() == pytest.approx(5.0 * n)


def test_negative_raster_counts_are_an_error(tmp_path):
    data = np.ones((12, 12))
    data[3, 4] = -5
    write_raster(tmp_path / "bad.tif", data)
    with pytest.raises(InputError, match=r"pixel \(row 3, column 4\) of band 1 is negative"):
        read_raster_population(tmp_path / "bad.tif", UTM, districts_of(tmp_path))


# --------------------------------------------------------------------------------------
# Census tables


def census_areas(tmp_path):
    """Two census areas: A = west 400 m strip, B = the rest (and beyond the study area)."""
    path = tmp_path / "areas.geojson"
    gpd.GeoDataFrame(
        {"code": ["330211001", "330211002"]},
        geometry=[box(X0, Y0, X0 + 400, Y0 + 1000), box(X0 + 400, Y0, X0 + 1000, Y0 + 1000)],
        crs=UTM,
    ).to_crs(4490).to_file(path)
    return path


def census_table(tmp_path, encoding="gbk"):
    path = tmp_path / "census.csv"
    pd.DataFrame(
        {
            "区划代码": ["330211001", "330211002"],
            "人口数_合计": [10_001, 7_010],
            "男_0岁": [50, 21],
            "女_0岁": [49, 20],
            "男_1到4岁": [200, 130],
            "女_1到4岁": [190, 120],
            "男_5到59岁": [4000, 3000],
            "女_5到59岁": [4012, 2990],
            "男_60岁及以上": [700, 360],
            "女_60岁及以上": [800, 362],
            "人口比重_0-14岁": [12.5, 11.0],
        }
    ).to_csv(path, index=False, encoding=encoding)
    return path


def test_census_by_area_keeps_every_total_exactly(tmp_path):
    grid = read_census_population(
        census_table(tmp_path),
        UTM,
        districts_of(tmp_path),
        areas=census_areas(tmp_path),
        cell_size_m=150,
    )
    cells = grid.cells
    area_a = cells["cell_id"].str.startswith("330211001")
    assert cells["pop_total"].sum() == 10_001 + 7_010
    assert cells.loc[area_a, "pop_total"].sum() == 10_001
    assert cells.loc[area_a, "age_0"].sum() == 99 and cells.loc[~area_a, "age_0"].sum() == 41
    assert cells["age_60_plus"].sum() == 700 + 800 + 360 + 362
    # integers stay integers
    for col in ("pop_total", "age_0", "age_1_4", "age_5_59", "age_60_plus"):
        assert np.array_equal(cells[col], np.round(cells[col]))
    # by land area: A's 400 m x 1000 m is cut into 150 m columns at 0,150,300 (+100 m);
    # the cells of the full 150 m columns get 150/400 of A each, to within one person.
    full = cells[area_a & (cells.geometry.area > 150 * 149)]
    per_m2 = (4000 + 4012) / (400 * 1000)  # A's ages 5-59, rounded per cell
    assert np.abs(full["age_5_59"] - full.geometry.area * per_m2).max() < 1.0
    # 7 residents of B's total are in no age band (7,010 - 7,003): kept in pop_total only
    bands = ["age_0", "age_1_4", "age_5_59", "age_60_plus"]
    assert cells.loc[~area_a, bands].to_numpy().sum() == 7_003
    assert cells.loc[~area_a, "pop_total"].sum() == 7_010


def test_census_weights_put_residents_in_residential_buildings(tmp_path):
    # Buildings only in the north half of area A; area B has none (falls back to land).
    buildings = gpd.GeoDataFrame(
        {"floors": [6, 2]},
        geometry=[
            box(X0 + 20, Y0 + 620, X0 + 120, Y0 + 720),
            box(X0 + 220, Y0 + 820, X0 + 320, Y0 + 920),
        ],
        crs=UTM,
    )
    buildings.to_file(tmp_path / "buildings.gpkg")
    grid = read_census_population(
        census_table(tmp_path),
        UTM,
        districts_of(tmp_path),
        areas=census_areas(tmp_path),
        cell_size_m=100,
        weights=tmp_path / "buildings.gpkg",
        weight_field="floors",
    )
    cells = grid.cells
    area_a = cells["cell_id"].str.startswith("330211001")
    housed = cells[area_a & (cells["pop_total"] > 0)]
    # Floor areas 6 x 10,000 m2 and 2 x 10,000 m2: 3/4 and 1/4 of A's 10,001 residents.
    # Each 100 m building straddles four 100 m cells: 80 x 80, 80 x 20, 20 x 80, 20 x 20 m.
    assert len(housed) == 8
    first = housed.geometry.intersects(buildings.geometry.iloc[0].buffer(-1))
    assert housed.loc[first, "pop_total"].sum() == pytest.approx(10_001 * 3 / 4, abs=4)
    biggest = housed.loc[first, "pop_total"].max()
    assert biggest == pytest.approx(10_001 * 3 / 4 * 0.64, abs=4)  # the 80 x 80 m part
    assert cells.loc[~area_a, "pop_total"].sum() == 7_010  # B by land area
    assert (cells.loc[~area_a, "pop_total"] > 0).sum() > 50


def test_one_row_census_covers_the_study_area(tmp_path):
    path = tmp_path / "one.xlsx"
    pd.DataFrame({"name": ["sq"], "0-2岁": [300], "3-5岁": [330], "6岁以上": [9_000]}).to_excel(
        path, index=False
    )
    grid = read_census_population(path, UTM, districts_of(tmp_path), cell_size_m=250)
    assert grid.cohort(3, 5).sum() == 330
    assert grid.cells["pop_total"].sum() == 9_630


def test_census_errors_name_the_problem(tmp_path):
    path = tmp_path / "overlap.csv"
    pd.DataFrame({"code": ["a"], "0-14岁": [10], "0-4岁": [3]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="overlap"):
        read_census_population(path, UTM, districts_of(tmp_path))
    path = tmp_path / "toomany.csv"
    pd.DataFrame({"code": ["a"], "总人口": [5], "0-4岁": [3], "5岁以上": [3]}).to_csv(
        path, index=False
    )
    with pytest.raises(InputError, match="add up to more than 总人口"):
        read_census_population(path, UTM, districts_of(tmp_path))


def test_study_config_with_census_and_raster(tmp_path):
    toml = write_small_study(tmp_path)
    census_table(tmp_path)
    census_areas(tmp_path)
    text = toml.read_text(encoding="utf-8").replace(
        '[population]\npath = "population.gpkg"\nlayer = "cells"',
        '[population]\npath = "census.csv"\nareas = "areas.geojson"\ncell_size_m = 100',
    )
    toml.write_text(text, encoding="utf-8")
    result = Study.from_config(toml).run()
    # the small study's outline reaches 50 m beyond the 1 km square: all residents inside
    assert result.cells["pop_total"].sum() == 17_011
    write_raster(tmp_path / "pop.tif", np.full((12, 12), 7.0))
    toml.write_text(
        text.replace('path = "census.csv"', 'path = "pop.tif"').replace(
            'areas = "areas.geojson"\ncell_size_m = 100',
            'age_table = "census.csv"\nage_area = "330211002"',
        ),
        encoding="utf-8",
    )
    study = Study.from_config(toml)
    total = study.population.cells["pop_total"].sum()
    # 60+ share of area 330211002 applied to every pixel: (360 + 362) / 7010
    assert study.population.cohort(60, OPEN_AGE).sum() == pytest.approx(total * 722 / 7010)
