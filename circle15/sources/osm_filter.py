"""Overpass tag filters, evaluated in Python so that offline files obey the online query.

The walking network is defined once, as an Overpass filter string (:data:`WALK_FILTER`).
Online, osmnx sends it to the Overpass API; offline (``.osm.pbf``/``.osm`` files), the
same string is compiled here into a predicate over a way's tags. Both paths therefore keep
exactly the same ways.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

#: File endings read as OpenStreetMap data.
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".osm.xml")


def is_osm_file(path: Path) -> bool:
    """True for ``.osm.pbf``, ``.pbf``, ``.osm`` (optionally ``.bz2``/``.gz``) files.

    Kept here, away from :mod:`circle15.sources.osm`, so that telling a file's kind does not
    import osmnx (two seconds of start-up).
    """
    return path.name.lower().endswith(OSM_SUFFIXES)


#: Walkable ways: osmnx 2.x's ``network_type="walk"`` filter, spelled out (including its
#: default ``access!~private``) so that circle15 owns it. It keeps footways, paths, steps,
#: pedestrian streets, residential, service and all other public streets; it drops
#: motorways (``motor``), cycleways, ways under construction or proposed, platforms,
#: areas, ``foot=no``, private access and private service roads, and streets whose
#: sidewalks are mapped as separate footways (those footways are kept instead).
#: One-way tags do not apply to walkers: circle15 routes every way in both directions.
WALK_FILTER = (
    '["highway"]["area"!~"yes"]["access"!~"private"]'
    '["highway"!~"abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|'
    'proposed|raceway|razed|rest_area|services"]'
    '["foot"!~"no"]["service"!~"private"]'
    '["sidewalk"!~"separate"]["sidewalk:both"!~"separate"]'
    '["sidewalk:left"!~"separate"]["sidewalk:right"!~"separate"]'
)

_CLAUSE = re.compile(
    r'\[\s*(?P<neg>!)?\s*"(?P<key>[^"]+)"\s*'
    r'(?:(?P<op>!=|=|!~|~)\s*"(?P<value>[^"]*)"\s*(?P<flags>,\s*i)?)?\s*\]'
)

Predicate = Callable[[Mapping[str, str]], bool]


def compile_filter(text: str) -> Predicate:
    """Compile an Overpass tag filter such as ``["highway"]["foot"!~"no"]`` to a predicate.

    Supported clauses, with Overpass semantics: ``["k"]`` (has key), ``[!"k"]`` (lacks
    key), ``["k"="v"]``, ``["k"!="v"]``, ``["k"~"re"]`` and ``["k"!~"re"]`` (regular
    expressions match anywhere in the value; ``,i`` ignores case). Negated clauses also
    pass objects without the key, as Overpass does.

    Raises
    ------
    ValueError
        When the text is not a sequence of such clauses.
    """
    clauses = [_clause(m) for m in _clauses(text)]

    def predicate(tags: Mapping[str, str]) -> bool:
        return all(test(tags) for test in clauses)

    return predicate


def filter_keys(text: str) -> tuple[str, ...]:
    """The tag keys an Overpass filter looks at, in order of first mention."""
    return tuple(dict.fromkeys(m["key"] for m in _clauses(text)))


def filter_mask(text: str, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """:func:`compile_filter`'s verdict for ``n`` objects at once.

    ``columns[key]`` holds each object's value of ``key`` (``None`` when it lacks the
    key), for every key of :func:`filter_keys`. Same semantics as :func:`compile_filter`;
    each regular expression runs once per object that has the key.
    """
    keep = np.ones(n, dtype=bool)
    for m in _clauses(text):
        key, op, value = m["key"], m["op"], m["value"]
        col = columns[key]
        has = np.not_equal(col, None).astype(bool)
        if m["neg"]:
            keep &= ~has
            continue
        if op is None:
            keep &= has
            continue
        idx = np.flatnonzero(has)
        hit = np.zeros(n, dtype=bool)
        if op in ("=", "!="):
            hit[idx] = [col[i] == value for i in idx.tolist()]
        else:
            pattern = re.compile(value, re.IGNORECASE if m["flags"] else 0)
            hit[idx] = [pattern.search(col[i]) is not None for i in idx.tolist()]
        # "=" and "~" need the key; "!=" and "!~" also pass objects without it
        keep &= hit if op in ("=", "~") else ~hit
    return keep


def _clauses(text: str) -> list[re.Match]:
    out = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _CLAUSE.match(text, pos)
        if not m:
            raise ValueError(f"cannot read Overpass filter at {text[pos : pos + 30]!r}")
        out.append(m)
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _clause(m: re.Match) -> Predicate:
    key, op, value = m["key"], m["op"], m["value"]
    if m["neg"]:
        return lambda tags: key not in tags
    if op is None:
        return lambda tags: key in tags
    if op == "=":
        return lambda tags: tags.get(key) == value
    if op == "!=":
        return lambda tags: tags.get(key) != value
    pattern = re.compile(value, re.IGNORECASE if m["flags"] else 0)
    if op == "~":
        return lambda tags: key in tags and pattern.search(tags[key]) is not None
    return lambda tags: key not in tags or pattern.search(tags[key]) is None
