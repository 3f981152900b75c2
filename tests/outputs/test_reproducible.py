"""Same inputs, same bytes: re-runs give identical tables, and the manifest lets a reviewer
check inputs and outputs by their SHA-256."""

from __future__ import annotations

import hashlib
import json
import re
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pandas as pd

from circle15.cli import main
from circle15.outputs.reproducible import normalise_xlsx, stable_element_ids

from ..factories.studies import write_small_study

TABLES = ("districts.csv", "index.csv", "equity.csv", "results.gpkg")


def run(toml, out) -> dict[str, bytes]:
    assert main(["run", str(toml), "--out", str(out), "--quiet"]) == 0
    return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}


def test_tables_are_byte_identical_on_a_rerun(tmp_path, monkeypatch):
    """CSV and GeoPackage carry no date: identical whenever they are written."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    toml = write_small_study(tmp_path / "study")
    first = run(toml, tmp_path / "a")
    time.sleep(1.1)  # GDAL would stamp another second into gpkg_contents
    second = run(toml, tmp_path / "b")
    for name in TABLES:
        assert first[name] == second[name], name


def test_everything_but_the_manifest_is_identical_with_source_date_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13 UTC
    toml = write_small_study(tmp_path / "study")
    first = run(toml, tmp_path / "a")
    time.sleep(1.1)
    second = run(toml, tmp_path / "b")
    assert first.keys() == second.keys()
    for name in first:
        if name != "manifest.json":  # it records when the run started and how long it took
            assert first[name] == second[name], name
    book = openpyxl.load_workbook(tmp_path / "a" / "results.xlsx")
    assert book.properties.created == datetime(2023, 11, 14, 22, 13)
    about = pd.read_excel(tmp_path / "a" / "results.xlsx", sheet_name="about", engine="openpyxl")
    assert "2023-11-14 22:13" in about.astype(str).to_numpy().ravel().tolist()
    assert "2023-11-14 22:13 UTC" in first["report.html"].decode("utf-8")


def test_manifest_lets_a_reviewer_verify(tmp_path):
    toml = write_small_study(tmp_path / "study")
    out = tmp_path / "out"
    files = run(toml, out)
    manifest = json.loads(files["manifest.json"])
    for record in manifest["inputs"].values():
        data = Path(record["path"]).read_bytes()
        assert record["sha256"] == hashlib.sha256(data).hexdigest()
        assert record["bytes"] == len(data)
    for name, record in manifest["outputs"].items():
        assert record["path"] == str(out / name)  # where it is, not where it was staged
        assert record["sha256"] == hashlib.sha256(files[name]).hexdigest()
    assert manifest["config"]["sha256"] == hashlib.sha256(toml.read_bytes()).hexdigest()
    assert isinstance(manifest["warnings"], list)


def test_normalised_workbooks_written_apart_are_identical(tmp_path):
    when = datetime(2026, 1, 2, 3, 4, 59, tzinfo=UTC)
    paths = []
    for name in ("a.xlsx", "b.xlsx"):
        path = tmp_path / name
        pd.DataFrame({"x": [1, 2], "名称": ["甲", "乙"]}).to_excel(path, index=False)
        normalise_xlsx(path, when)
        paths.append(path)
        time.sleep(2.1)  # zip time stamps have a resolution of two seconds
    assert paths[0].read_bytes() == paths[1].read_bytes()
    with zipfile.ZipFile(paths[0]) as archive:
        assert {i.date_time for i in archive.infolist()} == {(2026, 1, 2, 3, 4, 0)}
    book = openpyxl.load_workbook(paths[0])
    assert book.properties.modified == datetime(2026, 1, 2, 3, 4)
    assert pd.read_excel(paths[0], engine="openpyxl")["名称"].tolist() == ["甲", "乙"]


def test_stable_element_ids_number_folium_ids_in_order():
    import folium

    pages = [
        folium.Map(location=[29.9, 121.6])
        .add_child(folium.Marker([29.9, 121.6]))
        .get_root()
        .render()
        for _ in range(2)
    ]
    assert pages[0] != pages[1]  # branca draws random ids
    stable = [stable_element_ids(p) for p in pages]
    assert stable[0] == stable[1]
    assert f"map_{0:032x}" in stable[0]
    ids = re.compile(r"_([0-9a-f]{32})\b")
    assert len(set(ids.findall(stable[0]))) == len(set(ids.findall(pages[0]))) > 2
