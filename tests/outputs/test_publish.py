"""One output folder, many commands: locks, the user's files, inputs that live there, and
every command's files in one manifest.

The folder oracle is ``check_folder`` of ``tests/factories/oracles.py`` (hashlib over
what a reader sees, compared with ``manifest.json``). Concurrency is real: two processes
on one folder, the first held at a known point (``CIRCLE15_TEST_PAUSE_AT``).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from circle15.cli import main
from circle15.outputs.manifest import dumps

from ..factories.oracles import STATE, check_folder
from ..factories.runs import env_with, rerun_args, start, wait_for
from ..factories.studies import scenario_file, write_small_study


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("study")
    return write_small_study(folder), scenario_file(folder)


@pytest.fixture(scope="module")
def published(study, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("published") / "out"
    assert main(["run", str(study[0]), "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture
def out(published, tmp_path) -> Path:
    copy = tmp_path / "out"
    shutil.copytree(published, copy, symlinks=True)
    return copy


def broken_study(study: tuple[Path, Path], tmp_path: Path) -> Path:
    """The study with duplicate kindergarten ids: reading it fails (exit 2) — so a message
    about the output folder proves the folder was checked before any input was read."""
    folder = tmp_path / "broken"
    shutil.copytree(study[0].parent, folder)
    table = pd.read_csv(folder / "kindergarten.csv")
    pd.concat([table, table.assign(name="again")]).to_csv(folder / "kindergarten.csv", index=False)
    return folder / "study.toml"


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.err


# ----------------------------------------------------------------------------------------
# Two commands on one folder


def test_a_second_run_exits_2_naming_the_first(out, study, tmp_path, capsys):
    before = check_folder(out)
    sentinel = tmp_path / "paused"
    first = start(
        rerun_args(study, out),
        CIRCLE15_TEST_PAUSE_AT="publish",
        CIRCLE15_TEST_SENTINEL=str(sentinel),
        CIRCLE15_TEST_RELEASE=str(tmp_path / "release"),
    )
    wait_for(sentinel, first)
    code, err = run_cli(["run", str(study[0]), "--out", str(out), "--quiet"], capsys)
    assert code == 2, err
    assert f"pid {first.pid} on {socket.gethostname()}" in err
    assert "run" in err and "--scenario" in err and "started 20" in err  # command, start
    assert "--wait" in err and "Traceback" not in err
    assert check_folder(out) == before  # the second run changed nothing
    (tmp_path / "release").touch()
    first.communicate(timeout=300)  # (and its pipes closed)
    assert first.returncode == 0
    assert "scenario_gain.csv" in check_folder(out)["outputs"]


def test_a_second_run_with_wait_runs_after_the_first(out, study, tmp_path):
    sentinel = tmp_path / "paused"
    first = start(
        rerun_args(study, out),
        CIRCLE15_TEST_PAUSE_AT="publish",
        CIRCLE15_TEST_SENTINEL=str(sentinel),
        CIRCLE15_TEST_RELEASE=str(tmp_path / "release"),
    )
    wait_for(sentinel, first)
    second = start(["run", str(study[0]), "--out", str(out), "--wait"])
    with pytest.raises(subprocess.TimeoutExpired):
        second.wait(timeout=20)  # blocked on the lock (it loads its study file first)
    assert second.poll() is None  # still waiting
    (tmp_path / "release").touch()
    first.communicate(timeout=300)
    assert first.returncode == 0
    _, err = second.communicate(timeout=600)
    assert second.returncode == 0, err
    assert "waiting for `" in err and f"pid {first.pid}" in err
    final = check_folder(out)
    assert "scenario_gain.csv" not in final["outputs"]  # the second run's set, whole


def test_the_lock_of_a_killed_run_is_taken_over(out, study, tmp_path):
    sentinel = tmp_path / "paused"
    first = start(
        rerun_args(study, out),
        CIRCLE15_TEST_PAUSE_AT="publish",
        CIRCLE15_TEST_SENTINEL=str(sentinel),
        CIRCLE15_TEST_RELEASE=str(tmp_path / "release"),
    )
    wait_for(sentinel, first)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=60)
    proc = subprocess.run(
        [sys.executable, "-m", "circle15.cli", "run", str(study[0]), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env_with(),
    )
    assert proc.returncode == 0, proc.stderr
    assert f"pid {first.pid}" in proc.stderr and "was stopped" in proc.stderr
    check_folder(out)


# ----------------------------------------------------------------------------------------
# The user's files


def test_a_users_file_under_an_output_name_is_never_replaced(out, study, tmp_path, capsys):
    (out / "scenario_gain.csv").write_text("my own table\n", encoding="utf-8")
    (out / "notes.txt").write_text("notes\n", encoding="utf-8")
    broken = broken_study(study, tmp_path)
    code, err = run_cli(
        ["run", str(broken), "--scenario", str(study[1]), "--out", str(out), "--quiet"], capsys
    )
    assert code == 2
    assert f"{out / 'scenario_gain.csv'} is not a file circle15 wrote" in err
    assert "move or rename it" in err and "more than once" not in err  # before any input
    assert (out / "scenario_gain.csv").read_text(encoding="utf-8") == "my own table\n"
    assert (out / "notes.txt").read_text(encoding="utf-8") == "notes\n"
    check_folder(out, skip=("scenario_gain.csv", "notes.txt"))
    # Without the scenario the run writes no such table: it runs, and leaves both alone.
    assert main(["run", str(study[0]), "--out", str(out), "--quiet"]) == 0
    assert (out / "scenario_gain.csv").read_text(encoding="utf-8") == "my own table\n"


def test_a_user_replaced_output_is_never_overwritten(out, study, tmp_path, capsys):
    (out / "index.csv").unlink()
    (out / "index.csv").write_text("my own index\n", encoding="utf-8")
    code, err = run_cli(
        ["run", str(broken_study(study, tmp_path)), "--out", str(out), "--quiet"], capsys
    )
    assert code == 2 and "more than once" not in err
    assert f"{out / 'index.csv'} was changed after circle15 wrote it" in err
    assert (out / "index.csv").read_text(encoding="utf-8") == "my own index\n"


def test_an_output_edited_through_its_link_is_never_lost(out, study, capsys):
    with open(out / "districts.csv", "a", encoding="utf-8") as fh:  # writes through the link
        fh.write("my,own,row\n")
    edited = (out / "districts.csv").read_bytes()
    code, err = run_cli(["run", str(study[0]), "--out", str(out), "--quiet"], capsys)
    assert code == 2
    assert "districts.csv was changed after circle15 wrote it" in err and "cp -L" in err
    assert (out / "districts.csv").read_bytes() == edited
    # Kept elsewhere and deleted, the output is written anew.
    shutil.copy(out / "districts.csv", out / "my_districts.csv")
    (out / "districts.csv").unlink()
    assert main(["run", str(study[0]), "--out", str(out), "--quiet"]) == 0
    assert (out / "my_districts.csv").read_bytes() == edited
    check_folder(out, skip=("my_districts.csv",))


def test_an_edited_plain_output_is_never_replaced(study, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CIRCLE15_OUTPUT_LAYOUT", "files")
    out = tmp_path / "out"
    assert main(["run", str(study[0]), "--out", str(out), "--quiet"]) == 0
    (out / "map.html").write_text("<p>my notes on the map</p>", encoding="utf-8")
    code, err = run_cli(["run", str(study[0]), "--out", str(out), "--quiet"], capsys)
    assert code == 2 and "map.html was changed after circle15 wrote it" in err
    assert (out / "map.html").read_text(encoding="utf-8") == "<p>my notes on the map</p>"


def test_an_input_under_an_output_name_is_refused_before_work(study, tmp_path, capsys):
    folder = tmp_path / "study"
    shutil.copytree(study[0].parent, folder)
    out = folder  # the study folder as output folder: its kindergarten table named index.csv
    (folder / "kindergarten.csv").rename(folder / "index.csv")
    toml = folder / "study.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace("kindergarten.csv", "index.csv"), encoding="utf-8"
    )
    before = (folder / "index.csv").read_bytes()
    code, err = run_cli(["run", str(toml), "--out", str(out), "--quiet"], capsys)
    assert code == 2
    assert "lives in the output folder under the name of an output (index.csv)" in err
    assert (folder / "index.csv").read_bytes() == before
    assert not (folder / STATE).exists() and not (folder / "map.html").exists()


def test_an_input_that_is_an_output_of_the_folder_is_refused(out, study, tmp_path, capsys):
    folder = tmp_path / "study2"
    shutil.copytree(study[0].parent, folder)
    toml = folder / "study.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8")
        .replace('path = "population.gpkg"', f'path = "{out / "results.gpkg"}"')
        .replace('layer = "cells"', 'layer = "cells"'),
        encoding="utf-8",
    )
    code, err = run_cli(["run", str(toml), "--out", str(out), "--quiet"], capsys)
    assert code == 2 and "is one of the files circle15 wrote into the output folder" in err
    check_folder(out)


# ----------------------------------------------------------------------------------------
# Every command through the same staging and manifest


def test_compare_adds_its_files_beside_the_runs(out, study, tmp_path, capsys):
    before = check_folder(out)
    reference = tmp_path / "ref.csv"
    reference.write_text(
        "unit,indicator,value\n西区,综合,60\nEast,composite,40\n全区,可及,50\nnowhere,综合,1\n",
        encoding="utf-8",
    )
    code, err = run_cli(
        ["compare", str(study[0]), "--reference", str(reference), "--out", str(out), "--quiet"],
        capsys,
    )
    assert code == 0, err
    manifest = check_folder(out)
    commands = {rel: rec["command"] for rel, rec in manifest["outputs"].items()}
    assert commands["comparison.csv"] == "compare" and commands["map.html"] == "run"
    assert commands["comparison_unmatched.csv"] == "compare"
    for rel in before["outputs"]:  # the run's files, unchanged
        assert manifest["outputs"][rel]["sha256"] == before["outputs"][rel]["sha256"]
    assert manifest["earlier"]["run"]["run_id"] == before["run_id"]
    assert "compare.reference" in manifest["inputs"]
    # A run after it writes its own set, and keeps the comparison it did not redo.
    assert main(["run", str(study[0]), "--out", str(out), "--quiet"]) == 0
    again = check_folder(out)
    assert (
        again["outputs"]["comparison.csv"]["sha256"]
        == manifest["outputs"]["comparison.csv"]["sha256"]
    )
    assert again["outputs"]["comparison.csv"]["command"] == "compare"


def test_run_with_a_scenario_lists_its_gain_table(study, tmp_path):
    out = tmp_path / "out"
    assert main(rerun_args(study, out)) == 0
    manifest = check_folder(out)
    assert "scenario_gain.csv" in manifest["outputs"]
    assert manifest["inputs"]["scenario"]["sha256"]


def test_sites_publishes_with_a_manifest(study, tmp_path):
    out = tmp_path / "sites"
    assert (
        main(
            [
                "sites",
                str(study[0]),
                "--category",
                "kindergarten",
                "--add",
                "1",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    manifest = check_folder(out)
    assert set(manifest["outputs"]) == {"sites.csv", "sites.gpkg", "sites_map.html"}
    assert manifest["command"] == "sites" and manifest["parameters"]["add"] == 1


def test_sites_refuses_an_unknown_category_before_the_run(study, tmp_path, capsys):
    code, err = run_cli(
        ["sites", str(study[0]), "--category", "../..", "--add", "1", "--quiet"], capsys
    )
    assert code == 2 and "not a category of this study" in err
    assert not (tmp_path / "out").exists()


def test_manifest_is_strict_json():
    text = dumps(
        {
            "a": math.nan,
            "b": [math.inf, -math.inf],
            "c": np.float32("nan"),
            "d": np.int64(3),
            "e": np.bool_(True),
            "f": Path("x"),
            2: "key",
        }
    )
    strict = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert strict == {
        "a": None,
        "b": [None, None],
        "c": None,
        "d": 3,
        "e": True,
        "f": "x",
        "2": "key",
    }


def test_run_manifest_parses_as_strict_json(published):
    text = (published / "manifest.json").read_text(encoding="utf-8")
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert "NaN" not in text and "Infinity" not in text


# ----------------------------------------------------------------------------------------
# A batch: regions and combined tables, one set


@pytest.fixture(scope="module")
def batch_file(tmp_path_factory) -> Path:
    from benchmarks.synthetic_batch import write_synthetic_batch

    folder = tmp_path_factory.mktemp("batch")
    return write_synthetic_batch(folder, n_nodes=900, columns=2, rows=1)


def test_batch_publishes_regions_and_tables_together_and_resumes(batch_file, tmp_path):
    out = tmp_path / "out"
    failed = subprocess.run(
        [
            sys.executable,
            "-m",
            "circle15.cli",
            "batch",
            str(batch_file),
            "--out",
            str(out),
            "--workers",
            "0",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=env_with(CIRCLE15_TEST_FAIL_AT="publish"),
    )
    assert failed.returncode == 1 and "injected failure" in failed.stderr
    assert not (out / "manifest.json").exists() and not (out / "r01").exists()
    kept = list((out / STATE / "runs").glob("*/r0*/batch_region.json"))
    assert len(kept) == 2  # the regions it finished stay for the next run
    code = subprocess.run(
        [
            sys.executable,
            "-m",
            "circle15.cli",
            "batch",
            str(batch_file),
            "--out",
            str(out),
            "--workers",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=env_with(),
    )
    assert code.returncode == 0, code.stderr
    assert "2 of 2 regions are up to date and kept" in code.stderr
    manifest = check_folder(out)
    assert {
        "r01/map.html",
        "r02/districts.csv",
        "r01/batch_region.json",
        "districts.csv",
        "map.html",
    } <= set(manifest["outputs"])
    regions = pd.read_csv(out / "regions.csv", encoding="utf-8-sig")
    assert list(regions["status"]) == ["skipped", "skipped"]
    assert sorted(p.name for p in (out / STATE / "runs").iterdir()) == [manifest["run_id"]]


# ----------------------------------------------------------------------------------------
# Links in a browser: report.html opened through its link shows the map beside it


def test_report_through_its_link_shows_the_map_in_chromium(published, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    from ..factories.browser import FLAGS, chromium_binary

    exe = chromium_binary()
    if exe is None:
        pytest.skip("no Chromium binary found")
    assert os.path.islink(published / "report.html")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=FLAGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route(
            "**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort()
        )
        page.goto((published / "report.html").as_uri(), wait_until="load")
        frame = page.frame_locator("iframe.c15-map")
        frame.locator(".leaflet-container").wait_for(timeout=60_000)
        assert frame.locator(".leaflet-interactive").count() > 0  # cells drawn
        href = page.evaluate("document.querySelector('iframe.c15-map').src")
        link = page.evaluate("document.querySelector(\"a[href='map.html']\").href")
        page.goto(link, wait_until="load")  # the report's link, as a click would follow it
        page.locator(".leaflet-container").wait_for(timeout=60_000)
        assert page.locator(".leaflet-interactive").count() > 0
        browser.close()
    assert href == link == (published / "map.html").as_uri()  # beside the link, as typed
    assert errors == []


# ----------------------------------------------------------------------------------------
# The lock itself: flock, and the exclusive file where flock is not available


def _dead_pid() -> int:
    return int(
        subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )


@pytest.mark.parametrize("kind", ["flock", "file"])
def test_the_lock_names_its_holder_and_is_taken_over_when_stale(tmp_path, monkeypatch, kind):
    import json as json_module

    from circle15.errors import OutputError
    from circle15.outputs.lock import HELD_FILE, LOCK_FILE, FolderLock

    if kind == "file":
        monkeypatch.setenv("CIRCLE15_LOCK", "file")
    state = tmp_path / ".circle15"
    state.mkdir()
    first = FolderLock(state, tmp_path, "circle15 run a.toml")
    first.acquire()
    second = FolderLock(state, tmp_path, "circle15 run b.toml")
    with pytest.raises(OutputError) as caught:
        second.acquire()
    message = str(caught.value)
    assert f"pid {os.getpid()} on {socket.gethostname()}" in message
    assert "`circle15 run a.toml`" in message and "started 20" in message
    first.release()
    second.acquire()
    assert second.stale is None  # released properly: nobody died holding it
    second.release()
    # A holder that died: its information is left behind, and taken over.
    dead = {
        "pid": _dead_pid(),
        "host": socket.gethostname(),
        "user": "x",
        "command": "circle15 run dead.toml",
        "started_utc": "2026-01-01T00:00:00+00:00",
    }
    (state / (HELD_FILE if kind == "file" else LOCK_FILE)).write_text(
        json_module.dumps(dead), encoding="utf-8"
    )
    third = FolderLock(state, tmp_path, "circle15 run c.toml")
    third.acquire()
    assert third.stale == dead
    third.release()
    if kind == "file":  # another host's lock cannot be checked: it is respected
        (state / HELD_FILE).write_text(
            json_module.dumps({**dead, "host": "elsewhere"}), encoding="utf-8"
        )
        with pytest.raises(OutputError, match="elsewhere"):
            FolderLock(state, tmp_path, "circle15 run d.toml").acquire()
