"""The output folder is checked before any input is read, and a full disk is named.

Every case runs a study whose facility table is broken (duplicate ids): when the message
is about the output folder, the folder was checked before that input was read. Exit code
2, one paragraph naming the folder and the fix, no traceback.

Unwritable folders are real: as root (who may write anywhere) the command runs with its
capabilities dropped (``setpriv``), a read-only file system is a read-only tmpfs mount,
and a full disk a small tmpfs; where mounting is not allowed the disk fills through
``RLIMIT_FSIZE`` instead (with ``SIGXFSZ`` ignored, as a write then fails with EFBIG).
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from circle15.cli import main

from ..factories.oracles import check_folder
from ..factories.runs import env_with
from ..factories.studies import write_small_study

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("broken")
    toml = write_small_study(folder)
    table = pd.read_csv(folder / "kindergarten.csv")
    pd.concat([table, table.assign(name="again")]).to_csv(folder / "kindergarten.csv", index=False)
    return toml


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    return write_small_study(tmp_path_factory.mktemp("good"))


def expect_folder_error(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert err.startswith("circle15: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "more than once" not in err, err  # no input was read
    missing = [w for w in words if w not in err]
    assert not missing, f"{missing} not in {err}"


def run_in_process(toml: Path, out: Path, capsys) -> tuple[int, str]:
    code = main(["run", str(toml), "--out", str(out), "--quiet"])
    return code, capsys.readouterr().err


def run_without_privileges(toml: Path, out: Path) -> tuple[int, str]:
    """The command as a user who may not write where permissions say no."""
    command = [sys.executable, "-m", "circle15.cli", "run", str(toml), "--out", str(out), "--quiet"]
    if IS_ROOT:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot drop the right to write")
        command = [setpriv, "--inh-caps=-all", "--bounding-set=-all", *command]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env_with())
    return proc.returncode, proc.stderr


@contextlib.contextmanager
def tmpfs(path: Path, size: str, *, read_only: bool = False) -> Iterator[bool]:
    """Mount a tmpfs at ``path``; yields False (mounts nothing) where that is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size},mode=0755" + (",ro" if read_only else "")
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
            capture_output=True,
            timeout=60,
        )
    except (FileNotFoundError, subprocess.TimeoutExpired):
        done = None
    if done is None or done.returncode != 0:
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=60)


# ----------------------------------------------------------------------------------------
# Folders that cannot be written


def test_output_folder_is_a_file(broken, tmp_path, capsys):
    out = tmp_path / "out"
    out.write_text("a file", encoding="utf-8")
    code, err = run_in_process(broken, out, capsys)
    expect_folder_error(code, err, str(out), "is a file, not a folder", "choose another --out")
    assert out.read_text(encoding="utf-8") == "a file"


def test_output_folder_under_a_file(broken, tmp_path, capsys):
    (tmp_path / "report.pdf").write_text("a file", encoding="utf-8")
    out = tmp_path / "report.pdf" / "out"
    code, err = run_in_process(broken, out, capsys)
    expect_folder_error(
        code, err, str(tmp_path / "report.pdf"), "is a file", "no folder can be made under it"
    )


def test_output_folder_is_a_broken_link(broken, tmp_path, capsys):
    out = tmp_path / "out"
    out.symlink_to(tmp_path / "gone")
    code, err = run_in_process(broken, out, capsys)
    expect_folder_error(code, err, "is a broken link")


def test_circle15_folder_is_a_file(broken, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".circle15").write_text("mine", encoding="utf-8")
    code, err = run_in_process(broken, out, capsys)
    expect_folder_error(code, err, ".circle15 is not circle15's folder")


def test_output_folder_not_creatable(broken, tmp_path):
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        code, err = run_without_privileges(broken, parent / "out")
    finally:
        parent.chmod(0o755)
    expect_folder_error(code, err, "cannot create output folder", "permission denied")
    assert not (parent / "out").exists()


