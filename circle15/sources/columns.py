"""Find a table's columns by the names planners give them (Chinese or English, with units).

Headers are compared after :func:`normalise`: case, spaces, full-width forms and
bracketed units (``经度(°)``, ``托位（个）``) are ignored.
"""

from __future__ import annotations

import re
import unicodedata


def normalise(name) -> str:
    """A header as compared: NFKC (full-width to ASCII), units in brackets, spaces and
    case removed, e.g. ``"托位数（个）"`` → ``"托位数"``, ``"Ｌｏｎ"`` → ``"lon"``."""
    text = unicodedata.normalize("NFKC", str(name))
    text = re.sub(r"[(\[【〔].*?[)\]】〕]", "", text)
    return re.sub(r"\s+", "", text).strip().lower()


def find_column(columns, wanted: str | None, candidates: tuple[str, ...]) -> str | None:
    """The column called ``wanted``, else the first whose header is one of ``candidates``.

    A ``wanted`` name that is itself a usual spelling (a default such as ``capacity``)
    falls back to the others; any other name must be present. Headers are compared
    after :func:`normalise`.
    """
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(normalise(col), col)
    if wanted is not None:
        if wanted in columns:
            return wanted
        found = by_norm.get(normalise(wanted))
        if found is not None or normalise(wanted) not in candidates:
            return found  # a name the planner chose is never swapped for another column
    for name in candidates:
        if name in by_norm:
            return by_norm[name]
    return None


def find_name_column(
    columns, wanted: str | None, candidates: tuple[str, ...], taken: set[str]
) -> str | None:
    """A facility-name column: a known spelling, else any header ending in 名称/名字
    (幼儿园名称, 场地名称 …) or ``name``/``*_name``, not one of ``taken``."""
    found = find_column(columns, wanted, candidates)
    if found is not None:
        return found
    if wanted is not None and normalise(wanted) not in candidates:
        return None
    for col in columns:
        key = normalise(col)
        if col in taken or "英文" in key or key.endswith(("name_en", "_en", "english")):
            continue
        if key.endswith(("名称", "名字", "name")) and not key.endswith(
            ("路名称", "街道名称", "姓名", "username")
        ):
            return col
    return None
