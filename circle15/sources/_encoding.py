"""Find the text encoding of a planner's file from its bytes: CSV/TXT exports and the DBF
tables of shapefiles saved without a ``.cpg``.

Chinese offices save text as UTF-8, GBK (Excel and ArcGIS on Chinese Windows; GB18030 is
its superset), UTF-16 (Excel's "Unicode text") or, for foreign files, Latin-1/cp1252.
The rules, in order:

1. a byte-order mark decides (UTF-8-SIG, UTF-16 LE/BE);
2. NUL bytes on every other position are UTF-16 without a mark;
3. valid UTF-8 wins (other encodings rarely produce valid UTF-8 by chance);
4. GB18030 when the bytes decode strictly and the non-ASCII characters are mostly the
   common Chinese characters of GB2312 (Chinese names decode to Chinese);
5. otherwise the maintained detector charset-normalizer decides between Western text
   (cp1252, or Latin-1 where cp1252 has gaps) and Big5; failing both, Latin-1 (which
   decodes anything; the caller says the encoding is not certain).
"""

from __future__ import annotations

import codecs
import struct
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

#: Bytes read to decide a text file's encoding (the whole file when smaller).
SAMPLE_BYTES = 1 << 20

#: Code pages of a DBF header (byte 29, "language driver id") that GDAL honours.
_DBF_LDID = {
    0x4D: "cp936",
    0x7A: "cp936",
    0x78: "cp950",
    0x4E: "cp949",
    0x4F: "cp950",
    0x57: "cp1252",
    0x03: "cp1252",
    0x01: "cp437",
    0x02: "cp850",
}

#: Spellings planners use for an encoding in a study file, mapped to Python's names.
ALIASES = {
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "cp936": "gb18030",
    "936": "gb18030",
    "gb18030": "gb18030",
    "ansi": "gb18030",
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "utf16": "utf-16",
    "utf-16": "utf-16",
    "unicode": "utf-16",
    "latin1": "latin-1",
    "latin-1": "latin-1",
    "iso-8859-1": "latin-1",
    "cp1252": "cp1252",
    "big5": "big5",
}


@dataclass(frozen=True)
class Encoding:
    """An encoding and how it was chosen.

    Attributes
    ----------
    name : str
        Python codec name (``utf-8``, ``utf-8-sig``, ``utf-16``, ``gb18030``, ``cp1252`` …).
    how : str
        ``declared``, ``byte-order mark``, ``valid UTF-8``, ``file (.cpg)``, ``DBF code
        page`` or ``detected``.
    sure : bool
        False when the bytes fit the chosen encoding only because it decodes anything
        (the Latin-1 fallback); the caller then warns more strongly.
    """

    name: str
    how: str
    sure: bool = True

    @property
    def label(self) -> str:
        """The name as a planner writes it in ``encoding = "..."``."""
        return {
            "gb18030": "GBK",
            "utf-8-sig": "UTF-8",
            "utf-8": "UTF-8",
            "utf-16": "UTF-16",
            "utf-16-le": "UTF-16",
            "utf-16-be": "UTF-16",
            "latin-1": "Latin-1",
            "cp1252": "cp1252",
        }.get(self.name, self.name)

    @property
    def worth_saying(self) -> bool:
        """A warning is due: anything but UTF-8 or ASCII found by the tool itself."""
        return self.how != "declared" and self.name not in ("utf-8", "utf-8-sig", "ascii")


def declared_encoding(value: str | None, field: str) -> Encoding | None:
    """The ``encoding = "..."`` a planner wrote, checked against Python's codecs."""
    if value is None:
        return None
    key = str(value).strip().lower().replace("_", "-")
    name = ALIASES.get(key, ALIASES.get(key.replace("-", ""), key))
    try:
        codecs.lookup(name)
    except LookupError:
        raise InputError(
            f"{field}: unknown encoding {value!r}; use UTF-8, GBK, UTF-16 or Latin-1"
        ) from None
    return Encoding(name, "declared")


