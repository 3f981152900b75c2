"""The walkable ways of an OpenStreetMap file as numpy arrays, read at the speed of the file.

Why this way (measured on the Porto extract, 348k nodes, 51k highway ways; see
``benchmarks/README.md``): libosmium decodes a PBF file in C++ in about 0.5 s, but
handing its objects to Python one attribute at a time costs about 2 µs per node
reference (pyosmium's ``way.nodes``: 1.0 s for the 427k references of Porto's highways)
and 30 µs per way for its tags. pyrosm's Cython parser is no shortcut either: it parses
every node and tag of the file into Python objects (2.9-4.6 s on Porto). So nothing
crosses into Python per object: one chain of libosmium handlers (node locations, "ways
with a ``highway`` tag", a writer) runs in C++ and writes those ways, with each node's
id and location, as OPL text (libosmium's line format); Python then reads the text in
bulk — one split per way and one ``numpy.fromstring`` over all node references.
Coordinates come out exactly as libosmium gives them to pyosmium (and as osmnx reads them
from OSM XML): the 1e-7-degree integers of the file, divided by 1e7.

A ``.osm.pbf`` file is fed to libosmium in pieces of whole blocks so that a progress bar
can follow the bytes read; other formats (``.osm`` XML, compressed XML) in one piece.
"""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..progress import QUIET, Progress
from .osm_filter import filter_keys, filter_mask

#: Way tags kept per way: those of osmnx's ``useful_tags_way`` that the network keeps.
WAY_TAGS = ("highway", "name", "bridge", "tunnel")
#: Feed libosmium at least this many bytes of a PBF file at a time.
PIECE_BYTES = 8 << 20
#: Parse the OPL text this many bytes at a time (bounds the memory of big extracts).
PARSE_BYTES = 64 << 20
#: Stands for a node whose location is not in the file (a way cut at the extract's edge).
_NO_LOCATION = 1e9


@dataclass
class WayArrays:
    """Ways with their node references, concatenated.

    Way ``i`` has the references ``start[i]:start[i + 1]`` of ``node_id``/``lon``/``lat``
    (only references whose node is in the file); ``tags[key][i]`` is the value of
    ``key`` (``None`` when the way lacks it).
    """

    way_id: np.ndarray
    start: np.ndarray
    node_id: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    tags: dict[str, np.ndarray]

    @property
    def n_ways(self) -> int:
        """Number of ways."""
        return len(self.way_id)

    def take(self, mask: np.ndarray) -> WayArrays:
        """The ways where ``mask`` is True."""
        counts = np.diff(self.start)
        refs = np.repeat(mask, counts)
        return WayArrays(self.way_id[mask], np.r_[0, np.cumsum(counts[mask])],
                         self.node_id[refs], self.lon[refs], self.lat[refs],
                         {k: v[mask] for k, v in self.tags.items()})


def read_walk_ways(path: Path, filter_text: str,
                   progress: Progress = QUIET) -> WayArrays:
    """Ways of an OSM file that have a ``highway`` tag and pass an Overpass filter.

    References to nodes missing from the file are left out, and then ways with fewer
    than two references (as circle15 always did before handing ways to osmnx).

    Raises
    ------
    InputError
        When libosmium cannot read the file.
    """
    import osmium

    with tempfile.TemporaryDirectory(prefix="circle15-osm-") as tmp:
        opl = Path(tmp) / "ways.opl"
        locations = osmium.NodeLocationsForWays(osmium.index.create_map("flex_mem"))
        locations.ignore_errors()  # ways leaving the extract: keep their nodes inside it
        writer = osmium.SimpleWriter(osmium.io.File(
            str(opl), "opl,locations_on_ways=true,add_metadata=false"))
        chain = (locations, osmium.filter.EntityFilter(osmium.osm.WAY),
                 osmium.filter.KeyFilter("highway"), writer)
        try:
            with progress.bar(f"reading {path.name}", path.stat().st_size) as bar:
                for piece, covered in _pieces(path):
                    osmium.apply(piece, *chain)
                    bar.update(covered)
        except RuntimeError as exc:  # libosmium: unreadable or truncated file
            raise InputError(f"network {path}: cannot be read as OpenStreetMap data ({exc})") \
                from None
        finally:
            writer.close()
        return _parse_opl(opl, filter_text)


