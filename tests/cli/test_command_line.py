"""Command-line values and environment variables: refused with exit code 2 and a message
naming them, before any work; ``circle15 --version`` works whatever the environment holds.

The commands run as a user runs them (``python -m circle15.cli`` in a fresh process), so
that what happens at import time, before ``main`` (numpy reads ``SOURCE_DATE_EPOCH``
when scipy loads it), is tested too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from circle15.arguments import memory_size
from circle15.errors import ConfigError

from ..factories.runs import env_with
from ..factories.studies import write_small_study


def circle15(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "circle15.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else env_with(),
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    return write_small_study(tmp_path_factory.mktemp("study"))


ARGUMENTS = [
    (["batch", "b.toml", "--workers", "-1"], "--workers"),
    (["batch", "b.toml", "--workers", "lots"], "--workers"),
    (["batch", "b.toml", "--workers", "100000"], "--workers"),
    (["batch", "b.toml", "--memory-limit", "lots"], "--memory-limit"),
    (["batch", "b.toml", "--memory-limit", "-4GB"], "--memory-limit"),
    (["batch", "b.toml", "--memory-limit", "inf"], "--memory-limit"),
    (["batch", "b.toml", "--memory-limit", "nanGB"], "--memory-limit"),
    (["batch", "b.toml", "--memory-limit", "1e400"], "--memory-limit"),
    (["batch", "b.toml", "--memory-limit", "0"], "--memory-limit"),
    (["batch", "b.toml", "--memory-limit", "10MB"], "--memory-limit"),
    (["sites", "--category", "childcare", "--add", "0"], "--add"),
    (["sites", "--category", "childcare", "--add", "-3"], "--add"),
    (["sites", "--category", "childcare", "--add", "1", "--capacity", "nan"], "--capacity"),
    (["sites", "--category", "childcare", "--add", "1", "--capacity", "inf"], "--capacity"),
    (["sites", "--category", "childcare", "--add", "1", "--capacity", "0"], "--capacity"),
    (["compare", "--tolerance", "nan"], "--tolerance"),
    (["compare", "--tolerance", "-1"], "--tolerance"),
    (["fetch", "--bbox", "1,2,3,4", "--out", "x", "--buffer-m", "inf"], "--buffer-m"),
    (["fetch", "--bbox", "1,2,3,4", "--out", "x", "--buffer-m", "-5"], "--buffer-m"),
    (["fetch", "--bbox", "nan,29.9,121.7,30.0", "--out", "x"], "--bbox"),
    (["fetch", "--bbox", "-inf,29.9,inf,30.0", "--out", "x"], "--bbox"),
    (["fetch", "--bbox", "121.5,95,121.7,96", "--out", "x"], "--bbox"),
]


@pytest.mark.parametrize(
    ("args", "named"), ARGUMENTS, ids=[" ".join(a[2:]) or a[0] for a, _ in ARGUMENTS]
)
def test_bad_command_line_values_exit_2(tmp_path, args, named):
    proc = circle15(*args, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert named in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4GB", 4 * 10**9), ("512 MiB", 512 * 2**20), ("1.5gb", 1_500_000_000), (2**30, 2**30)],
)
def test_memory_sizes_that_are_fine(text, expected):
    assert memory_size(text) == expected


@pytest.mark.parametrize("text", ["lots", "nan", "inf", "-1GB", "1e999", "1KB", "4 XB"])
def test_memory_sizes_that_are_not(text):
    with pytest.raises(ConfigError, match="--memory-limit"):
        memory_size(text)


HOSTILE = {
    "SOURCE_DATE_EPOCH=abc": {"SOURCE_DATE_EPOCH": "abc"},
    "SOURCE_DATE_EPOCH empty": {"SOURCE_DATE_EPOCH": ""},
    "SOURCE_DATE_EPOCH=1e9": {"SOURCE_DATE_EPOCH": "1e9"},
    "SOURCE_DATE_EPOCH=-1": {"SOURCE_DATE_EPOCH": "-1"},
    "SOURCE_DATE_EPOCH with spaces": {"SOURCE_DATE_EPOCH": " 1700000000 "},
    "SOURCE_DATE_EPOCH in Arabic digits": {"SOURCE_DATE_EPOCH": "١٧٠٠٠٠٠٠٠٠"},
    "SOURCE_DATE_EPOCH after 9999": {"SOURCE_DATE_EPOCH": "999999999999"},
    "CIRCLE15_OUTPUT_LAYOUT=bogus": {"CIRCLE15_OUTPUT_LAYOUT": "bogus"},
    "CIRCLE15_CACHE empty": {"CIRCLE15_CACHE": ""},
    "CIRCLE15_INPUT_CACHE a file": {"CIRCLE15_INPUT_CACHE": "/dev/null"},
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_bad_environment_exits_2_before_work(study, tmp_path, name):
    proc = circle15(
        "run",
        str(study),
        "--out",
        str(tmp_path / "out"),
        "--quiet",
        env=env_with(**HOSTILE[name]),
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    variable = next(iter(HOSTILE[name]))
    assert proc.stderr.startswith(f"circle15: error: {variable}") and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


VERSION_ENVIRONMENTS = {
    **HOSTILE,
    "no HOME": {"HOME": None},
    "C locale": {"LANG": "C", "LC_ALL": "C"},
    "ASCII output": {"PYTHONIOENCODING": "ascii"},
    "a cache that cannot exist": {"CIRCLE15_CACHE": "/dev/null/cache"},
}


@pytest.mark.parametrize("name", list(VERSION_ENVIRONMENTS))
def test_version_works_whatever_the_environment(name):
    env = env_with()
    for key, value in VERSION_ENVIRONMENTS[name].items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    proc = circle15("--version", env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("circle15 ") and proc.stderr == ""


def test_a_valid_source_date_epoch_is_used(study, tmp_path):
    proc = circle15(
        "run",
        str(study),
        "--out",
        str(tmp_path / "out"),
        "--quiet",
        env=env_with(SOURCE_DATE_EPOCH="1700000000"),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "2023-11-14" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_a_terminal_that_cannot_show_chinese_does_not_crash_the_run(study, tmp_path):
    proc = circle15(
        "run",
        str(study),
        "--out",
        str(tmp_path / "out"),
        env=env_with(PYTHONIOENCODING="ascii"),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "\\u5e7c" in proc.stdout  # 幼儿园, escaped rather than a UnicodeEncodeError
    assert os.path.exists(tmp_path / "out" / "manifest.json")