def detect_encoding(data: bytes) -> Encoding:
    """The encoding of ``data`` by the rules of this module's docstring."""
    if data.startswith(codecs.BOM_UTF8):
        return Encoding("utf-8-sig", "byte-order mark")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Encoding("utf-16", "byte-order mark")
    sample = data[: SAMPLE_BYTES - SAMPLE_BYTES % 2]
    if len(sample) >= 4:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
            return Encoding("utf-16-le", "detected")
        if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
            return Encoding("utf-16-be", "detected")
    if _decodes(data, "utf-8"):
        return Encoding("utf-8", "valid UTF-8")
    if _mostly_chinese(data):
        return Encoding("gb18030", "detected")
    from charset_normalizer import from_bytes

    best = from_bytes(data[:SAMPLE_BYTES], cp_exclusion=["utf_16", "utf_32", "utf_7"]).best()
    if best is not None and best.encoding in (
        "cp1252",
        "latin_1",
        "iso8859_15",
        "cp1250",
        "iso8859_2",
        "cp1257",
        "mac_roman",
    ):
        # Western European wins among the single-byte Latin encodings: short samples
        # cannot tell cp1250 from cp1252, and Western files are the ones that turn up here
        return Encoding("cp1252" if _decodes(data, "cp1252") else "latin-1", "detected")
    if best is not None and best.encoding in ("big5", "big5hkscs", "cp950"):
        return Encoding("big5", "detected")
    return Encoding("latin-1", "detected", sure=False)


def _decodes(data: bytes, encoding: str) -> bool:
    # a multi-byte character cut at the end of a sample is not an error
    try:
        codecs.getincrementaldecoder(encoding)(errors="strict").decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _mostly_chinese(data: bytes) -> bool:
    """The bytes decode as GB18030 to mostly common Chinese characters (GB2312's)."""
    try:
        text = codecs.getincrementaldecoder("gb18030")(errors="strict").decode(
            data[:SAMPLE_BYTES], final=False
        )
    except UnicodeDecodeError:
        return False
    wide = [c for c in text if ord(c) > 127]
    if not wide:
        return False
    common = sum(1 for c in wide if _in_gb2312(c))
    return common >= 0.8 * len(wide)


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def text_encoding(path: Path, declared: Encoding | None = None) -> Encoding:
    """The encoding of a text file: the declared one, else found from its first megabyte."""
    if declared is not None:
        return declared
    with open(path, "rb") as handle:
        return detect_encoding(handle.read(SAMPLE_BYTES))


# --------------------------------------------------------------------------------------
# Shapefiles


def dbf_encoding(shp: Path) -> Encoding | None:
    """The encoding of a shapefile's attributes, or None when GDAL will know it.

    GDAL reads the ``.cpg`` file or the DBF header's code page; without either (code page
    0, as many Chinese tools write) it assumes Latin-1 and turns GBK names into mojibake.
    Then the text bytes of the DBF (field names and text fields) are examined.
    """
    dbf = _sibling(shp, ".dbf")
    if dbf is None or _sibling(shp, ".cpg") is not None:
        return None
    with open(dbf, "rb") as handle:
        head = handle.read(32)
        if len(head) < 32:
            return None
        ldid = head[29]
        if ldid in _DBF_LDID:
            return None
        n_records, header_len, record_len = struct.unpack("<IHH", head[4:12])
        fields = handle.read(max(header_len - 32, 0))
        text = bytearray()
        offset, spans = 1, []
        for start in range(0, len(fields) - 31, 32):
            desc = fields[start : start + 32]
            if desc[0] == 0x0D:
                break
            text += desc[:11].split(b"\0", 1)[0] + b"\n"
            kind, width = chr(desc[11]), desc[16]
            if kind == "C":
                spans.append((offset, offset + width))
            offset += width
        handle.seek(header_len)
        budget = max(1, SAMPLE_BYTES // max(record_len, 1))
        body = handle.read(record_len * min(n_records, budget))
    for r in range(0, len(body) - record_len + 1, record_len):
        record = body[r : r + record_len]
        for a, b in spans:
            value = record[a:b].rstrip(b" \0")
            if value:
                text += value + b"\n"
    if all(b < 128 for b in text):
        return None
    return detect_encoding(bytes(text))


def _sibling(path: Path, suffix: str) -> Path | None:
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None
