"""Write the files district planning bureaus really send, from a seed, with their truth.

SYNTHETIC: every name, position and count here is made up by seeded code around the small
1 km test grid of ``tests/factories/studies.py`` (near Zhenhai, UTM 51N). Each writer returns the
truth it planted (positions in the study CRS, capacities, counts, which rows are bad and on
which line of the file they stand) so that tests check the readers against it, never
against the readers' own output.

Files written:

- :func:`facility_rows` — a kindergarten list as an office keeps it (names 幼儿园名称, 编号
  and 序号, 托位（个）, 地址, 备注, 办园性质);
- :func:`write_title_xlsx` — that list as an XLSX with a merged title row, a blank row,
  full-width digits (``１２０``), thousands separators (``1,200``), ``约80``, 合计/小计 rows,
  a footnote, blank trailing rows and a hidden first sheet; :func:`write_xls` the same as
  a legacy ``.xls`` written with xlwt (a maintained writer on PyPI);
- :func:`write_text_export` — CSV/TXT in GBK, UTF-16 (Excel's "Unicode text", tabs) or
  Latin-1;
- :func:`write_gbk_centrelines` — road centrelines as a GBK shapefile without ``.cpg``
  (code page 0), with 道路等级 = 高速公路 for an expressway and 是否桥梁 = 是 for a viaduct;
- :func:`write_census` — a census table by sub-district and its area polygons, in GCJ-02
  or WGS84.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString, box

from .studies import CRS, ORIGIN, STEP, N, lonlat

X0, Y0 = ORIGIN
#: Marked on every file's rows where a column allows it.
SYNTHETIC = "synthetic test data"

_GIVEN = ["蛟川", "庄市", "骆驼", "招宝山", "澥浦", "九龙湖", "贵驷", "清水浦", "俞范", "憩园"]


@dataclass
class Facilities:
    """A planted kindergarten list: the truth, and what the file holds."""

    ids: list[str]
    names: list[str]
    capacity: np.ndarray
    x: np.ndarray
    y: np.ndarray
    extra: dict[str, list[str]] = field(default_factory=dict)

    @property
    def total_capacity(self) -> float:
        return float(np.nansum(self.capacity))


def facility_rows(seed: int, n: int = 8) -> Facilities:
    """``n`` kindergartens 2 m east of north-south streets, in the southern blocks.

    Around Ningbo the GCJ-02 offset is about 400 m east and 290 m south: read as WGS84,
    facilities in the southern half of the 1 km grid land south of its streets, which is
    what lets the offset check judge on so small a network (in a regular 100 m grid an
    offset of four blocks east alone would be invisible).
    """
    rng = np.random.default_rng(seed)
    spots = rng.choice((N - 2) * 3, size=n, replace=False)  # distinct blocks, rows 0-2
    i, j = 1 + spots // 3, spots % 3
    x = X0 + i * STEP + 2.0
    y = Y0 + j * STEP + 50.0
    capacity = rng.integers(6, 40, size=n) * 30.0
    names = [f"{_GIVEN[k % len(_GIVEN)]}幼儿园" for k in range(n)]
    return Facilities(
        ids=[f"ZH-K{k + 1:03d}" for k in range(n)],
        names=names,
        capacity=capacity,
        x=x,
        y=y,
        extra={
            "地址": [f"宁波市镇海区{_GIVEN[k % 10]}路{k + 1}号" for k in range(n)],
            "办园性质": ["公办" if k % 3 else "民办" for k in range(n)],
            "备注": [SYNTHETIC] * n,
        },
    )


def _fullwidth(text: str) -> str:
    return text.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})


def office_cells(f: Facilities, system: str = "WGS84") -> list[list]:
    """The list as an office types it: 序号 before 编号, full-width digits in some
    capacities, ``1,200``-style separators, an approximation (``约…``)."""
    lon, lat = lonlat(f.x, f.y, system)
    rows = []
    for k in range(len(f.ids)):
        cap = int(f.capacity[k])
        text = {0: _fullwidth(str(cap)), 1: f"{cap:,}", 2: f"约{cap}"}.get(k, cap) if k < 3 else cap
        rows.append(
            [
                k + 1,
                f.ids[k],
                f.names[k],
                f.extra["地址"][k],
                text,
                round(float(lon[k]), 7),
                round(float(lat[k]), 7),
                f.extra["办园性质"][k],
                f.extra["备注"][k],
            ]
        )
    return rows


HEADER = ["序号", "编号", "幼儿园名称", "地址", "托位（个）", "经度", "纬度", "办园性质", "备注"]


def write_title_xlsx(path: Path, f: Facilities, system: str = "WGS84") -> dict:
    """An office workbook: hidden first sheet, merged title, 合计 rows, footnote.

    Returns
    -------
    dict
        ``header_row`` and ``data_rows`` (sheet rows of the facilities, 1-based),
        ``total_rows`` (the 合计/小计 rows), ``footnote_row``.
    """
    from openpyxl import Workbook

    book = Workbook()
    hidden = book.active
    hidden.title = "旧表"
    hidden.append(["编号", "名称", "经度", "纬度"])
    hidden.append(["OLD-1", "已撤并幼儿园", 0.0, 0.0])  # would land in the sea if read
    hidden.sheet_state = "hidden"
    sheet = book.create_sheet("幼儿园名录")
    sheet.append(["镇海区幼儿园名录（2025年）"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    sheet.append([])
    sheet.append(HEADER)
    header_row = 3
    rows = office_cells(f, system)
    half = len(rows) // 2
    data_rows, total_rows = [], []
    for k, row in enumerate(rows):
        sheet.append(row)
        data_rows.append(sheet.max_row)
        if k == half - 1:
            sheet.append(["", "", "小计", "", float(np.sum(f.capacity[:half]))])
            total_rows.append(sheet.max_row)
    sheet.append(["合计", "", "", "", float(f.total_capacity)])
    total_rows.append(sheet.max_row)
    sheet.append(["注：托位数据来源于教育局2025年统计，仅供测试（synthetic）。"])
    footnote_row = sheet.max_row
    sheet.append([])
    sheet.append([])
    book.active = 1
    book.save(path)
    return {
        "header_row": header_row,
        "data_rows": data_rows,
        "total_rows": total_rows,
        "footnote_row": footnote_row,
    }


def write_xls(path: Path, f: Facilities, system: str = "WGS84") -> dict:
    """The same list as a legacy ``.xls`` (xlwt): title row merged, a 合计 row."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Sheet1")
    sheet.write_merge(0, 0, 0, len(HEADER) - 1, "镇海区幼儿园名录")
    for c, name in enumerate(HEADER):
        sheet.write(1, c, name)
    data_rows = []
    rows = office_cells(f, system)
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
        data_rows.append(r + 1)
    sheet.write(len(rows) + 2, 0, "合计")
    sheet.write(len(rows) + 2, 4, float(f.total_capacity))
    book.save(str(path))
    return {"data_rows": data_rows}


