"""``circle15 batch``: many regions with shared inputs, on local processes or Dask.

The oracle for a batch is the same regions run one by one as ordinary studies: for each
region the test cuts the network and the facility tables to the region plus its buffer
itself (geopandas ``within`` and ``isin``, not circle15's clipping), writes a study file
by hand and runs ``Study.from_config(...).run()``. The batch's combined tables must hold
exactly those figures, and its totals their sums. Data: a seeded synthetic city
(``benchmarks/synthetic_batch.py``), labelled synthetic.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from benchmarks.synthetic_batch import write_synthetic_batch
from circle15 import ConfigError, InputError, Study
from circle15.batch import load_batch, run_batch, storage
from circle15.batch.execute import parse_memory
from circle15.batch.region import RegionTask
from circle15.batch.resume import stale_reason
from circle15.cli import main

CRS = "EPSG:32651"
BUFFER_M = 1500.0
#: Tolerances of the written tables (people to 0.01, minutes to 0.01, shares to 1e-4).
PEOPLE, MINUTES, SHARE = 0.006, 0.006, 6e-5
KEYS = ["r01", "r02", "r03"]


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory) -> Path:
    """A synthetic city of ~2,500 street nodes cut into three regions side by side."""
    folder = tmp_path_factory.mktemp("batch") / "inputs"
    write_synthetic_batch(folder, n_nodes=2_500, columns=3, rows=1, buffer_m=BUFFER_M)
    return folder


def _single_region_study(data: Path, key: str, folder: Path) -> Path:
    """Write region ``key`` as an ordinary study, cutting its inputs with geopandas."""
    folder.mkdir(parents=True, exist_ok=True)
    regions = gpd.read_file(data / "regions.gpkg")
    tile = regions[regions["key"] == key]
    reach = tile.geometry.iloc[0].buffer(BUFFER_M)
    nodes = gpd.read_file(data / "network.gpkg", layer="nodes")
    edges = gpd.read_file(data / "network.gpkg", layer="edges")
    inside = nodes[nodes.within(reach)]
    edges = edges[edges["u"].isin(inside["osmid"]) & edges["v"].isin(inside["osmid"])]
    inside = inside[inside["osmid"].isin(pd.concat([edges["u"], edges["v"]]))]
    inside.to_file(folder / "network.gpkg", layer="nodes")
    edges.to_file(folder / "network.gpkg", layer="edges")
    tile.to_file(folder / "outline.gpkg")
    zones = gpd.read_file(data / "zones.gpkg")
    zones[zones["region"] == key][["district", "name_en", "geometry"]].to_file(
        folder / "zones.gpkg"
    )
    lines = []
    for csv in sorted(data.glob("*.csv")):
        table = pd.read_csv(csv)
        where = gpd.GeoSeries(gpd.points_from_xy(table["lon"], table["lat"]), crs=4326)
        table[where.to_crs(CRS).within(reach).to_numpy()].to_csv(folder / csv.name, index=False)
        lines.append(f'[facilities.{csv.stem}]\npath = "{csv.name}"\n')
    toml = folder / "study.toml"
    toml.write_text(
        f'[study]\nname = "{key}"\ncrs = "{CRS}"\n\n'
        '[boundary]\noutline = "outline.gpkg"\ndistricts = "zones.gpkg"\n\n'
        '[network]\npath = "network.gpkg"\n\n'
        f'[population]\npath = "{data / "population.gpkg"}"\nlayer = "cells"\n\n'
        + "\n".join(lines),
        encoding="utf-8",
    )
    return toml


@pytest.fixture(scope="module")
def single_runs(batch_dir, tmp_path_factory) -> dict[str, object]:
    """Each region run alone as an ordinary study: the oracle."""
    root = tmp_path_factory.mktemp("single")
    return {
        key: Study.from_config(_single_region_study(batch_dir, key, root / key)).run()
        for key in KEYS
    }


def _assert_matches_single_runs(out: Path, single_runs: dict, keys=KEYS) -> None:
    districts = pd.read_csv(out / "districts.csv", encoding="utf-8-sig")
    index = pd.read_csv(out / "index.csv", encoding="utf-8-sig")
    assert list(districts["region"].unique()) == keys
    for key in keys:
        rows = ["category", "district"]
        mine = districts[districts["region"] == key].sort_values(rows).reset_index(drop=True)
        theirs = single_runs[key].districts.sort_values(rows).reset_index(drop=True)
        assert list(mine["district"]) == list(theirs["district"])
        assert list(mine["category"]) == list(theirs["category"])
        for col, tol in (
            ("population", PEOPLE),
            ("pop_within_5", PEOPLE),
            ("pop_within_10", PEOPLE),
            ("pop_within_15", PEOPLE),
            ("covered_population", PEOPLE),
            ("unreachable_population", PEOPLE),
            ("coverage", SHARE),
            ("mean_min", MINUTES),
            ("p90_min", MINUTES),
        ):
            np.testing.assert_allclose(
                mine[col].to_numpy(float),
                theirs[col].to_numpy(float),
                atol=tol,
                rtol=0,
                err_msg=f"{key} {col}",
            )
        mine_index = index[index["region"] == key].reset_index(drop=True)
        their_index = single_runs[key].index.reset_index(drop=True)
        assert list(mine_index["district"]) == list(their_index["district"])
        for col in ("accessibility", "balance", "quality", "composite"):
            np.testing.assert_allclose(
                mine_index[col].to_numpy(float),
                their_index[col].to_numpy(float),
                atol=0.006,
                rtol=0,
                err_msg=f"{key} index {col}",
            )
    # The totals are the regions' whole-area rows added up.
    totals = pd.read_csv(out / "totals.csv", encoding="utf-8-sig").set_index("category")
    whole = pd.concat([single_runs[k].districts for k in keys])
    whole = (
        whole[whole["district"] == "ALL"]
        .groupby("category")[["population", "covered_population", "unreachable_population"]]
        .sum()
    )
    for category, row in whole.iterrows():
        assert totals.loc[category, "regions"] == len(keys)
        for col in ("population", "covered_population", "unreachable_population"):
            assert totals.loc[category, col] == pytest.approx(row[col], abs=0.02)
        assert totals.loc[category, "coverage"] == pytest.approx(
            row["covered_population"] / row["population"], abs=1e-4
        )


def _assert_region_folders(out: Path, keys=KEYS) -> None:
    for key in keys:
        folder = out / key
        for name in (
            "map.html",
            "report.html",
            "results.gpkg",
            "districts.csv",
            "manifest.json",
            "study.toml",
            "outline.geojson",
            "districts.geojson",
        ):
            assert (folder / name).is_file(), f"{key}/{name}"
        record = json.loads((folder / "batch_region.json").read_text(encoding="utf-8"))
        assert record["status"] == "ok"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [r["key"] for r in manifest["regions"]] == keys
    assert all(r["manifest"]["sha256"] for r in manifest["regions"])
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "SYNTHETIC" in page and "<script src=" not in page  # offline, labelled
    assert all(f"Region {k[1:]} ({k})" in page and f"{k}/map.html" in page for k in keys)
    assert "coverage by region" in page and "coverage by sub-district" in page


# ----------------------------------------------------------------------------------------
# Batch file


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _batch_text(batch_dir: Path, extra: str = "", regions: str | None = None) -> str:
    text = (batch_dir / "batch.toml").read_text(encoding="utf-8")
    text = text.replace('path = "', f'path = "{batch_dir}/').replace(
        'districts = "zones.gpkg"', f'districts = "{batch_dir}/zones.gpkg"'
    )
    if regions is not None:
        start = text.index("[regions]")
        end = text.index("[network]")
        text = text[:start] + regions + "\n" + text[end:]
    return text + extra


def test_batch_file_lists_regions_and_shares_the_inputs(batch_dir):
    batch = load_batch(batch_dir / "batch.toml")
    assert [r.key for r in batch.regions] == KEYS
    assert [r.name for r in batch.regions] == ["Region 01", "Region 02", "Region 03"]
    assert batch.inputs["network.path"] == str(batch_dir / "network.gpkg")
    assert all(r.zones.region_field == "region" for r in batch.regions)
    document = batch.study_document(batch.regions[0])
    assert document["study"]["name"] == "r01" and document["network"]["buffer_m"] == BUFFER_M
    assert list(batch.categories) == [
        "kindergarten",
        "primary_school",
        "elderly_canteen",
        "sports_venue",
    ]


def test_region_entries_add_to_listed_regions_in_place(batch_dir, tmp_path):
    regions = (
        f'[regions]\npath = "{batch_dir}/regions.gpkg"\nkey_field = "key"\n'
        'adcodes = ["330211"]\n\n'
        f'[[region]]\nkey = "r02"\nname = "北区"\ndistricts = "{batch_dir}/zones.gpkg"\n\n'
        '[[region]]\nadcode = "330211"\nkey = "zhenhai"\n'
    )
    batch = load_batch(_write(tmp_path / "batch.toml", _batch_text(batch_dir, "", regions)))
    assert [(r.key, r.name) for r in batch.regions] == [
        ("r01", "Region 01"),
        ("r02", "北区"),
        ("r03", "Region 03"),
        ("zhenhai", "镇海区"),
    ]
    assert batch.regions[1].zones.own and batch.regions[0].zones is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"extra": '\n[compare]\nreference = "x.csv"\n'}, "compare: unknown field"),
        (
            {"extra": "\n[categories.kindergarten]\ntarget_min = -3\n"},
            "categories.kindergarten.target_min",
        ),
        ({"regions": "[regions]\n"}, "no regions"),
        ({"regions": '[regions]\npath = "missing.gpkg"\n'}, "regions.path: file not found"),
        (
            {"regions": '[regions]\nadcodes = ["330211", "330211"]\n'},
            "two regions have the key '330211'",
        ),
        (
            {"regions": '[regions]\npath = "{d}/regions.gpkg"\nkey_field = "name"\n'},
            "may only hold letters",
        ),
        (
            {
                "regions": '[regions]\npath = "{d}/regions.gpkg"\nkey_field = "key"\n'
                'districts = "{d}/zones.gpkg"\nregion_field = "county"\n'
            },
            "regions.region_field: ",
        ),
        (
            {
                "regions": '[regions]\npath = "{d}/regions.gpkg"\nkey_field = "key"\n\n'
                '[[region]]\nkey = "r09"\n'
            },
            "region[0]: no region 'r09'",
        ),
    ],
)
def test_batch_file_errors_name_the_field(batch_dir, tmp_path, change, message):
    regions = change.get("regions")
    if regions is not None:
        regions = regions.replace("{d}", str(batch_dir))
    path = _write(tmp_path / "batch.toml", _batch_text(batch_dir, change.get("extra", ""), regions))
    with pytest.raises(ConfigError, match=None) as caught:
        load_batch(path)
    assert message in str(caught.value)
    assert main(["batch", str(path), "--quiet", "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()  # nothing runs on a bad batch file


def test_memory_sizes():
    assert parse_memory("4GB") == 4 * 10**9 and parse_memory("512 MiB") == 512 * 2**20
    assert parse_memory(None) is None and parse_memory("1.5gb") == 1_500_000_000
    with pytest.raises(ConfigError, match="--memory-limit"):
        parse_memory("lots")


def test_storage_references():
    assert storage.is_url("s3://bucket/a.gpkg") and storage.is_url("zip://a.csv::file:///x.zip")
    assert not storage.is_url("/data/a.gpkg") and not storage.is_url("C:\\data\\a.gpkg")
    assert storage.absolute_reference("file:///data/a%20b.gpkg", Path("/x")) == "/data/a b.gpkg"
    assert storage.absolute_reference("a.gpkg", Path("/x")) == "/x/a.gpkg"


# ----------------------------------------------------------------------------------------
# Runs


def test_batch_on_local_processes_equals_single_runs_despite_a_killed_worker(
    batch_dir, single_runs, tmp_path
):
    """Default executor (2 processes); one is killed while regions run."""
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "out"
    found: dict[str, object] = {}
    thread = threading.Thread(
        target=lambda: found.update(run=run_batch(batch_dir / "batch.toml", out, workers=2))
    )
    thread.start()
    killed = None
    deadline = time.monotonic() + 60
    while thread.is_alive() and killed is None and time.monotonic() < deadline:
        started = list(out.glob(".circle15/runs/*/r0*/outline.geojson"))  # being written
        workers = [p for p in psutil.Process().children() if "spawn_main" in " ".join(p.cmdline())]
        if started and workers:
            killed = workers[0].pid
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    thread.join(timeout=180)
    assert killed is not None, "the batch finished before a worker could be killed"
    run = found["run"]
    assert run.executor["pool_restarts"] >= 1
    assert [s["status"] for s in run.summaries] == ["ok"] * 3
    assert run.exit_code == 0
    _assert_matches_single_runs(out, single_runs)
    _assert_region_folders(out)


def test_batch_on_a_dask_cluster_equals_single_runs_despite_a_killed_worker(
    batch_dir, single_runs, tmp_path
):
    """A LocalCluster of 2 workers, reached by its address as an existing cluster would be;
    a worker running a region is killed, and Dask moves the region to another worker."""
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "out"
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        found: dict[str, object] = {}
        thread = threading.Thread(
            target=lambda: found.update(
                run=run_batch(batch_dir / "batch.toml", out, scheduler=cluster.scheduler_address)
            )
        )
        thread.start()
        victim = None
        deadline = time.monotonic() + 60
        while thread.is_alive() and victim is None and time.monotonic() < deadline:
            busy = {
                w: keys
                for w, keys in client.processing().items()
                if any(str(k).startswith("circle15-") for k in keys)
            }
            if busy and list(out.glob(".circle15/runs/*/r0*/outline.geojson")):
                victim = next(iter(busy))
                pid = client.run(os.getpid, workers=[victim])[victim]
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
        thread.join(timeout=180)
    assert victim is not None, "the batch finished before a worker could be killed"
    run = found["run"]
    assert [s["status"] for s in run.summaries] == ["ok"] * 3
    assert victim not in {s["worker"] for s in run.summaries}  # moved to another worker
    peaks = run.executor["peak_memory_mb_by_worker"]
    assert {s["worker"] for s in run.summaries} <= set(peaks)
    assert all(50 < mb < 4_000 for mb in peaks.values())
    _assert_matches_single_runs(out, single_runs)
    _assert_region_folders(out)


def test_resume_skips_regions_whose_inputs_and_outputs_are_unchanged(batch_dir, tmp_path):
    data = tmp_path / "inputs"
    shutil.copytree(batch_dir, data)
    out = tmp_path / "out"
    first = run_batch(data / "batch.toml", out, workers=0)
    assert [s["status"] for s in first.summaries] == ["ok"] * 3
    districts = (out / "districts.csv").read_bytes()

    again = run_batch(data / "batch.toml", out, workers=0)
    assert [s["status"] for s in again.summaries] == ["skipped"] * 3
    assert (out / "districts.csv").read_bytes() == districts

    (out / "r02" / "map.html").unlink()  # an output went missing: that region only
    third = run_batch(data / "batch.toml", out, workers=0)
    assert [s["status"] for s in third.summaries] == ["skipped", "ok", "skipped"]

    # A shared input changes: every region is out of date (checked without running them).
    with open(data / "kindergarten.csv", "a", encoding="utf-8") as fh:
        fh.write("KIN-new,new one,100,121.05,29.85\n")
    batch = load_batch(data / "batch.toml")
    hashes = {
        ref: storage.sha256(ref) for r in batch.regions for ref in batch.region_inputs(r).values()
    }
    tasks = [RegionTask.make(batch, r, out, hashes) for r in batch.regions]
    assert [stale_reason(t) for t in tasks] == ["inputs or settings changed"] * 3


def test_a_bad_region_is_reported_and_the_others_finish(batch_dir, tmp_path, capsys):
    zones = gpd.read_file(batch_dir / "zones.gpkg")
    own = zones[zones["region"] == "r02"].copy()
    own["district"] = "同名"  # two sub-districts with one name
    own.to_file(tmp_path / "r02_zones.gpkg")
    path = _write(
        tmp_path / "batch.toml",
        _batch_text(
            batch_dir, f'\n[[region]]\nkey = "r02"\ndistricts = "{tmp_path}/r02_zones.gpkg"\n'
        ),
    )
    out = tmp_path / "out"
    code = main(["batch", str(path), "--out", str(out), "--workers", "0", "--quiet"])
    printed = capsys.readouterr().out
    assert code == 2
    assert "r02_zones.gpkg" in printed and "'同名' appears twice" in printed
    regions = pd.read_csv(out / "regions.csv", encoding="utf-8-sig").set_index("region")
    assert list(regions["status"]) == ["ok", "failed", "ok"]
    assert "同名" in regions.loc["r02", "reason"]
    districts = pd.read_csv(out / "districts.csv", encoding="utf-8-sig")
    assert set(districts["region"]) == {"r01", "r03"}
    assert not (out / "r02" / "manifest.json").exists()


def test_inputs_from_fsspec_urls(batch_dir, single_runs, tmp_path):
    """A network by file:// URL and facility tables inside a zip archive (zip::)."""
    pytest.importorskip("fsspec")
    archive = tmp_path / "facilities.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for csv in batch_dir.glob("*.csv"):
            zf.write(csv, csv.name)
    one = gpd.read_file(batch_dir / "regions.gpkg")
    one[one["key"] == "r01"].to_file(tmp_path / "r01.gpkg")  # one region is enough here
    regions = (
        "[regions]\n"
        f'path = "{tmp_path}/r01.gpkg"\nkey_field = "key"\n'
        f'districts = "{batch_dir}/zones.gpkg"\nregion_field = "region"\n'
    )
    text = _batch_text(batch_dir, regions=regions)
    text = text.replace(
        f'path = "{batch_dir}/network.gpkg"', f'path = "file://{batch_dir}/network.gpkg"'
    )
    for csv in batch_dir.glob("*.csv"):
        text = text.replace(
            f'path = "{batch_dir}/{csv.name}"', f'path = "zip://{csv.name}::file://{archive}"'
        )
    path = _write(tmp_path / "batch.toml", text)
    batch = load_batch(path)
    assert batch.inputs["facilities.kindergarten.path"].startswith("zip://")
    local = storage.local_copy(batch.inputs["facilities.kindergarten.path"], tmp_path / "c")
    assert local.name == "kindergarten.csv"
    assert local.read_bytes() == (batch_dir / "kindergarten.csv").read_bytes()
    run = run_batch(path, tmp_path / "out", workers=0)
    assert [s["status"] for s in run.summaries] == ["ok"]
    _assert_matches_single_runs(tmp_path / "out", single_runs, keys=["r01"])


