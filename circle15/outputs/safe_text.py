"""Text from input files made safe for spreadsheets: no formulas, no control characters.

Names and notes come from planners' files and end up in CSV and XLSX files that others
open in Excel or WPS. A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return may be run as a formula (OWASP "CSV injection"); such text is written
with a leading apostrophe in CSV. Control characters other than tab and newline (``\\x0b``
pasted from Word) cannot be stored in XLSX and are replaced by a space.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

__all__ = ["FORMULA_START", "clean_control", "csv_safe_frame", "csv_safe_text"]

#: First characters that make a spreadsheet treat a cell's text as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Characters XLSX (XML 1.0) cannot hold, and that no planner meant to type.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_control(text: str) -> str:
    """``text`` with control characters (except tab, newline, CR) replaced by spaces."""
    return _CONTROL.sub(" ", text)


def csv_safe_text(value: Any) -> Any:
    """A string that cannot start a formula (apostrophe-prefixed); other values unchanged."""
    if not isinstance(value, str):
        return value
    text = clean_control(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell passed through :func:`csv_safe_text`."""
    out = frame.copy()
    for name in out.columns:
        if out[name].dtype == object or pd.api.types.is_string_dtype(out[name]):
            out[name] = out[name].map(csv_safe_text)
    return out
