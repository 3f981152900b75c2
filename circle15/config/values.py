"""Limits and value types shared by the study, scenario and batch files' schemas.

The largest plausible figures (so that a typo such as ``1e308`` is refused rather than
overflowed), the checks of names that become folder, file and column names
(:func:`path_component`, :func:`category_key`) and the annotated number types the
sections use.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

#: Largest plausible values, so that a typo such as ``1e308`` is refused, not overflowed.
MAX_MINUTES = 24 * 60.0
MAX_METRES = 100_000.0
MAX_AGE = 200  # ``model.OPEN_AGE``: "and over"
MAX_AMOUNT = 1e9  # capacities, norms, people
MAX_WEIGHT = 1e6

#: A name that becomes one folder or file name: letters of any script, digits, ``_``,
#: ``-``, and ``.`` after the first character; so never ``..``, a separator or a hidden name.
_COMPONENT = re.compile(r"\w[\w.-]*")
#: A category key also becomes column names (``t_<key>``): no dots.
_KEY = re.compile(r"\w[\w-]*")
#: Names Windows reserves for devices, with or without an extension.
_DEVICE = re.compile(r"(con|prn|aux|nul|com\d|lpt\d)(\..*)?", re.IGNORECASE)
MAX_NAME_CHARS = 64


def path_component(value: str, what: str = "name") -> str:
    """``value`` when it can name one folder or file on every platform, else ``ValueError``.

    Used for study, scenario and batch names and region keys: they become folder names
    under the output folder, so ``..``, separators, hidden names and device names are
    refused.
    """
    if (
        not isinstance(value, str)
        or len(value) > MAX_NAME_CHARS
        or not _COMPONENT.fullmatch(value)
        or value.endswith(".")
        or _DEVICE.fullmatch(value)
    ):
        raise ValueError(
            f"{what} {value!r} names a folder: use letters, digits, '_', '-' and '.' (not "
            f"first or last), at most {MAX_NAME_CHARS} characters, no '/' or '\\', and not a "
            "name Windows reserves (CON, NUL, COM1 …)"
        )
    return value


def category_key(value: str) -> str:
    """``value`` when it can be a category key (folder names, column names), else ``ValueError``."""
    if (
        not isinstance(value, str)
        or len(value) > MAX_NAME_CHARS
        or not _KEY.fullmatch(value)
        or _DEVICE.fullmatch(value)
    ):
        raise ValueError(
            f"category key {value!r} names columns and folders: use letters, digits, '_' "
            f"and '-' (not first), at most {MAX_NAME_CHARS} characters, and not a name "
            "Windows reserves (CON, NUL, COM1 …)"
        )
    return value


PathComponent = Annotated[str, AfterValidator(path_component)]
PositiveFloat = Annotated[float, Field(gt=0)]
Minutes = Annotated[float, Field(gt=0, le=MAX_MINUTES)]
Metres = Annotated[float, Field(ge=0, le=MAX_METRES)]
Amount = Annotated[float, Field(gt=0, le=MAX_AMOUNT)]
Weight = Annotated[float, Field(ge=0, le=MAX_WEIGHT)]
Bounded = Annotated[float, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT)]
