"""Small helpers for writing data into HTML pages safely."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd


def script_json(value: Any) -> str:
    """JSON for embedding in a ``<script>``: UTF-8 kept, ``<``, ``>`` and ``&`` escaped.

    Escaping those three keeps data from closing the script element or opening a comment;
    U+2028/U+2029 are escaped because older JavaScript engines treat them as line ends.
    NaN is refused (``allow_nan=False``): callers write missing numbers as ``None``.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def column(frame: pd.DataFrame, name: str, default: Any = np.nan) -> pd.Series:
    """``frame[name]``, or a column of ``default`` when the frame has no such column."""
    if name in frame.columns:
        return frame[name]
    return pd.Series(default, index=frame.index, dtype=object if default is None else None)
