"""Read a reference index table (CSV or XLSX) to compare circle15's results with.

The table is long -- one row per (unit, indicator): columns ``unit``, ``indicator`` and
``value`` -- or wide: a unit column and one column per indicator. Tables as reviewers get
them are read as they are:

- headers in Chinese or English, with a note in brackets (full- or half-width): units
  ``unit``/单位/街道/街道（镇）/乡镇（街道）/镇街/地区/名称 …, indicators 指标/指标名称,
  values 数值/值/得分/指数/分值; an indicator written with its unit (``托育覆盖率（%）``)
  keeps it, and ``per_cent`` marks bare numbers under a ``%`` header (85 = 85 %);
- title rows above the header (the header is the first row naming a unit column),
  merged cells in an XLSX (a unit merged over its indicator rows), hidden sheets skipped
  unless named, blank rows and footnotes (注：…, 数据来源：…) dropped;
- values as numbers, percentages (``"85%"`` = 0.85) or with thousands separators;
  ``—``, ``-``, ``/``, ``无``, ``N/A`` or blank mean *no value*: the row is kept with value
  NaN, so that the comparison can name what it could not compare (not an error).

Other columns (``provenance``, ``note`` ...) are kept; ``序号``/``排名`` columns of a
wide table are not indicators.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ._encoding import text_encoding
from .facilities import read_table
from .tables import text_rows

UNIT_NAMES = (
    "unit",
    "district",
    "area",
    "name",
    "subdistrict",
    "单位",
    "单位名称",
    "地区",
    "地区名称",
    "区域",
    "区域名称",
    "街道",
    "街道名称",
    "镇",
    "乡镇",
    "镇街",
    "街镇",
    "街道/镇",
    "镇/街道",
    "乡镇街道",
    "镇街道",
    "街道镇",
    "行政区",
    "行政区划",
    "名称",
)
INDICATOR_NAMES = ("indicator", "metric", "指标", "指标名称", "评价指标", "指标项")
VALUE_NAMES = ("value", "score", "数值", "值", "得分", "指数", "分值", "指标值", "结果")
#: Columns of a wide table that hold text or row labels, not indicators.
TEXT_NAMES = (
    "provenance",
    "note",
    "notes",
    "source",
    "comment",
    "name_en",
    "name_zh",
    "来源",
    "备注",
    "说明",
    "出处",
    "序号",
    "编号",
    "no",
    "no.",
    "rank",
    "排名",
    "名次",
    "等级",
)
#: Cell texts meaning "no value here".
MISSING_VALUES = frozenset(
    {
        "",
        "—",
        "——",
        "-",
        "--",
        "–",
        "－",
        "―",
        "/",
        "／",
        "\\",
        "无",
        "暂无",
        "空",
        "na",
        "n/a",
        "nan",
        "null",
        "none",
        "…",
        "...",
    }
)
#: A row whose unit cell starts so, with nothing else in it, is a footnote.
_FOOTNOTE = re.compile(
    r"^\s*(注|说明|备注|数据来源|资料来源|来源|note|source)\s*[:：\d]?", re.IGNORECASE
)
_BRACKETS = re.compile(r"[（(【\[][^）)】\]]*[）)】\]]")
_PER_CENT = re.compile(r"[（(【\[][^）)】\]]*[%％][^）)】\]]*[）)】\]]|百分比")
#: Rows searched for the header row below a title.
HEADER_SEARCH_ROWS = 20

#: Columns of the table returned by :func:`read_reference`.
REFERENCE_COLUMNS = ["row", "unit", "indicator", "value", "per_cent"]


def _key(name: object) -> str:
    """A header as compared: brackets and their contents, spaces and case ignored."""
    return re.sub(r"\s+", "_", _BRACKETS.sub("", str(name)).strip().casefold())


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    keys: dict[str, str] = {}
    for c in columns:
        keys.setdefault(_key(c), c)
    return next((keys[n] for n in names if n in keys), None)


def is_missing(text: object) -> bool:
    """Whether a cell means "no value": blank, a dash, a slash, 无, N/A ..."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return True
    return isinstance(text, str) and text.strip().casefold() in MISSING_VALUES


