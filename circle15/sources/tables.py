"""Read the tables planners really have: title rows, merged cells, total rows, footnotes.

An office table (CSV/TXT export or an Excel workbook, ``.xlsx`` or ``.xls``) is read as a
grid of text, then:

- the header is the first row, among the first 30, that looks most like one (the most
  distinct text cells; known column names count extra), and rows above it are titles;
- merged cells carry their value into every cell they cover (a 街道 merged over rows);
- blank rows are dropped; rows that sum the others (合计, 总计, 小计, Total) and
  footnotes (注：…, 数据来源 …, a lone text cell under the table) are dropped with a note;
- hidden sheets are skipped unless named with ``sheet``/``layer``;
- every kept row remembers its line in the file (the sheet's row number in Excel), so that
  messages point where the planner looks.

Numbers are parsed by :func:`parse_numbers`: full-width digits (``７５``), thousands
separators (``1,200``), approximations (``约800``), 万 (``1.2万``) and units (``800人``,
``1200㎡``) are understood; NaN, infinities and overflow are refused.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ._encoding import Encoding, text_encoding
from ._files import check_regular

#: Rows examined for the header.
HEADER_SEARCH_ROWS = 30
#: Problems listed in one error message before "and N more".
MAX_PROBLEMS = 20
#: A row whose first text cells say this sums the rows above it.
_TOTAL = re.compile(
    r"^\s*(合\s*计|总\s*计|小\s*计|共\s*计|总\s*数|全区合计|total|sum|subtotal|"
    r"grand\s*total)\s*[:：]?\s*$",
    re.IGNORECASE,
)
_FOOTNOTE = re.compile(
    r"^\s*(注|备注|说明|附注|数据来源|资料来源|来源|制表|填表|审核|单位负责人|"
    r"note|notes|source|\*)",
    re.IGNORECASE,
)
_MISSING = {"", "-", "—", "–", "－", "/", "／", "n/a", "na", "#n/a", "无", "暂无", "none", "null"}
_APPROX = re.compile(r"^(约|大约|近|将近|逾|超过|≈|~|～|about|approx\.?|ca\.?)\s*", re.IGNORECASE)
_APPROX_TAIL = re.compile(r"\s*(左右|余|多|以上|上下)$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
#: A value this large in a count or coordinate is a typing or export error.
_TOO_LARGE = 1e12


@dataclass
class Table:
    """A table as read: text cells, each row's line in the file, and what was changed.

    Attributes
    ----------
    frame : DataFrame
        Columns named by the header row (cleaned of line breaks and spaces at the ends),
        cells as read (text, or numbers from a workbook); a RangeIndex.
    lines : ndarray of int
        The file's own line (the sheet's row number) of each row of ``frame``.
    notes : list of str
        What was dropped or assumed (title rows, total rows, footnotes, the encoding).
    encoding : Encoding, optional
        The text encoding used (CSV/TXT only).
    sheet : str, optional
        The sheet read (workbooks only).
    """

    frame: pd.DataFrame
    lines: np.ndarray
    notes: list[str] = field(default_factory=list)
    encoding: Encoding | None = None
    sheet: str | None = None

    def take(self, keep: np.ndarray) -> Table:
        """The rows where ``keep`` is true, their lines kept."""
        return Table(
            self.frame[keep].reset_index(drop=True),
            self.lines[keep],
            self.notes,
            self.encoding,
            self.sheet,
        )


class Problems:
    """Problems of one table, collected so that one message lists them all.

    Each is ``line N (name): field: what is wrong``; :meth:`raise_if_any` raises one
    ``InputError`` with the first :data:`MAX_PROBLEMS` and how many more there are.
    """

    def __init__(self, what: str, path: Path | str | None, place: str = "row") -> None:
        self.what, self.path, self.place = what, path, place
        self.items: list[tuple[int, str]] = []

    def add(
        self, line: int | None, text: str, name: str | None = None, *, located: bool = True
    ) -> None:
        """One problem at ``line`` (of the facility ``name``); ``located=False`` when the
        text names its lines itself (the line then only orders the list)."""
        where = "" if line is None or not located else f"{self.place} {line}"
        if name:
            where = f"{where} ({name})" if where else f"({name})"
        self.items.append((line if line is not None else -1, f"{where}: {text}" if where else text))

    def raise_if_any(self, fix: str = "") -> None:
        if not self.items:
            return
        ordered = [text for _, text in sorted(self.items, key=lambda item: item[0])]
        shown = "; ".join(ordered[:MAX_PROBLEMS])
        more = len(ordered) - MAX_PROBLEMS
        tail = f"; and {more} more" if more > 0 else ""
        count = f"{len(ordered)} problem{'s' if len(ordered) > 1 else ''}"
        where = f"{self.what} {self.path}" if self.path else self.what
        raise InputError(f"{where}: {count}: {shown}{tail}" + (f". {fix}" if fix else ""))


# --------------------------------------------------------------------------------------
# Reading


def read_messy_table(
    path: Path,
    what: str = "table",
    sheet: str | None = None,
    *,
    encoding: Encoding | None = None,
    known: tuple[str, ...] = (),
    drop_totals: bool = True,
    rows_are: str = "data rows",
) -> Table:
    """Read a CSV/TSV/TXT export or an Excel sheet as a :class:`Table`.

    Parameters
    ----------
    path : Path
        The file (``.csv``, ``.tsv``, ``.txt``, ``.xlsx``, ``.xlsm``, ``.xls``).
    what : str
        What the table is to the study, for messages.
    sheet : str, optional
        The sheet of a workbook (a hidden one is read when named); default the first
        visible sheet.
    encoding : Encoding, optional
        Declared encoding of a text file; found from its bytes otherwise.
    known : tuple of str
        Column names the caller looks for (normalised), which mark the header row.
    drop_totals : bool
        Drop 合计/总计/小计/Total rows (with a note).
    rows_are : str
        What the rows hold, for the message about a table without any.

    Raises
    ------
    InputError
        An empty file, a missing sheet, no header row, a table without data rows.
    """
    check_regular(path, what)
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"{what} {path}: the file is empty (0 bytes); save the table again")
    notes: list[str] = []
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"):
        rows, lines, sheet_name = _workbook_rows(path, what, sheet, notes)
        found = None
    else:
        found = text_encoding(path, encoding)
        rows, lines, breaks = text_rows(path, found, suffix, what)
        sheet_name = None
        if found.worth_saying:
            notes.append(
                f"{what} {path.name}: read as {found.label} ({found.how}"
                f"{'' if found.sure else ', not certain'}); if names look wrong, "
                'set encoding = "..." for this file (UTF-8, GBK, UTF-16, Latin-1)'
            )
    grid = _grid(rows, text=found is not None, breaks=found is None or breaks)
    lines = np.asarray(lines, dtype=np.int64)
    count = (grid != "").to_numpy().sum(axis=1)
    filled = np.flatnonzero(count > 0)
    if not len(filled):
        raise InputError(f"{what} {path}: has no rows; save the table again")
    top = grid.iloc[filled[:HEADER_SEARCH_ROWS]].to_numpy().tolist()
    head = int(filled[_header_row(top, known)])
    titles = filled[filled < head]
    if len(titles):
        shown = " / ".join(next(c for c in grid.iloc[i] if c) for i in titles[:2])
        notes.append(
            f"{what} {path.name}: {len(titles)} title row(s) above the header "
            f"(row {lines[head]}) skipped: {shown[:60]}"
        )
    header = grid.iloc[head].tolist()
    columns = _column_names(header)
    n_cols = sum(1 for c in header if c)
    body = filled[filled > head]
    cells = grid.iloc[body]
    # the first non-blank of the first three cells says whether a row is a total
    first = cells.iloc[:, 0].copy()
    for k in range(1, min(3, cells.shape[1])):
        first = first.where(first != "", cells.iloc[:, k])
    total = np.zeros(len(body), dtype=bool)
    if drop_totals:
        maybe = np.flatnonzero(first.str.contains("计|数|total|sum", case=False).to_numpy())
        total[maybe] = [
            bool(_TOTAL.match(unicodedata.normalize("NFKC", t))) for t in first.iloc[maybe]
        ]
    single = (count[body] == 1) & (n_cols >= 3)
    joined = pd.Series("", index=cells.index, dtype=object)
    lone = cells[single]  # a row of one cell: that cell
    if len(lone):
        text = lone.iloc[:, 0]
        for k in range(1, lone.shape[1]):
            text = text + lone.iloc[:, k]
        joined[single] = text
    footnote = single & (joined.str.match(_FOOTNOTE) | (joined.str.len() > 30)).to_numpy()
    footnote &= ~total
    keep = ~total & ~footnote
    # a lone text cell below the last full row is a note, whatever it says
    kept_at = np.flatnonzero(keep)
    while (
        len(kept_at) > 1
        and single[kept_at[-1]]
        and _number_or_none(joined.iloc[kept_at[-1]]) is None
    ):
        keep[kept_at[-1]] = False
        footnote[kept_at[-1]] = True
        kept_at = kept_at[:-1]
    for dropped, label in ((total, "total row(s) (合计/总计/小计)"), (footnote, "footnote row(s)")):
        if dropped.any():
            shown = ", ".join(str(n) for n in lines[body[dropped]][:8])
            notes.append(f"{what} {path.name}: {int(dropped.sum())} {label} dropped (row {shown})")
    kept = body[keep]
    if not len(kept):
        raise InputError(
            f"{what} {path}: has no {rows_are}, only a header (row "
            f"{lines[head]}); fill in the table or remove this section"
        )
    frame = grid.iloc[kept, : len(columns)].reset_index(drop=True)
    frame.columns = columns
    return Table(frame, lines[kept], notes, found, sheet_name)


def read_table(
    path: Path,
    what: str = "table",
    sheet: str | None = None,
    *,
    encoding: Encoding | None = None,
    drop_totals: bool = False,
) -> pd.DataFrame:
    """A table as a DataFrame with pandas-like column types (see :func:`read_messy_table`).

    Columns whose every non-blank cell is a plain number become numeric; blank cells are
    NaN. Kept for callers that only need the frame; use :func:`read_messy_table` for the
    rows' line numbers and the notes.
    """
    return typed_frame(
        read_messy_table(path, what, sheet, encoding=encoding, drop_totals=drop_totals)
    )


def typed_frame(table: Table) -> pd.DataFrame:
    """``table.frame`` with plain-number columns numeric and blank cells NaN."""
    frame = table.frame.copy()
    for col in frame.columns:
        text = frame[col].astype(str).str.strip()
        blank = text == ""
        numbers = pd.to_numeric(text.where(~blank, None), errors="coerce")
        if not blank.all() and numbers[~blank].notna().all():
            frame[col] = numbers
        else:
            frame[col] = frame[col].where(~blank, np.nan)
    return frame


def text_rows(
    path: Path, encoding: Encoding, suffix: str, what: str
) -> tuple[list[list[str]], list[int], bool]:
    """The rows of a text table, the line each starts on, and whether any cell holds a
    line break (a quoted cell over several lines)."""
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding.name)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{what} {path}: line {line} is not valid {encoding.label} text; "
            'set encoding = "..." for this file to the one it was saved in '
            "(UTF-8, GBK, UTF-16, Latin-1)"
        ) from None
    text = text.lstrip("\ufeff")
    sample = "\n".join(text.splitlines()[:HEADER_SEARCH_ROWS])
    if suffix == ".tsv":
        delimiter = "\t"
    else:
        counts = {d: sample.count(d) for d in (",", "\t", ";", "|", "，")}
        delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, lines, previous = [], [], 0
    try:
        for row in reader:
            rows.append(row)
            lines.append(previous + 1)
            previous = reader.line_num
    except csv.Error as exc:
        raise InputError(
            f"{what} {path}: row {previous + 1}: cannot be read as a table "
            f"({exc}); check for an unclosed quote"
        ) from None
    return rows, lines, previous > len(rows)


def _workbook_rows(
    path: Path, what: str, sheet: str | None, notes: list[str]
) -> tuple[list[list], list[int], str]:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise InputError(
            f"{what} {path}: cannot be read: not a complete Excel workbook "
            f"({exc}); save it again from Excel"
        ) from None
    meta = {m.name: m for m in book.sheets_metadata}
    if sheet is not None:
        if sheet not in meta:
            raise InputError(
                f"{what} {path}: has no sheet {sheet!r}; sheets are: {', '.join(book.sheet_names)}"
            )
        name = sheet
    else:
        visible = [
            m.name
            for m in book.sheets_metadata
            if str(m.visible).rsplit(".", 1)[-1].lower() == "visible"
        ]
        if not visible:
            raise InputError(
                f'{what} {path}: every sheet is hidden; unhide one or name it with sheet = "..."'
            )
        name = visible[0]
        hidden = [n for n in book.sheet_names[: book.sheet_names.index(name)]]
        if hidden:
            notes.append(
                f"{what} {path.name}: hidden sheet(s) {', '.join(hidden)} skipped; "
                f"read the visible sheet {name!r} (name another with sheet = "
                '"...")'
            )
    try:
        data = book.get_sheet_by_name(name)
        rows = [list(r) for r in data.to_python(skip_empty_area=False)]
        merged_ranges = data.merged_cell_ranges or []
    except Exception as exc:  # calamine's errors for damaged sheets
        raise InputError(
            f"{what} {path}: sheet {name!r} cannot be read ({exc}); save the "
            "workbook again from Excel"
        ) from None
    for merged in merged_ranges:
        (r0, c0), (r1, c1) = merged
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            row = rows[r]
            row.extend([""] * (c1 + 1 - len(row)))
            for c in range(c0, c1 + 1):
                if r == r0 and c == c0:
                    continue
                if _cell_text(row[c]) == "":
                    row[c] = value
    return rows, list(range(1, len(rows) + 1)), name


def _cell_text(value) -> str:
    """A cell as text: numbers without a spurious ``.0``, dates as ISO, None as blank."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "nan"
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).replace("\r", " ").replace("\n", " ").strip()


