"""Command-line values and environment variables, checked before any work.

A value the command line or the environment gives that circle15 cannot use is refused at
once with exit code 2 and a message naming it: numbers through ``argparse`` types (its
errors exit with code 2), environment variables through :func:`check_environment`.
Nothing here imports numpy or scipy, so the checks run before they are loaded (numpy
itself fails on a malformed ``SOURCE_DATE_EPOCH`` at import).
"""

from __future__ import annotations

import argparse
import math
import os
import re
from collections.abc import Callable

from .errors import ConfigError

#: Most worker processes a batch may start on one machine.
MAX_WORKERS = 1024
#: Memory per worker: less cannot even import the libraries; more is not a real machine.
MIN_MEMORY, MAX_MEMORY = 64 * 10**6, 2**60
#: Sizes ``--memory-limit`` understands.
_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


#: The latest date ``SOURCE_DATE_EPOCH`` may give (the end of year 9999).
LATEST_EPOCH = 253_402_300_799


def check_source_date_epoch(value: str | None) -> int | None:
    """``SOURCE_DATE_EPOCH`` as seconds, None when unset.

    Raises
    ------
    ConfigError
        When it is set but not a whole number of seconds since 1970 (ASCII digits, at most
        year 9999): the reproducible-builds convention asks tools to stop rather than
        ignore a malformed value.
    """
    if value is None:
        return None
    if not re.fullmatch(r"[0-9]{1,12}", value) or int(value) > LATEST_EPOCH:
        raise ConfigError(
            f"SOURCE_DATE_EPOCH={value[:40]!r} is not a number of seconds since 1970-01-01 "
            "(digits only, e.g. 1700000000); set it to one or unset it"
        )
    return int(value)


#: Chooses how outputs are put in place (see ``circle15.outputs.layout``).
LAYOUT_ENV = "CIRCLE15_OUTPUT_LAYOUT"
LAYOUTS = ("auto", "links", "files")


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An ``argparse`` type: an integer from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def finite_number(low: float, high: float, *, above: bool = False) -> Callable[[str], float]:
    """An ``argparse`` type: a finite number from ``low`` (or above it) to ``high``."""

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if value < low or (above and value == low) or value > high:
            bound = f"above {low:g}" if above else f"at least {low:g}"
            raise argparse.ArgumentTypeError(f"{value:g} is not {bound} and at most {high:g}")
        return value

    return parse


def memory_size(text: str | int | None) -> int | None:
    """``"4GB"``, ``"512MB"``, ``"2GiB"`` or a number of bytes → bytes (None stays None).

    Raises
    ------
    ConfigError
        When it is not a size, not finite, or not between 64 MB and 2⁶⁰ bytes.
    """
    if text is None:
        return None
    if isinstance(text, int) and not isinstance(text, bool):
        value = float(text)
    else:
        cleaned = str(text).strip().lower().replace(" ", "").replace("_", "")
        number = cleaned.rstrip("kmgtib")
        unit = cleaned[len(number) :]
        try:
            if unit not in _UNITS:
                raise ValueError
            value = float(number) * _UNITS[unit]
        except (ValueError, OverflowError):
            raise ConfigError(
                f"--memory-limit {text!r}: write a size such as 4GB or 512MB"
            ) from None
    if not math.isfinite(value) or not MIN_MEMORY <= value <= MAX_MEMORY:
        raise ConfigError(
            f"--memory-limit {text!r}: give each worker between 64MB and a "
            "real machine's memory, e.g. 4GB"
        )
    return int(value)


def memory_argument(text: str) -> int:
    """``memory_size`` as an ``argparse`` type."""
    try:
        return memory_size(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[-1]) from None


def check_environment(environ: dict[str, str] | None = None) -> None:
    """Refuse environment variables circle15 reads and cannot use.

    Raises
    ------
    ConfigError
        ``SOURCE_DATE_EPOCH`` not whole seconds since 1970; ``CIRCLE15_OUTPUT_LAYOUT`` not
        ``links``, ``files`` or ``auto``; ``CIRCLE15_CACHE`` or ``CIRCLE15_INPUT_CACHE``
        empty or naming a file.
    """
    env = os.environ if environ is None else environ
    check_source_date_epoch(env.get("SOURCE_DATE_EPOCH"))
    layout = env.get(LAYOUT_ENV)
    if layout is not None and layout.strip().lower() not in (*LAYOUTS, ""):
        raise ConfigError(f"{LAYOUT_ENV}={layout[:40]!r}: use links, files or auto (or unset it)")
    for name in ("CIRCLE15_CACHE", "CIRCLE15_INPUT_CACHE"):
        value = env.get(name)
        if value is None:
            continue
        if not value.strip() or "\x00" in value:
            raise ConfigError(f"{name} is set but empty; set it to a folder or unset it")
        if os.path.exists(value) and not os.path.isdir(value):
            raise ConfigError(
                f"{name}={value!r} is a file, not a folder; set it to a folder "
                "(created if missing) or unset it"
            )
