"""A small Overpass API on 127.0.0.1 that answers osmnx's queries from an OSM file.

It lets the online path (``circle15 fetch``, osmnx's HTTP client, cache and graph builder)
run in tests without the internet. It understands the two query shapes osmnx sends:

- network: ``(way[...filters...](poly:'lat lon ...');>;);out;``
- features: ``(node['k'='v'](poly:'...');(._;>;););`` … for nodes, ways and relations.

"Within the polygon" follows Overpass: a node inside it, a way whose line meets it, a
relation with a member inside. Filters are evaluated with ``compile_filter`` (tested on
its own against hand-written cases).
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import osmium
import shapely

from circle15.sources.osm_filter import compile_filter

_POLY = re.compile(r"\(poly:'([^']*)'\)")
_NETWORK = re.compile(r"\(way(?P<filter>\[.*?\])\(poly:'(?P<poly>[^']*)'\);>;\);out;$")
_FEATURE = re.compile(
    r"\((?P<kind>node|way|relation)\[(?P<key>'[^']*')(?:=(?P<value>'[^']*'))?"
    r"\]\(poly:'(?P<poly>[^']*)'\);\(\._;>;\);\);"
)


class OsmData:
    """Every node, way and relation of a small OSM file, in memory."""

    def __init__(self, path: Path) -> None:
        self.nodes: dict[int, tuple[float, float, dict]] = {}
        self.ways: dict[int, tuple[list[int], dict]] = {}
        self.relations: dict[int, tuple[list[tuple[str, int, str]], dict]] = {}
        for obj in osmium.FileProcessor(str(path)):
            tags = {t.k: t.v for t in obj.tags}
            if obj.is_node():
                self.nodes[obj.id] = (obj.location.lon, obj.location.lat, tags)
            elif obj.is_way():
                self.ways[obj.id] = ([n.ref for n in obj.nodes], tags)
            elif obj.is_relation():
                self.relations[obj.id] = ([(m.type, m.ref, m.role) for m in obj.members], tags)

    def node_inside(self, polygon, ids) -> np.ndarray:
        xy = np.array([self.nodes[i][:2] for i in ids if i in self.nodes]).reshape(-1, 2)
        return shapely.contains_xy(polygon, xy[:, 0], xy[:, 1]) if len(xy) else np.array([])

    def way_inside(self, polygon, way_id: int) -> bool:
        refs = [r for r in self.ways[way_id][0] if r in self.nodes]
        if len(refs) < 2:
            return bool(self.node_inside(polygon, refs).any()) if refs else False
        line = shapely.linestrings([self.nodes[r][:2] for r in refs])
        return bool(shapely.intersects(polygon, line))

    def relation_inside(self, polygon, rel_id: int) -> bool:
        for kind, ref, _ in self.relations[rel_id][0]:
            if (kind == "n" and ref in self.nodes and self.node_inside(polygon, [ref]).any()) or (
                kind == "w" and ref in self.ways and self.way_inside(polygon, ref)
            ):
                return True
        return False


def _polygon(text: str):
    values = [float(v) for v in text.split()]
    lat, lon = values[0::2], values[1::2]
    poly = shapely.polygons(list(zip(lon, lat, strict=True)))
    shapely.prepare(poly)
    return poly


def answer(data: OsmData, query: str) -> dict:
    """The Overpass JSON answer to one of osmnx's queries."""
    nodes: set[int] = set()
    ways: set[int] = set()
    relations: set[int] = set()

    def add_way(w: int) -> None:
        ways.add(w)
        nodes.update(r for r in data.ways[w][0] if r in data.nodes)

    if m := _NETWORK.search(query):
        keep = compile_filter(m["filter"])
        poly = _polygon(m["poly"])
        for w, (_, tags) in data.ways.items():
            if keep(tags) and data.way_inside(poly, w):
                add_way(w)
    else:
        found = list(_FEATURE.finditer(query))
        if not found:
            raise ValueError(f"query not understood: {query[:200]}")
        for f in found:
            key = f["key"][1:-1]
            value = f["value"][1:-1] if f["value"] else None
            poly = _polygon(f["poly"])

            def match(tags: dict, key: str = key, value: str | None = value) -> bool:
                return key in tags and (value is None or tags[key] == value)

            if f["kind"] == "node":
                ids = [i for i, (_, _, t) in data.nodes.items() if match(t)]
                inside = data.node_inside(poly, ids)
                nodes.update(np.asarray(ids)[inside].tolist() if len(ids) else [])
            elif f["kind"] == "way":
                for w, (_, t) in data.ways.items():
                    if match(t) and data.way_inside(poly, w):
                        add_way(w)
            else:
                for r, (members, t) in data.relations.items():
                    if match(t) and data.relation_inside(poly, r):
                        relations.add(r)
                        for kind, ref, _ in members:
                            if kind == "w" and ref in data.ways:
                                add_way(ref)
                            elif kind == "n" and ref in data.nodes:
                                nodes.add(ref)
    elements = []
    for i in sorted(nodes):
        lon, lat, tags = data.nodes[i]
        elements.append({"type": "node", "id": i, "lat": lat, "lon": lon, "tags": tags})
    for w in sorted(ways):
        refs, tags = data.ways[w]
        elements.append(
            {"type": "way", "id": w, "nodes": [r for r in refs if r in data.nodes], "tags": tags}
        )
    for r in sorted(relations):
        members, tags = data.relations[r]
        elements.append(
            {
                "type": "relation",
                "id": r,
                "tags": tags,
                "members": [
                    {
                        "type": {"n": "node", "w": "way", "r": "relation"}[k],
                        "ref": ref,
                        "role": role,
                    }
                    for k, ref, role in members
                ],
            }
        )
    return {"version": 0.6, "generator": "circle15 test emulator", "elements": elements}


class OverpassEmulator:
    """Serve ``answer`` on a free loopback port; use as a context manager.

    ``url`` is the base to give osmnx (``ox.settings.overpass_url``); ``queries`` counts
    the interpreter requests served.
    """

    def __init__(self, path: Path) -> None:
        self.data = OsmData(path)
        self.queries = 0
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _send(self, code: int, body: bytes, kind: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/status"):
                    text = (
                        "Connected as: 1\nCurrent time: 2026-01-01T00:00:00Z\n"
                        "Announced endpoint: none\nRate limit: 2\n"
                        "2 slots available now.\n"
                    )
                    self._send(200, text.encode(), "text/plain")
                else:
                    self._send(404, b"not found", "text/plain")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                try:
                    body = json.dumps(answer(emulator.data, form["data"][0])).encode()
                except (KeyError, ValueError) as exc:
                    self._send(400, str(exc).encode(), "text/plain")
                    return
                emulator.queries += 1
                self._send(200, body, "application/json")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OverpassEmulator:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