def _grid(rows: list[list], text: bool, breaks: bool = True) -> pd.DataFrame:
    """Rows as a frame of cleaned text cells ("" for blank), ragged rows padded."""
    if not text:
        rows = [[_cell_text(c) for c in r] for r in rows]
    width = max((len(r) for r in rows), default=0)
    # Ragged rows (a title line, a short footnote) padded to the widest one.
    grid = pd.DataFrame([[*r, *[""] * (width - len(r))] for r in rows], dtype=object)
    if grid.shape[1] == 0:
        return pd.DataFrame(index=range(len(rows)), columns=[0], dtype=object).fillna("")
    grid = grid.fillna("")
    if text:
        for col in grid.columns:
            column = grid[col].astype(str)
            if breaks:  # line breaks inside quoted cells
                column = column.str.replace(r"[\r\n]+", " ", regex=True)
            grid[col] = column.str.strip()
    grid.columns = range(grid.shape[1])
    return grid.astype(object)


def _header_row(top: list[list[str]], known: tuple[str, ...]) -> int:
    """Index (within ``top``, the first filled rows) of the header row: the most distinct
    text cells, known column names counting triple."""
    from .columns import normalise

    best, best_score = 0, -1.0
    for i, row in enumerate(top):
        cells = [c for c in row if c != ""]
        texts = {c for c in cells if _number_or_none(c) is None}
        if len(texts) < 2 and len(top) > 1:
            continue
        hits = sum(1 for c in texts if normalise(c) in known)
        score = len(texts) + 3 * hits - 0.5 * (len(cells) - len(texts))
        if score > best_score:
            best, best_score = i, score
    return best