def parse_value(text: object) -> float:
    """A number from a cell: ``0.85``, ``"85%"`` (= 0.85), ``"1,234"``, ``"８５"``.

    NaN when the cell means no value (blank, ``—``, ``-``, ``/`` ...); raises
    ``ValueError`` for anything else.
    """
    if is_missing(text):
        return float("nan")
    if isinstance(text, bool):
        raise ValueError(f"not a number: {text!r}")
    if isinstance(text, int | float | np.number):
        return float(text)
    s = str(text).strip().replace(",", "").replace("，", "").replace(" ", "")
    if s.endswith(("%", "％")):
        return float(s[:-1]) / 100.0
    return float(s)


def _cell_per_cent(text: object) -> bool:
    return isinstance(text, str) and text.strip().endswith(("%", "％"))


def read_reference(path: str | Path, sheet: str | None = None) -> pd.DataFrame:
    """Read a reference index table.

    Parameters
    ----------
    path : str or Path
        CSV (UTF-8, GBK or UTF-16) or XLSX file.
    sheet : str, optional
        Sheet of an XLSX workbook (the first visible one by default).

    Returns
    -------
    DataFrame
        ``row`` (the row number in the file, as Excel shows it), ``unit``, ``indicator``
        (as written, unit in brackets included), ``value`` (float; NaN where the cell
        says no value), ``per_cent`` (True where a bare number stands under a ``%``
        header, so 85 may mean 85 %), plus any other columns of a long table.

    Raises
    ------
    InputError
        Naming the file, the row and the field: a missing file or column, a value that is
        not a number, a blank unit or indicator, a table without any value.
    """
    path = Path(path)
    what = "reference"
    if not path.is_file():
        raise InputError(f"{what} {path}: file not found")
    rows, numbers = _raw_rows(path, sheet, what)
    at = next(
        (
            i
            for i, r in enumerate(rows[:HEADER_SEARCH_ROWS])
            if _find([str(c) for c in r if c is not None], UNIT_NAMES)
        ),
        None,
    )
    if at is None:
        first = next((r for r in rows if any(c is not None for c in r)), [])
        raise InputError(
            f"{what} {path}: no unit column; name one 'unit' (or 单位/街道/街道（镇）/"
            f"乡镇（街道）). The first row is: "
            f"{', '.join(str(c) for c in first if c is not None) or '(empty)'}"
        )
    header = [
        ("" if c is None else str(c).strip()) or f"column {j + 1}" for j, c in enumerate(rows[at])
    ]
    body = [r + [None] * (len(header) - len(r)) for r in rows[at + 1 :]]
    table = pd.DataFrame([r[: len(header)] for r in body], columns=header, dtype=object)
    table.insert(0, "row", np.asarray(numbers[at + 1 :], dtype=int))
    table = _drop_blank_and_footnotes(table, header)
    return _long_form(table, header, path, what)


def _raw_rows(path: Path, sheet: str | None, what: str) -> tuple[list[list], list[int]]:
    """Every row of the file as a list of cells, and its row number in the file."""
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        return _xlsx_rows(path, sheet, what)
    if suffix in {".csv", ".txt", ".tsv"}:
        return _csv_rows(path, what)
    table = read_table(path, what, sheet) if sheet else read_table(path, what)
    header = [str(c) for c in table.columns]
    rows = [header, *table.astype(object).where(table.notna(), None).values.tolist()]
    return rows, list(range(1, len(rows) + 1))