def test_output_folder_not_writable(broken, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    out.chmod(0o555)
    try:
        code, err = run_without_privileges(broken, out)
    finally:
        out.chmod(0o755)
    expect_folder_error(code, err, "cannot write to output folder", "permission denied")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_output_folder_on_a_read_only_file_system(broken, tmp_path, capsys):
    mount = tmp_path / "ro"
    with tmpfs(mount, "1m", read_only=True) as mounted:
        if not mounted:
            pytest.skip("cannot mount a read-only tmpfs here (needs root)")
        code, err = run_in_process(broken, mount, capsys)
        expect_folder_error(code, err, str(mount), "read-only file system")
        code, err = run_in_process(broken, mount / "new" / "out", capsys)
        expect_folder_error(code, err, "cannot create output folder", "read-only file system")


# ----------------------------------------------------------------------------------------
# A full disk while writing


def _first_run(good: Path, out: Path) -> dict:
    assert main(["run", str(good), "--out", str(out), "--quiet"]) == 0
    return check_folder(out)


def _second_run(good: Path, out: Path, limit: int | None = None) -> subprocess.CompletedProcess:
    changed = good.parent.parent / f"changed-{out.parent.name}"
    shutil.copytree(good.parent, changed, dirs_exist_ok=True)
    table = pd.read_csv(changed / "kindergarten.csv")
    table.assign(capacity=55).to_csv(changed / "kindergarten.csv", index=False)

    def limited() -> None:
        if limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write fails with EFBIG instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [
            sys.executable,
            "-m",
            "circle15.cli",
            "run",
            str(changed / "study.toml"),
            "--out",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env_with(),
        preexec_fn=limited,
    )


def test_full_disk_exits_2_and_keeps_the_previous_outputs(good, tmp_path, capsys):
    probe = tmp_path / "probe"
    folder = Path(_first_run(good, probe)["outputs"]["map.html"]["path"]).resolve().parent
    sizes = {p.name: p.stat().st_size for p in folder.iterdir() if p.is_file()}
    total = sum(sizes.values())
    mount = tmp_path / "disk"
    # Room for one run and a half: the second run fills it while it writes.
    with tmpfs(mount, str((total * 3 // 2 // 4096 + 1) * 4096)) as mounted:
        if mounted:
            out = mount / "out"
            before = _first_run(good, out)
            proc = _second_run(good, out)
            expect_folder_error(
                proc.returncode,
                proc.stderr,
                f"no space left on {mount}",
                "bytes free",
                "previous outputs in",
                "are unchanged",
            )
            assert check_folder(out) == before
            assert [p.name for p in (out / ".circle15" / "runs").iterdir()] == [
                before["run_id"]
            ]  # the partial run was removed: its space is free again
            return
    _file_size_limit(good, tmp_path, sizes)  # no mount allowed here: the fallback


def test_file_size_limit_exits_2_and_keeps_the_previous_outputs(good, tmp_path):
    """The fallback of the full-disk test, run everywhere: a file size limit reached while
    writing map.html (between the GeoPackage and the map in size)."""
    probe = tmp_path / "probe"
    folder = Path(_first_run(good, probe)["outputs"]["map.html"]["path"]).resolve().parent
    _file_size_limit(good, tmp_path, {p.name: p.stat().st_size for p in folder.iterdir()})


def _file_size_limit(good: Path, tmp_path: Path, sizes: dict[str, int]) -> None:
    if not hasattr(resource, "RLIMIT_FSIZE"):
        pytest.skip("neither a tmpfs mount nor RLIMIT_FSIZE is available here")
    assert sizes["results.gpkg"] < sizes["map.html"]
    out = tmp_path / "limited"
    before = _first_run(good, out)
    proc = _second_run(good, out, limit=(sizes["results.gpkg"] + sizes["map.html"]) // 2)
    expect_folder_error(
        proc.returncode,
        proc.stderr,
        "no space left for the outputs",
        "while writing",
        "ulimit -f",
        "are unchanged",
    )
    assert check_folder(out) == before