# --------------------------------------------------------------------------------------
# Feeding libosmium


def _pieces(path: Path) -> Iterator[tuple[object, int]]:
    """(input for ``osmium.apply``, bytes of the file it covers), in file order."""
    import osmium

    ends = _pbf_blocks(path)
    if ends is None:
        yield str(path), path.stat().st_size
        return
    with open(path, "rb") as fh:
        header = fh.read(ends[0])
        covered, start = 0, ends[0]
        for i, end in enumerate(ends[1:], 1):
            if end - start < PIECE_BYTES and i < len(ends) - 1:
                continue
            # libosmium wants the OSMHeader block first in every piece
            yield osmium.io.FileBuffer(header + fh.read(end - start), "pbf"), end - covered
            covered = start = end


def _pbf_blocks(path: Path) -> list[int] | None:
    """End offset of every block of a PBF file; None when the file is not (sound) PBF.

    A PBF file is a sequence of (4-byte length, ``BlobHeader``, blob) whose first blob is
    the ``OSMHeader``; only the headers are read here. Anything unexpected (another
    format, a damaged or cut file) gives None: libosmium then reads the file in one
    piece and names the damage itself.
    """
    ends: list[int] = []
    size = path.stat().st_size
    with open(path, "rb") as fh:
        pos = 0
        while pos < size:
            fh.seek(pos)
            raw = fh.read(4)
            if len(raw) < 4:
                return None
            (length,) = struct.unpack(">I", raw)
            if length > 64 * 1024:  # BlobHeaders are tiny
                return None
            kind, datasize = _blob_header(fh.read(length))
            if kind is None or (not ends) != (kind == "OSMHeader"):
                return None
            pos += 4 + length + datasize
            if pos > size:
                return None
            ends.append(pos)
    return ends if len(ends) >= 2 else None


def _blob_header(data: bytes) -> tuple[str | None, int]:
    """``type`` and ``datasize`` of a protobuf ``BlobHeader``."""
    kind, datasize, i = None, 0, 0
    try:
        while i < len(data):
            key, i = _varint(data, i)
            field, wire = key >> 3, key & 7
            if wire == 2:
                n, i = _varint(data, i)
                if field == 1:
                    kind = data[i:i + n].decode("ascii")
                i += n
            elif wire == 0:
                value, i = _varint(data, i)
                if field == 3:
                    datasize = value
            else:
                return None, 0
    except (IndexError, UnicodeDecodeError):
        return None, 0
    return kind, datasize


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


# --------------------------------------------------------------------------------------
# Reading the OPL text


def _parse_opl(opl: Path, filter_text: str) -> WayArrays:
    parts = []
    with open(opl, encoding="utf-8") as fh:
        while lines := fh.readlines(PARSE_BYTES):
            parts.append(_parse_lines(lines, filter_text))
    if not parts:
        return _empty()
    ids = np.concatenate([p[0] for p in parts])
    counts = np.concatenate([p[1] for p in parts])
    refs = np.concatenate([p[2] for p in parts])
    tags = {k: np.concatenate([p[3][k] for p in parts]) for k in WAY_TAGS}
    # Leave out references to nodes the file lacks, then ways of fewer than 2 references.
    valid = refs[:, 1] != _NO_LOCATION
    owner = np.repeat(np.arange(len(ids)), counts)
    counts = np.bincount(owner[valid], minlength=len(ids))
    refs = refs[valid]
    enough = counts >= 2
    refs = refs[np.repeat(enough, counts)]
    counts = counts[enough]
    if len(refs) and np.abs(refs[:, 0]).max() >= 2.0**53:
        raise InputError("network: OpenStreetMap node ids beyond 2^53 are not supported")
    # Exactly libosmium's doubles: the file's 1e-7 degree integers divided by 1e7.
    lon = np.rint(refs[:, 1] * 1e7) / 1e7
    lat = np.rint(refs[:, 2] * 1e7) / 1e7
    return WayArrays(ids[enough], np.r_[0, np.cumsum(counts)].astype(np.int64),
                     refs[:, 0].astype(np.int64), lon, lat,
                     {k: v[enough] for k, v in tags.items()})


