"""Every number of every study, scenario and batch file is finite and plausible, and a TOML
file that cannot be a circle15 file is refused before it is parsed.

Seeded, table-driven cases: each numeric field of the study file (and of scenarios and
batch files) gets NaN, +inf, -inf, an overflowing literal (``1e309`` parses to inf) and a
finite value beyond any plausible one; each must be a ``ConfigError`` naming the field.
TOML documents too deep, too large, or that are not regular files are refused with a
message (never a RecursionError, never a hang).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from circle15.config import MAX_TOML_BYTES, load_config, read_toml
from circle15.errors import ConfigError
from circle15.planning.scenario import load_scenario

from ..factories.studies import write_small_study

BAD_NUMBERS = {"nan": "nan", "inf": "inf", "-inf": "-inf", "overflow": "1e309"}

#: (TOML table, key, a good value, an implausible finite value or None, field in messages)
STUDY_FIELDS = [
    ("network", "buffer_m", "1500", "1e12", "network.buffer_m"),
    ("network", "snap_tolerance_m", "0.5", "1e9", "network.snap_tolerance_m"),
    ("population", "cell_size_m", "200", "1e300", "population.cell_size_m"),
    ("categories.kindergarten", "target_min", "15", "1e20", "target_min"),
    ("categories.kindergarten", "speed_kmh", "4", "1e308", "speed_kmh"),
    ("categories.kindergarten", "norm", "1", "1e300", "norm"),
    ("categories.kindergarten", "norm_per", "1000", "1e300", "norm_per"),
    ("categories.kindergarten", "age_min", "3", "10000000000000000000000", "age_min"),
    ("categories.kindergarten", "tiers_min", "[5, 10, 15]", "[5, 10, 1e300]", "tiers_min"),
    ("analysis", "max_snap_m", "300", "1e300", "analysis.max_snap_m"),
    ("supply", "catchment_min", "15", "1e300", "supply.catchment_min"),
    ("supply", "step_weights", "[1, 0.5, 0.2]", "[1, 0.5, 1e300]", "supply.step_weights"),
    ("index", "scale", "100", "1e300", "index.scale"),
    ("index.weights", "balance", "1", "1e300", "index.weights.balance"),
    (
        "index.indicators",
        "accessibility",
        "{ coverage = 1 }",
        "{ coverage = 1e300 }",
        "index.indicators.accessibility",
    ),
    ("index.category_weights", "kindergarten", "2", "1e300", "index.category_weights.kindergarten"),
    ("index.goalposts", "mean_time", "[20, 0]", "[1e300, 0]", "index.goalposts.mean_time"),
    ("compare.tolerance", "composite", "3", "1e300", "compare.tolerance.composite"),
]


def _value(good: str, bad: str) -> str:
    """Put the bad number where the good value has its last number."""
    if good.startswith("["):
        return good.rsplit(",", 1)[0] + f", {bad}]"
    if good.startswith("{"):
        return good.replace("1", bad)
    return bad


def _study_with(folder: Path, table: str, key: str, value: str) -> Path:
    toml = write_small_study(folder)
    text = toml.read_text(encoding="utf-8")
    header = f"[{table}]"
    if header in text:
        text = text.replace(header, f"{header}\n{key} = {value}", 1)
    else:
        text += f"\n{header}\n{key} = {value}\n"
    toml.write_text(text, encoding="utf-8")
    return toml


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("study")


CASES = [
    (f"{table}.{key}={name}", table, key, _value(good, bad), field)
    for table, key, good, _, field in STUDY_FIELDS
    for name, bad in BAD_NUMBERS.items()
]
CASES += [
    (f"{table}.{key}=implausible", table, key, big, field)
    for table, key, _, big, field in STUDY_FIELDS
]


@pytest.mark.parametrize(
    ("table", "key", "value", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_study_numbers_are_finite_and_plausible(folder, table, key, value, field):
    toml = _study_with(folder, table, key, value)
    with pytest.raises(ConfigError) as caught:
        load_config(toml)
    message = str(caught.value)
    assert field in message and "study.toml" in message, message


@pytest.mark.parametrize(("table", "key", "good"), [(t, k, g) for t, k, g, _, _ in STUDY_FIELDS])
def test_the_good_values_of_those_fields_load(folder, table, key, good):
    if key == "step_weights":  # only meaningful with the enhanced 2SFCA's step decay
        good = "[1, 0.68, 0.22]"
    load_config(_study_with(folder, table, key, good))


SCENARIO_FIELDS = [
    ("add", "lon", "lat = 29.9"),
    ("add", "lat", "lon = 121.6"),
    ("add", "x", "y = 3317000"),
    ("add", "y", "x = 360000"),
    ("add", "capacity", "lon = 121.6\nlat = 29.9"),
    ("move", "lon", 'lat = 29.9\nid = "K0"'),
    ("move", "x", 'y = 3317000\nid = "K0"'),
]


@pytest.mark.parametrize("bad", [*BAD_NUMBERS.values(), "1e300"])
@pytest.mark.parametrize(
    ("entry", "key", "rest"), SCENARIO_FIELDS, ids=[f"{e}.{k}" for e, k, _ in SCENARIO_FIELDS]
)
def test_scenario_numbers_are_finite_and_plausible(tmp_path, entry, key, rest, bad):
    path = tmp_path / "plan.toml"
    path.write_text(
        f'[scenario]\nname = "p"\n\n[[{entry}]]\ncategory = "kindergarten"\n'
        f"{key} = {bad}\n{rest}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    assert f"{entry}[0].{key}" in str(caught.value)


@pytest.mark.parametrize(
    ("section", "line", "field"),
    [
        ("[network]", "snap_tolerance_m = nan", "network.snap_tolerance_m"),
        ("[categories.kindergarten]", "speed_kmh = inf", "categories.kindergarten.speed_kmh"),
        ("[index.weights]", "quality = 1e309", "index.weights.quality"),
    ],
)
def test_batch_numbers_are_finite(tmp_path, section, line, field):
    from benchmarks.synthetic_batch import write_synthetic_batch
    from circle15.batch import load_batch

    path = write_synthetic_batch(tmp_path / "batch", n_nodes=300, columns=1, rows=1)
    text = path.read_text(encoding="utf-8")
    text = (
        text.replace(section, f"{section}\n{line}", 1)
        if section in text
        else text + f"\n{section}\n{line}\n"
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_batch(path)


# ----------------------------------------------------------------------------------------
# TOML files that cannot be circle15 files

DEEP = {
    "nested arrays": "x = " + "[" * 100_000 + "]" * 100_000 + "\n",
    "nested inline tables": "x = " + "{a = " * 5_000 + "1" + "}" * 5_000 + "\n",
    "dotted keys": ".".join(["a"] * 5_000) + " = 1\n",
    "nested arrays in a string do not count": 'x = "' + "[" * 100 + '"\n',
}


@pytest.mark.parametrize("name", list(DEEP))
def test_deep_toml_is_refused_before_parsing(tmp_path, name):
    path = tmp_path / "study.toml"
    path.write_text('[study]\nname = "x"\n' + DEEP[name], encoding="utf-8")
    if name.endswith("do not count"):
        assert read_toml(path, "study file")["study"]["x"] == "[" * 100
        return
    with pytest.raises(ConfigError, match="nested"):
        read_toml(path, "study file")


def test_large_toml_is_refused_before_reading(tmp_path):
    path = tmp_path / "study.toml"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('[study]\nname = "x"\n# ' + "x" * MAX_TOML_BYTES + "\n")
    with pytest.raises(ConfigError, match="too large"):
        read_toml(path, "study file")


def test_fifo_as_study_file_is_refused_at_once(tmp_path):
    """A named pipe would block ``read`` for ever: refused by its type, in a separate process
    so that a hang fails the test instead of stopping it."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this platform")
    fifo = tmp_path / "study.toml"
    os.mkfifo(fifo)
    proc = subprocess.run(
        [sys.executable, "-m", "circle15.cli", "run", str(fifo), "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "not a regular file" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: p.mkdir(), "is a folder"),
        (lambda p: p.symlink_to("/dev/zero"), "not a regular file"),
        (lambda p: None, "not found"),
        (
            lambda p: p.write_bytes(b'[study]\nname = "x"\ntitle = "\xd5\xf2\xba\xa3"\n'),
            "not UTF-8",
        ),
    ],
)
def test_toml_that_is_not_a_text_file(tmp_path, make, words):
    path = tmp_path / "study.toml"
    make(path)
    with pytest.raises(ConfigError, match=words):
        read_toml(path, "study file")


def test_a_byte_order_mark_is_accepted(tmp_path):
    """Windows Notepad saves UTF-8 with a BOM; tomllib alone rejects it."""
    path = tmp_path / "study.toml"
    path.write_bytes(b'\xef\xbb\xbf[study]\nname = "x"\n')
    assert read_toml(path, "study file") == {"study": {"name": "x"}}
