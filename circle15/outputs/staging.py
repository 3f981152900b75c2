"""All or nothing: a run writes its outputs into a hidden folder, then moves them in.

Each file is already written atomically (:mod:`circle15.outputs.atomic`), but a run that
stops halfway would still leave a mix of new and old files. :func:`staged_outputs` keeps
the previous run's files untouched until every new file is complete: they are written
into ``<out>/.circle15-run-<pid>-…/`` and only then renamed into ``<out>``, the manifest
last. Leftovers of a killed run (its staging folder, temporary files) are removed by the
next run into the same folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .atomic import TEMP_PREFIX

#: Name prefix of a run's staging folder inside the output folder.
STAGE_PREFIX = ".circle15-run-"
#: Moved into place last: a folder whose manifest lists a file's hash is a complete run.
LAST = "manifest.json"


#: Outputs that a run writes only sometimes; when it does not, an earlier run's copy goes.
OPTIONAL = ("comparison_unmatched.csv",)


@contextmanager
def staged_outputs(out_dir: Path | str, optional: tuple[str, ...] = OPTIONAL) -> Iterator[Path]:
    """Yield a fresh staging folder; on success its files replace those in ``out_dir``.

    Parameters
    ----------
    out_dir : Path or str
        The output folder (created if missing). Files in it that this run does not write
        are left alone, except the ``optional`` ones, which are removed when absent from
        the staging folder (they would describe an earlier run).

    Yields
    ------
    Path
        The staging folder to write into, on the same file system as ``out_dir``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale(out_dir)
    stage = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-", dir=out_dir))
    try:
        yield stage
        absent = [name for name in optional if not (stage / name).exists()]
        publish(stage, out_dir)
        for name in absent:
            (out_dir / name).unlink(missing_ok=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def publish(stage: Path, out_dir: Path) -> list[Path]:
    """Rename every file of ``stage`` into ``out_dir`` (sub-folders kept), ``LAST`` last."""
    files = sorted(p for p in stage.rglob("*") if p.is_file())
    files.sort(key=lambda p: p.relative_to(stage).as_posix() == LAST)  # stable: LAST at end
    moved = []
    for src in files:
        dst = out_dir / src.relative_to(stage)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)
        moved.append(dst)
    return moved


def remove_stale(out_dir: Path) -> list[Path]:
    """Remove staging folders and temporary files left in ``out_dir`` by killed runs.

    Only names circle15 itself makes (``.circle15-run-<pid>-…``, ``.circle15-tmp-<pid>-…``)
    whose process is no longer running are removed, so a run going on at the same time in
    the same folder keeps its files.
    """
    removed = []
    for entry in out_dir.iterdir():
        for prefix in (STAGE_PREFIX, TEMP_PREFIX):
            if entry.name.startswith(prefix) and not _running(entry.name[len(prefix):]):
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed.append(entry)
    return removed


def _running(rest: str) -> bool:
    """Whether the process whose id starts ``rest`` (``"<pid>-…"``) is still running."""
    pid = rest.split("-", 1)[0]
    if not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
