"""Every error and warning circle15 raises, in one hierarchy.

A problem the user can fix is a :class:`Circle15Error` with a plain message that names
the file, row or field and the fix; the command line prints it without a traceback and
exits with code 2. Input problems are also ``ValueError``\\s, so code that catches those
keeps working (as r5py's ``NoCrsError(ValueError, R5pyError)``).
"""

from __future__ import annotations

import logging
import warnings

#: The package logger; the command line attaches a handler, a library user may too.
logger = logging.getLogger("circle15")


class Circle15Error(Exception):
    """Base class for errors that a user can act on; the CLI prints them without a traceback."""


class InputError(Circle15Error, ValueError):
    """A file, row or field of the input is wrong; the message names it and the fix."""


class ConfigError(InputError):
    """The study configuration is invalid; the message names the file and the field."""


class UnreadableInput(InputError):
    """A file could not be read; the message gives the library's reason.

    Parameters
    ----------
    message : str
        The file and the library's reason.
    unexpected : bool, default False
        See the attribute.

    Attributes
    ----------
    unexpected : bool
        True when the exception was not one of a library's file-error types: the file may
        be fine and circle15 at fault, so the message asks for a report.
    """

    def __init__(self, message: str, *, unexpected: bool = False) -> None:
        super().__init__(message)
        self.unexpected = unexpected


class RequestError(InputError):
    """A studio request the server refuses (unknown category or facility, a bad name ...).

    Parameters
    ----------
    message : str
        What is wrong with the request and how to fix it.
    status : int, default 422
        The HTTP status the studio answers with.
    """

    def __init__(self, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class FetchError(Circle15Error):
    """A download failed (no connection, server error); the message says what to try."""


class OutputError(Circle15Error):
    """An output cannot be written (folder not writable, disk full, locked by another run)."""


class OfflineAssetError(RuntimeError):
    """A vendored web asset is missing or altered: the installation is broken, not the input."""


class Circle15Warning(UserWarning):
    """Something a planner should know that does not falsify the figures."""


def warn(message: str, *, stacklevel: int = 2) -> str:
    """Issue a message as a :class:`Circle15Warning`.

    Runs also collect their warnings as text for the manifest, the report and the command
    line (which prints them itself and so silences this category).

    Parameters
    ----------
    message : str
        What the planner should know.
    stacklevel : int, default 2
        As for :func:`warnings.warn`, counted from the caller of this function.

    Returns
    -------
    str
        ``message``, unchanged (to collect it as text too).
    """
    warnings.warn(message, Circle15Warning, stacklevel=stacklevel + 1)
    return message
