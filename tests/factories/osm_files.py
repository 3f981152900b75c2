"""OpenStreetMap files written by hand with pyosmium, around the details a reader must get right."""

from __future__ import annotations

from pathlib import Path

import osmium
from osmium.osm.mutable import Node, Way

LON0, LAT0 = 121.60, 29.95
STEP = 0.001  # about 100 m


def pt(i: float, j: float) -> tuple[float, float]:
    """Longitude/latitude of grid point (i, j), about 100 m apart."""
    return (round(LON0 + i * STEP, 7), round(LAT0 + j * STEP, 7))


def write_osm(
    path: Path,
    nodes: dict[int, tuple[float, float]],
    ways: list[tuple[int, list[int], dict[str, str]]],
) -> Path:
    """Write ``nodes`` {id: (lon, lat)} and ``ways`` (id, node ids, tags) with pyosmium.

    The format follows the suffix (``.osm.pbf``, ``.osm``); nodes a way names but
    ``nodes`` lacks stay missing from the file, as in a clipped extract.
    """
    with osmium.SimpleWriter(str(path)) as writer:
        for nid in sorted(nodes):
            writer.add_node(Node(id=nid, location=nodes[nid], version=1))
        for wid, refs, tags in ways:
            writer.add_way(Way(id=wid, nodes=refs, tags=tags, version=1))
    return path


def quirks_file(path: Path) -> Path:
    """A small town whose ways hit every rule of osmnx's graph building.

    Main street 1-2-3-4-5 along j=0 (way 100 to node 3, way 101 after it, named
    differently: node 3 is not a junction); side street 3-6; a closed footway 10-11-12-13-10
    touching nothing (a ring: dropped); a loop 5-20-21-5 hanging off node 5 (a self-loop
    edge); two ways over the same nodes 6-30-7 (parallel edges); a way repeating node 7
    (7-7-31); a way 31-32-31 that goes back over itself (one edge); a way whose node 99 is
    not in the file; a footway tagged wheelchair=no (3-6) and steps with a wheelchair ramp
    (31-32); a pedestrian area (area=yes, dropped); a motorway and a private path
    (filtered); a way leaving the polygon (nodes outside kept when their neighbour is
    inside).
    """
    nodes = {
        1: pt(0, 0),
        2: pt(1, 0),
        3: pt(2, 0),
        4: pt(3, 0),
        5: pt(4, 0),
        6: pt(2, 1),
        7: pt(2, 2),
        30: pt(2.3, 1.5),
        10: pt(5, 5),
        11: pt(5.5, 5),
        12: pt(5.5, 5.5),
        13: pt(5, 5.5),
        20: pt(4.5, -0.5),
        21: pt(4, -1),
        31: pt(2.5, 2.5),
        32: pt(2.7, 2.7),
        40: pt(0, 2),
        41: pt(-0.5, 2.5),
        42: pt(0, 3),
        43: pt(0.5, 2.5),
        50: pt(3, 3),
        51: pt(3.5, 3.5),
        60: pt(6, 0),
        61: pt(9, 0),
        62: pt(12, 0),
        63: pt(15, 0),
        70: pt(1, -1),
        71: pt(1, -2),
        80: pt(3, -2),
        81: pt(3, -3),
    }
    ways = [
        (100, [1, 2, 3], {"highway": "residential", "name": "Jiefang Road"}),
        (101, [3, 4, 5], {"highway": "residential", "name": "Jiefang Road East"}),
        (102, [3, 6], {"highway": "footway", "wheelchair": "no"}),
        (103, [10, 11, 12, 13, 10], {"highway": "footway", "name": "Lake ring"}),
        (104, [5, 20, 21, 5], {"highway": "path"}),
        (105, [6, 30, 7], {"highway": "service"}),
        (106, [6, 30, 7], {"highway": "footway", "name": "Twin"}),
        (107, [7, 7, 31], {"highway": "steps"}),
        (108, [31, 32, 31], {"highway": "steps", "ramp:wheelchair": "yes"}),
        (109, [7, 99, 50, 51], {"highway": "residential"}),
        (110, [40, 41, 42, 43, 40], {"highway": "pedestrian", "area": "yes"}),
        (111, [1, 40], {"highway": "motorway"}),
        (112, [2, 70, 71], {"highway": "path", "access": "private"}),
        (113, [5, 60, 61, 62, 63], {"highway": "primary", "name": "Out Road"}),
        (114, [4, 80, 81], {"highway": "living_street", "oneway": "yes"}),
    ]
    return write_osm(path, nodes, ways)
