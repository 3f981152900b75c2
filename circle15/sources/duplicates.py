"""Near-duplicate facilities: one place entered twice under nearly the same name.

A kindergarten listed once as ``蛟川幼儿园`` and again as ``蛟川幼儿园（总园）`` four metres
away doubles its capacity and its catchment without any error. Facilities of one layer
within ``distance_m`` of each other whose names match after :func:`name_key` (brackets
and their contents, spaces, punctuation and case removed; full-width forms folded), or
differ by at most one character in five, are reported; ``dedupe`` decides what happens.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

import numpy as np
import shapely

#: Facilities closer than this (metres) with matching names are near-duplicates.
DEFAULT_DISTANCE_M = 20.0
_BRACKETS = re.compile(r"[(\[【〔<《].*?[)\]】〕>》]")
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def name_key(name: str) -> str:
    """A name as compared: ``"蛟川幼儿园（总园）"`` and ``"蛟川 幼儿园"`` both give
    ``"蛟川幼儿园"``."""
    text = unicodedata.normalize("NFKC", str(name))
    text = _BRACKETS.sub("", text)
    return _PUNCT.sub("", text).lower()


def similar(a: str, b: str) -> bool:
    """Same name after :func:`name_key`, or at most one character in five different."""
    ka, kb = name_key(a), name_key(b)
    if not ka or not kb:
        return False
    if ka == kb:
        return True
    return difflib.SequenceMatcher(None, ka, kb).ratio() >= 0.8


def near_duplicates(
    points: np.ndarray, names: np.ndarray, distance_m: float = DEFAULT_DISTANCE_M
) -> list[np.ndarray]:
    """Groups of row positions that are one facility entered more than once.

    Parameters
    ----------
    points : ndarray of Point
        Facilities in a projected (metric) CRS.
    names : ndarray of str
        Their names.
    distance_m : float
        Largest distance between two entries of one facility.

    Returns
    -------
    list of ndarray
        Each group sorted, first entry first; only groups of two or more.
    """
    if len(points) < 2 or distance_m <= 0:
        return []
    left, right = shapely.STRtree(points).query(points, predicate="dwithin", distance=distance_m)
    pair = left < right
    left, right = left[pair], right[pair]
    keys = np.array([name_key(n) for n in names], dtype=object)
    same = (keys[left] == keys[right]) & (keys[left] != "")
    # the rest: only names of similar length can be one in five characters apart
    length = np.array([len(k) for k in keys])
    la, lb = length[left], length[right]
    maybe = ~same & (np.abs(la - lb) <= np.maximum(la, lb) / 5) & (np.minimum(la, lb) > 0)
    for k in np.flatnonzero(maybe):
        matcher = difflib.SequenceMatcher(None, keys[left[k]], keys[right[k]])
        same[k] = matcher.quick_ratio() >= 0.8 and matcher.ratio() >= 0.8
    parent = np.arange(len(points))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in zip(left[same], right[same], strict=True):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([root(i) for i in range(len(points))])
    groups = []
    for r in np.unique(roots[np.isin(roots, np.r_[left[same], right[same]])]):
        members = np.flatnonzero(roots == r)
        if len(members) > 1:
            groups.append(members)
    return groups