def _parse_lines(lines: list[str], filter_text: str):
    """Ids, reference counts, (id, lon, lat) rows and tag columns of the kept ways."""
    fields = [line.rstrip("\n").split(" ") for line in lines if line.startswith("w")]
    if any(len(f) != 3 for f in fields):  # pragma: no cover - libosmium's format changed
        raise InputError("network: unexpected OPL text from libosmium")
    heads, tag_texts, node_texts = zip(*fields, strict=True) if fields else ((), (), ())
    n = len(heads)
    columns = _tag_columns([t[1:] for t in tag_texts],
                           (*filter_keys(filter_text), *WAY_TAGS))
    keep = filter_mask(filter_text, columns, n)
    ids = np.fromiter((int(h[1:]) for h in heads), dtype=np.int64, count=n)[keep]
    nodes = [t[1:] for t, k in zip(node_texts, keep.tolist(), strict=True) if k]
    counts = np.fromiter((len(t) and t.count(",") + 1 for t in nodes), dtype=np.int64,
                         count=len(nodes))
    text = ",".join(t for t in nodes if t)
    # "n12x-8.61y41.15" -> "12,-8.61,41.15"; a node missing from the file is "n12xy"
    text = (text.replace("xy", f"x{_NO_LOCATION:.0f}y{_NO_LOCATION:.0f}")
            .replace("n", "").replace("x", ",").replace("y", ","))
    refs = (np.fromstring(text, dtype=np.float64, sep=",").reshape(-1, 3) if text
            else np.empty((0, 3)))
    if len(refs) != counts.sum():  # pragma: no cover - libosmium's format changed
        raise InputError("network: unexpected OPL text from libosmium")
    return ids, counts, refs, {k: columns[k][keep] for k in WAY_TAGS}


def _tag_columns(texts: list[str], keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Per way, the value of each of ``keys`` (None when absent), from OPL tag lists."""
    n = len(texts)
    out = {k: np.full(n, None, dtype=object) for k in keys}
    if n == 0:
        return out
    counts = np.fromiter((t.count(",") + 1 if t else 0 for t in texts), dtype=np.int64,
                         count=n)
    string = np.dtypes.StringDType()
    flat = np.array(",".join(t for t in texts if t).split(","), dtype=string)
    key, _, value = np.strings.partition(flat, np.array("=", dtype=string))
    owner = np.repeat(np.arange(n), counts)
    escaped = np.strings.find(value, np.array("%", dtype=string)) >= 0
    for k in dict.fromkeys(keys):
        # OPL escapes ' ', ',', '=', '%', '@' and non-ASCII as %hex%; keys looked for
        # here are plain, so only values need unescaping
        rows = np.flatnonzero(key == k)
        values = value[rows].astype(object)
        for i in np.flatnonzero(escaped[rows]).tolist():
            values[i] = _unescape(values[i])
        out[k][owner[rows]] = values
    return out


def _unescape(text: str) -> str:
    """``Rua%20%S%e3%o`` -> ``Rua São``: OPL writes ``%<hex code point>%``."""
    parts = text.split("%")
    parts[1::2] = [chr(int(code, 16)) for code in parts[1::2]]
    return "".join(parts)


def _empty() -> WayArrays:
    return WayArrays(np.empty(0, np.int64), np.zeros(1, np.int64), np.empty(0, np.int64),
                     np.empty(0), np.empty(0),
                     {k: np.empty(0, dtype=object) for k in WAY_TAGS})
