"""How a finished run becomes the output folder's contents in one step.

Every run is written into a folder of its own, ``<out>/.circle15/runs/<id>/``. Two
layouts put it in place:

- **links** (POSIX file systems): ``.circle15/current`` is a symbolic link to the run
  folder, and every output is a relative link through it, e.g. ``map.html ->
  .circle15/current/map.html`` (``r01/map.html -> ../.circle15/current/r01/map.html``).
  Publishing a run is one atomic rename of ``current``: at every instant, whatever
  happens (Ctrl-C, ``kill -9``, power loss), the files in the folder are those of exactly
  one run and match its ``manifest.json``. Links for names the previous run did not have
  are made before the switch (they dangle until then: no file of either run); links the
  new run does not use are removed after it.
- **files** (Windows, FAT/exFAT and other file systems without symbolic links, or
  ``CIRCLE15_OUTPUT_LAYOUT=files``): the outputs are plain files, moved into place by a
  series of renames under a journal, ``manifest.json`` first out and last in. An error
  or signal rolls the renames back at once; after ``kill -9`` or a power loss the
  journal lets the next circle15 command on the folder roll them back before it does
  anything else, and until then the folder has no ``manifest.json``.

A folder written by an older circle15 (plain files) or in the other layout is taken over
file by file: each file listed in the previous manifest with a matching SHA-256 is
replaced by a link to an identical copy, so it never changes content on the way.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..arguments import LAYOUT_ENV, LAYOUTS  # noqa: F401 (LAYOUTS: re-exported)
from .atomic import TEMP_PREFIX, pause_for_tests

#: circle15's own folder inside an output folder.
STATE = ".circle15"
RUNS = "runs"
CURRENT = "current"
JOURNAL = "journal.json"
BACKUP_PREFIX = "backup-"
MANIFEST = "manifest.json"


# ----------------------------------------------------------------------------------------
# Names and links


def link_target(rel: str) -> str:
    """Where the link of output ``rel`` (``a/b.csv``) points: ``../.circle15/current/a/b.csv``."""
    return "../" * rel.count("/") + f"{STATE}/{CURRENT}/{rel}"


def is_our_link(out: Path, rel: str) -> bool:
    """Whether ``out/rel`` is the link circle15 makes for output ``rel``."""
    path = out / rel
    try:
        return os.path.islink(path) and os.readlink(path) == link_target(rel)
    except OSError:
        return False


def run_files(folder: Path) -> list[str]:
    """Every file under ``folder`` as a relative POSIX path, sorted."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        base = Path(root).relative_to(folder)
        found += [(base / name).as_posix() for name in files]
    return sorted(found)


def current_run(state: Path) -> Path | None:
    """The run folder ``current`` points to, or None."""
    link = state / CURRENT
    try:
        target = os.readlink(link)
    except OSError:
        return None
    folder = (state / target).resolve()
    return folder if folder.is_dir() and folder.parent == (state / RUNS).resolve() else None


def symlinks_work(state: Path) -> bool:
    """Whether this file system (and platform, and user) can make symbolic links."""
    if os.name == "nt":
        return False
    probe = state / f".probe-{os.getpid()}"
    try:
        with contextlib.suppress(FileNotFoundError):
            probe.unlink()
        os.symlink(RUNS, probe)
        return os.readlink(probe) == RUNS
    except (OSError, NotImplementedError):
        return False
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


def choose_layout(state: Path, wanted: str | None = None) -> str:
    """``links`` or ``files`` for the output folder whose state folder is ``state``."""
    wanted = (wanted or os.environ.get(LAYOUT_ENV) or "auto").strip().lower()
    if wanted == "files":
        return "files"
    works = symlinks_work(state)
    if wanted == "links" and not works:
        from ..errors import OutputError

        raise OutputError(
            f"{LAYOUT_ENV}=links: the file system of {state.parent} cannot hold "
            "symbolic links; unset it (circle15 then writes plain files)"
        )
    return "links" if works else "files"


# ----------------------------------------------------------------------------------------
# Signals: a rollback is not itself interrupted


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and ``kill`` (SIGTERM) until the block ends, then act on them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    wanted = [s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None]
    previous = {s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in wanted}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if caught:
            raise KeyboardInterrupt


# ----------------------------------------------------------------------------------------
# Links layout


def publish_links(
    out: Path, state: Path, run: Path, new: Iterable[str], old: Iterable[str]
) -> None:
    """Make ``run`` the folder's contents: links first, then one switch of ``current``.

    ``new``: the run's files; ``old``: outputs of the previous run (links of ours).
    Raises whatever stopped it before the switch, after undoing what it did; after the
    switch (the commit) it never undoes anything.
    """
    new, old = list(new), set(old)
    made: list[Path] = []
    previous = os.readlink(state / CURRENT) if os.path.islink(state / CURRENT) else None
    target = f"{RUNS}/{run.name}"
    try:
        for rel in new:
            if is_our_link(out, rel):
                continue
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(link_target(rel), path)
            made.append(path)
            pause_for_tests("publish")
        if not made:
            pause_for_tests("publish")
        _point(state, target)  # the commit
    except BaseException:
        with signals_deferred():
            if _points_to(state, target):  # switched: the new run is the folder's contents
                _unlink_stale(out, old - set(new))
                raise
            if previous is None:
                with contextlib.suppress(OSError):
                    (state / CURRENT).unlink()
            for path in reversed(made):
                with contextlib.suppress(OSError):
                    path.unlink()
                _remove_empty_parents(path, out)
        raise
    _unlink_stale(out, old - set(new))


