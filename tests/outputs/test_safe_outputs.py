"""Hostile names in every table and page: no formula in any CSV or XLSX cell, no script in
report.html or comparison.html.

The names are the OWASP CSV-injection cases (``=HYPERLINK(...)``, ``+cmd|...``, ``-1+1``,
``@SUM(...)``, a leading tab or CR), script and comment openers (``<script>``,
``</script>``, ``<!--``, an ``onerror`` attribute) and control characters pasted from Word
(``\\x0b``, ``\\x0c``). They go into sub-district names, facility names and a planner's own
column, the study's title and notice, candidate sites, a scenario's new facility and a
reviewer's reference table; then ``circle15 run``, ``run --scenario``, ``sites`` and the
batch table writer write their files, and every cell of every CSV and XLSX is scanned.
The pages are opened in Chromium (Debian's, offline) and must not run anything.
"""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely

from circle15.cli import main
from circle15.outputs.batch import write_table
from circle15.outputs.comparison import comparison_svg
from circle15.outputs.report import build_comparison_page, write_report
from circle15.outputs.safe_text import FORMULA_START
from circle15.outputs.workbook import write_workbook

from ..factories.report_studies import HOSTILE, hostile
from ..factories.results import make_comparison
from ..factories.studies import CRS, ORIGIN, write_small_study

