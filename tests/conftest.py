"""Shared fixtures: the demo run is computed once per test session; ``browser`` (Debian's
Chromium through Playwright, offline) comes from ``tests/factories/browser.py``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .factories.browser import browser  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _network_cache_in_tmp(tmp_path_factory):
    """Tests keep their network cache (and the CLI runs they start) out of ~/.cache."""
    if "CIRCLE15_CACHE" not in os.environ:
        os.environ["CIRCLE15_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """Run ``circle15 run`` (the demo) once, as a user would, into a temporary folder."""
    out = tmp_path_factory.mktemp("demo") / "zhenhai"
    proc = subprocess.run(
        [sys.executable, "-m", "circle15.cli", "run", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path_factory.getbasetemp(),
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    return out, proc


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real Zhenhai reference data beside the project; tests skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present (reference data for validation only)")
    return SHARED_DATA
