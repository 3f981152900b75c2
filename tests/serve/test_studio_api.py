"""The studio's JSON API over a real uvicorn server on the demo.

Oracles: the Python what-if API (``result.add_facilities`` etc., itself tested equal to a
full re-run), the run's own cell table for the typed arrays, ``apply_scenario`` for the
saved scenario file, and the what-if of the suggested sites for their promised coverage.
Every class of bad request gets its 4xx and the server goes on answering.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from circle15 import Study  # noqa: E402
from circle15.errors import RequestError  # noqa: E402
from circle15.planning.scenario import apply_scenario, load_scenario  # noqa: E402
from circle15.planning.sites import gap_candidates  # noqa: E402
from circle15.serve import BackgroundServer, Studio, create_app  # noqa: E402
from circle15.serve.app import MAX_BODY  # noqa: E402

pytestmark = pytest.mark.slow

KEY = "elderly_canteen"


@pytest.fixture(scope="module")
def demo():
    study = Study.demo()
    return study, study.run()


@pytest.fixture(scope="module")
def served(demo, tmp_path_factory):
    study, result = demo
    out = tmp_path_factory.mktemp("studio") / "out"
    studio = Studio.from_study(study, result=result, out_dir=out)
    with BackgroundServer(create_app(studio)) as server:
        with httpx.Client(base_url=server.url, timeout=300) as client:
            yield studio, client, out


@pytest.fixture(scope="module")
def spots(demo) -> list[tuple[float, float]]:
    """Street points inside elderly-canteen gaps (WGS84), for sites that join the streets."""
    frame = gap_candidates(demo[1], KEY).to_crs(4326)
    pick = np.random.default_rng(15).choice(len(frame), 8, replace=False)
    return [(float(p.x), float(p.y)) for p in frame.geometry.iloc[pick]]


def decode(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.dtype(dtype).newbyteorder("<"))


def coverage_of(result, key: str) -> dict[str, float]:
    rows = result.districts[result.districts["category"] == key]
    return dict(zip(rows["district"], rows["coverage"].astype(float), strict=True))


def assert_coverage(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for district, value in want.items():
        if np.isnan(value):
            assert got[district] is None
        else:
            assert got[district] == pytest.approx(value, abs=1e-12), district


# ---------------------------------------------------------------------------- reading


def test_study_sends_every_cell_once(served, demo):
    _, client, _ = served
    result = demo[1]
    body = client.get("/api/study").json()
    cells = body["cells"]
    assert cells["count"] == len(result.cells)
    assert [c["key"] for c in body["categories"]] == list(result.categories)
    assert body["synthetic"] is True and "synthetic" in body["notice"].lower()
    ring_cell = decode(cells["ring_cell"], "u4")
    ring_start = decode(cells["ring_start"], "u4")
    assert np.array_equal(np.unique(ring_cell), np.arange(len(result.cells)))
    assert ring_start[-1] * 8 == len(base64.b64decode(cells["coords"]))  # float32 pairs
    # the demo's cells are squares: 4 corners each (the closing vertex is not repeated)
    assert (np.diff(ring_start) == 4).all()
    # every vertex lies in the area's bounding box
    xy = decode(cells["coords"], "f4").reshape(-1, 2) + np.array(cells["origin"])
    (south, west), (north, east) = body["bounds"]
    assert (xy[:, 0] >= west - 1e-3).all() and (xy[:, 0] <= east + 1e-3).all()
    assert (xy[:, 1] >= south - 1e-3).all() and (xy[:, 1] <= north + 1e-3).all()
    names = [d["district"] for d in body["districts"]]
    district = decode(cells["district"], "i4")
    assert [names[i] for i in district] == list(result.cells["district"])


def test_layer_arrays_equal_the_cell_table(served, demo):
    _, client, _ = served
    result = demo[1]
    layer = client.get(f"/api/layers/{KEY}").json()
    minutes = decode(layer["minutes"], "f4")
    want = result.cells[f"t_{KEY}"].to_numpy(dtype=float).astype(np.float32)
    np.testing.assert_array_equal(minutes, want)  # NaN where unreachable, in both
    ids = [f["id"] for f in layer["facilities"]]
    nearest = decode(layer["nearest"], "i4")
    got = np.array([ids[i] if i >= 0 else None for i in nearest], dtype=object)
    expected = result.cells[f"nearest_{KEY}"].to_numpy(dtype=object)
    assert list(got) == [None if pd.isna(e) else str(e) for e in expected]
    assert_coverage(layer["coverage"], coverage_of(result, KEY))
    cohort = decode(layer["cohort"], "f4")
    np.testing.assert_allclose(cohort, result.cells[f"pop_{KEY}"].to_numpy(), rtol=1e-6)
    assert all(f["status"] == "existing" for f in layer["facilities"])


def test_page_and_assets(served, demo):
    _, client, _ = served
    page = client.get("/")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for testid in (
        "category",
        "coverage",
        "mode-add",
        "mode-move",
        "mode-remove",
        "undo",
        "suggest",
        "save-scenario",
    ):
        assert f'data-testid="{testid}"' in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    for name in (
        "studio.js",
        "studio.css",
        "leaflet/leaflet.js",
        "leaflet/leaflet.css",
        "leaflet/images/layers.png",
    ):
        assert client.get(f"/static/{name}").status_code == 200, name
    assert client.get("/static/../../pyproject.toml").status_code == 404
    assert client.get("/static/%2e%2e/%2e%2e/pyproject.toml").status_code == 404
    assert "server-timing" in page.headers


def test_title_from_the_study_file_is_escaped(demo):
    result = demo[1]
    hostile = dataclasses.replace(
        result, title="<script>alert(1)</script>", notice="<img src=x onerror=alert(2)>"
    )
    app = create_app(Studio(hostile, out_dir=Path("/nonexistent-not-written")))
    with BackgroundServer(app) as server:
        text = httpx.get(server.url, timeout=60).text
    assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)" in text
    assert "<img src=x" not in text and "&lt;img src=x" in text


# ---------------------------------------------------------------------------- what-if


def test_whatif_equals_the_python_api(served, demo, spots):
    _, client, _ = served
    result = demo[1]
    lon, lat = spots[0]
    body = {"category": KEY, "add": [{"lon": lon, "lat": lat, "capacity": 40, "name": "新食堂"}]}
    answer = client.post("/api/whatif", json=body)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    want = result.add_facilities(KEY, [(lon, lat)], capacity=40, names=["新食堂"])
    assert_coverage(got["coverage"], coverage_of(want, KEY))
    assert got["coverage"]["ALL"] != pytest.approx(result.coverage(KEY), abs=1e-9)
    assert_coverage(got["baseline_coverage"], coverage_of(result, KEY))
    index = {r["district"]: r["composite"] for r in got["index"]}
    for _, row in want.index.iterrows():
        assert index[row["district"]] == pytest.approx(row["composite"], abs=1e-9)
    assert got["gaps"]["count"] == int((want.gaps["category"] == KEY).sum())
    assert got["facilities"][0]["name"] == "新食堂" and got["facilities"][0]["capacity"] == 40
    all_row = next(r for r in got["gain"] if r["district"] == "ALL")
    assert all_row["gained"] > 0
    # stateless: the session did not record it
    assert client.get("/api/state").json()["edits"] == []


def test_whatif_remove_and_move_equal_the_python_api(served, demo, spots):
    _, client, _ = served
    result = demo[1]
    ids = list(result.facilities.loc[result.facilities["category"] == KEY, "facility_id"])
    lon, lat = spots[1]
    got = client.post(
        "/api/whatif",
        json={
            "category": KEY,
            "remove": [ids[0]],
            "move": [{"id": ids[1], "lon": lon, "lat": lat}],
        },
    )
    assert got.status_code == 200, got.text
    want = result.remove_facilities(KEY, ids[0]).move_facilities(KEY, {ids[1]: (lon, lat)})
    assert_coverage(got.json()["coverage"], coverage_of(want, KEY))


def test_whatif_in_the_study_crs(served, demo):
    _, client, _ = served
    result = demo[1]
    spot = gap_candidates(result, KEY).geometry.iloc[3]
    got = client.post(
        "/api/whatif",
        json={"category": KEY, "crs": "study", "add": [{"lon": spot.x, "lat": spot.y}]},
    )
    assert got.status_code == 200, got.text
    want = result.add_facilities(KEY, [(spot.x, spot.y)], crs="study")
    assert got.json()["coverage"]["ALL"] == pytest.approx(want.coverage(KEY), abs=1e-12)


# ---------------------------------------------------------------------------- session


def test_edit_undo_redo_reset(served, demo, spots):
    _, client, _ = served
    result = demo[1]
    (lon1, lat1), (lon2, lat2) = spots[2], spots[3]
    first = client.post("/api/edit", json={"category": KEY, "add": [{"lon": lon1, "lat": lat1}]})
    assert first.status_code == 200, first.text
    r1 = result.add_facilities(KEY, [(lon1, lat1)])
    assert_coverage(first.json()["layer"]["coverage"], coverage_of(r1, KEY))
    added = [f for f in first.json()["layer"]["facilities"] if f["status"] == "new"]
    assert len(added) == 1 and added[0]["lon"] == pytest.approx(lon1, abs=1e-6)
    second = client.post(
        "/api/edit",
        json={"category": KEY, "move": [{"id": added[0]["id"], "lon": lon2, "lat": lat2}]},
    ).json()
    r2 = r1.move_facilities(KEY, {added[0]["id"]: (lon2, lat2)})
    assert_coverage(second["layer"]["coverage"], coverage_of(r2, KEY))
    assert second["state"]["can_undo"] and not second["state"]["can_redo"]
    assert len(second["state"]["edits"]) == 2
    undone = client.post("/api/undo", json={"category": KEY}).json()
    assert_coverage(undone["layer"]["coverage"], coverage_of(r1, KEY))
    assert undone["state"]["can_redo"]
    redone = client.post("/api/redo", json={"category": KEY}).json()
    assert_coverage(redone["layer"]["coverage"], coverage_of(r2, KEY))
    state = client.get("/api/state").json()
    assert state["coverage"][KEY] == pytest.approx(r2.coverage(KEY), abs=1e-12)
    other = client.get("/api/layers/childcare").json()
    assert_coverage(other["coverage"], coverage_of(result, "childcare"))
    base = client.get(f"/api/layers/{KEY}?view=baseline").json()
    assert_coverage(base["coverage"], coverage_of(result, KEY))
    reset = client.post("/api/reset", json={"category": KEY}).json()
    assert_coverage(reset["layer"]["coverage"], coverage_of(result, KEY))
    assert reset["state"]["edits"] == []


def test_diff_against_the_baseline_equals_the_python_api(served, demo, spots):
    _, client, _ = served
    result = demo[1]
    lon, lat = spots[4]
    client.post("/api/reset", json={"category": KEY})
    closed = str(result.facilities.query("category == @KEY")["facility_id"].iloc[0])
    answer = client.post(
        "/api/edit",
        json={
            "category": KEY,
            "remove": [closed],
            "add": [{"lon": lon, "lat": lat, "name": "新食堂", "capacity": 60}],
        },
    )
    assert answer.status_code == 200, answer.text
    found = client.get("/api/diff")
    assert found.status_code == 200, found.text
    diff = found.json()
    changes = {(f["status"], f["category"]) for f in diff["facilities"]}
    assert changes == {("opened", KEY), ("closed", KEY)}
    opened = next(f for f in diff["facilities"] if f["status"] == "opened")
    assert opened["name"] == "新食堂" and opened["capacity_change"] == 60
    # oracle: the same edit through the Python API, compared with the baseline
    after = result.add_facilities(KEY, [(lon, lat)], names=["新食堂"], capacity=60)
    after = after.remove_facilities(KEY, closed)
    whole = next(r for r in diff["whole_area"] if r["category"] == KEY)
    assert whole["coverage_after"] == pytest.approx(after.coverage(KEY), abs=1e-9)
    assert whole["coverage_change"] == pytest.approx(
        after.coverage(KEY) - result.coverage(KEY), abs=1e-9
    )
    assert whole["opened"] == 1 and whole["closed"] == 1
    label = result.categories[KEY].label
    assert any(line.startswith(f"{label}: 1 opened, 1 closed") for line in diff["summary"])
    client.post("/api/reset", json={"category": KEY})
    client.post("/api/reset", json={"category": KEY})


def test_suggested_sites_bring_what_they_promise(served, demo):
    _, client, _ = served
    result = demo[1]
    client.post("/api/reset", json={"category": KEY})  # sites for the baseline
    answer = client.post("/api/sites", json={"category": KEY, "p": 2})
    assert answer.status_code == 200, answer.text
    sites = answer.json()["sites"]
    assert [s["rank"] for s in sites] == [1, 2]
    assert sites[0]["marginal_gain"] >= sites[1]["marginal_gain"] > 0
    after = result.add_facilities(KEY, [(s["lon"], s["lat"]) for s in sites])
    # lon/lat are rounded to 1e-6 degrees (about 0.1 m): the same street stretch
    assert after.coverage(KEY) == pytest.approx(sites[-1]["coverage_after"], abs=1e-9)
    assert client.get("/api/state").json()["edits"] == []


def test_saved_scenario_reproduces_the_session(served, demo, spots):
    studio, client, out = served
    result = demo[1]
    (lon, lat), ids = (
        spots[4],
        list(result.facilities.loc[result.facilities["category"] == "childcare", "facility_id"]),
    )
    assert (
        client.post(
            "/api/edit",
            json={
                "category": KEY,
                "add": [{"lon": lon, "lat": lat, "capacity": 30, "name": "试点 <b>pilot</b>"}],
            },
        ).status_code
        == 200
    )
    assert (
        client.post("/api/edit", json={"category": "childcare", "remove": [ids[0]]}).status_code
        == 200
    )
    saved = client.post("/api/scenario/save", json={"name": "plan_a", "title": "A"}).json()
    path = Path(saved["path"])
    assert path == out / "scenarios" / "plan_a.toml" and path.is_file()
    assert "--scenario" in saved["command"]
    after = apply_scenario(result, load_scenario(path))
    current = studio.session.current
    for key in ("childcare", KEY):
        assert after.coverage(key) == pytest.approx(current.coverage(key), abs=1e-12)
    download = client.get("/api/scenario/plan_a.toml")
    assert download.status_code == 200 and download.content == path.read_bytes()
    # loading it again starts from the baseline with the same edits
    client.post("/api/reset", json={"category": KEY})
    loaded = client.post(
        "/api/scenario/load", json={"text": path.read_text("utf-8"), "filename": "plan_a.toml"}
    )
    assert loaded.status_code == 200, loaded.text
    state = client.get("/api/state").json()
    assert len(state["edits"]) == 2
    assert state["coverage"][KEY] == pytest.approx(after.coverage(KEY), abs=1e-12)
    client.post("/api/reset", json={"category": KEY})


def test_export_writes_the_outputs_into_the_named_folder(served, spots):
    _, client, out = served
    lon, lat = spots[5]
    client.post("/api/edit", json={"category": KEY, "add": [{"lon": lon, "lat": lat}]})
    answer = client.post("/api/export", json={"folder": "方案_b"})
    assert answer.status_code == 200, answer.text
    folder = out / "方案_b"
    for name in (
        "districts.csv",
        "report.html",
        "results.xlsx",
        "map.html",
        "manifest.json",
        "scenario.toml",
        "scenario_gain.csv",
    ):
        assert (folder / name).is_file(), name
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert "scenario" in manifest["inputs"]
    client.post("/api/reset", json={"category": KEY})


# ---------------------------------------------------------------------------- refusals

BAD = [
    # (method, path, body or raw text, status, words in the message)
    ("POST", "/api/whatif", "{not json", 400, "not valid JSON"),
    ("POST", "/api/whatif", "[1, 2]", 422, "JSON object"),
    ("POST", "/api/whatif", {"category": KEY, "ad": []}, 422, "ad: unknown field"),
    ("POST", "/api/whatif", {"add": []}, 422, "category: required"),
    ("POST", "/api/whatif", {"category": "canteen"}, 404, "unknown category 'canteen'"),
    (
        "POST",
        "/api/edit",
        {"category": "canteen", "add": [{"lon": 121.6, "lat": 29.9}]},
        404,
        "unknown category",
    ),
    ("POST", "/api/sites", {"category": "canteen", "p": 1}, 404, "unknown category"),
    ("GET", "/api/layers/canteen", None, 404, "unknown category"),
    (
        "POST",
        "/api/whatif",
        {"category": KEY, "remove": ["no-such-id"]},
        404,
        "no elderly_canteen facility with id 'no-such-id'",
    ),
    (
        "POST",
        "/api/whatif",
        {"category": KEY, "move": [{"id": "nope", "lon": 121.6, "lat": 29.95}]},
        404,
        "'nope'",
    ),
    (
        "POST",
        "/api/whatif",
        {"category": KEY, "add": [{"lon": 116.4, "lat": 39.9}]},
        422,
        "outside the study area",
    ),
    (
        "POST",
        "/api/whatif",
        {"category": KEY, "add": [{"lon": 500, "lat": 29.9}]},
        422,
        "outside the study area",
    ),
    (
        "POST",
        "/api/whatif",
        '{"category": "elderly_canteen", "add": [{"lon": NaN, "lat": 29.9}]}',
        422,
        "finite",
    ),
    (
        "POST",
        "/api/whatif",
        '{"category": "elderly_canteen", "add": [{"lon": 121.6, "lat": Infinity}]}',
        422,
        "finite",
    ),
    (
        "POST",
        "/api/whatif",
        {"category": KEY, "add": [{"lon": "121.6e", "lat": 29.9}]},
        422,
        "add.0.lon",
    ),
    (
        "POST",
        "/api/whatif",
        {"category": KEY, "add": [{"lon": 121.6, "lat": 29.9, "capacity": -3}]},
        422,
        "capacity",
    ),
    (
        "POST",
        "/api/whatif",
        {"category": KEY, "crs": "+init=epsg:4326", "add": [{"lon": 121.6, "lat": 29.9}]},
        422,
        "crs",
    ),
    ("POST", "/api/whatif", {"category": KEY}, 422, "adds, removes and moves nothing"),
    (
        "POST",
        "/api/whatif",
        {"category": KEY, "add": [{"lon": 121.6, "lat": 29.9}] * 201},
        422,
        "at most 200",
    ),
    ("POST", "/api/sites", {"category": KEY, "p": 0}, 422, "p: Input should be greater"),
    ("POST", "/api/sites", {"category": KEY, "p": 21}, 422, "p: Input should be less"),
    ("POST", "/api/sites", {"category": KEY, "p": "three"}, 422, "p:"),
    ("POST", "/api/undo", {"category": KEY}, 409, "nothing to undo"),
    ("POST", "/api/redo", {"category": KEY}, 409, "nothing to redo"),
    ("POST", "/api/scenario/save", {"name": "x"}, 409, "nothing to save"),
    ("POST", "/api/scenario/save", {"name": "../../evil"}, 422, "scenario name"),
    ("POST", "/api/export", {"folder": "../evil"}, 422, "folder name"),
    ("POST", "/api/export", {"folder": ".hidden"}, 422, "folder name"),
    ("POST", "/api/export", {"folder": "a/b"}, 422, "folder name"),
    ("POST", "/api/export", {"folder": "/tmp/evil"}, 422, "folder name"),
    ("POST", "/api/scenario/load", {"text": "[scenario\n"}, 422, "not valid TOML"),
    (
        "POST",
        "/api/scenario/load",
        {"text": "[scenario]\nname = 'x'\n[[add]]\ncategory = 'elderly_canteen'\nlon = 121.6\n"},
        422,
        "lat",
    ),
    (
        "POST",
        "/api/scenario/load",
        {"text": "[scenario]\nname='x'\n[[remove]]\ncategory='elderly_canteen'\nid='none'\n"},
        422,
        "'none'",
    ),
    ("GET", "/api/scenario/nothing_here.toml", None, 404, "no saved scenario"),
    ("GET", "/api/layers/elderly_canteen?view=tomorrow", None, 422, "unknown view"),
    ("GET", "/api/nothing", None, 404, "no such page"),
    ("DELETE", "/api/state", None, 405, "Method Not Allowed"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "words"),
    BAD,
    ids=[f"{b[0]} {b[1]} {b[3]} {b[4][:24]}" for b in BAD],
)
def test_bad_requests_are_refused_with_a_message(served, method, path, body, status, words):
    _, client, out = served
    if isinstance(body, str):
        answer = client.request(
            method, path, content=body, headers={"content-type": "application/json"}
        )
    else:
        answer = client.request(method, path, json=body)
    assert answer.status_code == status, answer.text
    assert words.lower() in answer.json()["error"].lower()
    assert client.get("/api/state").status_code == 200  # the server goes on
    assert not (out.parent / "evil").exists() and not Path("/tmp/evil").exists()


def test_too_large_bodies_are_refused(served):
    _, client, _ = served
    big = json.dumps({"category": KEY, "add": [], "pad": "x" * MAX_BODY})
    answer = client.post("/api/whatif", content=big, headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "larger than" in answer.json()["error"]

    def chunks():  # no content-length: the server counts what arrives
        for _ in range(MAX_BODY // 10_000 + 2):
            yield b" " * 10_000

    answer = client.post(
        "/api/whatif", content=chunks(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413
    assert client.get("/api/state").status_code == 200


def test_foreign_host_headers_are_refused(served):
    _, client, _ = served
    answer = client.get("/api/state", headers={"host": "evil.example:8765"})
    assert answer.status_code == 400


def test_concurrent_requests_are_answered_correctly(served, demo, spots):
    _, client, _ = served
    result = demo[1]
    want = {i: result.add_facilities(KEY, [spots[i]]).coverage(KEY) for i in range(4)}
    got: dict[int, float] = {}
    errors: list[str] = []

    def ask(i: int) -> None:
        try:
            with httpx.Client(base_url=str(client.base_url), timeout=300) as c:
                lon, lat = spots[i % 4]
                a = c.post("/api/whatif", json={"category": KEY, "add": [{"lon": lon, "lat": lat}]})
                got[i] = a.json()["coverage"]["ALL"]
                c.get(f"/api/layers/{KEY}")
                c.post(
                    "/api/whatif", content="{broken", headers={"content-type": "application/json"}
                )
        except Exception as exc:  # reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not errors
    for i in range(8):
        assert got[i] == pytest.approx(want[i % 4], abs=1e-12)
    assert client.get("/api/state").json()["edits"] == []


# ---------------------------------------------------------------------------- command


def _serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "circle15.cli", "serve", "--no-browser", "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_serve_refuses_a_taken_port_before_loading_the_study():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = _serve("--port", str(port))
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr and "--port 0" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_serve_refuses_a_bad_port_and_a_missing_study(tmp_path):
    proc = _serve("--port", "70000")
    assert proc.returncode == 2 and "between 1 and 65535" in proc.stderr
    proc = _serve(str(tmp_path / "missing.toml"), "--port", "0")
    assert proc.returncode == 2 and "missing.toml" in proc.stderr


def test_result_studio_serves_the_page_in_the_background(demo, tmp_path, spots):
    study, result = demo
    view = result.studio(study=study, out_dir=tmp_path, height=500)
    try:
        html = view._repr_html_()
        assert f'src="{view.url}"' in html and "height: 500px" in html
        assert view.url.startswith("http://127.0.0.1:")
        assert httpx.get(view.url, timeout=60).status_code == 200
        edit = httpx.post(
            view.url + "api/edit",
            timeout=300,
            json={"category": KEY, "add": [{"lon": spots[6][0], "lat": spots[6][1]}]},
        )
        assert edit.status_code == 200
        # the page and the notebook share one session
        assert len(view.session.edits) == 1
        want = result.add_facilities(KEY, [spots[6]]).coverage(KEY)
        assert view.session.current.coverage(KEY) == pytest.approx(want, abs=1e-12)
    finally:
        view.stop()
    with pytest.raises(httpx.HTTPError):
        httpx.get(view.url, timeout=5)


def test_saving_never_overwrites_the_scenario_the_studio_started_from(demo, tmp_path, spots):
    result = demo[1]
    studio = Studio(result, out_dir=tmp_path)
    studio.session.add(KEY, [spots[7]])
    first = Path(studio.save_scenario("start")["path"])
    before = first.read_bytes()
    studio.load_scenario_file(first)
    studio.session.add(KEY, [spots[6]])
    with pytest.raises(RequestError, match="started from") as refused:
        studio.save_scenario("start")
    assert refused.value.status == 409 and first.read_bytes() == before
    assert Path(studio.save_scenario("start_v2")["path"]).is_file()
