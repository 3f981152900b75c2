"""Safe paths and caches: names that become folders are single path components, and a
batch's remote inputs are cached per user by content hash and checked.

Remote storage is fsspec's in-memory file system (``memory://``), read in this process
(``--workers 0``); the oracle for every hash is ``hashlib`` over the bytes put there.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import fsspec
import pandas as pd
import pytest

from circle15.batch import storage
from circle15.cli import main
from circle15.config import category_key, load_config, path_component
from circle15.errors import ConfigError, InputError
from circle15.planning.scenario import load_scenario

from ..factories.studies import write_small_study

BAD_NAMES = [
    "..",
    ".",
    "../x",
    "a/b",
    "a\\b",
    "/etc",
    ".hidden",
    "a.",
    "",
    "x" * 65,
    "CON",
    "nul.txt",
    "com1",
    "a b",
    "a\x00b",
    "tab\there",
    "-rf",
]
GOOD_NAMES = ["zhenhai", "镇海区", "a.b-c_1", "x" * 64, "2024"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=[repr(n) for n in BAD_NAMES])
def test_bad_names_are_not_path_components(name):
    with pytest.raises(ValueError, match="names a folder"):
        path_component(name)


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_good_names_are_path_components(name):
    assert path_component(name) == name


@pytest.mark.parametrize("key", ["x/..", "..", "a.b", "a b", "", "-x", "nul", "k\ney"])
def test_bad_category_keys(key):
    with pytest.raises(ValueError, match="category key"):
        category_key(key)


@pytest.fixture
def study(tmp_path) -> Path:
    return write_small_study(tmp_path / "study")


@pytest.mark.parametrize("name", ["..", "../../escaped", ".", "a/../../b"])
def test_study_name_cannot_leave_the_output_folder(study, tmp_path, monkeypatch, capsys, name):
    text = study.read_text(encoding="utf-8").replace('name = "small"', f'name = "{name}"')
    study.write_text(text, encoding="utf-8")
    work = tmp_path / "work" / "here"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["run", str(study), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "study.name" in err and "names a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written anywhere
    assert list(work.iterdir()) == []


def test_category_key_with_a_separator_is_refused(study):
    text = study.read_text(encoding="utf-8")
    text += (
        '\n[facilities."x/.."]\npath = "kindergarten.csv"\n\n[categories."x/.."]\n'
        'name_zh = "x"\nname_en = "x"\nage_min = 0\nage_max = 5\n'
    )
    study.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"category key 'x/\.\.'"):
        load_config(study)


def test_scenario_name_cannot_leave_the_output_folder(tmp_path):
    path = tmp_path / "plan.toml"
    path.write_text(
        '[scenario]\nname = "../up"\n\n[[remove]]\ncategory = "x"\nid = "y"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"scenario\.name"):
        load_scenario(path)


def test_region_keys_differing_only_in_case_are_refused(tmp_path):
    from benchmarks.synthetic_batch import write_synthetic_batch
    from circle15.batch import load_batch

    path = write_synthetic_batch(tmp_path / "batch", n_nodes=300, columns=2, rows=1)
    text = path.read_text(encoding="utf-8")
    text += '\n[[region]]\nkey = "R01"\nname = "again"\noutline = "regions.gpkg"\n'
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="differ only in case"):
        load_batch(path)


# ----------------------------------------------------------------------------------------
# The batch's input cache


@pytest.fixture
def remote() -> fsspec.AbstractFileSystem:
    fs = fsspec.filesystem("memory")
    fs.store.clear()
    yield fs
    fs.store.clear()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(storage.CACHE_ENV, str(folder))
    return folder


def put(fs, path: str, data: bytes) -> str:
    fs.pipe(path, data)
    return f"memory://{path}"


def test_cache_folder_is_private(cache):
    root = storage.cache_folder()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    root.chmod(0o777)  # opened up by someone: made private again
    assert stat.S_IMODE(storage.cache_folder().stat().st_mode) == 0o700


def test_default_cache_is_in_the_users_home_not_tmp(monkeypatch, tmp_path):
    monkeypatch.delenv(storage.CACHE_ENV, raising=False)
    monkeypatch.delenv("CIRCLE15_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert storage.cache_folder() == tmp_path / "home" / ".cache" / "circle15" / "inputs"


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="giving a folder to another user needs root",
)
def test_a_cache_folder_of_another_user_is_refused(cache):
    cache.mkdir(mode=0o777)
    os.chown(cache, 65534, 65534)  # nobody: as in a shared /tmp
    with pytest.raises(ConfigError, match="belongs to another user"):
        storage.cache_folder()


def test_cached_copies_are_filed_and_checked_by_content(remote, cache):
    data = b"facility_id,name\nK1,one\n"
    ref = put(remote, "/bucket/k.csv", data)
    digest = hashlib.sha256(data).hexdigest()
    assert storage.sha256(ref) == digest
    local = storage.local_copy(ref, expected=digest)
    assert local == cache / digest / "k.csv" and local.read_bytes() == data
    # A cached copy that is not what its name says (same size, other bytes) is replaced.
    local.write_bytes(b"facility_id,name\nK1,evil\n"[: len(data)].ljust(len(data), b"x"))
    again = storage.local_copy(ref, expected=digest)
    assert again.read_bytes() == data


def test_remote_input_changed_since_the_batch_started_is_refused(remote, cache):
    ref = put(remote, "/bucket/k.csv", b"one\n")
    planned = storage.sha256(ref)
    remote.pipe("/bucket/k.csv", b"two\n")  # the same size, other content
    with pytest.raises(InputError, match="changed while the batch ran"):
        storage.local_copy(ref, expected=planned)


def test_a_shapefiles_hash_covers_its_attribute_table(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    shp = tmp_path / "sites.shp"
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(0, 0)], crs=4326).to_file(shp)
    first = storage.sha256(str(shp))
    gpd.GeoDataFrame({"name": ["b"]}, geometry=[Point(0, 0)], crs=4326).to_file(shp)
    assert hashlib.sha256(shp.read_bytes()).hexdigest()  # the .shp itself: same geometry
    assert storage.sha256(str(shp)) != first


def test_batch_records_the_hash_of_what_it_read(remote, cache, tmp_path):
    from benchmarks.synthetic_batch import write_synthetic_batch

    path = write_synthetic_batch(tmp_path / "batch", n_nodes=400, columns=1, rows=1)
    csv = path.parent / "kindergarten.csv"
    data = csv.read_bytes()
    ref = put(remote, "/bucket/kindergarten.csv", data)
    text = path.read_text(encoding="utf-8").replace('path = "kindergarten.csv"', f'path = "{ref}"')
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["batch", str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    import json

    digest = hashlib.sha256(data).hexdigest()
    batch_manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert batch_manifest["inputs"][ref]["sha256"] == digest
    region = json.loads((out / "r01" / "manifest.json").read_text(encoding="utf-8"))
    record = region["inputs"]["facilities.kindergarten.path"]
    assert record["sha256"] == digest and record["path"] == str(cache / digest / "kindergarten.csv")


def test_a_local_input_changed_while_the_batch_runs_fails_the_region(tmp_path, monkeypatch):
    from benchmarks.synthetic_batch import write_synthetic_batch
    from circle15.batch import run as batch_run

    path = write_synthetic_batch(tmp_path / "batch", n_nodes=400, columns=1, rows=1)
    csv = path.parent / "kindergarten.csv"
    original = batch_run.run_tasks

    def change_then_run(*args, **kwargs):
        table = pd.read_csv(csv)
        table.assign(capacity=table["capacity"] + 1).to_csv(csv, index=False)
        return original(*args, **kwargs)

    monkeypatch.setattr(batch_run, "run_tasks", change_then_run)
    run = batch_run.run_batch(path, tmp_path / "out", workers=0)
    assert [s["status"] for s in run.summaries] == ["failed"]
    assert "changed while the batch ran" in run.summaries[0]["reason"]
