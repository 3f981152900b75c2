"""Error types: every problem a user can fix is a ``Circle15Error`` with a plain message."""

from __future__ import annotations


class Circle15Error(Exception):
    """Base class for errors that a user can act on; the CLI prints them without a traceback."""


class InputError(Circle15Error):
    """A file, row or field of the input is wrong; the message names it and the fix."""


class ConfigError(InputError):
    """The study configuration is invalid; the message names the file and the field."""