X0, Y0 = ORIGIN
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _lonlat(x: float, y: float) -> tuple[float, float]:
    p = gpd.GeoSeries(shapely.points([[x, y]]), crs=CRS).to_crs(4326).iloc[0]
    return p.x, p.y


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def scan_csv(path: Path) -> list[str]:
    """Every field of a CSV (header included) as a spreadsheet would read it; fails on a
    field that would start a formula (other than a plain number) or holds control
    characters."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        fields = [field for row in csv.reader(f) for field in row]
    for field in fields:
        assert not (field.startswith(FORMULA_START) and not _number(field)), (path.name, field)
        assert not CONTROL.search(field), (path.name, field)
    return fields


def scan_xlsx(path: Path) -> list[str]:
    """Every text cell of a workbook; fails on a formula cell, on text that starts like a
    formula without being a quote-prefixed string, or on control characters."""
    texts = []
    book = openpyxl.load_workbook(path)  # not read-only: styles (quotePrefix) are read
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (path.name, sheet.title, cell.coordinate)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                    assert not CONTROL.search(cell.value), (sheet.title, cell.coordinate)
                    if cell.value.startswith(FORMULA_START):
                        assert cell.data_type == "s" and cell.quotePrefix, (
                            path.name,
                            sheet.title,
                            cell.coordinate,
                            cell.value,
                        )
    return texts


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory) -> dict[str, Path]:
    """The small study with hostile names, run as a user runs it: run (with a reference to
    compare with), run --scenario, and sites with a candidates file."""
    folder = tmp_path_factory.mktemp("hostile")
    toml = write_small_study(folder / "study")
    study = toml.parent
    zones = gpd.read_file(study / "zones.geojson")
    zones["district"], zones["name_en"] = [HOSTILE[0], HOSTILE[6]], [HOSTILE[2], HOSTILE[8]]
    zones.to_file(study / "zones.geojson")
    for k, key in enumerate(("kindergarten", "elderly_canteen")):
        table = pd.read_csv(study / f"{key}.csv")
        table["name"] = [HOSTILE[(3 * i + k + 1) % len(HOSTILE)] for i in range(len(table))]
        table["备注"] = HOSTILE[3]
        table.to_csv(study / f"{key}.csv", index=False, quoting=csv.QUOTE_NONNUMERIC)
    reference = pd.DataFrame(
        {
            "unit": [HOSTILE[0], HOSTILE[6], HOSTILE[4], "蓬莱街道"],
            "indicator": ["综合", "composite", "composite", HOSTILE[5]],
            "value": [60, 40, 50, 70],
            "note": [HOSTILE[1], HOSTILE[7], HOSTILE[3], HOSTILE[10]],
        }
    )
    reference.to_csv(study / "ref.csv", index=False, quoting=csv.QUOTE_NONNUMERIC)
    text = toml.read_text(encoding="utf-8").replace(
        'title = "Small grid"',
        f'title = "{HOSTILE[6]} {HOSTILE[2]}"\nsynthetic = true\nnotice = "</script><!--"',
    )
    toml.write_text(
        text + '\n[compare]\nreference = "ref.csv"\n\n[outputs]\ncrs = "GCJ-02"\n', encoding="utf-8"
    )
    runs = {"run": folder / "run", "scenario": folder / "scenario", "sites": folder / "sites"}
    assert main(["run", str(toml), "--out", str(runs["run"]), "--quiet"]) == 0
    lon, lat = _lonlat(X0 + 430, Y0 + 660)
    plan = folder / "plan.toml"
    plan.write_text(
        '[scenario]\nname = "plan"\ntitle = "=1+1 <script>"\n\n[[add]]\n'
        f'category = "elderly_canteen"\nid = "=NEW1"\nname = "@SUM(1)"\n'
        f"lon = {lon}\nlat = {lat}\ncapacity = 40\n",
        encoding="utf-8",
    )
    assert (
        main(["run", str(toml), "--scenario", str(plan), "--out", str(runs["scenario"]), "--quiet"])
        == 0
    )
    candidates = folder / "candidates.csv"
    points = [_lonlat(X0 + 430, Y0 + 660), _lonlat(X0 + 730, Y0 + 160)]
    pd.DataFrame(
        {
            "id": ["-A", "+B"],
            "name": [HOSTILE[0], HOSTILE[3]],
            "lon": [p[0] for p in points],
            "lat": [p[1] for p in points],
        }
    ).to_csv(candidates, index=False, quoting=csv.QUOTE_NONNUMERIC)
    assert (
        main(
            [
                "sites",
                str(toml),
                "--category",
                "kindergarten",
                "--add",
                "1",
                "--candidates",
                str(candidates),
                "--out",
                str(runs["sites"]),
                "--quiet",
            ]
        )
        == 0
    )
    return runs


def test_no_csv_or_xlsx_cell_of_any_command_is_a_formula(hostile_runs) -> None:
    scanned: dict[str, list[str]] = {}
    for folder in hostile_runs.values():
        for path in sorted(folder.rglob("*.csv")):
            scanned[path.name] = scan_csv(path)
        for path in sorted(folder.rglob("*.xlsx")):
            scanned[path.name] = scan_xlsx(path)
    assert {
        "districts.csv",
        "index.csv",
        "equity.csv",
        "results.xlsx",
        "comparison.csv",
        "comparison_spearman.csv",
        "comparison_unmatched.csv",
        "comparison.xlsx",
        "scenario_gain.csv",
        "sites.csv",
    } <= set(scanned), sorted(scanned)
    # the hostile names are there, made safe, not dropped
    assert "'" + HOSTILE[0] in scanned["districts.csv"]
    assert "'" + HOSTILE[2] in scanned["index.csv"]  # name_en -1+1
    assert HOSTILE[0] in scanned["results.xlsx"]  # a quote-prefixed string, text unchanged
    assert "'" + HOSTILE[1] in scanned["comparison.csv"]  # the reference's own column
    assert HOSTILE[1] in scanned["comparison.xlsx"]
    # units as written in the reference (the reader trims the tab and the CR)
    assert {"'=1+2", "'=3+4"} <= set(scanned["comparison_unmatched.csv"])
    assert {"'-A", "'" + HOSTILE[0]} <= set(scanned["sites.csv"])
    assert "'" + HOSTILE[0] in scanned["scenario_gain.csv"]


def test_batch_tables_and_workbook_from_memory_are_safe(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"region": HOSTILE, "value": range(len(HOSTILE)), HOSTILE[0]: HOSTILE[::-1]}
    )
    fields = scan_csv(write_table(frame, tmp_path / "regions.csv"))
    assert "'" + HOSTILE[0] in fields  # the header too
    assert "名称 换行 页" in fields  # control characters replaced by spaces
    run = hostile()
    texts = scan_xlsx(write_workbook(run, tmp_path / "results.xlsx"))
    assert HOSTILE[2] in texts and "名称 换行 页" in texts
    book = openpyxl.load_workbook(tmp_path / "results.xlsx")
    header = [c.value for c in book["facilities"][1]]
    # the planner's own columns come last, a formula-like header stored as text
    assert header[-2:] == ["地址", HOSTILE[2]]
    assert book["facilities"].cell(1, len(header)).quotePrefix


# --------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------
class _Tags(HTMLParser):
    """Every start tag and attribute of a page, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.handlers: list[tuple[str, str]] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.handlers += [(tag, name) for name, _ in attrs if name.lower().startswith("on")]

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def _static_page_checks(page: str) -> None:
    tags = _Tags()
    tags.feed(page)
    tags.close()
    assert "script" not in tags.tags
    assert tags.handlers == []
    assert tags.comments == []  # a comment opener from input would hide the rest


