"""Read a reference index table (CSV or XLSX) to compare circle15's results with.

The table is long -- one row per (unit, indicator): columns ``unit``, ``indicator`` and
``value`` (Chinese headers 单位/地区/街道, 指标, 数值/值/得分 are recognised too) -- or
wide: a unit column and one numeric column per indicator. Other columns (``provenance``,
``note`` ...) are kept. Values may be written as percentages ("85%" = 0.85).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .facilities import read_table

UNIT_NAMES = ("unit", "district", "area", "name", "单位", "地区", "区域", "街道", "镇街",
              "街道/镇", "乡镇街道", "名称")
INDICATOR_NAMES = ("indicator", "metric", "指标", "指标名称")
VALUE_NAMES = ("value", "score", "数值", "值", "得分", "指数", "分值")
#: Columns of a wide table that hold text, not indicators.
TEXT_NAMES = ("provenance", "note", "notes", "source", "comment", "name_en", "name_zh",
              "来源", "备注", "说明", "出处")

#: Columns of the table returned by :func:`read_reference`.
REFERENCE_COLUMNS = ["row", "unit", "indicator", "value"]


def _key(name: object) -> str:
    return str(name).strip().casefold().replace(" ", "_")


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    keys = {_key(c): c for c in columns}
    return next((keys[n] for n in names if n in keys), None)


def parse_value(text: object) -> float:
    """A number from a cell: ``0.85``, ``"85%"`` (= 0.85), ``"1,234"``; NaN when blank.

    Raises ``ValueError`` for anything else.
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return float("nan")
    if isinstance(text, int | float | np.number):
        return float(text)
    s = str(text).strip().replace(",", "").replace("，", "")
    if s == "":
        return float("nan")
    if s.endswith(("%", "％")):
        return float(s[:-1]) / 100.0
    return float(s)


def read_reference(path: str | Path, sheet: str | None = None) -> pd.DataFrame:
    """Read a reference index table.

    Parameters
    ----------
    path : str or Path
        CSV (UTF-8 or GBK) or XLSX file.
    sheet : str, optional
        Sheet of an XLSX workbook (the first by default).

    Returns
    -------
    DataFrame
        ``row`` (the row number in the file, header = 1), ``unit``, ``indicator``,
        ``value`` (float), plus any other columns of a long table.

    Raises
    ------
    InputError
        Naming the file, the row and the field: a missing file or column, a value that is
        not a number, a blank unit or indicator.
    """
    path = Path(path)
    what = "reference"
    if not path.is_file():
        raise InputError(f"{what} {path}: file not found")
    table = read_table(path, what, sheet) if sheet else read_table(path, what)
    columns = [str(c) for c in table.columns]
    table.columns = columns
    unit = _find(columns, UNIT_NAMES)
    if unit is None:
        raise InputError(
            f"{what} {path}: no unit column; name one 'unit' (or 单位/地区/街道). "
            f"Columns are: {', '.join(columns)}")
    indicator, value = _find(columns, INDICATOR_NAMES), _find(columns, VALUE_NAMES)
    if indicator is not None and value is not None:
        long = table.rename(columns={unit: "unit", indicator: "indicator", value: "value"})
        long.insert(0, "row", np.arange(len(long)) + 2)
    elif indicator is None and value is None:
        numeric = [c for c in columns if c != unit and _key(c) not in TEXT_NAMES]
        if not numeric:
            raise InputError(f"{what} {path}: has a unit column but no indicator columns; "
                             "give 'indicator' and 'value' columns, or one column per "
                             "indicator")
        wide = table.rename(columns={unit: "unit"})
        wide.insert(0, "row", np.arange(len(wide)) + 2)
        long = wide.melt(id_vars=["row", "unit"], value_vars=numeric, var_name="indicator",
                         value_name="value")
    else:
        missing = "value" if value is None else "indicator"
        raise InputError(f"{what} {path}: column {missing!r} not found (a long table needs "
                         f"unit, indicator and value). Columns are: {', '.join(columns)}")
    for field in ("unit", "indicator"):
        text = long[field].astype("string").str.strip()
        blank = text.isna() | (text == "")
        if blank.any():
            row = int(long["row"].to_numpy()[np.flatnonzero(blank.to_numpy())[0]])
            raise InputError(f"{what} {path}: row {row}: {field} is blank")
        long[field] = text.astype(object)
    values = np.empty(len(long))
    for i, (row, raw) in enumerate(zip(long["row"], long["value"], strict=True)):
        try:
            values[i] = parse_value(raw)
        except ValueError:
            raise InputError(f"{what} {path}: row {row}: value {raw!r} is not a number "
                             "(write 0.85 or 85%)") from None
    long["value"] = values
    long = long[~np.isnan(values)].reset_index(drop=True)
    if long.empty:
        raise InputError(f"{what} {path}: has no values")
    return long
