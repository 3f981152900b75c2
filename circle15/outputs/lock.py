"""One circle15 at a time in an output folder.

The lock is ``.circle15/lock`` in the output folder, held with ``flock`` for as long as a
command works on the folder; the kernel drops it when the process ends, however it ends,
so a lock of a killed run is never in the way (the next command takes it over, and learns
from the file's contents that the previous holder died). The file names its holder (pid,
host, user, command, start time) for the message a second command gets. Where ``flock``
is not available (Windows, some network file systems) an exclusively created file
``.circle15/lock.held`` does the same; a stale one is taken over when its process is gone
from this host.
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import json
import os
import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import OutputError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

LOCK_FILE = "lock"
HELD_FILE = "lock.held"
#: flock errors that mean "not supported here": use the exclusive-file lock instead.
_NO_FLOCK = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}


def holder_info(command: str) -> dict[str, Any]:
    """Who holds a lock: pid, host, user, command and start time."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in the environment or passwd
        user = str(os.getuid()) if hasattr(os, "getuid") else "?"
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "user": user,
        "command": command[:500],
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def describe(info: dict[str, Any] | None) -> str:
    """``circle15 run study.toml (pid 1234 on host-a, user ana, started 2026-…)``."""
    if not info:
        return "another circle15 process (it has not said which yet)"
    return (
        f"`{info.get('command', 'circle15')}` (pid {info.get('pid')} on "
        f"{info.get('host')}, user {info.get('user')}, started {info.get('started_utc')})"
    )


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OSError:
        return False
    return True


class FolderLock:
    """The lock of one output folder (held on ``state/lock``).

    Parameters
    ----------
    state : Path
        circle15's folder inside the output folder (``.circle15``); must exist.
    out : Path
        The output folder, for messages.
    command : str
        What this process runs, shown to a second command.

    Attributes
    ----------
    stale : dict or None
        After :meth:`acquire`: the holder information left by a process that died
        holding the lock (killed), None when the last holder released it.
    """

    def __init__(self, state: Path, out: Path, command: str) -> None:
        self.state, self.out, self.command = Path(state), Path(out), command
        self.stale: dict[str, Any] | None = None
        self._fd: int | None = None
        self._held_file: Path | None = None

    # ------------------------------------------------------------------------------------
    def acquire(self, wait: bool = False, say: Callable[[str], None] | None = None) -> None:
        """Take the lock, or raise :class:`OutputError` naming its holder.

        With ``wait``, block until the holder finishes (``say`` is told once who it is).
        """
        info = holder_info(self.command)
        if fcntl is not None and os.environ.get("CIRCLE15_LOCK") != "file":
            try:
                self._acquire_flock(info, wait, say)
                return
            except _FlockUnsupported:
                pass
        self._acquire_file(info, wait, say)

    def release(self) -> None:
        """Let the next command in (the lock file is emptied: no stale holder)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._held_file is not None:
            with contextlib.suppress(OSError):
                self._held_file.unlink()
            self._held_file = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None or self._held_file is not None

    # ------------------------------------------------------------------------------------
    def _acquire_flock(
        self, info: dict[str, Any], wait: bool, say: Callable[[str], None] | None
    ) -> None:
        path = self.state / LOCK_FILE
        told = False
        while True:
            # A holder that never published removes circle15's folder when it ends.
            self.state.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:
                    if exc.errno in _NO_FLOCK:
                        raise _FlockUnsupported from None
                    if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise
                    holder = _read_info(fd)
                    if not wait:
                        raise self._busy(holder) from None
                    if not told and say is not None:
                        say(f"waiting for {describe(holder)} to finish with {self.out}")
                        told = True
                    fcntl.flock(fd, fcntl.LOCK_EX)  # blocks; Ctrl-C interrupts it
                # The file may have been removed by a holder that cleaned up: lock the
                # file that is there now, not an orphan.
                if not _same_file(fd, path):
                    os.close(fd)
                    continue
            except BaseException:
                with contextlib.suppress(OSError):
                    os.close(fd)
                raise
            break
        left = _read_info(fd)
        self.stale = left if left else None
        _write_info(fd, info)
        self._fd = fd

    def _acquire_file(
        self, info: dict[str, Any], wait: bool, say: Callable[[str], None] | None
    ) -> None:
        path = self.state / HELD_FILE
        told = False
        while True:
            self.state.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = _read_json(path)
                if holder and _dead_here(holder):
                    self.stale = holder
                    with contextlib.suppress(OSError):
                        path.unlink()
                    continue
                if not wait:
                    raise self._busy(holder) from None
                if not told and say is not None:
                    say(f"waiting for {describe(holder)} to finish with {self.out}")
                    told = True
                time.sleep(0.5)
                continue
            try:
                _write_info(fd, info)
            finally:
                os.close(fd)
            self._held_file = path
            return

    def _busy(self, holder: dict[str, Any] | None) -> OutputError:
        return OutputError(
            f"output folder {self.out} is in use by {describe(holder)}; wait for it to "
            "finish (or run this command with --wait), or choose another --out"
        )


class _FlockUnsupported(Exception):
    """flock does not work on this file system."""


def _same_file(fd: int, path: Path) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _read_info(fd: int) -> dict[str, Any] | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = os.read(fd, 1 << 16)
    except OSError:
        return None
    try:
        value = json.loads(data.decode("utf-8")) if data.strip() else None
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _write_info(fd: int, info: dict[str, Any]) -> None:
    data = json.dumps(info, ensure_ascii=False).encode("utf-8")
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, data)
    with contextlib.suppress(OSError):
        os.fsync(fd)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _dead_here(holder: dict[str, Any]) -> bool:
    """A holder on this host whose process is gone (another host's cannot be checked)."""
    if holder.get("host") != socket.gethostname():
        return False
    try:
        return not process_alive(int(holder.get("pid", -1)))
    except (TypeError, ValueError):
        return False


#: Set by the command line to what the user typed; else taken from ``sys.argv``.
COMMAND: str | None = None


def command_line() -> str:
    """The command this process runs, as typed (for the lock's holder information)."""
    if COMMAND:
        return COMMAND
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if name in ("__main__.py", "cli.py", "-c", "-m"):
        name = "circle15"
    return " ".join([name, *sys.argv[1:]])[:500]