def _unlink_stale(out: Path, stale: Iterable[str]) -> None:
    """Remove our links of outputs the current run does not have (they dangle)."""
    for rel in sorted(stale):
        if is_our_link(out, rel):
            with contextlib.suppress(OSError):
                (out / rel).unlink()
            _remove_empty_parents(out / rel, out)


def adopt_plain_files(out: Path, state: Path, files: Iterable[str], run_id: str) -> None:
    """Take over outputs written as plain files (files layout, older circle15).

    An identical copy (hard link, else copy) of each goes into a run folder that becomes
    ``current``; then each plain file is replaced, by one rename, with its link. Every
    step leaves the folder's contents as they were.
    """
    files = [rel for rel in files if os.path.isfile(out / rel) and not os.path.islink(out / rel)]
    if not files:
        return
    run = state / RUNS / run_id
    for rel in files:
        place_copy(out / rel, run / rel)
    _point(state, f"{RUNS}/{run.name}")
    for rel in files:
        path = out / rel
        temporary = path.parent / f"{TEMP_PREFIX}{os.getpid()}-link-{path.name}"
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        os.symlink(link_target(rel), temporary)
        os.replace(temporary, path)


def _point(state: Path, target: str) -> None:
    """Point ``state/current`` at ``target`` with one atomic rename."""
    temporary = state / f"{CURRENT}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    os.symlink(target, temporary)
    os.replace(temporary, state / CURRENT)
    _sync_folder(state)


def _points_to(state: Path, target: str) -> bool:
    try:
        return os.readlink(state / CURRENT) == target
    except OSError:
        return False


# ----------------------------------------------------------------------------------------
# Files layout


def publish_files(
    out: Path, state: Path, run: Path, new: Iterable[str], old: Iterable[str]
) -> None:
    """Move the run's files into place under a journal; roll back on any failure."""
    new = sorted(new, key=lambda rel: rel == MANIFEST)  # the manifest last in
    old = sorted(set(old), key=lambda rel: rel != MANIFEST)  # and first out
    backup = state / f"{BACKUP_PREFIX}{run.name}"
    journal = {"run": run.name, "backup": backup.name, "new": new, "old": old}
    _write_journal(state, journal)
    try:
        for rel in old:
            if os.path.lexists(out / rel):
                (backup / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(out / rel, backup / rel)
        for i, rel in enumerate(new):
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(run / rel, out / rel)
            if i == 0:
                pause_for_tests("publish")
        _sync_folder(out)
        (state / JOURNAL).unlink()  # the commit
        _sync_folder(state)
    except BaseException:
        with signals_deferred():
            recover(out, state)
        raise
    with contextlib.suppress(OSError):
        (state / CURRENT).unlink()  # a links layout before: its runs are pruned next
    shutil.rmtree(backup, ignore_errors=True)
    for rel in old:
        if rel not in new:
            _remove_empty_parents(out / rel, out)


def recover(out: Path, state: Path) -> bool:
    """Roll back a files-layout publication that was stopped; True when there was one.

    Every step is undone from the journal, in reverse, and each undo can be repeated, so
    recovery may itself be interrupted and run again.
    """
    path = state / JOURNAL
    try:
        journal = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        journal = None
    if isinstance(journal, dict):
        run, backup = state / RUNS / str(journal["run"]), state / str(journal["backup"])
        for rel in reversed(journal.get("new", [])):
            if os.path.lexists(out / rel) and not os.path.lexists(run / rel):
                (run / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(out / rel, run / rel)
                _remove_empty_parents(out / rel, out)
        for rel in journal.get("old", []):
            if os.path.lexists(backup / rel) and not os.path.lexists(out / rel):
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(backup / rel, out / rel)
        shutil.rmtree(backup, ignore_errors=True)
    path.unlink()
    _sync_folder(state)
    return True


def _write_journal(state: Path, journal: dict) -> None:
    temporary = state / f"{JOURNAL}.{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as fh:
        json.dump(journal, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temporary, state / JOURNAL)
    _sync_folder(state)


# ----------------------------------------------------------------------------------------
# Shared


def place_copy(source: Path, target: Path) -> None:
    """``target`` becomes an identical copy of ``source``: a hard link where possible."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    try:
        os.link(os.path.realpath(source), target)
    except OSError:  # no hard links here (FAT, some network shares) or another device
        shutil.copy2(source, target)


def prune(state: Path, keep: Iterable[Path] = ()) -> list[Path]:
    """Remove run folders, backups and temporary links other than ``current`` and ``keep``."""
    keep = {Path(p).resolve() for p in keep}
    current = current_run(state)
    if current is not None:
        keep.add(current)
    removed = []
    for entry in sorted((state / RUNS).glob("*")) if (state / RUNS).is_dir() else []:
        if entry.resolve() not in keep:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    for entry in state.glob(f"{BACKUP_PREFIX}*"):
        if not (state / JOURNAL).exists():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    for entry in state.glob(f"{CURRENT}.*"):
        with contextlib.suppress(OSError):
            entry.unlink()
    return removed


def _remove_empty_parents(path: Path, out: Path) -> None:
    """Remove the now-empty folders between ``path`` and ``out`` (a user's file keeps one)."""
    parent = path.parent
    while parent != out and out in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent


def _sync_folder(folder: Path) -> None:
    """Make renames in ``folder`` durable (where the platform can)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