def _column_names(row: list[str]) -> list[str]:
    names, seen = [], {}
    for k, cell in enumerate(row):
        name = re.sub(r"\s+", " ", cell).strip() or f"column_{k + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    while names and names[-1].startswith("column_") and len(names) > 1:
        names.pop()  # blank columns to the right of the table
    return names


# --------------------------------------------------------------------------------------
# Numbers


def _number_or_none(text: str) -> float | None:
    try:
        value, _ = parse_number(text)
    except ValueError:
        return None
    return value


def parse_number(text) -> tuple[float | None, bool]:
    """A number written the way tables write it; ``(None, False)`` for a blank cell.

    Returns
    -------
    value : float or None
        The number; None when the cell is blank or a dash.
    approximate : bool
        The cell said so (``约800``, ``800左右``).

    Raises
    ------
    ValueError
        Not a number, a range (``800-1000``), NaN, an infinity or too large; the message
        says which.
    """
    if text is None:
        return None, False
    if isinstance(text, (int, float, np.integer, np.floating)) and not isinstance(text, bool):
        value = float(text)
        if not np.isfinite(value) or abs(value) > _TOO_LARGE:
            raise ValueError("NaN, infinite or too large")
        return value, False
    s = unicodedata.normalize("NFKC", str(text)).strip()
    if s.lower() in _MISSING:
        return None, False
    if s.lower() in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity"):
        raise ValueError("NaN or infinite, not a number")
    approximate = False
    stripped = _APPROX.sub("", s)
    stripped2 = _APPROX_TAIL.sub("", stripped)
    if stripped2 != s:
        approximate = True
    s = stripped2.replace(" ", "")
    s = re.sub(r"(?<=\d),(?=\d{3}(\D|$))", "", s)  # thousands separators
    match = _NUMBER.match(s)
    if not match:
        raise ValueError("not a number")
    rest = s[match.end() :]
    value = float(match.group(0))
    if rest.startswith("万"):
        value *= 10_000
        rest = rest[1:]
    if re.match(r"^\s*[-~～至到]\s*\d", rest):
        raise ValueError("a range, not one number")
    rest = re.sub(r"(k?m[2²]|m\^2)$", "", rest, flags=re.IGNORECASE)  # ㎡ after NFKC
    if rest and (re.search(r"\d", rest) or len(rest) > 6):
        raise ValueError("not a number")
    if not np.isfinite(value) or abs(value) > _TOO_LARGE:
        raise ValueError("too large to be right")
    return value, approximate


