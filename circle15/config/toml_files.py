"""Reading a TOML file (study, scenario or batch file) safely, with errors that name it.

Only a regular UTF-8 file of bounded size is read, and a document nested deeper than any
circle15 file needs is refused before the parser's recursion is at risk.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

from ..errors import ConfigError

#: A study file is a few kilobytes; a batch file listing thousands of regions well under this.
MAX_TOML_BYTES = 4 << 20
#: Deepest nesting of arrays and tables a circle15 file needs is 4; beyond this the parser's
#: recursion (and every tool reading the document after it) is at risk.
MAX_TOML_DEPTH = 32


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """Parse a UTF-8 TOML file, with errors that name the file and say what to fix.

    Only a regular file of at most :data:`MAX_TOML_BYTES` is read (a FIFO or device would
    block or never end), and a document nested deeper than :data:`MAX_TOML_DEPTH` is
    refused before the parser's recursion can blow up. A UTF-8 byte-order mark (Windows
    Notepad) is accepted.

    Parameters
    ----------
    path : Path
        The file.
    what : str
        What the file is, for messages (``"study file"``, ``"scenario"``, ``"batch file"``).
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"{path}: is a folder; give the {what} itself (a .toml file)")
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(
            f"{path}: not a regular file (a pipe, device or socket); save the "
            f"{what} as a file and give its path"
        )
    if info.st_size > MAX_TOML_BYTES:
        raise ConfigError(
            f"{path}: {info.st_size:,} bytes is too large for a {what} (at most "
            f"{MAX_TOML_BYTES:,}); list many regions or sites in a table file"
        )
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_TOML_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    if len(data) > MAX_TOML_BYTES:  # it grew while being read
        raise ConfigError(f"{path}: too large for a {what} (at most {MAX_TOML_BYTES:,} bytes)")
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the {what} as UTF-8") from None
    depth = _nesting_depth(text)
    if depth > MAX_TOML_DEPTH:
        raise ConfigError(
            f"{path}: arrays or tables nested {depth} deep (at most "
            f"{MAX_TOML_DEPTH}); a {what} needs no such nesting"
        )
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:  # a nesting the scan above did not see
        raise ConfigError(f"{path}: nested too deeply to be a {what}") from None
    if _structure_depth(document) > MAX_TOML_DEPTH:  # dotted keys a.b.c… nest too
        raise ConfigError(
            f"{path}: keys nested more than {MAX_TOML_DEPTH} deep; a {what} needs no such nesting"
        )
    return document


#: Strings and comments (whose brackets do not count) and the brackets that nest.
_TOML_TOKENS = re.compile(
    r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"'
    r"|'[^'\n]*'|#[^\n]*|[\[\]{}]",
    re.DOTALL,
)


def _nesting_depth(text: str) -> int:
    """Deepest nesting of ``[`` and ``{`` in TOML text, outside strings and comments."""
    depth = deepest = 0
    for match in _TOML_TOKENS.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in ("]", "}"):
            depth = max(depth - 1, 0)
    return deepest


def _structure_depth(document: Any) -> int:
    """Deepest nesting of tables and arrays in a parsed document (without recursion)."""
    deepest, stack = 0, [(document, 0)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_TOML_DEPTH:
            break
        children = (
            value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        )
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest
