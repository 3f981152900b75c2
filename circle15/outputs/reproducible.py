"""Same inputs, same bytes: fixed dates inside GeoPackage and XLSX files.

CSV tables carry no date and come out byte-identical on every run. GDAL stamps each
GeoPackage layer with the time it was written and openpyxl stamps the workbook's document
properties and every member of its zip archive; both are replaced here by a fixed date, so
that a reviewer who re-runs a study can compare hashes with ``manifest.json``.

The run date shown in ``report.html`` and on the workbook's ``about`` sheet is the time
of the run, unless ``SOURCE_DATE_EPOCH`` (seconds since 1970, the reproducible-builds
convention) is set: then that date is shown and every output table is byte-identical.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ..arguments import LATEST_EPOCH, check_source_date_epoch

__all__ = [
    "FIXED_DATE",
    "LATEST_EPOCH",
    "check_source_date_epoch",
    "fixed_gdal_date",
    "normalise_xlsx",
    "run_date",
    "source_date",
    "stable_element_ids",
]

#: Written into GeoPackage ``gpkg_contents.last_change`` when no SOURCE_DATE_EPOCH is set:
#: the earliest date a zip archive can hold, as used by reproducible Python wheels.
FIXED_DATE = datetime(1980, 1, 1, tzinfo=UTC)


def source_date() -> datetime | None:
    """The date of ``SOURCE_DATE_EPOCH``, or None when it is unset.

    Raises ``ConfigError`` when it is malformed (see :func:`check_source_date_epoch`).
    """
    seconds = check_source_date_epoch(os.environ.get("SOURCE_DATE_EPOCH"))
    if seconds is None:
        return None
    return max(datetime.fromtimestamp(seconds, UTC), FIXED_DATE)


def run_date(started: datetime) -> datetime:
    """The date an output shows for a run that started at ``started``."""
    return source_date() or started


@contextmanager
def fixed_gdal_date() -> Iterator[None]:
    """GDAL writes ``SOURCE_DATE_EPOCH`` or :data:`FIXED_DATE` as the time of writing."""
    import pyogrio

    stamp = (source_date() or FIXED_DATE).strftime("%Y-%m-%dT%H:%M:%SZ")
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": stamp})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


def normalise_xlsx(path: Path, when: datetime) -> None:
    """Rewrite an XLSX archive in place with ``when`` (to the minute) as its only date.

    ``docProps/core.xml`` gets ``when`` as created and modified; every zip member gets it as
    its time stamp. Members keep their order, names and compression.
    """
    when = when.astimezone(UTC).replace(second=0, microsecond=0)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(path) as src:
        members = [(info, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w") as dst:
        for info, data in members:
            if info.filename == "docProps/core.xml":
                text = data.decode("utf-8")
                for tag in ("created", "modified"):
                    text = re.sub(
                        rf"(<dcterms:{tag}[^>]*>)[^<]*(</dcterms:{tag}>)",
                        rf"\g<1>{stamp}\g<2>",
                        text,
                    )
                data = text.encode("utf-8")
            fixed = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            fixed.compress_type = info.compress_type
            fixed.external_attr = info.external_attr
            fixed.create_system = 3  # the same on every platform
            dst.writestr(fixed, data)


_ELEMENT_ID = re.compile(r"(?<=_)[0-9a-f]{32}(?![0-9a-f])")


def stable_element_ids(html: str) -> str:
    """Number folium/branca's random element ids (``map_<32 hex>``) in order of appearance.

    branca names every element with 16 random bytes, so two renders of the same map
    differ; the n-th distinct id becomes ``n`` written as 32 hex digits, which keeps the
    ids unique and the page working.
    """
    ids: dict[str, str] = {}

    def number(match: re.Match) -> str:
        return ids.setdefault(match.group(0), f"{len(ids):032x}")

    return _ELEMENT_ID.sub(number, html)
