"""A run killed while it writes leaves the previous outputs byte for byte as they were.

The run is stopped at a known point, deterministically: with ``CIRCLE15_TEST_PAUSE_AT`` the
writer of that file creates a sentinel once the new file is complete under its temporary
name and then waits; the test waits for the sentinel and sends the signal. By then the
CSV tables and the GeoPackage of the new run are written (in the staging folder).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from circle15.cli import main
from circle15.outputs.staging import STAGE_PREFIX, publish, remove_stale, staged_outputs

from .smallstudy import write_small_study


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every visible file of an output folder with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and not p.name.startswith(".")}


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def finished_run(tmp_path):
    """A study with one complete run in ``out``, then an input change for the next run."""
    toml = write_small_study(tmp_path / "study")
    out = tmp_path / "out"
    assert main(["run", str(toml), "--out", str(out), "--quiet"]) == 0
    before = snapshot(out)
    # the next run would give other numbers: a kindergarten's capacity changes
    csv = tmp_path / "study" / "kindergarten.csv"
    pd.read_csv(csv).assign(capacity=55).to_csv(csv, index=False)
    return toml, out, before


def start_paused_run(toml: Path, out: Path, sentinel: Path) -> subprocess.Popen:
    env = {**os.environ, "CIRCLE15_TEST_PAUSE_AT": "map.html",
           "CIRCLE15_TEST_SENTINEL": str(sentinel)}
    proc = subprocess.Popen([sys.executable, "-m", "circle15.cli", "run", str(toml), "--out",
                             str(out), "--quiet"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not sentinel.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the run did not reach map.html: {proc.communicate()}")
        time.sleep(0.05)
    return proc


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM],
                         ids=["SIGKILL", "SIGINT", "SIGTERM"])
def test_killed_while_writing_keeps_previous_outputs(finished_run, tmp_path, sig):
    toml, out, before = finished_run
    proc = start_paused_run(toml, out, tmp_path / "paused")
    staged = [p for p in out.iterdir() if p.name.startswith(STAGE_PREFIX)]
    assert len(staged) == 1 and (staged[0] / "districts.csv").is_file()  # mid-write
    assert (staged[0] / "districts.csv").read_bytes() != before["districts.csv"]
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert snapshot(out) == before  # every old file, byte for byte; no new file
    if sig == signal.SIGKILL:  # no chance to clean up: the next run does it
        assert proc.returncode == -signal.SIGKILL and hidden(out)
    else:  # Ctrl-C or kill: the run removes its own temporary files
        assert proc.returncode == 130, err
        assert "previous outputs are left as they were" in err and "Traceback" not in err
        assert hidden(out) == []


def test_next_run_cleans_up_and_replaces_everything(finished_run, tmp_path):
    toml, out, before = finished_run
    proc = start_paused_run(toml, out, tmp_path / "paused")
    proc.kill()
    proc.communicate(timeout=120)
    assert hidden(out)  # the killed run's staging folder and temporary file
    assert main(["run", str(toml), "--out", str(out), "--quiet"]) == 0
    after = snapshot(out)
    assert hidden(out) == []
    assert after.keys() == before.keys()
    assert after["districts.csv"] != before["districts.csv"]  # the new capacity is in


def test_staging_publishes_manifest_last_and_keeps_other_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with staged_outputs(out) as stage:
        for name in ("manifest.json", "a.csv", "z.csv"):
            (stage / name).write_text(name, encoding="utf-8")
        (stage / "sub").mkdir()
        (stage / "sub" / "b.csv").write_text("b", encoding="utf-8")
        assert not (out / "a.csv").exists()  # nothing visible before the end
    assert snapshot(out) == {"a.csv": b"a.csv", "manifest.json": b"manifest.json",
                             "notes.txt": b"mine", "z.csv": b"z.csv"}
    assert (out / "sub" / "b.csv").read_text(encoding="utf-8") == "b"
    stage = tmp_path / "stage"
    stage.mkdir()
    for name in ("manifest.json", "b.csv", "a.csv"):
        (stage / name).write_text(name, encoding="utf-8")
    assert [p.name for p in publish(stage, out)] == ["a.csv", "b.csv", "manifest.json"]


def test_stale_files_of_dead_runs_only_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / f"{STAGE_PREFIX}{dead}-abc").mkdir()
    (tmp_path / f".circle15-tmp-{dead}-map.html.x1.html").write_text("half")
    (tmp_path / f"{STAGE_PREFIX}{os.getpid()}-live").mkdir()  # a run going on now
    (tmp_path / ".hidden-of-the-user").write_text("keep")
    removed = remove_stale(tmp_path)
    assert len(removed) == 2
    assert hidden(tmp_path) == sorted([f"{STAGE_PREFIX}{os.getpid()}-live",
                                       ".hidden-of-the-user"])


def test_optional_output_of_an_earlier_run_goes_when_not_written(tmp_path):
    out = tmp_path / "out"
    with staged_outputs(out) as stage:
        (stage / "comparison_unmatched.csv").write_text("row", encoding="utf-8")
    assert (out / "comparison_unmatched.csv").exists()
    with staged_outputs(out) as stage:
        (stage / "comparison.csv").write_text("all matched", encoding="utf-8")
    assert snapshot(out) == {"comparison.csv": b"all matched"}