def write_text_export(path: Path, f: Facilities, encoding: str, system: str = "WGS84") -> dict:
    """The list exported as text: ``gbk`` CSV, ``utf-16`` tab-separated (Excel's "Unicode
    text"), or ``latin-1`` CSV with European names."""
    rows = office_cells(f, system)
    sep = "\t" if encoding == "utf-16" else ","
    names = list(f.names)
    if encoding == "latin-1":
        names = [f"Crèche Müller {k}" for k in range(len(rows))]
        for row, name in zip(rows, names, strict=True):
            row[2] = name
            row[3] = "Rua São João"
            row[7] = "público"
            row[4] = (
                str(row[4])
                .translate({0xFF10 + d: 0x30 + d for d in range(10)})
                .replace("约", "ca. ")
            )
    header = (
        ["no", "id", "name", "address", "capacity", "lon", "lat", "type", "note"]
        if encoding == "latin-1"
        else HEADER
    )
    lines = [sep.join(header)]
    for row in rows:
        lines.append(
            sep.join(
                f'"{v}"' if isinstance(v, str) and (sep in v or "," in v) else str(v) for v in row
            )
        )
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return {"names": names, "data_rows": list(range(2, len(rows) + 2))}


# --------------------------------------------------------------------------------------
# Centrelines


@dataclass
class Centrelines:
    """The planted street truth: the walkable grid, an expressway, a viaduct."""

    grid_length_m: float
    viaduct_length_m: float
    expressway_length_m: float
    viaduct_y: float


