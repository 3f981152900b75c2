"""All or nothing: a run stopped at any point leaves the output folder matching its
manifest, with every file of one run and nothing of the other.

The runs are stopped at known points, deterministically: with ``CIRCLE15_TEST_PAUSE_AT``
a run creates a sentinel file at that point (``map.html``: that output is complete under
its temporary name; ``publish``: between two renames of publishing) and waits until the
test creates a release file; ``CIRCLE15_TEST_FAIL_AT`` raises an error there instead.

The oracle is :func:`check_folder` (``tests/factories/oracles.py``), written from the
manifest format alone: it hashes every file the folder shows (following links, as a reader
does) with hashlib and compares the set with the ``outputs`` of ``manifest.json``; and it
compares each file with the runs' own manifests to tell which run it belongs to.

Both layouts are tested: ``links`` (the default on POSIX: one atomic switch) and
``files`` (plain files and a journal, for file systems without symbolic links).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from circle15.cli import main
from circle15.outputs.staging import STAGE_PREFIX, remove_stale, staged_outputs

from ..factories.oracles import STATE, check_folder
from ..factories.runs import env_with, rerun_args, start, wait_for
from ..factories.studies import scenario_file, write_small_study

LAYOUTS = ["links", "files"]


# ----------------------------------------------------------------------------------------
# Fixtures: a study, a scenario that changes every table and adds an output, one run


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("study")
    return write_small_study(folder), scenario_file(folder)


@pytest.fixture(scope="module", params=LAYOUTS)
def first_run(request, study, tmp_path_factory) -> tuple[str, Path, dict]:
    """One complete run (without the scenario) in each layout, to be copied per test."""
    layout = request.param
    out = tmp_path_factory.mktemp(f"first-{layout}") / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "circle15.cli", "run", str(study[0]), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        env=env_with(CIRCLE15_OUTPUT_LAYOUT=layout),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return layout, out, check_folder(out)


@pytest.fixture
def folder(first_run, tmp_path) -> tuple[str, Path, dict]:
    layout, out, manifest = first_run
    copy = tmp_path / "out"
    shutil.copytree(out, copy, symlinks=True)  # links are relative: they stay valid
    assert check_folder(copy) == manifest
    return layout, copy, manifest


# ----------------------------------------------------------------------------------------
# Interrupted between two renames of publishing


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL", "injected error"])
def test_publishing_interrupted_between_two_renames(folder, study, tmp_path, how):
    layout, out, before = folder
    sentinel, release = tmp_path / "paused", tmp_path / "release"
    if how == "injected error":
        proc = start(
            rerun_args(study, out), CIRCLE15_OUTPUT_LAYOUT=layout, CIRCLE15_TEST_FAIL_AT="publish"
        )
    else:
        proc = start(
            rerun_args(study, out),
            CIRCLE15_OUTPUT_LAYOUT=layout,
            CIRCLE15_TEST_PAUSE_AT="publish",
            CIRCLE15_TEST_SENTINEL=str(sentinel),
            CIRCLE15_TEST_RELEASE=str(release),
        )
        wait_for(sentinel, proc)
        # Mid-publish: with links the folder still shows the first run, exactly (the new
        # output's link dangles: no file); plain files have no manifest while they move.
        if layout == "links":
            assert check_folder(out) == before
            assert os.path.islink(out / "scenario_gain.csv")
            assert not (out / "scenario_gain.csv").exists()
        else:
            assert not (out / "manifest.json").exists()
            assert (out / STATE / "journal.json").is_file()
        proc.send_signal(signal.SIGTERM if how == "SIGTERM" else signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    if how == "SIGKILL":
        assert proc.returncode == -signal.SIGKILL
        if layout == "files":  # the next command on the folder rolls the renames back,
            # even one that then fails on its own bad input
            broken = tmp_path / "broken"
            shutil.copytree(study[0].parent, broken)
            table = pd.read_csv(broken / "kindergarten.csv")
            pd.concat([table, table.assign(name="again")]).to_csv(
                broken / "kindergarten.csv", index=False
            )
            again = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "circle15.cli",
                    "run",
                    str(broken / "study.toml"),
                    "--out",
                    str(out),
                ],
                capture_output=True,
                text=True,
                timeout=300,
                env=env_with(CIRCLE15_OUTPUT_LAYOUT=layout),
            )
            assert again.returncode == 2 and "more than once" in again.stderr
            assert "was stopped while publishing" in again.stderr
            assert "rolled back" in again.stderr
    elif how == "SIGTERM":
        assert proc.returncode == 130, err
        assert "previous outputs are left as they were" in err and "Traceback" not in err
    else:
        assert proc.returncode == 1, err
        assert "injected failure" in err and "keeps the files of the previous run" in err
    assert check_folder(out) == before  # every file of the first run, nothing of the second
    assert not (out / "scenario_gain.csv").exists()
    # And the next run publishes the second one, whole.
    proc = subprocess.run(
        [sys.executable, "-m", "circle15.cli", *rerun_args(study, out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env_with(CIRCLE15_OUTPUT_LAYOUT=layout),
    )
    assert proc.returncode == 0, proc.stderr
    after = check_folder(out)
    assert "scenario_gain.csv" in after["outputs"] and after["run_id"] != before["run_id"]
    assert (
        after["outputs"]["districts.csv"]["sha256"] != before["outputs"]["districts.csv"]["sha256"]
    )
    assert sorted(p.name for p in (out / STATE / "runs").iterdir()) == (
        [after["run_id"]] if layout == "links" else []
    )
    assert not list((out / STATE).glob("backup-*")) and not (out / STATE / "journal.json").exists()


# ----------------------------------------------------------------------------------------
# Interrupted while writing


@pytest.mark.parametrize(
    "sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM], ids=["SIGKILL", "SIGINT", "SIGTERM"]
)
def test_killed_while_writing_keeps_previous_outputs(folder, study, tmp_path, sig):
    layout, out, before = folder
    snapshot = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    sentinel = tmp_path / "paused"
    proc = start(
        rerun_args(study, out),
        CIRCLE15_OUTPUT_LAYOUT=layout,
        CIRCLE15_TEST_PAUSE_AT="map.html",
        CIRCLE15_TEST_SENTINEL=str(sentinel),
        CIRCLE15_TEST_RELEASE=str(tmp_path / "never"),
    )
    wait_for(sentinel, proc)
    runs = [p for p in (out / STATE / "runs").iterdir() if p.name != before["run_id"]]
    assert len(runs) == 1 and (runs[0] / "districts.csv").is_file()  # the new run, mid-write
    assert (runs[0] / "districts.csv").read_bytes() != snapshot["districts.csv"]
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert check_folder(out) == before
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == snapshot
    if sig == signal.SIGKILL:  # no chance to clean up: the next command does it
        assert proc.returncode == -signal.SIGKILL and runs[0].exists()
    else:  # Ctrl-C or kill: the run removes its own partial files
        assert proc.returncode == 130, err
        assert "previous outputs are left as they were" in err and "Traceback" not in err
        assert not runs[0].exists()


def test_next_run_cleans_up_after_a_killed_one(folder, study, tmp_path):
    layout, out, before = folder
    sentinel = tmp_path / "paused"
    proc = start(
        rerun_args(study, out),
        CIRCLE15_OUTPUT_LAYOUT=layout,
        CIRCLE15_TEST_PAUSE_AT="map.html",
        CIRCLE15_TEST_SENTINEL=str(sentinel),
    )
    wait_for(sentinel, proc)
    proc.kill()
    proc.communicate(timeout=120)
    proc = subprocess.run(
        [sys.executable, "-m", "circle15.cli", "run", str(study[0]), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env_with(CIRCLE15_OUTPUT_LAYOUT=layout),
    )
    assert proc.returncode == 0, proc.stderr
    assert "was stopped before it finished" in proc.stderr  # the stale lock, taken over
    after = check_folder(out)
    assert after["outputs"].keys() == before["outputs"].keys()
    runs = sorted(p.name for p in (out / STATE / "runs").iterdir())
    assert runs == ([after["run_id"]] if layout == "links" else [])


# ----------------------------------------------------------------------------------------
# The library's staging, and the leftovers of older versions


def test_staged_outputs_publish_as_a_unit_and_keep_other_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with staged_outputs(out) as stage:
        for name in ("a.csv", "z.csv"):
            (stage / name).write_text(name, encoding="utf-8")
        (stage / "sub").mkdir()
        (stage / "sub" / "b.csv").write_text("b", encoding="utf-8")
        assert not (out / "a.csv").exists()  # nothing visible before the end
    manifest = check_folder(out, skip=("notes.txt",))
    assert sorted(manifest["outputs"]) == ["a.csv", "sub/b.csv", "z.csv"]
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    with staged_outputs(out) as stage:  # a run that writes less: the rest goes
        (stage / "a.csv").write_text("again", encoding="utf-8")
    assert sorted(check_folder(out, skip=("notes.txt",))["outputs"]) == ["a.csv"]
    assert not (out / "sub").exists() and (out / "notes.txt").exists()


def test_stale_files_of_older_versions_are_removed_only_when_dead(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (tmp_path / f"{STAGE_PREFIX}{dead}-abc").mkdir()
    (tmp_path / f".circle15-tmp-{dead}-map.html.x1.html").write_text("half")
    (tmp_path / f"{STAGE_PREFIX}{os.getpid()}-live").mkdir()  # a run going on now
    (tmp_path / ".hidden-of-the-user").write_text("keep")
    assert len(remove_stale(tmp_path)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{STAGE_PREFIX}{os.getpid()}-live", ".hidden-of-the-user"]
    )


def test_a_folder_of_an_older_circle15_is_taken_over_file_by_file(folder, study):
    """Plain files and a manifest without ``format`` (as circle15 0.1 wrote them): each
    output listed with its SHA-256 becomes a link to an identical copy; a user's file and an
    edited output stay."""
    layout, out, before = folder
    if layout == "links":  # make it look like 0.1: plain files, an old manifest
        for rel in before["outputs"]:
            data = (out / rel).read_bytes()
            (out / rel).unlink()
            (out / rel).write_bytes(data)
        old = {k: v for k, v in before.items() if k not in ("format", "command", "run_id")}
        (out / "manifest.json").unlink()
        (out / "manifest.json").write_text(json.dumps(old), encoding="utf-8")
        shutil.rmtree(out / STATE)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    code = main(["run", str(study[0]), "--out", str(out), "--quiet"])
    assert code == 0
    after = check_folder(out, skip=("notes.txt",))
    assert after["outputs"].keys() == before["outputs"].keys()
    assert all(os.path.islink(out / rel) for rel in after["outputs"])
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_files_layout_moves_plain_files_and_back_to_links(study, tmp_path):
    out = tmp_path / "out"
    env = os.environ.copy()
    try:
        os.environ["CIRCLE15_OUTPUT_LAYOUT"] = "files"
        assert main(["run", str(study[0]), "--out", str(out), "--quiet"]) == 0
        first = check_folder(out)
        assert first["layout"] == "files" and not os.path.islink(out / "map.html")
        os.environ["CIRCLE15_OUTPUT_LAYOUT"] = "links"
        assert main(["run", str(study[0]), "--out", str(out), "--quiet"]) == 0
        second = check_folder(out)
        assert second["layout"] == "links" and os.path.islink(out / "map.html")
    finally:
        os.environ.clear()
        os.environ.update(env)
    tables = pd.read_csv(out / "districts.csv", encoding="utf-8-sig")
    assert len(tables) and (out / "map.html").read_bytes()[:15].lower().startswith(b"<!doctype")
