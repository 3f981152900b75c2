"""Write files atomically: to a temporary name in the same folder, then rename."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Name prefix of temporary files; ``staging.remove_stale`` clears those of killed runs.
TEMP_PREFIX = ".circle15-tmp-"


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it replaces ``target``.

    An error or interruption inside the block leaves ``target`` as it was and removes the
    temporary file, so readers never see half a file.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f"{TEMP_PREFIX}{os.getpid()}-{target.name}.", suffix=target.suffix, dir=target.parent
    )
    os.close(fd)
    os.unlink(tmp)  # writers such as GDAL want to create the file themselves
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _pause_for_tests(target)
        os.replace(tmp_path, target)
    except OSError as exc:
        if exc.filename is None and exc.errno is not None:  # Python's own writes do not
            exc.filename = str(target)  # say which file failed
        raise
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(target: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target


def _pause_for_tests(target: Path) -> None:
    pause_for_tests(target.name)


def pause_for_tests(point: str) -> None:
    """Test hook: stop a run at a known point, so that a test can interrupt it there.

    ``point`` is an output's file name (once it is fully written to its temporary name)
    or ``"publish"`` (between two renames of publishing). With
    ``CIRCLE15_TEST_PAUSE_AT=<point>`` and ``CIRCLE15_TEST_SENTINEL=<path>`` in the
    environment, the run creates the sentinel file there and then waits, up to a minute,
    until the file ``CIRCLE15_TEST_RELEASE`` names exists. With
    ``CIRCLE15_TEST_FAIL_AT=<point>`` it raises an error there instead.
    """
    if os.environ.get("CIRCLE15_TEST_FAIL_AT") == point:
        raise RuntimeError(f"injected failure at {point} (CIRCLE15_TEST_FAIL_AT)")
    if os.environ.get("CIRCLE15_TEST_PAUSE_AT") != point:
        return
    sentinel = os.environ.get("CIRCLE15_TEST_SENTINEL")
    if sentinel:
        Path(sentinel).write_text(str(os.getpid()), encoding="utf-8")
    release = os.environ.get("CIRCLE15_TEST_RELEASE")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (release and os.path.exists(release)):
        time.sleep(0.02)
