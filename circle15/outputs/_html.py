"""Small helpers for writing data into HTML pages safely."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .templating import script_json

__all__ = ["column", "script_json"]


def column(frame: pd.DataFrame, name: str, default: Any = np.nan) -> pd.Series:
    """``frame[name]``, or a column of ``default`` when the frame has no such column."""
    if name in frame.columns:
        return frame[name]
    return pd.Series(default, index=frame.index, dtype=object if default is None else None)