def parse_numbers(
    values: pd.Series,
    field: str,
    problems: Problems,
    lines: np.ndarray,
    names: np.ndarray | None = None,
    *,
    required: bool = False,
    minimum: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Parse a column of numbers, adding one problem per bad cell.

    Parameters
    ----------
    values : Series
        The cells.
    field : str
        The column's header, named in messages.
    problems : Problems
        Collector for the table.
    lines : ndarray of int
        Each row's line in the file.
    names : ndarray, optional
        Each row's name (a facility's), shown with the line.
    required : bool
        A blank cell is a problem.
    minimum : float, optional
        Smallest value allowed (0 for counts and capacities).

    Returns
    -------
    values : ndarray of float
        NaN where blank (or bad).
    approximate : ndarray of bool
        Cells written as approximations.
    """
    out = np.full(len(values), np.nan)
    approx = np.zeros(len(values), dtype=bool)
    cells = values.to_numpy(dtype=object)
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        numbers = values.to_numpy(dtype=float)
        bad = np.isinf(numbers) | (np.abs(np.nan_to_num(numbers)) > _TOO_LARGE)
        out = np.where(bad, np.nan, numbers)
        todo = np.flatnonzero(bad | (np.isnan(numbers) & required))
    else:
        # plain numbers (most cells) in one vectorised pass; the rest one by one
        text = values.astype(str).str.strip()
        plain = pd.to_numeric(
            text.where(text.str.fullmatch(r"[+-]?\d+(\.\d*)?"), None), errors="coerce"
        ).to_numpy(dtype=float)
        fine = np.isfinite(plain) & (np.abs(np.nan_to_num(plain)) <= _TOO_LARGE)
        out = np.where(fine, plain, np.nan)
        todo = np.flatnonzero(~fine)
    for i in todo:
        name = None if names is None else names[i]
        try:
            value, approx[i] = parse_number(cells[i])
        except ValueError as exc:
            problems.add(int(lines[i]), f"{field} {str(cells[i])[:40]!r} is {exc}", name)
            continue
        if value is None:
            if required:
                problems.add(int(lines[i]), f"{field} is blank", name)
            continue
        out[i] = value
    if minimum is not None:
        for i in np.flatnonzero(out < minimum):
            problems.add(
                int(lines[i]),
                f"{field} is {out[i]:g}"
                + (
                    "; it must not be negative"
                    if minimum == 0
                    else f"; it must be at least {minimum:g}"
                ),
                None if names is None else names[i],
            )
            out[i] = np.nan
    return out, approx
