"""Clean text read from planners' files: control characters out, blanks as blanks.

Names pasted from Word carry vertical tabs (``\\x0b``) and other control characters that
break workbooks and confuse maps; they are replaced by spaces when the file is read, and
the reader says how many names changed.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: C0/C1 control characters (tab, newline and CR included: a name is one line), and the
#: invisible format characters that reorder or hide text (bidi overrides, zero width).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_text(value) -> str:
    """A cell as one line of text: control characters replaced, spaces collapsed."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _CONTROL.sub(" ", str(value))
    return re.sub(r" {2,}", " ", text).strip()


def clean_names(values: pd.Series) -> tuple[np.ndarray, int]:
    """Cells as clean text (vectorised :func:`clean_text`), and how many held control
    characters."""
    raw = values.reset_index(drop=True)
    blank = raw.isna().to_numpy()
    numbers = pd.api.types.is_float_dtype(raw.dtype)
    text = raw.map(clean_text) if numbers else raw.astype(str)
    bad = text.str.contains(_CONTROL, regex=True).to_numpy(dtype=bool) & ~blank
    text = (
        text.str.replace(_CONTROL, " ", regex=True)
        .str.replace(r" {2,}", " ", regex=True)
        .str.strip()
    )
    out = np.where(blank, "", text.to_numpy(dtype=object)).astype(object)
    out[np.isin(out, ["nan", "None", "<NA>"]) & blank] = ""
    return out, int(bad.sum())
