"""Every CSV and XLSX that circle15 writes, written so that no cell can run as a formula.

Names and notes come from planners' files and end up in tables that others open in Excel
or WPS. CSV text that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is written with a leading apostrophe (the OWASP rule, :mod:`circle15.outputs.safe_text`);
in XLSX such a cell is stored as a string with Excel's own "quote prefix" style (what Excel
does when one types ``'=1``), never as a formula, and shows the text unchanged. Control
characters (``\\x0b`` pasted from Word) are replaced by spaces in both. Column names are
treated the same way: a planner's extra column may be called anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .atomic import atomic_path
from .reproducible import normalise_xlsx
from .safe_text import FORMULA_START, clean_control, csv_safe_frame, csv_safe_text

__all__ = ["csv_frame", "format_sheet", "write_csv", "write_xlsx", "xlsx_frame"]

_HEADER_FILL = PatternFill("solid", fgColor="DDE3EA")
_MAX_WIDTH = 48


def _listed(value: Any) -> Any:
    """Lists and tuples in a cell as ``a; b`` (not Python's repr)."""
    if isinstance(value, list | tuple | set | np.ndarray):
        return "; ".join(str(v) for v in value)
    return value


def csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as written to CSV: safe text in every cell and column name."""
    out = frame.copy()
    for name in out.columns:
        if out[name].dtype == object:
            out[name] = out[name].map(_listed)
    out = csv_safe_frame(out)
    out.columns = [_line_ends(csv_safe_text(str(c))) for c in out.columns]
    for name in out.columns:
        if out[name].dtype == object or pd.api.types.is_string_dtype(out[name]):
            out[name] = out[name].map(_line_ends)
    return out


def _line_ends(value: Any) -> Any:
    """A carriage return inside text as a line feed: the CSV writer quotes a field with a
    line feed, but a bare CR would end the row in Excel and start a new one."""
    if isinstance(value, str) and "\r" in value:
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def read_own_csv(path: Path | str, **kwargs: Any) -> pd.DataFrame:
    """Read back a CSV written by :func:`write_csv`: the apostrophe that kept a text from
    starting a formula is taken off again, so names match the other tables.

    Keyword arguments go to :func:`pandas.read_csv` (UTF-8 with its byte-order mark).
    """
    frame = pd.read_csv(path, encoding="utf-8-sig", **kwargs)
    frame.columns = [_unguarded(c) for c in frame.columns]
    for name in frame.columns:
        if frame[name].dtype == object or pd.api.types.is_string_dtype(frame[name]):
            frame[name] = frame[name].map(_unguarded)
    return frame


def _unguarded(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


def write_csv(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write ``frame`` as CSV atomically: UTF-8 with BOM (so that Excel shows Chinese
    names), ``\\n`` line ends, no index, no formulas, no control characters."""
    path = Path(path)
    with atomic_path(path) as tmp:
        csv_frame(frame).to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\n")
    return path


def xlsx_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as written to XLSX: control characters replaced, lists joined.

    Formula-looking text is kept as it is; :func:`write_xlsx` stores it as a string.
    """
    out = frame.copy()
    for name in out.columns:
        if out[name].dtype == object or pd.api.types.is_string_dtype(out[name]):
            out[name] = out[name].map(
                lambda v: clean_control(v) if isinstance(v, str) else _listed(v)
            )
    out.columns = [clean_control(str(c)) for c in out.columns]
    return out


def _formula_like(values: pd.Series) -> np.ndarray:
    """Which values are text that starts like a formula."""
    try:
        found = values.str.startswith(FORMULA_START, na=False)
    except AttributeError:  # an object column without text (numbers, flags)
        found = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_START))
    return found.to_numpy(dtype=bool)


def _as_text(ws: Worksheet, frame: pd.DataFrame) -> None:
    """Store every text cell that starts like a formula as a quote-prefixed string.

    openpyxl takes any text beginning with ``=`` for a formula; the cells are found in
    the frame, column by column, and only those are touched.
    """
    for j, name in enumerate(frame.columns, start=1):
        hits = [1] if str(name).startswith(FORMULA_START) else []
        values = frame[name]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            rows = np.flatnonzero(_formula_like(values))
            hits += (rows + 2).tolist()  # the header is row 1
        for i in hits:
            cell = ws.cell(row=i, column=j)
            cell.data_type = "s"
            cell.quotePrefix = True


def format_sheet(ws: Worksheet, frame: pd.DataFrame) -> None:
    """Bold frozen header with a filter, column widths, percentages for shares."""
    ws.freeze_panes = "A2"
    if ws.max_row > 1:
        ws.auto_filter.ref = ws.dimensions
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, name in enumerate(frame.columns, start=1):
        letter = get_column_letter(i)
        values = frame[name].astype(str).str.len()
        longest = int(values.fillna(0).max()) if len(values) else 0  # NA (all-blank) -> 0
        width = min(_MAX_WIDTH, max(len(str(name)), longest) + 2)
        ws.column_dimensions[letter].width = max(width, 8)
        fmt = None
        name = str(name)
        if name == "coverage" or name.endswith("_share"):
            fmt = "0.0%"
        elif name.startswith("pop") or name.endswith("population"):
            fmt = "#,##0.0"
        if fmt:
            for cell in ws[letter][1:]:
                cell.number_format = fmt


def write_xlsx(
    sheets: Mapping[str, pd.DataFrame],
    path: Path | str,
    *,
    started: datetime | None = None,
    finish: Callable[[dict[str, Worksheet]], None] | None = None,
) -> Path:
    """Write ``sheets`` (name → frame, in order) to an XLSX workbook atomically.

    Every sheet is formatted by :func:`format_sheet`; no cell is a formula (text that
    looks like one is a quote-prefixed string). ``finish`` may adjust the worksheets
    before saving; ``started`` pins the document dates (reproducible bytes).
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, frame in sheets.items():
                clean = xlsx_frame(frame)
                clean.to_excel(writer, sheet_name=name, index=False)
                ws = writer.sheets[name]
                _as_text(ws, clean)
                format_sheet(ws, clean)
            if finish is not None:
                finish(dict(writer.sheets))
        if started is not None:
            normalise_xlsx(tmp, started)
    return path