def write_gbk_centrelines(path: Path) -> Centrelines:
    """A GBK shapefile without ``.cpg`` (code page 0) of the 1 km grid, plus an expressway
    (道路等级 高速公路) on a diagonal and a viaduct (是否桥梁 是) across the grid, joined
    to the streets only at its two ends (ramps beyond the grid edge)."""
    rows = []
    for i in range(N):
        rows.append(
            (
                LineString([(X0 + i * STEP, Y0), (X0 + i * STEP, Y0 + (N - 1) * STEP)]),
                "城市支路",
                "否",
                f"纵{i}路",
            )
        )
        rows.append(
            (
                LineString([(X0, Y0 + i * STEP), (X0 + (N - 1) * STEP, Y0 + i * STEP)]),
                "城市支路",
                "否",
                f"横{i}路",
            )
        )
    viaduct_y = Y0 + 550.0
    viaduct = LineString([(X0, viaduct_y), (X0 + (N - 1) * STEP, viaduct_y)])
    rows.append((viaduct, "城市主干路", "是", "绕城高架"))
    expressway = LineString([(X0 - 200, Y0 - 200), (X0 + 1200, Y0 + 1200)])
    rows.append((expressway, "高速公路", "否", "甬台温高速"))
    frame = gpd.GeoDataFrame(
        {
            "道路等级": [r[1] for r in rows],
            "是否桥梁": [r[2] for r in rows],
            "道路名称": [r[3] for r in rows],
        },
        geometry=[r[0] for r in rows],
        crs=CRS,
    )
    # the viaduct's ramps: short links from its ends down to the grid's edge streets
    frame.to_crs(4490).to_file(path, encoding="gbk")
    for cpg in (path.with_suffix(".cpg"), path.with_suffix(".CPG")):
        cpg.unlink(missing_ok=True)
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = 0  # code page 0: "unknown", as many Chinese tools write it
    dbf.write_bytes(bytes(data))
    return Centrelines(
        grid_length_m=2 * N * (N - 1) * STEP,
        viaduct_length_m=viaduct.length,
        expressway_length_m=expressway.length,
        viaduct_y=viaduct_y,
    )


# --------------------------------------------------------------------------------------
# Census


def write_census(folder: Path, seed: int, system: str = "GCJ-02") -> dict[str, dict]:
    """A census table by sub-district (title row, 合计 row, thousands separators) and the
    two sub-districts' polygons as GeoJSON holding ``system`` coordinates.

    Returns
    -------
    dict
        Per sub-district: ``total`` and the age groups planted.
    """
    rng = np.random.default_rng(seed)
    zones = {
        "西区": box(X0 - 50, Y0 - 50, X0 + 500, Y0 + 1050),
        "东区": box(X0 + 500, Y0 - 50, X0 + 1050, Y0 + 1050),
    }
    truth, rows = {}, []
    for name in zones:
        bands = {
            "0-2岁": int(rng.integers(30, 80)),
            "3-5岁": int(rng.integers(30, 80)),
            "6-14岁": int(rng.integers(100, 300)),
            "15-59岁": int(rng.integers(2000, 4000)),
            "60岁及以上": int(rng.integers(600, 1500)),
        }
        total = sum(bands.values())
        truth[name] = {"total": total, **bands}
        rows.append([name, f"{total:,}", *bands.values()])
    header = ["街道", "常住人口", "0-2岁", "3-5岁", "6-14岁", "15-59岁", "60岁及以上"]
    lines = ["镇海区某两街道常住人口（synthetic 测试数据）", ",".join(header)]
    lines += [",".join(f'"{v}"' if "," in str(v) else str(v) for v in row) for row in rows]
    total = sum(t["total"] for t in truth.values())
    lines.append(f'合计,"{total:,}",,,,,')
    (folder / "census.csv").write_bytes(("\n".join(lines) + "\n").encode("gb18030"))

    polygons = []
    for poly in zones.values():
        ring = np.asarray(poly.exterior.coords)
        dense = LineString(ring).segmentize(25.0)
        xy = np.asarray(dense.coords)
        lon, lat = lonlat(xy[:, 0], xy[:, 1], system)
        from shapely.geometry import Polygon

        polygons.append(Polygon(np.column_stack([lon, lat])))
    gpd.GeoDataFrame({"name": list(zones)}, geometry=polygons, crs=4326).to_file(
        folder / "census_areas.geojson"
    )
    return truth


def facility_frame(f: Facilities, system: str = "WGS84") -> pd.DataFrame:
    """The list as a tidy table (for writers that need one)."""
    lon, lat = lonlat(f.x, f.y, system)
    return pd.DataFrame(
        {
            "编号": f.ids,
            "幼儿园名称": f.names,
            "托位": f.capacity,
            "经度": lon,
            "纬度": lat,
            **f.extra,
        }
    )