def test_regions_cut_from_the_demo_give_the_whole_district_figures(demo_run, tmp_path):
    """Oracle: the demo run over the whole district (``circle15 run``).

    The seven sub-districts as regions of their own (the shipped example batch), each with
    a 1,500 m buffer (longer than any 15-minute walk), must all run and count the same
    residents within 5, 10 and 15 minutes; the whole
    district as a region by its adcode (the same Tianditu outline) with its own
    sub-district file must give the demo's table, walking times included.
    """
    root = Path(__file__).resolve().parents[2]
    zones_file = root / "data/boundaries/zhenhai_subdistricts_synthetic.geojson"
    text = (root / "examples/zhenhai_batch.toml").read_text(encoding="utf-8")
    text = text.replace('"../data/', f'"{root}/data/')
    text += f'\n[[region]]\nadcode = "330211"\ndistricts = "{zones_file}"\n'
    run = run_batch(_write(tmp_path / "batch.toml", text), tmp_path / "out", workers=0)
    keys = [f"region_{i:02d}" for i in range(1, 8)]
    assert [s["key"] for s in run.summaries] == [*keys, "330211"]
    assert [s["status"] for s in run.summaries] == ["ok"] * 8, run.summaries
    whole = pd.read_csv(demo_run[0] / "districts.csv", encoding="utf-8-sig")
    table = run.tables["districts"]

    parts = table[(table["region"] != "330211") & (table["district"] != "ALL")]
    both = parts.assign(district=parts["region_name"]).merge(
        whole, on=["district", "category"], suffixes=("", "_whole")
    )
    assert len(both) == 7 * 9  # nine categories
    for col in (
        "population",
        "pop_within_5",
        "pop_within_10",
        "pop_within_15",
        "covered_population",
        "coverage",
    ):
        np.testing.assert_allclose(both[col], both[f"{col}_whole"], atol=1e-9, err_msg=col)

    county = table[table["region"] == "330211"].drop(columns=["region", "region_name"])
    assert county["district"].tolist() == whole["district"].tolist()
    pd.testing.assert_frame_equal(county.reset_index(drop=True), whole, check_dtype=False)


def test_outputs_crs_reaches_every_region(batch_dir, tmp_path):
    """A batch's [outputs] crs is the regions' too, and a bad one is refused at once."""
    text = (batch_dir / "batch.toml").read_text(encoding="utf-8")
    path = batch_dir / "batch_gcj02.toml"  # beside the inputs it names
    path.write_text(text + '\n[outputs]\ncrs = "GCJ-02"\n', encoding="utf-8")
    batch = load_batch(path)
    assert all(batch.study_document(r)["outputs"] == {"crs": "GCJ-02"} for r in batch.regions)
    path.write_text(text + '\n[outputs]\ncrs = "EPSG:999999"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"outputs\.crs"):
        load_batch(path)
