"""The header spellings recognised for each column of a facility table.

Compared after :func:`circle15.sources.columns.normalise` by
:func:`~circle15.sources.columns.find_column`: English, Chinese (经度/纬度, 幼儿园名称, 托位 …)
and the names Amap, Baidu and OpenStreetMap exports use. ``RESERVED_COLUMNS`` are the
facility frame's own columns, which a planner's column of the same name must not replace.
"""

from __future__ import annotations

#: Header spellings recognised for each field, compared after ``columns.normalise``.
LON_NAMES = (
    "lon",
    "lng",
    "longitude",
    "long",
    "经度",
    "东经",
    "x",
    "gcj_lng",
    "bd_lng",
    "wgs84_lng",
    "lon_wgs84",
    "lng_gcj02",
    "x坐标",
    "经度坐标",
)
LAT_NAMES = (
    "lat",
    "latitude",
    "纬度",
    "北纬",
    "y",
    "gcj_lat",
    "bd_lat",
    "wgs84_lat",
    "lat_wgs84",
    "lat_gcj02",
    "y坐标",
    "纬度坐标",
)
LONLAT_NAMES = ("location", "坐标", "经纬度", "lnglat", "lonlat")  # one "lon,lat" column
#: 序号 (a running number) comes last: it is the id only when no real id column exists.
ID_NAMES = (
    "facility_id",
    "id",
    "编号",
    "代码",
    "机构编号",
    "机构代码",
    "设施编号",
    "单位编号",
    "统一社会信用代码",
    "poi_id",
    "uid",
    "code",
    "osm_id",
    "序号",
    "no",
    "no.",
)
NAME_NAMES = (
    "name",
    "名称",
    "机构名称",
    "设施名称",
    "单位名称",
    "学校名称",
    "园所名称",
    "幼儿园名称",
    "托育机构名称",
    "场地名称",
    "场馆名称",
    "食堂名称",
    "站点名称",
    "poi名称",
    "name_zh",
    "中文名称",
)
CAPACITY_NAMES = (
    "capacity",
    "托位",
    "托位数",
    "学位",
    "学位数",
    "床位",
    "床位数",
    "座位",
    "座位数",
    "餐位",
    "餐位数",
    "容量",
    "规模",
    "核定托位",
    "核定学位",
    "核定托位数",
    "核定学位数",
    "核定床位",
    "办学规模",
    "设计规模",
)
#: Column names the facilities frame uses itself; a planner's column of the same name is
#: kept as ``"<name> (file)"``.
RESERVED_COLUMNS = (
    "facility_id",
    "name",
    "capacity",
    "provenance",
    "geometry",
    "category",
    "snapped",
    "snap_m",
    "district",
    "capacity_per_resident",
)
_KNOWN = tuple(
    dict.fromkeys(LON_NAMES + LAT_NAMES + LONLAT_NAMES + ID_NAMES + NAME_NAMES + CAPACITY_NAMES)
)
