"""The walkable ways of an OpenStreetMap file as numpy arrays, read at the speed of the file.

Why this way (measured on the Porto extract, 348k nodes, 51k highway ways; see
``benchmarks/README.md``): libosmium decodes a PBF file in C++ in about 0.5 s, but
handing its objects to Python one attribute at a time costs about 2 µs per node
reference (pyosmium's ``way.nodes``: 1.0 s for the 427k references of Porto's highways)
and 30 µs per way for its tags. pyrosm (Cython) parses every node and tag of the file
and takes 3-5 s on Porto. So nothing crosses into Python per object: one chain of
libosmium handlers (node locations, "ways with a ``highway`` tag", a writer) runs in C++
and writes those ways, with each node's id and location, as OPL text (libosmium's line
format); Apache Arrow then reads that text column-wise in C++ (its CSV reader, string
kernels and number parsing), and only the few tag values with escapes go through Python.
Coordinates come out exactly as libosmium gives them to pyosmium (and as osmnx reads them
from OSM XML): the 1e-7-degree integers of the file, divided by 1e7.

A large ``.osm.pbf`` file is fed to libosmium in pieces of whole blocks (copied to
temporary files: libosmium reads a file several times faster than an in-memory buffer)
so that a progress bar can follow the bytes read; small files and other formats (``.osm``
XML, compressed XML) in one go.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..progress import QUIET, Progress
from .osm_filter import filter_keys, filter_mask

#: Way tags kept per way: those of osmnx's ``useful_tags_way`` that the network keeps, and
#: the wheelchair tags a step-free walk needs (``highway=steps`` comes with ``highway``).
WAY_TAGS = ("highway", "name", "bridge", "tunnel", "layer", "wheelchair", "ramp:wheelchair")
#: A PBF file larger than this is fed to libosmium in pieces, so that a bar can follow
#: (the call into libosmium holds Python's lock: nothing can report from inside it) …
PIECES_FROM_BYTES = 64 << 20
#: … of at least this many bytes (and at most about 50 pieces).
PIECE_BYTES = 16 << 20
#: OPL node lists to CSV rows: N, n and "," start a row, x and y separate its fields.
_OPL_TO_CSV = np.arange(256, dtype=np.uint8)
_OPL_TO_CSV[[ord("N"), ord("n"), ord(",")]] = ord("\n")
_OPL_TO_CSV[[ord("x"), ord("y")]] = ord(",")


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
        return WayArrays(
            self.way_id[mask],
            np.r_[0, np.cumsum(counts[mask])],
            self.node_id[refs],
            self.lon[refs],
            self.lat[refs],
            {k: v[mask] for k, v in self.tags.items()},
        )


def read_walk_ways(path: Path, filter_text: str, progress: Progress = QUIET) -> WayArrays:
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
        # libosmium's default pool leaves two cores aside: on a small machine one thread
        pool = osmium.io.ThreadPool(min(8, max(2, os.cpu_count() or 2)))
        locations = osmium.NodeLocationsForWays(osmium.index.create_map("flex_mem"))
        locations.ignore_errors()  # ways leaving the extract: keep their nodes inside it
        writer = osmium.SimpleWriter(
            osmium.io.File(str(opl), "opl,locations_on_ways=true,add_metadata=false"),
            thread_pool=pool,
        )
        # ways without a highway tag go first, before their node locations are looked up
        chain = (
            osmium.filter.KeyFilter("highway").enable_for(osmium.osm.WAY),
            locations,
            osmium.filter.EntityFilter(osmium.osm.WAY),
            writer,
        )
        try:
            with progress.bar(f"reading {path.name}", path.stat().st_size) as bar:
                for piece, covered in _pieces(path, Path(tmp)):
                    reader = osmium.io.Reader(
                        piece, osmium.osm.NODE | osmium.osm.WAY, thread_pool=pool
                    )
                    try:
                        osmium.apply(reader, *chain)
                    finally:
                        reader.close()
                    bar.update(covered)
        except RuntimeError as exc:  # libosmium: unreadable or truncated file
            raise InputError(
                f"network {path}: cannot be read as OpenStreetMap data ({exc})"
            ) from None
        finally:
            writer.close()
        return _parse_opl(opl, filter_text)


# --------------------------------------------------------------------------------------
# Feeding libosmium


def _pieces(path: Path, folder: Path) -> Iterator[tuple[str, int]]:
    """(file for ``osmium.apply``, bytes of ``path`` it covers), in file order.

    Each piece is the OSMHeader block and whole data blocks, written to ``folder`` (and
    overwritten by the next piece once libosmium has read it).
    """
    size = path.stat().st_size
    ends = _pbf_blocks(path) if size > PIECES_FROM_BYTES else None
    if ends is None:
        yield str(path), size
        return
    step = max(PIECE_BYTES, size // 50)
    piece = folder / "piece.osm.pbf"
    with open(path, "rb") as fh:
        header = fh.read(ends[0])
        covered, start = 0, ends[0]
        for i, end in enumerate(ends[1:], 1):
            if end - start < step and i < len(ends) - 1:
                continue
            piece.write_bytes(header + fh.read(end - start))
            yield str(piece), end - covered
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
                    kind = data[i : i + n].decode("ascii")
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
    """The ways of an OPL file (``w<id> T<tags> N<nodes>`` lines) that pass the filter.

    Parsed column-wise by Apache Arrow (CSV reader, string kernels, number casts) in C++.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    if opl.stat().st_size == 0:
        return _empty()
    table = pcsv.read_csv(
        opl,
        read_options=pcsv.ReadOptions(column_names=["id", "tags", "nodes"], block_size=16 << 20),
        parse_options=pcsv.ParseOptions(delimiter=" ", quote_char=False),
        convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(("id", "tags", "nodes"), pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    n = table.num_rows
    columns = _tag_columns(
        pc.utf8_slice_codeunits(table["tags"], 1), n, (*filter_keys(filter_text), *WAY_TAGS)
    )
    keep = filter_mask(filter_text, columns, n)
    ids = pc.cast(pc.utf8_slice_codeunits(table["id"], 1), pa.int64()).to_numpy()[keep]
    nodes = table["nodes"].filter(pa.array(keep))
    counts = pc.count_substring(nodes, "n").to_numpy(zero_copy_only=False)
    node_id, x, y = _node_references(nodes)
    # Leave out references to nodes the file lacks, then ways of fewer than 2 references.
    valid = ~np.isnan(x)
    owner = np.repeat(np.arange(len(ids)), counts)
    counts = np.bincount(owner[valid], minlength=len(ids))
    refs = np.flatnonzero(valid)
    enough = counts >= 2
    refs = refs[np.repeat(enough, counts)]
    # Exactly libosmium's doubles: the file's 1e-7 degree integers divided by 1e7.
    return WayArrays(
        ids[enough],
        np.r_[0, np.cumsum(counts[enough])].astype(np.int64),
        node_id[refs],
        np.rint(x[refs] * 1e7) / 1e7,
        np.rint(y[refs] * 1e7) / 1e7,
        {k: columns[k][keep][enough] for k in WAY_TAGS},
    )


def _node_references(nodes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node ids, longitudes and latitudes of OPL node lists (NaN: node not in the file).

    The lists' bytes (``Nn12x-8.61y41.15,n13x…``; a node the file lacks is ``n13xy``),
    end to end, become CSV rows by one byte mapping (``N``, ``n`` and ``,`` start a row,
    ``x`` and ``y`` separate fields) that Arrow's CSV reader parses in C++.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    parts = []
    for chunk in nodes.chunks:
        if len(chunk) == 0:
            continue
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[
            chunk.offset : chunk.offset + len(chunk) + 1
        ]
        parts.append(np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]])
    data = _OPL_TO_CSV[np.concatenate(parts)] if parts else np.empty(0, np.uint8)
    if not (data != ord("\n")).any():
        return np.empty(0, np.int64), np.empty(0), np.empty(0)
    table = pcsv.read_csv(
        pa.BufferReader(pa.py_buffer(data)),
        read_options=pcsv.ReadOptions(column_names=["id", "x", "y"], block_size=16 << 20),
        convert_options=pcsv.ConvertOptions(
            column_types={"id": pa.int64(), "x": pa.float64(), "y": pa.float64()}
        ),
    )
    return (
        table["id"].to_numpy(),
        table["x"].to_numpy(zero_copy_only=False),
        table["y"].to_numpy(zero_copy_only=False),
    )


def _tag_columns(tags, n: int, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Per way, the value of each of ``keys`` (None when absent), from OPL tag lists."""
    import pyarrow.compute as pc

    lists = pc.split_pattern(tags, ",")
    owner = pc.list_parent_indices(lists).to_numpy()
    pairs = pc.split_pattern(pc.list_flatten(lists), "=", max_splits=1)
    has_value = pc.equal(pc.list_value_length(pairs), 2)
    owner = owner[has_value.to_numpy(zero_copy_only=False)]
    pairs = pairs.filter(has_value)
    key = pc.dictionary_encode(pc.list_element(pairs, 0).combine_chunks())
    code = key.indices.to_numpy(zero_copy_only=False)
    code_of = {name: i for i, name in enumerate(key.dictionary.to_pylist())}
    value = pc.list_element(pairs, 1)
    out = {}
    plain: dict[str, str] = {}  # names repeat over the ways of a street: unescape once
    for k in dict.fromkeys(keys):
        # keys looked for are plain; OPL escapes ' ', ',', '=', '%', '@' and non-ASCII in
        # values as %hex%
        rows = np.flatnonzero(code == code_of.get(k, -1))
        values = value.take(rows)
        escaped = np.flatnonzero(pc.match_substring(values, "%").to_numpy(zero_copy_only=False))
        values = values.to_numpy(zero_copy_only=False).astype(object)
        for i in escaped.tolist():
            text = values[i]
            values[i] = plain.get(text) or plain.setdefault(text, _unescape(text))
        col = np.full(n, None, dtype=object)
        col[owner[rows]] = values
        out[k] = col
    return out


def _unescape(text: str) -> str:
    """``Rua%20%S%e3%o`` -> ``Rua São``: OPL writes ``%<hex code point>%``."""
    parts = text.split("%")
    parts[1::2] = [chr(int(code, 16)) for code in parts[1::2]]
    return "".join(parts)


def _empty() -> WayArrays:
    return WayArrays(
        np.empty(0, np.int64),
        np.zeros(1, np.int64),
        np.empty(0, np.int64),
        np.empty(0),
        np.empty(0),
        {k: np.empty(0, dtype=object) for k in WAY_TAGS},
    )
