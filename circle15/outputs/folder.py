"""The output folder, checked before any work, and write failures named plainly.

A run that can only fail at the end (a folder that is a file, read-only, not writable,
or a full disk) should say so before it reads a single input: :func:`prepare_folder`
creates the folder and circle15's own sub-folder in it, which is the test. A disk that
fills up while the outputs are written is recognised by :func:`disk_full`, whatever the
library that was writing (Python, GDAL/SQLite, openpyxl), and reported by
:func:`no_space_error`.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from ..errors import OutputError

#: Kept in front of every message about the output folder.
_FIX = "choose another --out"
#: Error numbers of a full disk, a quota, and a file larger than the system allows.
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
#: How libraries that do not pass the error number on word a full disk.
_FULL_TEXT = re.compile(
    r"no space left|disk is full|disk full|quota exceeded|file too large"
    r"|not enough space",
    re.IGNORECASE,
)
#: Free space below which a failed write is put down to a full disk.
_NEARLY_FULL = 1 << 20


def absolute(path: Path | str) -> Path:
    """``path`` made absolute and normalised, without resolving links."""
    return Path(os.path.abspath(os.fspath(path)))


def prepare_folder(out: Path) -> list[Path]:
    """Create ``out`` (and its parents) unless it exists; return the folders created.

    Raises
    ------
    OutputError
        When ``out`` is a file, lies under a file, is a broken link, or cannot be
        created (no permission, read-only file system, no space); the message names
        the path and the fix.
    """
    out = absolute(out)
    for parent in [*reversed(out.parents), out]:
        if os.path.lexists(parent) and not os.path.isdir(parent):
            if os.path.islink(parent) and not os.path.exists(parent):
                raise OutputError(
                    f"output folder {out}: {parent} is a broken link; remove it or {_FIX}"
                )
            if parent == out:
                raise OutputError(
                    f"output folder {out} is a file, not a folder; {_FIX} "
                    "(nothing was read or written)"
                )
            raise OutputError(
                f"output folder {out}: {parent} is a file, so no folder can be "
                f"made under it; {_FIX} (nothing was read or written)"
            )
    created = [p for p in [*reversed(out.parents), out] if not os.path.lexists(p)]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise folder_error(out, exc, "create") from None
    return created


def folder_error(out: Path, exc: OSError, doing: str = "write to") -> OutputError:
    """An :class:`OutputError` for an ``OSError`` met while creating or writing ``out``."""
    where = exc.filename or out
    if getattr(exc, "winerror", None) in (32, 33):  # Windows: another program has it open
        return OutputError(
            f"cannot {doing} output folder {out}: {where} is open in another "
            "program (Excel, a browser …); close it and run again. The previous "
            "outputs are unchanged"
        )
    if exc.errno == errno.EROFS:
        reason = "it is on a read-only file system"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        reason = f"permission denied ({where})"
    elif exc.errno == errno.ENOTDIR:
        reason = f"a part of the path is a file, not a folder ({where})"
    elif exc.errno in _FULL:
        return no_space_error(out, exc)
    elif exc.errno == errno.ENAMETOOLONG:
        reason = "the path is too long"
    else:
        reason = f"{exc.strerror or exc} ({where})"
    return OutputError(
        f"cannot {doing} output folder {out}: {reason}; {_FIX} (nothing was read or written)"
    )


def disk_full(exc: BaseException, out: Path | None = None) -> bool:
    """Whether ``exc`` (or an error it came from) says the disk or a size limit is full.

    Looks at error numbers (``ENOSPC``, ``EDQUOT``, ``EFBIG``), at the wording libraries
    use when they drop the number (SQLite: "database or disk is full"), and, for any other
    failure, at the free space left where ``out`` is.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _FULL:
            return True
        if _FULL_TEXT.search(str(current)):
            return True
        current = current.__cause__ or current.__context__
    return out is not None and free_bytes(out) < _NEARLY_FULL


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged process may still write on the file system of ``path``."""
    path = absolute(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        info = os.statvfs(path)
    except (OSError, AttributeError):  # no statvfs on Windows
        return 1 << 62
    return info.f_bavail * info.f_frsize


def mount_point(path: Path) -> Path:
    """The mount point of the file system holding ``path``."""
    path = absolute(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def no_space_error(out: Path, exc: BaseException) -> OutputError:
    """The message for a disk (or file size limit) that ran out while writing into ``out``."""
    errors = [exc]
    while errors[-1].__cause__ or errors[-1].__context__:
        errors.append(errors[-1].__cause__ or errors[-1].__context__)
    number = next((e.errno for e in errors if isinstance(e, OSError) and e.errno), None)
    name = next((e.filename for e in errors if isinstance(e, OSError) and e.filename), None)
    what = f" while writing {Path(name).name}" if name else ""
    tail = (
        f"; free some space or {_FIX}. The previous outputs in {out} are unchanged and "
        "this run's partial files were removed"
    )
    if number == errno.EFBIG:
        return OutputError(
            f"no space left for the outputs in {out}{what}: a file grew past "
            "the largest size this process may write (ulimit -f) or the file "
            f"system allows{tail}"
        )
    free = free_bytes(out)
    return OutputError(f"no space left on {mount_point(out)} ({free:,} bytes free){what}{tail}")
