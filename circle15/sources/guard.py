"""Turn what a library raises on an odd file into an ``InputError`` that names the file.

Readers check what they know to check and say so in plain words. Whatever slips past them
(GDAL on a truncated GeoPackage, pandas on a CSV with a stray quote, openpyxl on a
workbook that is really a zip of something else) would otherwise reach a planner as a
traceback. :func:`reading` wraps one file's reading: a library's own error types mean the
file is at fault and become an ``InputError`` naming it; any other exception still
becomes one (the run stops with exit code 2 and the file's name), but is marked
``unexpected`` and asks for a bug report, because it may be circle15's fault.
"""

from __future__ import annotations

import csv
import json
import tomllib
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.etree.ElementTree import ParseError

from ..errors import Circle15Error, InputError, UnreadableInput


def _library_errors() -> tuple[type[BaseException], ...]:
    """Exception types by which file-reading libraries say "this file is not what it claims".

    Imported here, not at module level: each library is optional for some studies and
    some take long to import.
    """
    import pandas.errors
    import pyogrio.errors
    import pyproj.exceptions
    import shapely.errors

    found: list[type[BaseException]] = [
        OSError,
        UnicodeError,
        EOFError,
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        csv.Error,
        json.JSONDecodeError,
        tomllib.TOMLDecodeError,
        ParseError,
        pandas.errors.ParserError,
        pandas.errors.EmptyDataError,
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.FieldError,
        pyogrio.errors.GeometryError,
        pyogrio.errors.CRSError,
        pyogrio.errors.FeatureError,
        pyproj.exceptions.ProjError,
        shapely.errors.ShapelyError,
    ]
    try:
        from openpyxl.utils.exceptions import InvalidFileException

        found.append(InvalidFileException)
    except ImportError:  # pragma: no cover - openpyxl is a dependency
        pass
    try:
        from lxml.etree import LxmlError

        found.append(LxmlError)
    except ImportError:  # lxml is optional for openpyxl
        pass
    try:
        from rasterio.errors import RasterioError

        found.append(RasterioError)
    except ImportError:  # pragma: no cover - rasterio is a dependency
        pass
    return tuple(found)


@contextmanager
def reading(path: Path | str | None, what: str) -> Iterator[None]:
    """Read one input inside this block; library errors become :class:`UnreadableInput`.

    Parameters
    ----------
    path : Path or str, optional
        The file being read, named in the message.
    what : str
        What the file is to the study, e.g. ``"facilities (childcare)"`` or
        ``"[population] path"``.

    Raises
    ------
    InputError
        The reader's own (already clear) error, unchanged; or :class:`UnreadableInput`
        naming ``what`` and ``path`` with the library's reason.
    """
    try:
        yield
    except Circle15Error:
        raise
    except MemoryError:
        raise InputError(
            f"{what} {path}: too large to read into memory on this machine; "
            "clip it to the study area first"
        ) from None
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
        reason = reason if len(reason) <= 300 else reason[:297] + "..."
        if isinstance(exc, _library_errors()):
            raise UnreadableInput(
                f"{what} {path}: cannot be read ({reason}). Check that the file is complete "
                "and in the format its name says (open it in QGIS or Excel), or export it "
                "again"
            ) from exc
        raise UnreadableInput(
            f"{what} {path}: circle15 failed while reading it ({reason}). If the file opens "
            "correctly in QGIS or Excel this is probably a bug in circle15: run again with "
            "--debug and report the traceback",
            unexpected=True,
        ) from exc
