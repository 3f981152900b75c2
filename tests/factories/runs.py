"""The command line in its own process, as a user starts it, for runs a test stops midway.

Runs pause at a point with ``CIRCLE15_TEST_PAUSE_AT`` (they create a sentinel file and
wait for a release file) or fail there with ``CIRCLE15_TEST_FAIL_AT``; ``env_with`` keeps
those hooks out of every other run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def env_with(**values: str) -> dict[str, str]:
    """This process's environment without test hooks (``CIRCLE15_TEST_*``), plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIRCLE15_TEST_")}
    return {**env, **values}


def start(args: list[str], **env: str) -> subprocess.Popen:
    """``python -m circle15.cli *args`` in its own process, output captured."""
    return subprocess.Popen(
        [sys.executable, "-m", "circle15.cli", *args],
        env=env_with(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(sentinel: Path, proc: subprocess.Popen, timeout: float = 300) -> None:
    """Wait until a paused run created ``sentinel``; fail when it ended or took too long."""
    deadline = time.monotonic() + timeout
    while not sentinel.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the run did not reach the pause: {proc.communicate()}")
        time.sleep(0.02)


def rerun_args(study: tuple[Path, Path], out: Path) -> list[str]:
    """``run`` of a (study file, scenario file) pair into ``out``."""
    return ["run", str(study[0]), "--scenario", str(study[1]), "--out", str(out), "--quiet"]