def _xlsx_rows(path: Path, sheet: str | None, what: str) -> tuple[list[list], list[int]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise InputError(
            f"{what} {path}: not a readable Excel workbook ({exc}); save it again from Excel"
        ) from None
    if sheet is not None:
        if sheet not in book.sheetnames:
            raise InputError(
                f"{what} {path}: no sheet {sheet!r}; sheets are: {', '.join(book.sheetnames)}"
            )
        ws = book[sheet]
    else:
        visible = [w for w in book.worksheets if w.sheet_state == "visible"]
        if not visible:
            raise InputError(f"{what} {path}: every sheet is hidden; name one with --sheet")
        ws = visible[0]
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    # A merged range shows its value in every cell it covers (a unit over its rows).
    for rng in ws.merged_cells.ranges:
        top = values[rng.min_row - 1][rng.min_col - 1] if rng.min_row <= len(values) else None
        for i in range(rng.min_row - 1, min(rng.max_row, len(values))):
            row = values[i]
            row.extend([None] * (rng.max_col - len(row)))
            for j in range(rng.min_col - 1, rng.max_col):
                row[j] = top
    return values, list(range(1, len(values) + 1))


def _csv_rows(path: Path, what: str) -> tuple[list[list], list[int]]:
    """Rows of a CSV/TSV/TXT export with the line each starts on in the file: the
    encoding found from the bytes and the delimiter from the first rows, as for every
    other table (:mod:`circle15.sources.tables`)."""
    if not path.read_bytes().strip():
        raise InputError(f"{what} {path}: the file is empty; save the table again")
    rows, lines, _ = text_rows(path, text_encoding(path), path.suffix.lower(), what)
    return [[c if c.strip() else None for c in r] for r in rows], lines


def _drop_blank_and_footnotes(table: pd.DataFrame, header: list[str]) -> pd.DataFrame:
    """Rows with no cell filled, and footnotes: one text (merged or not) such as 注：…"""
    cells = table[header].to_numpy(dtype=object)
    texts = [{str(c).strip() for c in row if not is_missing(c)} for row in cells]
    filled = np.array([bool(t) for t in texts], dtype=bool)
    note = np.array(
        [len(t) == 1 and bool(_FOOTNOTE.match(next(iter(t)))) for t in texts], dtype=bool
    )
    return table[filled & ~note].reset_index(drop=True)


def _long_form(table: pd.DataFrame, header: list[str], path: Path, what: str) -> pd.DataFrame:
    unit = _find(header, UNIT_NAMES)
    indicator, value = _find(header, INDICATOR_NAMES), _find(header, VALUE_NAMES)
    if indicator is not None and value is not None:
        long = table.rename(columns={unit: "unit", indicator: "indicator", value: "value"})
        long["per_cent"] = [bool(_PER_CENT.search(str(i))) for i in long["indicator"]]
    elif indicator is None and value is None:
        candidates = [c for c in header if c != unit and _key(c) not in TEXT_NAMES]
        numeric = [c for c in candidates if _numeric_column(table[c])]
        if not numeric:
            raise InputError(
                f"{what} {path}: has a unit column but no indicator columns; "
                "give 'indicator' and 'value' columns, or one column per "
                "indicator"
            )
        wide = table.rename(columns={unit: "unit"})
        long = wide.melt(
            id_vars=["row", "unit"], value_vars=numeric, var_name="indicator", value_name="value"
        )
        long["per_cent"] = [bool(_PER_CENT.search(str(i))) for i in long["indicator"]]
        long = long.sort_values(["row"], kind="stable").reset_index(drop=True)
    else:
        missing = "value" if value is None else "indicator"
        raise InputError(
            f"{what} {path}: column {missing!r} not found (a long table needs "
            f"unit, indicator and value). Columns are: {', '.join(header)}"
        )
    for field in ("unit", "indicator"):
        text = long[field].map(lambda c: None if is_missing(c) else str(c).strip())
        blank = text.isna().to_numpy()
        if blank.any():
            row = int(long["row"].to_numpy()[np.flatnonzero(blank)[0]])
            raise InputError(f"{what} {path}: row {row}: {field} is blank")
        long[field] = text.astype(object)
    values = np.empty(len(long))
    for i, (row, raw) in enumerate(zip(long["row"], long["value"], strict=True)):
        try:
            values[i] = parse_value(raw)
        except ValueError:
            raise InputError(
                f"{what} {path}: row {row}: value {raw!r} is not a number "
                "(write 0.85 or 85%; leave it blank or write — for none)"
            ) from None
    long["per_cent"] = long["per_cent"] & ~long["value"].map(_cell_per_cent).astype(bool)
    long["value"] = values
    if np.isnan(values).all():
        raise InputError(f"{what} {path}: has no values")
    extra = [c for c in long.columns if c not in REFERENCE_COLUMNS]
    return long[[*REFERENCE_COLUMNS, *extra]].reset_index(drop=True)


def _numeric_column(values: pd.Series) -> bool:
    """A wide table's indicator column: at least one number; text-only columns are not.

    A column mixing numbers with other text stays an indicator, so that the bad cell is
    reported with its row.
    """

    def number(c: object) -> bool:
        try:
            return not np.isnan(parse_value(c))
        except ValueError:
            return False

    return bool(values.map(number).any())