def test_report_and_comparison_page_escape_every_name(tmp_path: Path) -> None:
    run = hostile()
    run.comparison = make_comparison(
        run, units=HOSTILE[:4], indicator=HOSTILE[6], reference=HOSTILE[7]
    )
    page = write_report(run, tmp_path / "report.html").read_text(encoding="utf-8")
    _static_page_checks(page)
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    comparison = build_comparison_page(
        run.comparison, title=HOSTILE[6], synthetic=True, notice=HOSTILE[8]
    )
    _static_page_checks(comparison)
    assert "&lt;/script&gt;&lt;script&gt;window.__pwned=2&lt;/script&gt;" in comparison
    # the standalone chart is XML: well-formed, with the names as text
    svg = comparison_svg(
        make_comparison(run, units=HOSTILE[6:], indicator=HOSTILE[9], reference=HOSTILE[8]),
        title=HOSTILE[7],
    )
    root = ET.fromstring(svg.encode("utf-8"))
    texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert HOSTILE[6] in texts and "名称 换行 页" in texts


def _record(seen: list[str]):
    """A dialog handler that notes the message (an alert means script ran) and closes it."""

    def handle(dialog) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    return handle


def _only(url: str):
    """A route handler that lets ``url`` load and aborts every other request."""

    def handle(route) -> None:
        route.continue_() if route.request.url == url else route.abort()

    return handle


@pytest.mark.browser
@pytest.mark.slow
def test_no_script_runs_in_the_report_or_comparison_page(tmp_path: Path, hostile_runs) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    from ..factories.browser import FLAGS, chromium_binary

    exe = chromium_binary()
    if exe is None:
        pytest.skip("no chromium binary (apt-get install chromium)")
    run = hostile()
    run.comparison = make_comparison(
        run, units=HOSTILE[:4], indicator=HOSTILE[6], reference=HOSTILE[7]
    )
    pages = [
        write_report(run, tmp_path / "report.html", map_file=None),
        hostile_runs["run"] / "report.html",
        hostile_runs["run"] / "comparison.html",
    ]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=FLAGS)
        try:
            for path in pages:
                url = path.as_uri()
                page = browser.new_page()
                dialogs: list[str] = []
                page.on("dialog", _record(dialogs))
                # the map beside the report is the web map's own test; here: this page only
                page.route("**/*", _only(url))
                page.goto(url, wait_until="load")
                page.evaluate("""() => { for (const e of document.querySelectorAll('*')) {
                    for (const kind of ['mouseover', 'mouseenter', 'click', 'focus']) {
                        e.dispatchEvent(new MouseEvent(kind, {bubbles: true}));
                    } } }""")
                found = page.evaluate("""() => ({
                    pwned: window.__pwned === undefined ? null : window.__pwned,
                    scripts: document.scripts.length,
                    handlers: [...document.querySelectorAll('*')].filter(e =>
                        [...e.attributes].some(a => a.name.toLowerCase().startsWith('on')))
                        .map(e => e.tagName),
                    text: document.body.textContent})""")
                assert found["pwned"] is None and not dialogs, path
                assert found["scripts"] == 0 and found["handlers"] == [], (path, found)
                assert "window.__pwned" in found["text"]  # shown as text
                page.close()
        finally:
            browser.close()
